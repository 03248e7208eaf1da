package org.hush.android.vpn

import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import android.content.Context
import org.hush.android.core.CoreConfig
import org.hush.android.core.FirewallCore
import org.hush.android.settings.HushSettings
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.Executor
import java.util.concurrent.Executors

/**
 * The firewall's state for the whole process: the screens, the tile and the boot
 * receiver read it; [HushVpnService] writes it. Off until the service says otherwise.
 */
object VpnStatus {
    private val flow = MutableStateFlow<VpnState>(VpnState.Off(OffReason.NOT_STARTED))
    private val listeners = CopyOnWriteArrayList<(VpnState) -> Unit>()

    val state: StateFlow<VpnState> get() = flow

    /** The service's controller while the service exists: rule and list reloads go to it. */
    @Volatile
    var controller: VpnController? = null
        internal set

    fun addListener(listener: (VpnState) -> Unit) {
        listeners.add(listener)
    }

    fun removeListener(listener: (VpnState) -> Unit) {
        listeners.remove(listener)
    }

    /** A start that failed before the service ran (no permission, a refused start). */
    fun fail(message: String, kind: FailureKind = FailureKind.CORE) {
        publish(VpnState.Failed(kind, message))
    }

    internal fun publish(state: VpnState) {
        flow.value = state
        for (l in listeners) l(state)
    }
}

/**
 * What [HushVpnService] is built with, since Android constructs the service itself.
 * The app sets [core] at startup (the Rust core, `NativeFirewall`); tests put fakes in
 * every field.
 */
object VpnDependencies {
    /** The firewall engine; null in a build without it (the service then fails to start, saying so). */
    @Volatile
    var core: FirewallCore? = null

    /** The session's settings, read at each start; the app adds its lists (see AppWiring). */
    @Volatile
    var config: (Context, HushSettings) -> CoreConfig = { _: Context, settings: HushSettings ->
        CoreConfig(databasePath = settings.databasePath, upstreamDns = settings.upstreamDns)
    }

    /** How the service sets up its tun; the real one drives `VpnService.Builder`. */
    @Volatile
    var tunBuilder: (HushVpnService) -> TunBuilder = { service: HushVpnService -> ServiceTunBuilder(service) }

    /**
     * The packages of the apps trusted with "allow all, not inspected", which the tun leaves
     * out; none in a build without the core (or when the store cannot be read).
     */
    @Volatile
    var trustedPackages: (Context) -> Collection<String> = ::storedTrustedPackages

    /** Where the service runs slow work (start, stop): one thread, so it happens in order. */
    @Volatile
    var executor: () -> Executor = { Executors.newSingleThreadExecutor() }

    /** Back to the app's defaults (tests). */
    fun reset() {
        core = null
        config = { _: Context, settings: HushSettings ->
            CoreConfig(databasePath = settings.databasePath, upstreamDns = settings.upstreamDns)
        }
        tunBuilder = { service: HushVpnService -> ServiceTunBuilder(service) }
        executor = { Executors.newSingleThreadExecutor() }
        trustedPackages = ::storedTrustedPackages
    }

    /**
     * The trusted apps in the app's store (the one the screens use; none before the app
     * has set it up), as packages: the one each was trusted for, or every package of its
     * UID when it was trusted for the UID.
     */
    fun storedTrustedPackages(context: Context): Collection<String> {
        val store = org.hush.android.ui.HushUi.deps?.store ?: return emptyList()
        val apps = try {
            store.trustedApps()
        } catch (e: LinkageError) { // a library without the entry
            return emptyList()
        }
        return apps.flatMap { app ->
            app.packageName?.let { listOf(it) } ?: context.packageManager.getPackagesForUid(app.uid)?.toList().orEmpty()
        }
    }
}
