package org.hush.android.vpn

import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import org.hush.android.core.FirewallCore
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

    fun addListener(listener: (VpnState) -> Unit) {
        listeners.add(listener)
    }

    fun removeListener(listener: (VpnState) -> Unit) {
        listeners.remove(listener)
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

    /** How the service sets up its tun; the real one drives `VpnService.Builder`. */
    @Volatile
    var tunBuilder: (HushVpnService) -> TunBuilder = { service: HushVpnService -> ServiceTunBuilder(service) }

    /** Where the service runs slow work (start, stop): one thread, so it happens in order. */
    @Volatile
    var executor: () -> Executor = { Executors.newSingleThreadExecutor() }

    /** Back to the app's defaults (tests). */
    fun reset() {
        core = null
        tunBuilder = { service: HushVpnService -> ServiceTunBuilder(service) }
        executor = { Executors.newSingleThreadExecutor() }
    }
}
