package org.hush.android.vpn

import android.os.ParcelFileDescriptor
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import org.hush.android.core.CaptureSpec
import org.hush.android.core.CaptureState
import org.hush.android.core.CoreConfig
import org.hush.android.core.CorePlatform
import org.hush.android.core.FirewallCore
import org.hush.android.core.FirewallSession
import org.hush.android.core.ListLoad
import org.hush.android.core.LiveStats
import org.hush.android.core.ResolverExemptions
import org.hush.android.R
import org.hush.android.ui.Strings
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.Executor
import java.util.concurrent.Executors
import java.util.concurrent.RejectedExecutionException

/**
 * The firewall's state machine: Off → Starting → On, or → Failed; On → Off on stop or
 * revoke. While On, the core's health (read with the counts) says whether it filters. It owns the running [FirewallSession] and nothing Android-specific beyond the
 * [TunBuilder] it is given, so it is tested on the JVM with fakes.
 *
 * A failed start stays Failed until someone calls [start] again: there is no automatic
 * retry, and a network change does not restart a failed firewall (a missing permission
 * or a broken core would fail the same way each time).
 *
 * Every method is thread-safe and runs its work on the calling thread; the service calls
 * the slow ones ([start], [stop]) off the main thread. Listeners are called on that
 * thread, in order, before the method returns. The one exception is the lookup of strict
 * Private DNS's server: a resolver may take seconds to answer, so it runs on [lookUps],
 * never under the controller's lock, and a start, a stop or a read of the counts never
 * waits for it (what it finds is told to the core when it comes).
 */
class VpnController(
    private val tunBuilder: TunBuilder,
    private val platform: CorePlatform,
    /** The core, or null when this build has none. */
    private val core: () -> FirewallCore?,
    /** The session's settings, read at each start (the network and MTU are set here). */
    private val config: () -> CoreConfig,
    private val spec: TunSpec,
    /** Android's always-on and lockdown for this VPN, read by the running service (null: cannot say). */
    private val alwaysOnReader: () -> AlwaysOn? = { null },
    /** The words of the failures shown to the owner (res/values/strings.xml). */
    private val strings: Strings,
    /**
     * The addresses a name has, looked up on the given network (the one under the VPN:
     * Hush's own process is outside it). Blocking; called on [lookUps], never the main
     * thread, and never under the controller's lock. Throws when the name cannot be found.
     */
    private val lookUp: (android.net.Network, String) -> List<String> = { network, name -> lookUpOn(network, name) },
    /** Where [lookUp] runs: one lookup at a time for a network and name, so a few at most. */
    private val lookUps: Executor = LOOKUPS,
    /**
     * The packages of the apps trusted with "allow all, not inspected", left out of the tun
     * beside Hush; read at each start and at [trustedChanged]. Throws when it cannot say
     * (then no app is left out: every app stays filtered).
     */
    private val trustedPackages: () -> Collection<String> = { emptyList() },
) {
    /** Told of every state change. */
    interface Listener {
        fun onStateChanged(state: VpnState)
    }

    private val lock = Any()
    private val stateFlow = MutableStateFlow<VpnState>(VpnState.Off(OffReason.NOT_STARTED))
    private val listeners = CopyOnWriteArrayList<Listener>()
    private var session: FirewallSession? = null
    /** The tun the running session was last given (Hush's and the trusted apps left out). */
    private var inUse: TunSpec = spec
    private var network: DefaultNetwork = DefaultNetwork.NONE
    /** The running session follows the network's own resolvers. */
    private var followNetworkDns = false
    /** The owner's address: used when the network names no resolver. */
    private var configuredUpstream: String? = null
    /** Where allowed DNS goes now, as last told to the core. */
    private var resolver: String? = null
    private var fallback = false
    /** The resolvers the running session lets the system reach (strict Private DNS), as last told to the core. */
    private var exemptions = ResolverExemptions.NONE
    /** The last lookup that found addresses, and what it found (read and written under [lock]). */
    private var lookedUp: Pair<Wanted, ResolverExemptions>? = null
    /** The lookups running now (under [lock]): a network and name is not asked twice at once. */
    private val lookingUp = HashSet<Wanted>()
    /** Whether the screen is off, as the service last said: each start begins with it. */
    private var screenOff = false

    /** Strict Private DNS's server [name], to be looked up on [network]. */
    private data class Wanted(val network: android.net.Network, val name: String)

    /** The current state, observable. */
    val state: StateFlow<VpnState> get() = stateFlow

    val currentNetwork: DefaultNetwork get() = synchronized(lock) { network }

    /** Where the running session sends allowed DNS ("address:port"); null when none runs. */
    val upstreamInUse: String? get() = synchronized(lock) { if (session == null) null else resolver }

    /**
     * True while the running session should follow the network's own resolvers but the
     * network named none, so allowed DNS goes to the address in Settings instead.
     */
    val upstreamFallback: Boolean get() = synchronized(lock) { session != null && fallback }

    /** Android's always-on and lockdown for Hush's VPN (API 29+); null when it cannot say. */
    fun alwaysOn(): AlwaysOn? = try {
        alwaysOnReader()
    } catch (e: RuntimeException) {
        null
    }

    fun addListener(listener: Listener) {
        listeners.add(listener)
    }

    fun removeListener(listener: Listener) {
        listeners.remove(listener)
    }

    /** Starts the firewall; a no-op while Starting or On. Returns the state it ends in. */
    fun start(): VpnState {
        var lookup: Wanted? = null
        val state = synchronized(lock) {
            val now = stateFlow.value
            if (now.isActive) return now
            publish(VpnState.Starting)
            publish(startSession())
            // Started with the server's name alone (or the addresses found before on this network): its addresses follow.
            lookup = if (session != null) lookupFor(network) else null
            stateFlow.value
        }
        lookup?.let { lookUpLater(it) }
        return state
    }

    private fun startSession(): VpnState {
        if (!safely { tunBuilder.isPermitted() }) return permissionMissing()
        val firewall = try {
            core()
        } catch (e: RuntimeException) {
            null
        } ?: return VpnState.Failed(FailureKind.CORE, strings.get(R.string.vpn_no_engine))
        val sessionConfig = try {
            val read = config()
            // An encrypted server is never swapped for the network's plain resolvers.
            val follow = read.followNetworkDns && read.upstream == null
            // Following the network: its first resolver, or the owner's address when it names none.
            val own = if (follow) network.dnsServers?.firstOrNull() else null
            configuredUpstream = read.upstreamDns
            followNetworkDns = follow
            fallback = follow && own == null
            exemptions = exemptionsOn(network)
            read.copy(
                mtu = spec.mtu, network = network.coreNetwork, ownAddresses = spec.dnsServers, selfExcluded = spec.excludesItself,
                upstreamDns = own ?: read.upstreamDns, followNetworkDns = follow, exemptResolvers = exemptions,
                screenOff = screenOff,
            )
        } catch (e: RuntimeException) {
            return VpnState.Failed(FailureKind.CORE, strings.get(R.string.vpn_error_settings, e.message ?: e.javaClass.simpleName))
        }
        resolver = sessionConfig.upstream?.url ?: sessionConfig.upstreamDns

        val wanted = specNow()
        val tun = try {
            tunBuilder.establish(wanted, network.network)
        } catch (e: SecurityException) {
            return permissionMissing()
        } catch (e: RuntimeException) {
            return VpnState.Failed(FailureKind.TUN, strings.get(R.string.vpn_error_tun, e.message ?: e.javaClass.simpleName))
        } ?: return permissionMissing() // establish() is null when the app is not (or no longer) prepared

        val fd = try {
            tun.detachFd()
        } catch (e: RuntimeException) {
            -1
        }
        if (fd < 0) {
            quietly { tun.close() }
            return VpnState.Failed(FailureKind.TUN, strings.get(R.string.vpn_error_fd))
        }

        // From here the core owns fd: it closes it when it stops, or at once when the start fails.
        val started = try {
            firewall.start(fd, sessionConfig, platform)
        } catch (e: IllegalArgumentException) {
            return coreFailed(e)
        } catch (e: IllegalStateException) {
            return coreFailed(e)
        } catch (e: RuntimeException) { // a panic in native code
            return coreFailed(e)
        } catch (e: LinkageError) { // a native library that lacks the entry (a broken install)
            quietly { ParcelFileDescriptor.adoptFd(fd).close() } // the core never took the fd
            return VpnState.Failed(FailureKind.CORE, strings.get(R.string.vpn_error_damaged, e.message ?: e.javaClass.simpleName))
        }
        session = started
        inUse = wanted
        return VpnState.On(ZERO_STATS, sessionConfig.network)
    }

    /** The tun to establish now: [spec] with the trusted apps' packages left out (none when they cannot be read). */
    private fun specNow(): TunSpec = spec.withTrusted(
        try {
            trustedPackages()
        } catch (e: RuntimeException) {
            emptyList()
        },
    )

    /**
     * The apps trusted with "allow all, not inspected" may have changed. While the firewall
     * runs and the set differs from the running tun's, the VPN is established again with
     * the new set left out, the new tun handed to the running core, and only then is the
     * old one closed (by the core, once it has read what was waiting there): apps that stay
     * filtered lose no packet, though connections Hush relayed for them start again.
     * When Android refuses the new tun, or the core cannot take it, the old one stays in
     * use. Returns whether the running tun changed.
     */
    fun trustedChanged(): Boolean {
        synchronized(lock) {
            val running = session ?: return false
            val wanted = specNow()
            if (wanted.disallowedApplications == inUse.disallowedApplications) return false
            val tun = try {
                tunBuilder.establish(wanted, network.network)
            } catch (e: RuntimeException) { // SecurityException, IllegalStateException...
                null
            } ?: return false
            val fd = try {
                tun.detachFd()
            } catch (e: RuntimeException) {
                -1
            }
            if (fd < 0) {
                quietly { tun.close() }
                return false
            }
            try {
                running.replaceTun(fd) // the core owns fd from here, closed on failure too
            } catch (e: RuntimeException) {
                return false // ended underneath (stats() will say so), or a panic in native code
            } catch (e: LinkageError) { // a library without the entry: the core never took the fd
                quietly { ParcelFileDescriptor.adoptFd(fd).close() }
                return false
            }
            inUse = wanted
            return true
        }
    }

    /** The packages left out of the running tun (Hush's and the trusted apps'); empty when off. */
    val excludedPackages: List<String> get() = synchronized(lock) { if (session == null) emptyList() else inUse.disallowedApplications }

    /** Stops the firewall (by the user, unless [reason] says otherwise); Off in any case. */
    fun stop(reason: OffReason = OffReason.STOPPED): VpnState {
        synchronized(lock) {
            val running = session
            session = null
            var detail: String? = null
            if (running != null) {
                detail = try {
                    running.stop(reason.coreReason).error
                } catch (e: IllegalStateException) {
                    null // already stopped
                } catch (e: RuntimeException) { // a panic in native code: Off all the same
                    e.message ?: e.javaClass.simpleName
                }
            }
            publish(VpnState.Off(reason, detail))
            return stateFlow.value
        }
    }

    /** Android took the VPN away (`onRevoke`): another VPN app, or the user in Settings. */
    fun revoke(): VpnState = stop(OffReason.REVOKED)

    /**
     * The default network changed. While the firewall runs, the core hears which network
     * the per-app modes follow, the VPN is declared to run over [now] (or over nothing,
     * when there is no network), and when the way out is new (another network, or new
     * addresses on the same one) the core moves its outside sockets to it. When the
     * session follows the network's own resolvers, a new way out or new DNS servers
     * name the resolver allowed DNS goes to: the network's first, or the address in
     * Settings when it names none ([upstreamFallback]); an encrypted server stays. When
     * strict Private DNS or its server's addresses change, the core hears which resolvers
     * the system must reach ([ResolverExemptions]; none when it is not strict): the
     * server's name at once, its addresses on [now] when a lookup off the lock finds them.
     */
    fun onNetworkChanged(now: DefaultNetwork) {
        val lookup = synchronized(lock) { changeNetwork(now) } ?: return
        lookUpLater(lookup)
    }

    /** Under [lock]: [onNetworkChanged]'s work; the lookup to start once the lock is let go, if one is due. */
    private fun changeNetwork(now: DefaultNetwork): Wanted? {
        val before = network
        if (now == before) return null
        network = now
        val running = session ?: return null
        try {
            if (now.coreNetwork != before.coreNetwork) running.setNetwork(now.coreNetwork)
            val next = if (followNetworkDns && now.network != null && now.dnsServers != null) {
                now.dnsServers.firstOrNull() ?: configuredUpstream
            } else {
                null
            }
            if (next != null && (next != resolver || isNewWayOut(before, now))) {
                running.networkChangedTo(next)
                resolver = next
                fallback = now.dnsServers.isNullOrEmpty()
            } else if (isNewWayOut(before, now)) {
                running.networkChanged()
            }
        } catch (e: IllegalArgumentException) {
            // A resolver the core refuses: it keeps the one it has.
        } catch (e: RuntimeException) {
            return null // stopped underneath (or a panic in native code); stats or stop() will say so
        }
        val exempt = exemptionsOn(now)
        if (exempt != exemptions && !tellExemptions(running, exempt)) return null
        if (now.network != before.network) {
            quietly { tunBuilder.setUnderlyingNetworks(if (now.network == null) emptyArray() else arrayOf(now.network)) }
        }
        val shown = stateFlow.value
        if (shown is VpnState.On && shown.network != now.coreNetwork) {
            publish(shown.copy(network = now.coreNetwork))
        }
        return lookupFor(now)
    }

    /**
     * Reads the session's counts and health into the On state (a core that stopped
     * filtering shows as such); returns the counts (null when not On).
     */
    fun refreshStats(): LiveStats? {
        synchronized(lock) {
            val running = session ?: return null
            val stats = try {
                running.stats()
            } catch (e: RuntimeException) {
                session = null
                publish(VpnState.Failed(FailureKind.CORE, strings.get(R.string.vpn_error_stopped, e.message ?: e.javaClass.simpleName)))
                return null
            }
            val shown = stateFlow.value
            if (shown is VpnState.On) {
                val health = try {
                    running.health()
                } catch (e: RuntimeException) {
                    shown.health // the counts came: the next call will say what happened
                }
                val now = shown.copy(stats = stats, health = health)
                if (now != shown) publish(now)
            }
            return stats
        }
    }

    /**
     * The screen went off ([on] false) or on: kept for the next start, and told to the
     * running session, whose events record it. A session that cannot take it changes
     * nothing else (the next read of the counts finds one that ended).
     */
    fun screenChanged(on: Boolean) {
        synchronized(lock) {
            screenOff = !on
            val running = session ?: return
            try {
                running.setScreenOff(!on)
            } catch (e: RuntimeException) {
                // stopped underneath: the counts or stop() will say so
            } catch (e: LinkageError) {
                // a library without the entry: events keep the state the session started with
            }
        }
    }

    /**
     * Starts capturing one app's packets in the running session ([FirewallSession.startCapture]),
     * ending any capture under way; false when no session runs. A file that cannot be made,
     * or a disk without room, throws IllegalStateException saying so.
     */
    fun startCapture(spec: CaptureSpec): Boolean {
        synchronized(lock) {
            val running = session ?: return false
            try {
                running.startCapture(spec)
            } catch (e: UnsatisfiedLinkError) {
                throw IllegalStateException("this build's core has no packet capture", e)
            }
            return true
        }
    }

    /** Ends the running session's capture: how it went, its files newest first; null when no session runs. */
    fun stopCapture(): CaptureState? = onCapture { it.stopCapture() }

    /** The running session's capture ([CaptureState.NONE]: none); null when no session runs. */
    fun captureStatus(): CaptureState? = onCapture { it.captureStatus() }

    /** [call] on the running session; null when none runs, or it ended underneath, or has no capture. */
    private fun onCapture(call: (FirewallSession) -> CaptureState): CaptureState? {
        synchronized(lock) {
            val running = session ?: return null
            return try {
                call(running)
            } catch (e: RuntimeException) {
                null
            } catch (e: LinkageError) {
                null
            }
        }
    }

    /** Asks the running session to re-read the stored rules; false when not running. */
    fun reloadRules(): Boolean {
        synchronized(lock) {
            val running = session ?: return false
            return try {
                running.reloadRules()
                true
            } catch (e: RuntimeException) {
                false
            }
        }
    }

    /**
     * Asks the running session to read the lists [config] names again; the loads, or
     * null when not running. A list that cannot be read throws IllegalStateException
     * (the lists in force stay).
     */
    fun reloadLists(config: CoreConfig): List<ListLoad>? {
        synchronized(lock) {
            val running = session ?: return null
            return running.reloadLists(config)
        }
    }

    /** [on]'s strict Private DNS server; null when Private DNS is not strict there. */
    private fun strictName(on: DefaultNetwork): String? =
        on.privateDns.serverName?.takeIf { on.privateDns.mode == PrivateDns.Mode.STRICT && it.isNotEmpty() }

    /**
     * Under [lock], never waiting: the resolvers to let through on [on] now, its strict
     * Private DNS server by name, with the addresses a lookup found for it on that network
     * (the name alone until one has; none when not strict).
     */
    private fun exemptionsOn(on: DefaultNetwork): ResolverExemptions {
        val name = strictName(on) ?: return ResolverExemptions.NONE
        val found = lookedUp?.takeIf { (key, _) -> key.network == on.network && key.name == name }?.second
        return found ?: ResolverExemptions(listOf(name))
    }

    /**
     * Under [lock]: the lookup due on [on], marked as running; null when not strict, with
     * no network, found already (looked up again only for another network or name), or
     * running. A failed lookup is not kept, so the next change tries again.
     */
    private fun lookupFor(on: DefaultNetwork): Wanted? {
        val key = Wanted(on.network ?: return null, strictName(on) ?: return null)
        if (lookedUp?.first == key || !lookingUp.add(key)) return null
        return key
    }

    /** Outside [lock]: hands [key]'s lookup to [lookUps]. */
    private fun lookUpLater(key: Wanted) {
        try {
            lookUps.execute { lookUpNow(key) }
        } catch (e: RejectedExecutionException) { // shut down: the name alone stays, tried again at the next change
            synchronized(lock) { lookingUp.remove(key) }
        }
    }

    /**
     * On [lookUps]: looks [key] up with no lock held, then keeps and tells the core what it
     * found only if it is still wanted: the network under the VPN and its strict server are
     * still [key]'s (a newer change wins; its own lookup follows it), and a session runs (a
     * session started meanwhile on that network began with the name alone, so it is told too).
     */
    private fun lookUpNow(key: Wanted) {
        val addresses = try {
            lookUp(key.network, key.name).distinct()
        } catch (e: Exception) { // UnknownHostException, SecurityException, a network gone
            emptyList()
        } catch (e: LinkageError) { // a framework without the lookup (the JVM tests' real Network)
            emptyList()
        }
        synchronized(lock) {
            lookingUp.remove(key)
            if (addresses.isEmpty() || network.network != key.network || strictName(network) != key.name) return
            val found = ResolverExemptions(listOf(key.name), addresses)
            lookedUp = key to found
            val running = session ?: return
            if (found != exemptions) tellExemptions(running, found)
        }
    }

    /** Under [lock]: tells [running] which resolvers to let through; false when it stopped underneath. */
    private fun tellExemptions(running: FirewallSession, exempt: ResolverExemptions): Boolean {
        try {
            running.setResolverExemptions(exempt)
            exemptions = exempt
        } catch (e: IllegalArgumentException) {
            // A name or address the core refuses: it keeps the ones it has.
        } catch (e: RuntimeException) {
            return false // stopped underneath; stats or stop() will say so
        } catch (e: LinkageError) {
            // A library without the entry: the system's DoT stays refused (Home says what strict Private DNS does).
        }
        return true
    }

    private fun permissionMissing() = VpnState.Failed(FailureKind.PERMISSION, strings.get(R.string.vpn_permission_missing))

    private fun coreFailed(e: RuntimeException): VpnState =
        VpnState.Failed(FailureKind.CORE, strings.get(R.string.vpn_error_start, e.message ?: e.javaClass.simpleName))

    private fun publish(state: VpnState) {
        stateFlow.value = state
        for (l in listeners) l.onStateChanged(state)
    }

    private inline fun safely(block: () -> Boolean): Boolean = try {
        block()
    } catch (e: RuntimeException) {
        false
    }

    private inline fun quietly(block: () -> Unit) {
        try {
            block()
        } catch (e: RuntimeException) {
            // nothing to report: best effort
        }
    }

    companion object {
        val ZERO_STATS = LiveStats(0, 0, 0, 0, 0)

        /**
         * Strict Private DNS lookups for every controller: daemon threads, made when one is
         * due and gone after a minute idle (a lookup is rare: a start, a network change).
         */
        private val LOOKUPS: Executor by lazy {
            Executors.newCachedThreadPool { task -> Thread(task, "hush-private-dns").apply { isDaemon = true } }
        }

        /** [name]'s addresses on [network] (`Network.getAllByName`: that network's resolver, not the VPN's). */
        fun lookUpOn(network: android.net.Network, name: String): List<String> =
            network.getAllByName(name).mapNotNull { it.hostAddress?.substringBefore('%') }

        /**
         * Whether the core must move its outside sockets: there is a network, and it is
         * another one than before, or the same one with new addresses (the first
         * addresses learned for a network are not a change).
         */
        fun isNewWayOut(before: DefaultNetwork, now: DefaultNetwork): Boolean =
            now.network != null && (
                now.network != before.network ||
                    (before.addresses != null && now.addresses != null && now.addresses != before.addresses)
                )
    }
}

/** Android's "Always-on VPN" and "Block connections without VPN" (lockdown) for Hush. */
data class AlwaysOn(val alwaysOn: Boolean, val lockdown: Boolean) {
    companion object {
        /** What the running [service] knows (API 29+); null before, or when Android will not say. */
        fun of(service: android.net.VpnService): AlwaysOn? {
            if (android.os.Build.VERSION.SDK_INT < 29) return null
            return try {
                AlwaysOn(service.isAlwaysOn, service.isLockdownEnabled)
            } catch (e: RuntimeException) {
                null
            }
        }
    }
}
