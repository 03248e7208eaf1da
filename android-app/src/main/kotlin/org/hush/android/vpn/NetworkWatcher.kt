package org.hush.android.vpn

import android.net.ConnectivityManager
import android.net.LinkProperties
import android.net.NetworkCapabilities
import android.os.Handler

/**
 * Follows the default network (`registerDefaultNetworkCallback`) and tells [onChange]
 * its transport, the network itself and its addresses, once per real change: another
 * network, another transport, or new addresses on the same network (a DHCP renewal
 * with a new address, IPv6 coming up). Capability updates that keep all three (signal
 * strength, bandwidth) are not reported.
 *
 * Hush is excluded from its own VPN, so its default network is the physical one under
 * the VPN, never the VPN itself.
 */
class NetworkWatcher(
    private val connectivity: ConnectivityManager,
    private val onChange: (DefaultNetwork) -> Unit,
) {
    @Volatile
    private var last: DefaultNetwork? = null
    private var callback: ConnectivityManager.NetworkCallback? = null

    /** Starts watching; callbacks arrive on [handler]'s thread. */
    fun start(handler: Handler) {
        if (callback != null) return
        val cb = object : ConnectivityManager.NetworkCallback() {
            override fun onAvailable(network: android.net.Network) {
                // API 26+ follows this with onCapabilitiesChanged and onLinkPropertiesChanged;
                // use what is known now.
                report(DefaultNetwork(knownTransport(network), network, addressesKnown(network)))
            }

            override fun onCapabilitiesChanged(network: android.net.Network, caps: NetworkCapabilities) {
                report(DefaultNetwork(transportOf(caps), network, addressesKnown(network)))
            }

            override fun onLinkPropertiesChanged(network: android.net.Network, properties: LinkProperties) {
                val before = last
                val transport = if (before != null && before.network == network) before.transport else knownTransport(network)
                report(DefaultNetwork(transport, network, addressesOf(properties)))
            }

            override fun onLost(network: android.net.Network) {
                val now = last
                if (now == null || now.network == null || now.network == network) report(DefaultNetwork.NONE)
            }
        }
        callback = cb
        connectivity.registerDefaultNetworkCallback(cb, handler)
    }

    fun stop() {
        val cb = callback ?: return
        callback = null
        try {
            connectivity.unregisterNetworkCallback(cb)
        } catch (e: IllegalArgumentException) {
            // not registered
        }
    }

    /** The transport Android knows for [network] now; OTHER when it says nothing. */
    private fun knownTransport(network: android.net.Network): Transport {
        val caps = try {
            connectivity.getNetworkCapabilities(network)
        } catch (e: RuntimeException) {
            null
        }
        return if (caps == null) Transport.OTHER else transportOf(caps)
    }

    /** The addresses already reported for [network], or those Android knows now (null: none known). */
    private fun addressesKnown(network: android.net.Network): Set<String>? {
        val before = last
        if (before != null && before.network == network && before.addresses != null) return before.addresses
        val properties = try {
            connectivity.getLinkProperties(network)
        } catch (e: RuntimeException) {
            null
        }
        return properties?.let { addressesOf(it) }
    }

    @Synchronized
    private fun report(now: DefaultNetwork) {
        if (now == last) return
        last = now
        onChange(now)
    }

    companion object {
        /** The network's addresses as "address/prefix". */
        fun addressesOf(properties: LinkProperties): Set<String> =
            properties.linkAddresses.map { it.toString() }.toSet()

        /** Wi-Fi, cellular, or other (Ethernet, USB, Bluetooth...); NONE without capabilities. */
        fun transportOf(caps: NetworkCapabilities?): Transport = when {
            caps == null -> Transport.NONE
            caps.hasTransport(NetworkCapabilities.TRANSPORT_WIFI) -> Transport.WIFI
            caps.hasTransport(NetworkCapabilities.TRANSPORT_CELLULAR) -> Transport.CELLULAR
            else -> Transport.OTHER
        }
    }
}
