package org.hush.android.app

import android.content.Context
import org.hush.android.core.CoreConfig
import org.hush.android.core.NativeCore
import org.hush.android.core.NativeEvidence
import org.hush.android.core.NativeFirewall
import org.hush.android.core.NativeStore
import org.hush.android.data.CachedEvidence
import org.hush.android.data.Evidence
import org.hush.android.data.HushStore
import org.hush.android.lists.AppListCatalogue
import org.hush.android.lists.BuiltinLists
import org.hush.android.lists.BuiltinSwitches
import org.hush.android.lists.ListCatalogue
import org.hush.android.lists.ListDownloader
import org.hush.android.lists.ListUpdateJobService
import org.hush.android.lists.ListUpdater
import org.hush.android.lists.ListSubscriptions
import org.hush.android.settings.HushSettings
import org.hush.android.ui.HushUi
import org.hush.android.ui.UiDeps
import org.hush.android.ui.UnavailableStore
import org.hush.android.vpn.VpnDependencies
import java.io.File

/**
 * Puts the app together at start: the Rust core for the service, the store and the
 * platform for the screens. Only here do the UI, the VPN side and the core meet.
 *
 * If the native library cannot be loaded (a broken install, a wrong ABI), the app
 * still opens: every screen shows why, and the service refuses to start, saying so;
 * nothing crashes and nothing stored is touched.
 */
object AppWiring {
    /** Where downloaded lists are kept. */
    fun listsDirectory(context: Context): File = File(context.filesDir, "lists")

    fun install(context: Context, loadCore: () -> Unit = { NativeCore.version() }) {
        val app = context.applicationContext ?: context
        val settings = HushSettings(app)
        val problem = coreProblem(org.hush.android.ui.ResourceStrings(app), loadCore)
        VpnDependencies.core = if (problem == null) NativeFirewall else null
        VpnDependencies.config = { c: Context, s: HushSettings -> coreConfig(c, s) }
        val store: HushStore = if (problem == null) {
            ListAwareStore(NativeStore(settings.databasePath), ListSubscriptions(app), ListDownloader(listsDirectory(app)))
        } else {
            UnavailableStore(problem) // every call says why
        }
        HushUi.deps = UiDeps(
            store = store,
            // Read once, kept until a package changes: (HushUi.deps?.apps as? CachedApps)?.invalidate().
            apps = CachedApps.of(app),
            firewall = VpnFirewallControl(app),
            actions = AppActions(app),
            settings = SettingsAdapter(settings),
            // Without the core there are no lists to show: the Lists screen says why, not empty sections.
            lists = if (problem == null) listCatalogue(app, settings) else ListCatalogue.unavailable(problem),
            // One cache of owners for every screen, kept while the process lives.
            evidence = if (problem == null) CachedEvidence(NativeEvidence(settings.databasePath)) else Evidence.unavailable(problem),
            capture = VpnCaptureControl,
        )
        if (problem == null) {
            ListUpdateJobService.updaterFor = { c -> listUpdater(c) }
            // Off the main thread: it reads the subscriptions' file and asks JobScheduler.
            Thread({ syncListUpdates(app, settings) }, "hush-list-schedule").start()
        }
    }

    /** The lists the owner chooses from, the switches kept in [settings]. */
    fun listCatalogue(context: Context, settings: HushSettings): ListCatalogue = AppListCatalogue(
        catalogue = { BuiltinLists.native },
        switches = object : BuiltinSwitches {
            override fun isEnabled(name: String) = settings.builtinListEnabled(name)
            override fun setEnabled(name: String, enabled: Boolean) = settings.setBuiltinListEnabled(name, enabled)
        },
        subscriptionsStore = ListSubscriptions(context),
        downloader = ListDownloader(listsDirectory(context)),
        reload = { reloadLists(context) },
        scheduleUpdates = { syncListUpdates(context, settings) },
        readAnytime = { settings.listUpdatesAnytime },
        writeAnytime = { settings.listUpdatesAnytime = it },
    )

    /** Downloads the enabled lists added by URL, then reloads a running session's lists. */
    fun listUpdater(context: Context): ListUpdater =
        ListUpdater(ListSubscriptions(context), ListDownloader(listsDirectory(context)), reload = { reloadLists(context) })

    /** The daily update job, scheduled while an enabled list added by URL exists. */
    fun syncListUpdates(context: Context, settings: HushSettings) {
        try {
            ListUpdateJobService.sync(context, ListSubscriptions(context), settings.listUpdatesAnytime)
        } catch (e: RuntimeException) {
            // JobScheduler refused (too many jobs, a restricted app): "Update now" still works.
        }
    }

    /** Puts the lists chosen now in force in a running session (a stopped one reads them at start). */
    fun reloadLists(context: Context) {
        val controller = org.hush.android.vpn.VpnStatus.controller ?: return
        try {
            controller.reloadLists(coreConfig(context, HushSettings(context)))
        } catch (e: RuntimeException) {
            // A list vanished between download and reload, or the core failed: the lists in force stay.
        }
    }

    /** Null when the core loads; otherwise what to tell the phone's owner, in [strings]' words. */
    fun coreProblem(strings: org.hush.android.ui.Strings, loadCore: () -> Unit): String? = try {
        loadCore()
        null
    } catch (e: UnsatisfiedLinkError) {
        strings.get(org.hush.android.R.string.core_not_loaded, e.message ?: e.javaClass.simpleName)
    } catch (e: RuntimeException) {
        strings.get(org.hush.android.R.string.core_failed, e.message ?: e.javaClass.simpleName)
    }

    /** A session's configuration: the settings, and the enabled lists the user added that have been downloaded. */
    fun coreConfig(context: Context, settings: HushSettings): CoreConfig {
        val downloader = ListDownloader(listsDirectory(context))
        val lists = ListSubscriptions(context).all().filter { it.enabled }
        fun files(kind: String) = lists.filter { it.kind == kind }
            .map { downloader.fileFor(it.url) }
            .filter { it.isFile }
            .map { it.path }
        return CoreConfig(
            databasePath = settings.databasePath,
            upstreamDns = settings.upstreamDns,
            blockLists = files("block"),
            allowLists = files("allow"),
            defaultList = settings.builtinListEnabled(BuiltinLists.VENDOR),
            adawayList = settings.builtinListEnabled(BuiltinLists.ADAWAY),
            encryptedDnsList = settings.builtinListEnabled(BuiltinLists.DOH),
            allowEncryptedDns = settings.allowEncryptedDns,
            stripEch = settings.stripEch,
            followNetworkDns = settings.upstreamChoice == org.hush.android.settings.UpstreamChoice.NETWORK,
            // Throws when an encrypted server is chosen but unreadable: the start fails saying so, never plain DNS instead.
            upstream = settings.encryptedUpstream?.let { org.hush.android.core.EncryptedUpstream(it.url, it.addresses) },
        )
    }
}
