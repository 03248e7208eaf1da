package org.hush.android.vpn

import android.content.Context
import android.net.ConnectivityManager
import android.net.LinkAddress
import android.net.LinkProperties
import android.net.NetworkCapabilities
import android.os.Handler
import android.os.Looper
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config
import org.robolectric.shadows.ShadowNetwork
import org.robolectric.shadows.ShadowNetworkCapabilities

@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35])
class NetworkWatcherTest {
    private val context: Context get() = RuntimeEnvironment.getApplication()
    private val cm: ConnectivityManager get() = context.getSystemService(ConnectivityManager::class.java)!!

    private fun caps(vararg transports: Int): NetworkCapabilities {
        val caps = ShadowNetworkCapabilities.newInstance()
        for (t in transports) shadowOf(caps).addTransportType(t)
        return caps
    }

    @Test
    fun reportsTransportChangesOnceEachAndStopsListening() {
        val seen = ArrayList<DefaultNetwork>()
        val watcher = NetworkWatcher(cm) { seen.add(it) }
        watcher.start(Handler(Looper.getMainLooper()))
        val callbacks = shadowOf(cm).networkCallbacks
        assertEquals(1, callbacks.size)
        val cb = callbacks.first()

        val wifi = ShadowNetwork.newInstance(10)
        val cell = ShadowNetwork.newInstance(11)
        cb.onCapabilitiesChanged(wifi, caps(NetworkCapabilities.TRANSPORT_WIFI))
        cb.onCapabilitiesChanged(wifi, caps(NetworkCapabilities.TRANSPORT_WIFI)) // e.g. signal strength: not reported
        cb.onCapabilitiesChanged(cell, caps(NetworkCapabilities.TRANSPORT_CELLULAR))
        cb.onLost(wifi) // an old network lost after the switch: not "none"
        cb.onLost(cell)
        val eth = ShadowNetwork.newInstance(12)
        cb.onCapabilitiesChanged(eth, caps(NetworkCapabilities.TRANSPORT_ETHERNET))

        assertEquals(
            listOf(
                DefaultNetwork(Transport.WIFI, wifi),
                DefaultNetwork(Transport.CELLULAR, cell),
                DefaultNetwork.NONE,
                DefaultNetwork(Transport.OTHER, eth),
            ),
            seen,
        )
        watcher.stop()
        assertTrue(shadowOf(cm).networkCallbacks.isEmpty())
    }

    @Test
    fun newAddressesOnTheSameNetworkAreReportedWithItsTransport() {
        val seen = ArrayList<DefaultNetwork>()
        val watcher = NetworkWatcher(cm) { seen.add(it) }
        watcher.start(Handler(Looper.getMainLooper()))
        val cb = shadowOf(cm).networkCallbacks.first()
        val wifi = ShadowNetwork.newInstance(30)
        fun link(vararg addresses: String) = LinkProperties().also { lp -> addresses.forEach { lp.addLinkAddress(LinkAddress(it)) } }

        cb.onCapabilitiesChanged(wifi, caps(NetworkCapabilities.TRANSPORT_WIFI))
        cb.onLinkPropertiesChanged(wifi, link("192.168.1.20/24"))
        cb.onLinkPropertiesChanged(wifi, link("192.168.1.20/24")) // the same: not reported
        cb.onCapabilitiesChanged(wifi, caps(NetworkCapabilities.TRANSPORT_WIFI)) // keeps the addresses
        cb.onLinkPropertiesChanged(wifi, link("192.168.1.21/24"))

        assertEquals(
            listOf(
                DefaultNetwork(Transport.WIFI, wifi),
                DefaultNetwork(Transport.WIFI, wifi, setOf("192.168.1.20/24"), dnsServers = emptyList()),
                DefaultNetwork(Transport.WIFI, wifi, setOf("192.168.1.21/24"), dnsServers = emptyList()),
            ),
            seen,
        )
        watcher.stop()
    }

    @Test
    fun onAvailableUsesTheCapabilitiesKnownThen() {
        val seen = ArrayList<DefaultNetwork>()
        val wifi = ShadowNetwork.newInstance(20)
        shadowOf(cm).setNetworkCapabilities(wifi, caps(NetworkCapabilities.TRANSPORT_WIFI))
        val watcher = NetworkWatcher(cm) { seen.add(it) }
        watcher.start(Handler(Looper.getMainLooper()))
        shadowOf(cm).networkCallbacks.first().onAvailable(wifi)
        assertEquals(listOf(DefaultNetwork(Transport.WIFI, wifi)), seen)
        watcher.stop()
    }

    @Test
    fun transportsMapToTheCoresNetworks() {
        assertEquals(Transport.WIFI, NetworkWatcher.transportOf(caps(NetworkCapabilities.TRANSPORT_WIFI)))
        assertEquals(Transport.CELLULAR, NetworkWatcher.transportOf(caps(NetworkCapabilities.TRANSPORT_CELLULAR)))
        assertEquals(Transport.OTHER, NetworkWatcher.transportOf(caps(NetworkCapabilities.TRANSPORT_BLUETOOTH)))
        assertEquals(Transport.NONE, NetworkWatcher.transportOf(null))
        assertEquals(org.hush.android.core.Network.WIFI, DefaultNetwork(Transport.WIFI, null).coreNetwork)
        assertEquals(org.hush.android.core.Network.MOBILE, DefaultNetwork(Transport.CELLULAR, null).coreNetwork)
        assertEquals(org.hush.android.core.Network.ANY, DefaultNetwork(Transport.OTHER, null).coreNetwork)
        assertEquals(org.hush.android.core.Network.ANY, DefaultNetwork.NONE.coreNetwork)
    }

    /** LinkProperties with [dns] servers and Private DNS set through its hidden setters (API 28+). */
    private fun link(dns: List<String>, privateDns: Boolean = false, privateName: String? = null): LinkProperties {
        val lp = LinkProperties()
        lp.addLinkAddress(LinkAddress("192.168.1.20/24"))
        for (d in dns) lp.addDnsServer(java.net.InetAddress.getByName(d))
        LinkProperties::class.java.getMethod("setUsePrivateDns", Boolean::class.javaPrimitiveType).invoke(lp, privateDns)
        LinkProperties::class.java.getMethod("setPrivateDnsServerName", String::class.java).invoke(lp, privateName)
        return lp
    }

    @Test
    fun dnsServersAndPrivateDnsAreReportedAndTheirChangesToo() {
        val seen = ArrayList<DefaultNetwork>()
        val watcher = NetworkWatcher(cm) { seen.add(it) }
        watcher.start(Handler(Looper.getMainLooper()))
        val cb = shadowOf(cm).networkCallbacks.first()
        val wifi = ShadowNetwork.newInstance(40)
        cb.onCapabilitiesChanged(wifi, caps(NetworkCapabilities.TRANSPORT_WIFI))
        cb.onLinkPropertiesChanged(wifi, link(listOf("192.168.1.1", "2001:db8::53", "fe80::1")))
        cb.onLinkPropertiesChanged(wifi, link(listOf("192.168.1.1", "2001:db8::53", "fe80::1"))) // the same: not reported
        cb.onLinkPropertiesChanged(wifi, link(listOf("10.0.0.1"))) // new servers on the same network
        cb.onLinkPropertiesChanged(wifi, link(listOf("10.0.0.1"), privateDns = true)) // Private DNS: automatic
        cb.onLinkPropertiesChanged(wifi, link(listOf("10.0.0.1"), privateDns = true, privateName = "dns.example"))
        cb.onCapabilitiesChanged(wifi, caps(NetworkCapabilities.TRANSPORT_WIFI)) // keeps all of it

        assertEquals(5, seen.size)
        // The link-local server is left out (the core's addresses carry no interface scope).
        // (Android writes IPv6 short, the host JVM long: both are what the core parses.)
        val v6 = java.net.InetAddress.getByName("2001:db8::53").hostAddress
        assertEquals(listOf("192.168.1.1:53", "[$v6]:53"), seen[1].dnsServers)
        assertEquals(PrivateDns.OFF, seen[1].privateDns)
        assertEquals(listOf("10.0.0.1:53"), seen[2].dnsServers)
        assertEquals(PrivateDns(PrivateDns.Mode.OPPORTUNISTIC), seen[3].privateDns)
        assertEquals(PrivateDns(PrivateDns.Mode.STRICT, "dns.example"), seen[4].privateDns)
        watcher.stop()
    }

    @Test
    fun onAvailableReadsTheLinkAndroidKnows() {
        val seen = ArrayList<DefaultNetwork>()
        val wifi = ShadowNetwork.newInstance(41)
        shadowOf(cm).setNetworkCapabilities(wifi, caps(NetworkCapabilities.TRANSPORT_WIFI))
        shadowOf(cm).setLinkProperties(wifi, link(listOf("192.168.7.1")))
        val watcher = NetworkWatcher(cm) { seen.add(it) }
        watcher.start(Handler(Looper.getMainLooper()))
        shadowOf(cm).networkCallbacks.first().onAvailable(wifi)
        assertEquals(listOf("192.168.7.1:53"), seen.single().dnsServers)
        watcher.stop()
    }
}
