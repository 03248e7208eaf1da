package org.hush.android.vpn

import android.net.ConnectivityManager
import android.net.LinkProperties
import android.net.NetworkCapabilities
import android.os.Handler

/**
 * Follows the default network (`registerDefaultNetworkCallback`) and tells [onChange]
 * its transport, the network itself, its addresses, DNS servers and Private DNS, once
 * per real change: another network, another transport, new addresses or DNS servers on
 * the same network (a DHCP renewal, IPv6 coming up), Private DNS switched. Capability
 * updates that keep all of these (signal strength, bandwidth) are not reported.
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
                report(withLink(knownTransport(network), network))
            }

            override fun onCapabilitiesChanged(network: android.net.Network, caps: NetworkCapabilities) {
                report(withLink(transportOf(caps), network))
            }

            override fun onLinkPropertiesChanged(network: android.net.Network, properties: LinkProperties) {
                val before = last
                val transport = if (before != null && before.network == network) before.transport else knownTransport(network)
                report(of(transport, network, properties))
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

    /** [network] with what was already reported of its link, or what Android knows now (nothing: not known). */
    private fun withLink(transport: Transport, network: android.net.Network): DefaultNetwork {
        val before = last
        if (before != null && before.network == network && before.addresses != null) {
            return before.copy(transport = transport)
        }
        val properties = try {
            connectivity.getLinkProperties(network)
        } catch (e: RuntimeException) {
            null
        }
        return if (properties == null) DefaultNetwork(transport, network) else of(transport, network, properties)
    }

    @Synchronized
    private fun report(now: DefaultNetwork) {
        if (now == last) return
        last = now
        onChange(now)
    }

    companion object {
        /** [network] as [properties] describe it. */
        fun of(transport: Transport, network: android.net.Network, properties: LinkProperties) =
            DefaultNetwork(transport, network, addressesOf(properties), dnsServersOf(properties), privateDnsOf(properties))

        /**
         * The network's DNS servers as "address:port" (port 53), in Android's order.
         * IPv6 link-local servers are left out: they need the interface's scope, which a
         * socket address in the core does not carry.
         */
        fun dnsServersOf(properties: LinkProperties): List<String> =
            properties.dnsServers.filter { !(it is java.net.Inet6Address && it.isLinkLocalAddress) }.map {
                val text = it.hostAddress ?: return@map null
                if (it is java.net.Inet6Address) "[${text.substringBefore('%')}]:53" else "$text:53"
            }.filterNotNull()

        /** Private DNS on this network (off before API 28, which cannot say). */
        fun privateDnsOf(properties: LinkProperties): PrivateDns {
            if (android.os.Build.VERSION.SDK_INT < 28 || !properties.isPrivateDnsActive) return PrivateDns.OFF
            val name = properties.privateDnsServerName
            return if (name.isNullOrEmpty()) PrivateDns(PrivateDns.Mode.OPPORTUNISTIC) else PrivateDns(PrivateDns.Mode.STRICT, name)
        }

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
