package org.hush.android.vpn

import org.hush.android.core.LiveStats
import org.hush.android.core.Network

/** Why the firewall is off. [message] is for the phone's owner. */
enum class OffReason(val message: String) {
    NOT_STARTED("Hush is off."),
    STOPPED("Hush is off: you stopped it."),
    REVOKED("Hush is off: another VPN app took over, or the VPN permission was turned off in Settings."),
}

/** What failed; the screens use it to offer the right fix (e.g. ask for the VPN permission). */
enum class FailureKind { PERMISSION, TUN, CORE }

/** The firewall as the app shows it. */
sealed class VpnState {
    data class Off(val reason: OffReason, val detail: String? = null) : VpnState()

    object Starting : VpnState() {
        override fun toString(): String = "Starting"
    }

    data class On(val stats: LiveStats, val network: Network) : VpnState()

    data class Failed(val kind: FailureKind, val message: String) : VpnState()

    val isActive: Boolean get() = this is Starting || this is On
}

/** How the phone reaches the internet, as the default network's transport says. */
enum class Transport { WIFI, CELLULAR, OTHER, NONE }

/** The default network: its transport and, for `setUnderlyingNetworks`, the network itself. */
data class DefaultNetwork(val transport: Transport, val network: android.net.Network?) {
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
