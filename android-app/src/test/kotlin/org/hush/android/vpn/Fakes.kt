package org.hush.android.vpn

import org.hush.android.core.CoreConfig
import org.hush.android.core.CoreHealth
import org.hush.android.core.CorePlatform
import org.hush.android.core.FirewallCore
import org.hush.android.core.FirewallSession
import org.hush.android.core.ListLoad
import org.hush.android.core.LiveStats
import org.hush.android.core.Network
import org.hush.android.core.SessionEnd

/** A FirewallCore that records what it was started with; [failWith] makes start throw. */
class FakeCore : FirewallCore {
    var failWith: RuntimeException? = null
    val starts = ArrayList<Pair<Int, CoreConfig>>()
    val sessions = ArrayList<FakeSession>()
    /** fds the core owned and closed (on stop, or at once on a failed start). */
    val closedFds = ArrayList<Int>()
    var platform: CorePlatform? = null

    override fun start(tunFd: Int, config: CoreConfig, platform: CorePlatform): FirewallSession {
        starts.add(Pair(tunFd, config))
        this.platform = platform
        failWith?.let {
            closedFds.add(tunFd)
            throw it
        }
        return FakeSession(this, tunFd, config.network).also { sessions.add(it) }
    }

    val session: FakeSession get() = sessions.last()
}

class FakeSession(private val core: FakeCore, val fd: Int, initial: Network) : FirewallSession {
    @Volatile var stats = LiveStats(0, 0, 0, 0, 0)
    val networks = ArrayList<Network>().also { it.add(initial) }
    var stopped = false
    /** Why it was stopped (StopReason), once it was. */
    var stopReason: String? = null
    var reloads = 0
    var networkChanges = 0
    @Volatile var health = CoreHealth.HEALTHY
    var endError: String? = null

    private fun alive() = check(!stopped) { "session stopped" }

    override fun stats(): LiveStats { alive(); return stats }
    override fun setNetwork(network: Network) { alive(); networks.add(network) }
    /** Each setScreenOff taken, in order; [screenOffFailure] makes it throw instead. */
    val screenOff: MutableList<Boolean> = java.util.Collections.synchronizedList(ArrayList())
    @Volatile var screenOffFailure: RuntimeException? = null
    override fun setScreenOff(off: Boolean) {
        alive()
        screenOffFailure?.let { throw it }
        screenOff.add(off)
    }
    override fun networkChanged() { alive(); networkChanges++ }
    /** The tuns handed over by replaceTun, in order; the one in use is the last (or [fd]). */
    val replacedBy = ArrayList<Int>()
    /** Makes replaceTun throw (the core closes the fd it was given, as the real one does). */
    var replaceFailure: RuntimeException? = null
    override fun replaceTun(tunFd: Int) {
        alive()
        replaceFailure?.let { core.closedFds.add(tunFd); throw it }
        core.closedFds.add(replacedBy.lastOrNull() ?: fd)
        replacedBy.add(tunFd)
    }
    /** The resolvers named by networkChangedTo, in order (each also counts as a network change). */
    val resolvers = ArrayList<String>()
    override fun networkChangedTo(resolver: String) { alive(); networkChanges++; resolvers.add(resolver) }
    override fun health(): CoreHealth { alive(); return health }
    /** Each setResolverExemptions, in order (told from a lookup's thread too, so synchronized). */
    val exemptions: MutableList<org.hush.android.core.ResolverExemptions> = java.util.Collections.synchronizedList(ArrayList())
    override fun setResolverExemptions(exemptions: org.hush.android.core.ResolverExemptions) { alive(); this.exemptions.add(exemptions) }
    override fun reloadRules() { alive(); reloads++ }
    val listReloads = ArrayList<CoreConfig>()
    override fun reloadLists(config: CoreConfig): List<ListLoad> {
        alive()
        listReloads.add(config)
        return config.blockLists.map { ListLoad(it.substringAfterLast('/'), it, 0, 0, 0, emptyList()) }
    }
    /** Each capture spec started, in order; [captureFailure] makes the start throw instead. */
    val captures = ArrayList<org.hush.android.core.CaptureSpec>()
    var captureFailure: RuntimeException? = null
    /** What captureStatus says, and stopCapture before it clears it. */
    @Volatile var capture = org.hush.android.core.CaptureState.NONE
    override fun startCapture(spec: org.hush.android.core.CaptureSpec) {
        alive()
        captureFailure?.let { throw it }
        captures.add(spec)
        capture = org.hush.android.core.CaptureState(spec.uid, true, 0, 0, 0, emptyList(), null)
    }
    override fun stopCapture(): org.hush.android.core.CaptureState {
        alive()
        return capture.copy(running = false).also { capture = org.hush.android.core.CaptureState.NONE }
    }
    override fun captureStatus(): org.hush.android.core.CaptureState { alive(); return capture }
    override fun stop(reason: String): SessionEnd {
        alive()
        stopped = true
        stopReason = reason
        core.closedFds.add(replacedBy.lastOrNull() ?: fd)
        return SessionEnd(stats, endError)
    }
}

class FakeTun(private val fd: Int) : Tun {
    var detached = false
    var closed = false
    override fun detachFd(): Int { detached = true; return fd }
    override fun close() { closed = true }
}

/** A TunBuilder: [permitted], and what establish() gives ([tun] null: refused). */
class FakeTunBuilder(var permitted: Boolean = true, var fd: Int = 42) : TunBuilder {
    var establishFailure: RuntimeException? = null
    var returnNull = false
    val specs = ArrayList<TunSpec>()
    val underlyingAtEstablish = ArrayList<android.net.Network?>()
    val underlyingSet = ArrayList<List<android.net.Network>?>()
    val tuns = ArrayList<FakeTun>()

    override fun isPermitted(): Boolean = permitted

    override fun establish(spec: TunSpec, underlying: android.net.Network?): Tun? {
        specs.add(spec)
        underlyingAtEstablish.add(underlying)
        establishFailure?.let { throw it }
        if (returnNull) return null
        return FakeTun(fd).also { tuns.add(it) }
    }

    override fun setUnderlyingNetworks(networks: Array<android.net.Network>?) {
        underlyingSet.add(networks?.toList())
    }
}

object NoPlatform : CorePlatform {
    override fun protect(fd: Int): Boolean = true
    override fun ownerUid(protocol: Int, local: ByteArray, localPort: Int, remote: ByteArray, remotePort: Int): Int =
        CorePlatform.UNKNOWN_UID
}
