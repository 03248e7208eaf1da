package org.hush.android.vpn

import org.hush.android.core.CoreHealth
import org.hush.android.core.LiveStats
import org.hush.android.core.Network
import org.hush.android.core.StopReason

/**
 * Why the firewall is off: [coreReason] is what the core records with the gap in
 * filtering that starts ([StopReason]). The owner's words for each are in
 * res/values/strings.xml ([VpnNotifications.offReason]).
 */
enum class OffReason(val coreReason: String) {
    NOT_STARTED(StopReason.STOPPED),
    STOPPED(StopReason.STOPPED),
    REVOKED(StopReason.REVOKED),
    /** Android destroyed the service while it ran (no stop, no revoke). */
    SERVICE_DESTROYED(StopReason.SERVICE_DESTROYED),
}

/** What failed; the screens use it to offer the right fix (e.g. ask for the VPN permission). */
enum class FailureKind { PERMISSION, TUN, CORE }

/** The firewall as the app shows it. */
sealed class VpnState {
    data class Off(val reason: OffReason, val detail: String? = null) : VpnState()

    object Starting : VpnState() {
        override fun toString(): String = "Starting"
    }

    /**
     * The VPN runs. [health] says whether the core filters: when it does not (its engine
     * restarting, or traffic held), nothing passes unfiltered, and [warning] says so.
     */
    data class On(val stats: LiveStats, val network: Network, val health: CoreHealth = CoreHealth.HEALTHY) : VpnState() {
        /** "Hush stopped filtering: why", or "Hush is restarting its engine", in [s]' words; null while it filters. */
        fun warning(s: org.hush.android.ui.Strings): String? = org.hush.android.ui.Format.notFiltering(s, health.filtering, health.reason)

        /** What is wrong without stopping filtering (a list not read, a database not written), for the screens. */
        val problems: List<String> get() = health.problems.map { it.message }
    }

    data class Failed(val kind: FailureKind, val message: String) : VpnState()

    val isActive: Boolean get() = this is Starting || this is On
}

/** How the phone reaches the internet, as the default network's transport says. */
enum class Transport { WIFI, CELLULAR, OTHER, NONE }

/**
 * Android's Private DNS on the default network (`LinkProperties.isPrivateDnsActive`,
 * `getPrivateDnsServerName`, API 28+).
 *
 * - [OFF]: off, or automatic without a server that speaks DNS over TLS: lookups go to
 *   the VPN's DNS, Hush.
 * - [OPPORTUNISTIC] ("Automatic"): harmless. Android tries DNS over TLS to the DNS
 *   server it was given, Hush's own address, where Hush refuses port 853, so Android
 *   falls back to plain DNS through Hush. Not warned about.
 * - [STRICT] (a host name set): Android sends every lookup over DNS over TLS to
 *   [serverName], through the tun. Hush refuses port 853 to anyone else, so it lets this
 *   server through by name and by its addresses on the network under the VPN
 *   (`exemptResolvers`; else the phone's lookups would all fail): the lookups go past
 *   Hush's DNS filter, while connections are still judged by name and address. Home
 *   says so, with the way back to Automatic or Off.
 */
data class PrivateDns(val mode: Mode, val serverName: String? = null) {
    enum class Mode { OFF, OPPORTUNISTIC, STRICT }

    companion object {
        val OFF = PrivateDns(Mode.OFF)
    }
}

/**
 * The default network: its transport, the network itself (for `setUnderlyingNetworks`),
 * its addresses ("address/prefix"; null while not known), its DNS servers ("address:port"
 * as the core takes them, in Android's order; null while not known) and its Private DNS.
 */
data class DefaultNetwork(
    val transport: Transport,
    val network: android.net.Network?,
    val addresses: Set<String>? = null,
    val dnsServers: List<String>? = null,
    val privateDns: PrivateDns = PrivateDns.OFF,
) {
    /** The core's word for it: per-app modes tell Wi-Fi and mobile apart; anything else is ANY. */
    val coreNetwork: Network
        get() = when (transport) {
            Transport.WIFI -> Network.WIFI
            Transport.CELLULAR -> Network.MOBILE
            Transport.OTHER, Transport.NONE -> Network.ANY
        }

    companion object {
        val NONE = DefaultNetwork(Transport.NONE, null)
    }
}
