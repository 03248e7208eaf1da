package org.hush.android.vpn

import android.net.ConnectivityManager
import android.net.NetworkCapabilities
import android.os.Handler

/**
 * Follows the default network (`registerDefaultNetworkCallback`) and tells [onChange]
 * its transport and the network itself, once per real change: capability updates that
 * keep the same network and transport (signal strength, bandwidth) are not reported.
 *
 * Hush is excluded from its own VPN, so its default network is the physical one under
 * the VPN, never the VPN itself.
 */
class NetworkWatcher(
    private val connectivity: ConnectivityManager,
    private val onChange: (DefaultNetwork) -> Unit,
) {
    private var last: DefaultNetwork? = null
    private var callback: ConnectivityManager.NetworkCallback? = null

    /** Starts watching; callbacks arrive on [handler]'s thread. */
    fun start(handler: Handler) {
        if (callback != null) return
        val cb = object : ConnectivityManager.NetworkCallback() {
            override fun onAvailable(network: android.net.Network) {
                // API 26+ follows this with onCapabilitiesChanged; use what is known now.
                val caps = try {
                    connectivity.getNetworkCapabilities(network)
                } catch (e: RuntimeException) {
                    null
                }
                report(DefaultNetwork(if (caps == null) Transport.OTHER else transportOf(caps), network))
            }

            override fun onCapabilitiesChanged(network: android.net.Network, caps: NetworkCapabilities) {
                report(DefaultNetwork(transportOf(caps), network))
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

    @Synchronized
    private fun report(now: DefaultNetwork) {
        if (now == last) return
        last = now
        onChange(now)
    }

    companion object {
        /** Wi-Fi, cellular, or other (Ethernet, USB, Bluetooth...); NONE without capabilities. */
        fun transportOf(caps: NetworkCapabilities?): Transport = when {
            caps == null -> Transport.NONE
            caps.hasTransport(NetworkCapabilities.TRANSPORT_WIFI) -> Transport.WIFI
            caps.hasTransport(NetworkCapabilities.TRANSPORT_CELLULAR) -> Transport.CELLULAR
            else -> Transport.OTHER
        }
    }
}
