package org.hush.android.apps

import android.Manifest
import android.content.BroadcastReceiver
import android.content.Context
import android.content.Intent
import android.content.IntentFilter
import android.content.pm.PackageInfo
import android.content.pm.PackageManager
import android.os.Build
import android.util.Log
import org.hush.android.core.Network
import org.hush.android.data.HushStore
import org.hush.android.data.InstalledPackage
import org.hush.android.data.StoredApp
import org.hush.android.policy.AppMode
import org.hush.android.R
import org.hush.android.settings.HushSettings
import org.hush.android.ui.Format
import org.hush.android.ui.HushUi
import org.hush.android.ui.Strings
import org.hush.android.ui.UnavailableStore
import java.util.concurrent.Executor
import java.util.concurrent.Executors

/** What the app side asks the package manager about one app (a fake in tests). */
interface PackageLookup {
    /** The packages running as [uid] now; empty when no app holds it. */
    fun packagesForUid(uid: Int): List<String>

    /** The app's label, or null when it is not installed. */
    fun label(packageName: String): String?

    /** The app asks for the INTERNET permission (without it, it cannot open a socket). */
    fun requestsInternet(packageName: String): Boolean

    /** Every installed app. */
    fun installed(): List<InstalledApp>
}

/** [PackageLookup] from the PackageManager (QUERY_ALL_PACKAGES lets it see every app). */
class PackageManagerLookup(context: Context) : PackageLookup {
    private val pm: PackageManager = context.applicationContext.packageManager
    private val apps = PackageManagerApps(context)

    override fun packagesForUid(uid: Int): List<String> = pm.getPackagesForUid(uid)?.toList().orEmpty()

    override fun label(packageName: String): String? = try {
        pm.getApplicationInfo(packageName, 0).loadLabel(pm).toString()
    } catch (e: PackageManager.NameNotFoundException) {
        null
    }

    override fun requestsInternet(packageName: String): Boolean {
        val info: PackageInfo = try {
            @Suppress("DEPRECATION") // the flags overload with PackageInfoFlags is API 33+
            pm.getPackageInfo(packageName, PackageManager.GET_PERMISSIONS)
        } catch (e: PackageManager.NameNotFoundException) {
            return false
        }
        return info.requestedPermissions?.contains(Manifest.permission.INTERNET) == true
    }

    override fun installed(): List<InstalledApp> = apps.apps()
}

/** The owner's answer to a new app's notification. */
enum class NewAppChoice(val mode: AppMode?) {
    BLOCK_ALL(AppMode.BLOCK_ALL),
    ALLOW(AppMode.ALLOW_ALL),
    /** Hush's default for every app (no rule of its own): blocks trackers. */
    KEEP_DEFAULT(null),
}

/** What an action on a new app's notification did. */
sealed class ActionOutcome {
    /**
     * [choice] is in force. [shared]: the app shares its UID with other apps, whose mode
     * (one per UID) Keep default left as it was.
     */
    data class Applied(val label: String, val choice: NewAppChoice, val shared: Boolean = false) : ActionOutcome()
    /** The app left its UID before the owner answered: nothing was stored. */
    data class Gone(val label: String) : ActionOutcome()
    /** The store refused or failed; nothing was stored. [why] is shown as is. */
    data class Failed(val label: String, val why: String) : ActionOutcome()
}

/**
 * What Hush does when apps come and go: the rules follow the app, keyed by package as
 * well as UID, so a UID Android hands to a later install never inherits them.
 *
 * - Installed ([installed]): the mode the owner chose for new apps ("New apps start as")
 *   is stored for that package at once, then a notification offers Block all, Allow and
 *   Keep default ([act]).
 * - Removed ([removed]): that package's rules go; every rule of the UID when no package
 *   is left on it.
 * - At the firewall's start ([reconcile]): the installs and removals Hush did not see
 *   (it was not running) are caught up against the package manager.
 *
 * Every change that reaches the store is followed by [rulesChanged], which makes a
 * running core re-read the rules. Calls touch the disk: make them off the main thread.
 */
class AppChanges(
    private val store: HushStore,
    private val lookup: PackageLookup,
    private val newAppMode: () -> AppMode?,
    private val alerts: NewAppAlerts,
    private val rulesChanged: () -> Unit,
) {
    /** [packageName] was installed as [uid] (not an update: the caller skips EXTRA_REPLACING). */
    fun installed(packageName: String, uid: Int) {
        if (!lookup.requestsInternet(packageName)) return // it cannot reach the network: nothing to decide
        val label = lookup.label(packageName) ?: packageName
        val packages = lookup.packagesForUid(uid).ifEmpty { listOf(packageName) }
        try {
            store.setApps(listOf(StoredApp(uid, label, packages, system = false)))
        } catch (e: RuntimeException) {
            PackageEvents.logFailure("could not record a new app", e)
        }
        // A package joining a shared UID joins its mode (one per UID): the mode for new
        // apps would change the other apps' too, and go with this one when it leaves.
        val mode = if (packages.any { it != packageName }) null else newAppMode()
        var applied: AppMode? = null
        if (mode != null) {
            try {
                store.setAppModeForPackage(uid, packageName, Network.ANY, mode)
                applied = mode
                rulesChanged()
            } catch (e: RuntimeException) {
                // The notification still lets the owner choose; it says nothing was applied.
                PackageEvents.logFailure("could not apply the mode for new apps", e)
            }
        }
        alerts.newApp(uid, packageName, label, applied)
    }

    /** [packageName] left [uid] for good (not an update). Returns the rules that went. */
    fun removed(packageName: String, uid: Int): Long {
        alerts.cancel(packageName)
        val left = lookup.packagesForUid(uid).filter { it != packageName }
        val gone = try {
            store.forgetApp(uid, if (left.isEmpty()) null else packageName)
        } catch (e: RuntimeException) {
            PackageEvents.logFailure("could not forget a removed app's rules", e)
            return 0
        }
        if (gone > 0) rulesChanged()
        return gone
    }

    /**
     * Catches up with the installs and removals made while Hush was not running: drops
     * the rules of apps no longer where they were, and records every app's label and
     * packages. Does nothing when the package manager lists no app (it never truly has
     * none: taking it at its word would drop every rule). Returns the rules that went,
     * or null when nothing was checked.
     */
    fun reconcile(): Long? {
        val installed = try {
            lookup.installed()
        } catch (e: RuntimeException) {
            PackageEvents.logFailure("could not list the installed apps", e)
            return null
        }
        if (installed.isEmpty()) return null
        return try {
            val gone = store.reconcileApps(installed.map { InstalledPackage(it.uid, it.packageName) })
            store.setApps(installed.groupBy { it.uid }.map { (uid, apps) ->
                StoredApp(uid, AppNamesOfUid.storedLabel(uid, apps), apps.map { it.packageName }.sorted(), apps.all { it.system })
            })
            if (gone > 0) rulesChanged()
            gone
        } catch (e: RuntimeException) {
            PackageEvents.logFailure("could not reconcile the installed apps", e)
            null
        }
    }

    /**
     * The owner answered a new app's notification. Only when [packageName] still holds
     * [uid] is anything stored: an answer arriving after the app is gone (or after its UID
     * went to another app) stores nothing and says the app was removed.
     *
     * On a UID the app shares with others, the mode is the UID's: Block all and Allow set
     * it for the UID (it stays when this package leaves, as the Apps screen does), and Keep
     * default leaves it as it is, so a mode the owner chose for the other apps stays.
     */
    fun act(uid: Int, packageName: String, label: String, choice: NewAppChoice): ActionOutcome {
        if (packageName !in lookup.packagesForUid(uid)) {
            val outcome = ActionOutcome.Gone(label)
            alerts.outcome(packageName, outcome)
            return outcome
        }
        val shared = lookup.packagesForUid(uid).any { it != packageName }
        val outcome = try {
            val mode = choice.mode
            when {
                mode != null && shared -> store.setAppMode(uid, Network.ANY, mode)
                mode != null -> store.setAppModeForPackage(uid, packageName, Network.ANY, mode)
                !shared -> store.clearAppMode(uid, Network.ANY)
            }
            if (mode != null || !shared) rulesChanged()
            ActionOutcome.Applied(label, choice, shared)
        } catch (e: RuntimeException) {
            ActionOutcome.Failed(label, e.message ?: e.javaClass.simpleName)
        }
        alerts.outcome(packageName, outcome)
        return outcome
    }
}

/** How a UID shared by several packages is named (Android System for UID 1000, ...). */
object AppNamesOfUid {
    /** Well-known shared UIDs, named as the owner knows them (res/values/strings.xml). */
    private val WELL_KNOWN_NAMES = mapOf(
        0 to R.string.apps_uid_root,
        1000 to R.string.apps_uid_system,
        1001 to R.string.apps_uid_phone,
        1002 to R.string.apps_uid_bluetooth,
        1013 to R.string.apps_uid_media,
        1051 to R.string.apps_uid_dns,
    )

    /**
     * One package: its label. Several: the well-known name of the UID, else the label
     * of its one user-facing package, else the first label in order with how many more.
     * An app chooses its own label, so it is shown [Format.visible]: a bidirectional control
     * or a newline in it cannot reorder or break what is around it.
     */
    fun label(s: Strings, uid: Int, apps: List<InstalledApp>): String {
        if (apps.size == 1) return Format.visible(apps[0].label)
        WELL_KNOWN_NAMES[uid]?.let { return s.get(it) }
        if (apps.isEmpty()) return Format.uidLabel(s, uid)
        val sorted = apps.sortedBy { it.label.lowercase(s.locale) }
        val distinct = sorted.map { it.label }.distinct()
        return if (distinct.size == 1) Format.visible(distinct[0])
        else s.plural(R.plurals.apps_uid_and_more, apps.size - 1, Format.visible(sorted[0].label), apps.size - 1)
    }

    /** English names, for what is stored rather than shown (the store's apps table). */
    private val WELL_KNOWN = mapOf(
        0 to "Root",
        1000 to "Android System",
        1001 to "Phone services",
        1002 to "Bluetooth",
        1013 to "Media server",
        1051 to "DNS resolver (netd)",
    )

    /** The name kept in the store's apps table (for the command line, in English), not shown in the app. */
    fun storedLabel(uid: Int, apps: List<InstalledApp>): String {
        if (apps.size == 1) return apps[0].label
        WELL_KNOWN[uid]?.let { return it }
        if (apps.isEmpty()) return "UID $uid"
        val sorted = apps.sortedBy { it.label.lowercase() }
        val distinct = sorted.map { it.label }.distinct()
        return if (distinct.size == 1) distinct[0] else "${sorted[0].label} and ${apps.size - 1} more"
    }
}

/**
 * Hears installs and removals, and hands them to [AppChanges] off the main thread.
 *
 * Why two registrations: since Android 8, implicit broadcasts no longer reach receivers
 * declared in the manifest, except those on the exemption list. `PACKAGE_FULLY_REMOVED`
 * is on it, so the manifest declares this receiver for removals, which then clear rules
 * even while Hush is not running. `PACKAGE_ADDED` (and `PACKAGE_REMOVED`) are not, so
 * [register] adds them at runtime from the VPN service, for as long as the firewall
 * runs; what happens while it does not is caught up at the next start ([AppChanges.reconcile],
 * which [register] runs). Updates (`EXTRA_REPLACING`) are neither installs nor removals.
 */
class PackageEventsReceiver : BroadcastReceiver() {
    override fun onReceive(context: Context, intent: Intent) {
        val work = PackageEvents.work(intent) ?: return
        // Null when called outside a broadcast's delivery (a direct call): nothing to finish then.
        val pending: PendingResult? = goAsync()
        val changes = PackageEvents.changes(context.applicationContext ?: context)
        PackageEvents.executor.execute {
            try {
                work(changes)
            } catch (e: RuntimeException) {
                PackageEvents.logFailure("a package event failed", e)
            } finally {
                pending?.finish()
            }
        }
    }
}

/** The wiring of [PackageEventsReceiver] and [NewAppActionReceiver]; tests replace [changes] and [executor]. */
object PackageEvents {
    internal const val TAG = "HushApps"

    /**
     * A failure, logged at warn level by its kind only: its message can name a package
     * (the store quotes a name it refuses), and app names stay at debug level.
     */
    internal fun logFailure(what: String, e: Throwable) {
        Log.w(TAG, "$what (${e.javaClass.simpleName})")
        Log.d(TAG, "$what: ${e.message}")
    }

    /** One worker for every package event: they are applied in the order they came. */
    @Volatile
    var executor: Executor = Executors.newSingleThreadExecutor()

    /** The [AppChanges] the receivers use: the app's store and rules-changed path. */
    @Volatile
    var changes: (Context) -> AppChanges = { context ->
        val deps = HushUi.deps
        val settings = HushSettings(context)
        AppChanges(
            store = deps?.store ?: UnavailableStore.notConnected(context),
            lookup = PackageManagerLookup(context),
            newAppMode = { settings.newAppMode },
            alerts = NewAppNotifier(context),
            rulesChanged = { deps?.actions?.rulesChanged() },
        )
    }

    /** What to do for [intent], or null for nothing (an update, another action, no package or UID). */
    fun work(intent: Intent): ((AppChanges) -> Unit)? {
        val packageName = intent.data?.schemeSpecificPart?.takeIf { it.isNotEmpty() } ?: return null
        val uid = intent.getIntExtra(Intent.EXTRA_UID, -1).takeIf { it >= 0 } ?: return null
        val replacing = intent.getBooleanExtra(Intent.EXTRA_REPLACING, false)
        return when (intent.action) {
            Intent.ACTION_PACKAGE_ADDED -> if (replacing) null else { c -> c.installed(packageName, uid) }
            Intent.ACTION_PACKAGE_FULLY_REMOVED -> { c -> c.removed(packageName, uid) }
            Intent.ACTION_PACKAGE_REMOVED -> if (replacing) null else { c -> c.removed(packageName, uid) }
            else -> null
        }
    }

    /** The runtime registration (see [PackageEventsReceiver]); undone by [unregister]. */
    fun filter(): IntentFilter = IntentFilter().apply {
        addAction(Intent.ACTION_PACKAGE_ADDED)
        addAction(Intent.ACTION_PACKAGE_REMOVED)
        addAction(Intent.ACTION_PACKAGE_FULLY_REMOVED)
        addDataScheme("package")
    }

    /**
     * Listens for installs and removals while the caller (the VPN service) lives, and
     * catches up with those missed while it did not ([AppChanges.reconcile], off the
     * main thread). Returns the receiver to hand to [unregister].
     */
    fun register(context: Context): BroadcastReceiver {
        val receiver = PackageEventsReceiver()
        // Package broadcasts come from the system only; "not exported" still receives them.
        if (Build.VERSION.SDK_INT >= 33) {
            context.registerReceiver(receiver, filter(), Context.RECEIVER_NOT_EXPORTED)
        } else {
            context.registerReceiver(receiver, filter())
        }
        val app = context.applicationContext ?: context
        executor.execute {
            try {
                changes(app).reconcile()
            } catch (e: RuntimeException) {
                PackageEvents.logFailure("could not reconcile the installed apps", e)
            }
        }
        return receiver
    }

    fun unregister(context: Context, receiver: BroadcastReceiver) {
        try {
            context.unregisterReceiver(receiver)
        } catch (e: IllegalArgumentException) {
            // Not registered (already undone): nothing to do.
        }
    }

}
