package org.hush.android.ui

import android.content.ComponentName
import android.content.Context
import android.content.Intent
import android.content.pm.PackageManager
import android.net.Uri
import android.os.Build
import android.os.PowerManager
import android.provider.Settings

/**
 * What the guidance screen asks of the phone: which system screens open here, and
 * whether Hush is exempt from battery optimisation. [AndroidPhone] on a device; the
 * same over Robolectric's package and power managers in tests.
 */
interface Phone {
    /** The phone maker, lower case (Build.MANUFACTURER), e.g. `xiaomi`, `samsung`. */
    val maker: String
    val packageName: String

    /** Whether an activity on this phone answers [intent]. */
    fun resolves(intent: Intent): Boolean

    /** PowerManager.isIgnoringBatteryOptimizations for Hush; null when it cannot be read. */
    fun ignoringBatteryOptimizations(): Boolean?
}

/** [Phone] from the PackageManager, the PowerManager and Build. */
class AndroidPhone(context: Context, override val maker: String = Build.MANUFACTURER.orEmpty().lowercase()) : Phone {
    private val app = context.applicationContext ?: context
    override val packageName: String = app.packageName

    override fun resolves(intent: Intent): Boolean = try {
        // Explicit OEM components need the package visible: QUERY_ALL_PACKAGES, and <queries> in the manifest.
        app.packageManager.queryIntentActivities(intent, PackageManager.MATCH_DEFAULT_ONLY).isNotEmpty() ||
            app.packageManager.resolveActivity(intent, 0) != null
    } catch (e: RuntimeException) { // a vendor's package manager refusing a component: not there
        false
    }

    override fun ignoringBatteryOptimizations(): Boolean? = try {
        app.getSystemService(PowerManager::class.java)?.isIgnoringBatteryOptimizations(packageName)
    } catch (e: RuntimeException) {
        null
    }
}

/**
 * One thing the owner can do so that Android leaves Hush running. [open]: the system
 * screen to do it on, the first of its candidates that resolves here (null: none does,
 * and [instructions] say where to find it by hand). [done]: whether it is done where
 * Android tells (null: Android does not let an app read it; [doneNote] says so).
 */
data class GuidanceStep(
    val key: String,
    val title: String,
    val instructions: String,
    val open: Intent?,
    val done: Boolean?,
    val doneNote: String,
)

data class GuidanceState(
    val loading: Boolean = true,
    val steps: List<GuidanceStep> = emptyList(),
    val error: String? = null,
)

/**
 * The guidance screen: battery optimisation (stock Android and the makers that add
 * their own killers), autostart, always-on and "Block connections without VPN". Each
 * step offers only a system screen that resolves on this phone, checked with the
 * PackageManager (off the main thread: it is a call into the system server).
 */
class GuidancePresenter(deps: UiDeps, private val phone: Phone) :
    Presenter<GuidanceState>(GuidanceState(), deps.io, deps.main) {

    /** Reads the phone again (back from a system screen, a step may be done now). */
    fun load() {
        background({ Guidance.steps(phone) }, failed = { e ->
            set(state.copy(loading = false, error = "Could not check this phone's settings: " + Format.error(e)))
        }) { steps -> set(GuidanceState(loading = false, steps = steps)) }
    }
}

/** The steps and the system screens behind them. */
object Guidance {
    /** A maker's own screen: the makers it ships with (Build.MANUFACTURER) and its components, best first. */
    class Vendor(val key: String, val makers: Set<String>, val title: String, val instructions: String, val components: List<ComponentName>)

    // Component names as public sources give them:
    // - AutoStarter (github.com/judemanutd/AutoStarter, AutoStartPermissionHelper.kt), which
    //   opens the same screens for many makers: MIUI autostart, Samsung's battery screen
    //   (both class names), Huawei's startup manager and protected apps, ColorOS's and
    //   Oppo's startup lists, Vivo's background start-up managers;
    // - dontkillmyapp.com (Xiaomi, Samsung, Huawei, Oppo, Vivo pages) for where each lives and what to set;
    // - the MIUI battery saver page (com.miui.powercenter.PowerSettings): listed with the
    //   autostart one by react-native-background-guardian's OEM notes.
    // Any of these may be missing or renamed on a given firmware: only those that resolve are offered.
    val vendors: List<Vendor> = listOf(
        Vendor(
            "xiaomi-autostart", setOf("xiaomi", "redmi", "poco"), "Autostart (Xiaomi, HyperOS, MIUI)",
            "Turn on Autostart for Hush, so Android may start it again by itself. " +
                "By hand: Settings › Apps › Hush › Autostart (or Security › Permissions › Autostart).",
            listOf(ComponentName("com.miui.securitycenter", "com.miui.permcenter.autostart.AutoStartManagementActivity")),
        ),
        Vendor(
            "xiaomi-battery", setOf("xiaomi", "redmi", "poco"), "Battery saver (Xiaomi, HyperOS, MIUI)",
            "Choose \"No restrictions\" for Hush. By hand: Settings › Apps › Hush › Battery saver › No restrictions. " +
                "Locking Hush in the recent apps (drag it down) helps too.",
            listOf(ComponentName("com.miui.securitycenter", "com.miui.powercenter.PowerSettings")),
        ),
        Vendor(
            "samsung-battery", setOf("samsung"), "Background usage limits (Samsung)",
            "Make sure Hush is not in \"Sleeping apps\" or \"Deep sleeping apps\", and add it to \"Never sleeping apps\". " +
                "By hand: Settings › Battery › Background usage limits.",
            listOf(
                ComponentName("com.samsung.android.lool", "com.samsung.android.sm.battery.ui.BatteryActivity"),
                ComponentName("com.samsung.android.lool", "com.samsung.android.sm.ui.battery.BatteryActivity"),
            ),
        ),
        Vendor(
            "huawei-launch", setOf("huawei", "honor"), "App launch (Huawei, Honor)",
            "Find Hush, turn off \"Manage automatically\", and allow Auto-launch, Secondary launch and Run in background. " +
                "By hand: Settings › Battery › App launch (older phones: Phone Manager › Protected apps).",
            listOf(
                ComponentName("com.huawei.systemmanager", "com.huawei.systemmanager.startupmgr.ui.StartupNormalAppListActivity"),
                ComponentName("com.huawei.systemmanager", "com.huawei.systemmanager.optimize.process.ProtectActivity"),
                ComponentName("com.huawei.systemmanager", "com.huawei.systemmanager.appcontrol.activity.StartupAppControlActivity"),
            ),
        ),
        Vendor(
            "oppo-autostart", setOf("oppo", "realme", "oneplus"), "Auto launch (Oppo, Realme, ColorOS)",
            "Allow Hush to auto launch. By hand: Settings › Apps › Auto launch, then Settings › Battery › " +
                "Hush › Allow background activity.",
            listOf(
                ComponentName("com.coloros.safecenter", "com.coloros.safecenter.permission.startup.StartupAppListActivity"),
                ComponentName("com.coloros.safecenter", "com.coloros.safecenter.startupapp.StartupAppListActivity"),
                ComponentName("com.oppo.safe", "com.oppo.safe.permission.startup.StartupAppListActivity"),
            ),
        ),
        Vendor(
            "vivo-background", setOf("vivo", "iqoo"), "Background start-up (Vivo, FuntouchOS, OriginOS)",
            "Allow Hush to start in the background, and allow high background power use. " +
                "By hand: Settings › Battery › Background power consumption management › Hush.",
            listOf(
                ComponentName("com.vivo.permissionmanager", "com.vivo.permissionmanager.activity.BgStartUpManagerActivity"),
                ComponentName("com.iqoo.secure", "com.iqoo.secure.ui.phoneoptimize.AddWhiteListActivity"),
                ComponentName("com.iqoo.secure", "com.iqoo.secure.ui.phoneoptimize.BgStartUpManager"),
            ),
        ),
    )

    // The words, in one place.
    const val BATTERY_TITLE = "Battery optimisation"
    const val BATTERY_TEXT = "Let Hush run without battery optimisation, so Android does not stop it to save power. " +
        "On the list, show all apps, pick Hush and choose \"Don't optimise\" (or, under App info › Battery, \"Unrestricted\")."
    const val ALWAYS_ON_TITLE = "Always-on VPN and \"Block connections without VPN\""
    const val ALWAYS_ON_TEXT = "In Android's VPN settings, tap the gear beside Hush, turn on \"Always-on VPN\" so Android " +
        "starts Hush by itself (after a restart, or if it was stopped), and \"Block connections without VPN\" so no app " +
        "connects while Hush is not running."
    const val DONE = "Done"
    const val NOT_DONE = "Not done yet"
    const val CANNOT_TELL_BATTERY = "Android did not say whether this is done: check it there."
    const val CANNOT_TELL_ALWAYS_ON = "Android does not let an app's screens read this setting: check it there."
    const val CANNOT_TELL_VENDOR = "The phone maker gives apps no way to read this: check it there."
    const val NO_SCREEN = "This phone has no such screen Hush can open: follow the steps by hand."

    /** The steps for [phone]: stock Android's always, a maker's where its screen resolves or the maker is it. */
    fun steps(phone: Phone): List<GuidanceStep> {
        val out = ArrayList<GuidanceStep>()
        val battery = firstResolving(phone, batteryIntents(phone.packageName))
        val ignoring = phone.ignoringBatteryOptimizations()
        out.add(GuidanceStep("battery", BATTERY_TITLE, BATTERY_TEXT, battery, ignoring, when (ignoring) {
            true -> DONE
            false -> NOT_DONE
            null -> CANNOT_TELL_BATTERY
        }))
        for (v in vendors) {
            val open = firstResolving(phone, v.components.map { Intent().setComponent(it).addFlags(Intent.FLAG_ACTIVITY_NEW_TASK) })
            if (open == null && phone.maker !in v.makers) continue // another maker's phone: not a step here
            out.add(GuidanceStep(v.key, v.title, v.instructions, open, null, CANNOT_TELL_VENDOR))
        }
        val vpn = firstResolving(phone, listOf(Intent(Settings.ACTION_VPN_SETTINGS)))
        out.add(GuidanceStep("always-on", ALWAYS_ON_TITLE, ALWAYS_ON_TEXT, vpn, null, CANNOT_TELL_ALWAYS_ON))
        return out
    }

    /**
     * Stock Android's battery screens, best first: the list of apps and their
     * optimisation (needs no permission, unlike the direct request), then Hush's App info.
     */
    fun batteryIntents(packageName: String): List<Intent> = listOf(
        Intent(Settings.ACTION_IGNORE_BATTERY_OPTIMIZATION_SETTINGS),
        Intent(Settings.ACTION_APPLICATION_DETAILS_SETTINGS, Uri.fromParts("package", packageName, null)),
    )

    private fun firstResolving(phone: Phone, candidates: List<Intent>): Intent? = candidates.firstOrNull { phone.resolves(it) }
}
