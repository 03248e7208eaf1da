package org.hush.android.core

/**
 * What the firewall core needs from the platform, called from the core's own
 * threads (never the main thread): keep a socket out of the VPN, and name the
 * app that owns a connection. On Android: `VpnService.protect` and
 * `ConnectivityManager.getConnectionOwnerUid`.
 */
interface CorePlatform {
    /** Keeps socket [fd] out of the VPN; false when the platform refused. */
    fun protect(fd: Int): Boolean

    /**
     * The UID of the app that owns the connection, or [UNKNOWN_UID] when the
     * platform cannot say. [protocol] is 6 (TCP) or 17 (UDP); addresses are 4
     * or 16 bytes; [local] is the app's end.
     */
    fun ownerUid(protocol: Int, local: ByteArray, localPort: Int, remote: ByteArray, remotePort: Int): Int

    companion object {
        /** `android.os.Process.INVALID_UID`. */
        const val UNKNOWN_UID = -1
    }
}

/** The network in use, as the per-app modes tell them apart. [wire] is the core's word. */
enum class Network(val wire: String) {
    ANY("any"),
    WIFI("wifi"),
    MOBILE("mobile"),
}

/** What a firewall session runs with. */
data class CoreConfig(
    /** The activity log and rules: a SQLite file the core owns. */
    val databasePath: String,
    /**
     * Where allowed DNS queries go, "address:port" (e.g. "9.9.9.9:53", "[2620:fe::fe]:53"),
     * unless [upstream] names an encrypted server.
     */
    val upstreamDns: String,
    val mtu: Int = DEFAULT_MTU,
    /** The network in use when the session starts. */
    val network: Network = Network.ANY,
    /** The built-in list of vendor telemetry hosts. */
    val defaultList: Boolean = true,
    /** The built-in AdAway list (ads and trackers in general): on in the app unless turned off. */
    val adawayList: Boolean = true,
    /** The built-in list of encrypted-DNS (DoH) endpoints. */
    val encryptedDnsList: Boolean = true,
    /** Let apps reach their own DNS over TLS or QUIC (port 853); refused by default. */
    val allowEncryptedDns: Boolean = false,
    /** Remove `ech` from HTTPS/SVCB answers, so apps send a server name Hush can read. */
    val stripEch: Boolean = true,
    /**
     * Allowed DNS follows the network's own resolvers (the platform's, not the core's,
     * part: not sent in the start JSON). The session starts with [upstreamDns] and is
     * told each new one through [FirewallSession.networkChangedTo].
     */
    val followNetworkDns: Boolean = false,
    /**
     * An encrypted server allowed DNS goes to instead of [upstreamDns] (sent as the start
     * JSON's `upstream`); null: plain DNS. A network change never replaces it.
     */
    val upstream: EncryptedUpstream? = null,
    /** Resolvers the system itself must reach past the core's refusals (strict Private DNS); none by default. */
    val exemptResolvers: ResolverExemptions = ResolverExemptions.NONE,
    /** Downloaded block lists (files, checked by [NativeCore.checkList]); hosts, domains or adblock format. */
    val blockLists: List<String> = emptyList(),
    val allowLists: List<String> = emptyList(),
    /**
     * The tun's virtual DNS servers (set by the VPN from its TunSpec): the core
     * answers DNS sent to them, and refuses anything else sent there.
     */
    val ownAddresses: List<String> = emptyList(),
    /** Hush's own package is left out of the VPN (TunSpec.excludesItself): the core then never calls [CorePlatform.protect]. */
    val selfExcluded: Boolean = false,
    /**
     * The screen is off as the session starts (the start JSON's `screenOff`); changes
     * while it runs go through [FirewallSession.setScreenOff]. Each attempt records it.
     */
    val screenOff: Boolean = false,
) {
    companion object {
        /**
         * The tun's MTU, which only the apps and the core see: the core ends their TCP
         * and UDP flows and relays them over its own sockets, which keep to the real
         * network's MTU. Each segment an app uploads is one read of the tun, so a larger
         * MTU costs less per byte: in the lab, 9000 against 1500 nearly doubles one
         * upload and takes a quarter off the CPU per GB relayed (BENCHMARKS.md, "The
         * app's tun MTU"). NetGuard has run its tun at 10000 for years.
         */
        const val DEFAULT_MTU = 9000
    }
}

/**
 * An encrypted DNS server as the core reads it (`hush_session::api`'s `upstream`):
 * [url] `tls://NAME[:PORT]` or `https://NAME[:PORT]/PATH`, and [addresses], where NAME
 * is reached (the core never looks it up in clear text).
 */
data class EncryptedUpstream(val url: String, val addresses: List<String>)

/**
 * Resolvers the phone's own resolver must reach through the tun although the core would
 * refuse them: the strict Private DNS server Android speaks DNS over TLS (port 853) to,
 * by [names] and by the [addresses] they had on the network under the VPN. JSON
 * `{"names": [...], "addresses": [...]}` (the start JSON's `exemptResolvers`, and
 * [FirewallSession.setResolverExemptions]).
 */
data class ResolverExemptions(val names: List<String> = emptyList(), val addresses: List<String> = emptyList()) {
    val isEmpty: Boolean get() = names.isEmpty() && addresses.isEmpty()

    companion object {
        val NONE = ResolverExemptions()
    }
}

/** The session's counts since it started. */
data class LiveStats(
    val packetsIn: Long,
    val dnsQueries: Long,
    /** DNS queries answered with a block, connections refused or reset by a rule. */
    val blocked: Long,
    /** DNS queries forwarded upstream and connections relayed. */
    val allowed: Long,
    /** Events the activity log could not keep (shown, never silent). */
    val eventsDropped: Long,
)

/** What loading one list found. */
data class ListLoad(
    /** The file's name, or `hush-default` for the built-in list. */
    val name: String,
    /** `built-in` or the file's path. */
    val origin: String,
    val entries: Long,
    val duplicates: Long,
    /** Lines that are not an entry; the first few are in [firstRejected] as "line N: why". */
    val rejected: Long,
    val firstRejected: List<String>,
)

/** How a session ended. */
data class SessionEnd(val stats: LiveStats, val error: String?)

/** Whether a session filters traffic now. [wire] is the core's word. A session never lets traffic pass unfiltered. */
enum class Filtering(val wire: String) {
    /** Every packet is judged. */
    ON("on"),
    /** The engine failed and is being started again; packets wait meanwhile. */
    RESTARTING("restarting"),
    /** The engine failed too often: traffic is held (dropped, DNS refused) until a restart succeeds. */
    HOLDING("holding"),
    /** The session ended. */
    STOPPED("stopped");

    companion object {
        fun fromWire(word: String): Filtering? = values().firstOrNull { it.wire == word }
    }
}

/** Something wrong that does not stop filtering: [kind] is `database`, `list`, `rules`, `config` or `upstream` (the encrypted server failing). */
data class CoreProblem(val kind: String, val message: String)

/** A session's health: whether it filters (and why not), its engine restarts, its problems. */
data class CoreHealth(
    val filtering: Filtering,
    /** Why it is not [Filtering.ON], in the core's words; null when on. */
    val reason: String? = null,
    val restarts: Int = 0,
    val problems: List<CoreProblem> = emptyList(),
) {
    val isFiltering: Boolean get() = filtering == Filtering.ON

    companion object {
        val HEALTHY = CoreHealth(Filtering.ON)
    }
}

/**
 * Why a session stops, recorded by the core with the gap in filtering it starts.
 * The core's words ([STOPPED], [REVOKED]), or a short phrase of the platform's.
 */
object StopReason {
    /** The owner stopped it (hush_session::STOPPED_BY_OWNER). */
    const val STOPPED = "stopped"
    /** Another VPN app took over, or the VPN permission was withdrawn (hush_session::REVOKED). */
    const val REVOKED = "revoked"
    /** Android destroyed the VPN service while it ran, without a stop. */
    const val SERVICE_DESTROYED = "service-destroyed"
}

/** Starts firewall sessions: the Rust core ([NativeFirewall]), or a fake in tests. */
interface FirewallCore {
    /**
     * Starts the firewall on the VPN's tun [tunFd], which the session then owns
     * (it closes it when it stops, or at once when the start fails).
     * @throws IllegalArgumentException for a bad [config] or fd.
     * @throws IllegalStateException when the core cannot start (the message says why).
     */
    fun start(tunFd: Int, config: CoreConfig, platform: CorePlatform): FirewallSession
}

/** A running firewall. Thread-safe; every call after [stop] throws IllegalStateException. */
interface FirewallSession {
    fun stats(): LiveStats

    /** The platform's active network changed: which kind it is, for the per-app modes. */
    fun setNetwork(network: Network)

    /** The screen went off ([off] true) or on (ACTION_SCREEN_OFF/ON): the attempts made from now on record it. */
    fun setScreenOff(off: Boolean)

    /**
     * The platform's network changed (another network, or new addresses on the same
     * one): the core reopens its outside sockets and moves its flows over.
     */
    fun networkChanged()

    /**
     * As [networkChanged], and allowed DNS goes to [resolver] (`IP` or `IP:PORT`, port 53
     * by default) from now on: the new network's own resolver, when the owner follows it.
     * @throws IllegalArgumentException when [resolver] is not an address.
     */
    fun networkChangedTo(resolver: String)

    /**
     * Takes [tunFd], a new tun (the VPN established again with another set of apps left
     * out), which it then owns (closed on failure too), and closes the old one once it
     * has read what was waiting there. Flows the core relayed start again, as after an
     * engine restart.
     * @throws IllegalStateException when the session has ended.
     */
    fun replaceTun(tunFd: Int)

    /**
     * From now on, the resolvers the system itself must reach past the core's refusals
     * ([ResolverExemptions.NONE]: none); replaces what was given before.
     * @throws IllegalArgumentException when a name or address is not one.
     */
    fun setResolverExemptions(exemptions: ResolverExemptions)

    /** Whether it filters now, and what is wrong with it. */
    fun health(): CoreHealth

    /** Re-reads the stored rules (after a change made through [org.hush.android.data.HushStore]). */
    fun reloadRules()

    /**
     * Reads the lists [config] names again (its other fields are ignored) and puts
     * them in force for new connections, without a restart.
     * @throws IllegalStateException when a list cannot be read; the lists in force stay.
     */
    fun reloadLists(config: CoreConfig): List<ListLoad>

    /**
     * Captures one app's packets into the files [spec] names, ending any capture under way
     * (whose files stay). The first file is made before this returns.
     * @throws IllegalStateException when a file cannot be made, or the disk has no room for one.
     * @throws IllegalArgumentException for a spec the core refuses.
     */
    fun startCapture(spec: CaptureSpec)

    /** Ends the capture under way, if any: how it went, its files newest first ([CaptureState.NONE]: none). */
    fun stopCapture(): CaptureState

    /** The capture under way, if any; one that ended by itself stays until [stopCapture]. */
    fun captureStatus(): CaptureState

    /** Stops the firewall and closes the tun; [reason] ([StopReason]) is recorded with the gap it starts. */
    fun stop(reason: String = StopReason.STOPPED): SessionEnd
}
