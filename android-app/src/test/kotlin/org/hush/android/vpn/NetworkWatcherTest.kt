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
                DefaultNetwork(Transport.WIFI, wifi, setOf("192.168.1.20/24")),
                DefaultNetwork(Transport.WIFI, wifi, setOf("192.168.1.21/24")),
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
}
