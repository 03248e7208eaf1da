package org.hush.android.vpn

import android.app.PendingIntent
import android.content.Context
import android.content.Intent
import android.net.VpnService
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.annotation.Config
import org.robolectric.shadows.ShadowNetwork
import java.net.InetAddress

@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35])
class TunSpecTest {
    private val context: Context get() = RuntimeEnvironment.getApplication()

    /** Records the builder calls, in order. */
    private class Recorder : BuilderCalls {
        val calls = ArrayList<String>()
        override fun setSession(session: String) { calls.add("session $session") }
        override fun addAddress(address: String, prefixLength: Int) { calls.add("address $address/$prefixLength") }
        override fun addRoute(address: String, prefixLength: Int) { calls.add("route $address/$prefixLength") }
        override fun addDnsServer(address: String) { calls.add("dns $address") }
        override fun setMtu(mtu: Int) { calls.add("mtu $mtu") }
        override fun addDisallowedApplication(packageName: String) { calls.add("disallow $packageName") }
        override fun setMetered(metered: Boolean) { calls.add("metered $metered") }
        override fun setUnderlyingNetworks(networks: Array<android.net.Network>?) {
            calls.add("underlying " + (networks?.joinToString(",") { ShadowNetworkId.of(it).toString() } ?: "default"))
        }
        override fun setConfigureIntent(intent: PendingIntent) { calls.add("configure") }
    }

    private object ShadowNetworkId {
        fun of(n: android.net.Network): Int = org.robolectric.Shadows.shadowOf(n).netId
    }

    private fun configure(): PendingIntent =
        PendingIntent.getActivity(context, 0, Intent(Intent.ACTION_MAIN), PendingIntent.FLAG_IMMUTABLE)

    @Test
    fun hushsTunRoutesEverythingWithPrivateAddressesAndExcludesHush() {
        val r = Recorder()
        TunSpec.forApp("org.hush.android").applyTo(r, ShadowNetwork.newInstance(7), configure(), 35)
        assertEquals(
            listOf(
                "session Hush",
                "address 10.111.222.1/24",
                "address fd68:7573:6800::1/64",
                "route 0.0.0.0/0",
                "route ::/0",
                "dns 10.111.222.2",
                "dns fd68:7573:6800::2",
                "mtu 9000",
                "disallow org.hush.android",
                "metered false",
                "underlying 7",
                "configure",
            ),
            r.calls,
        )
    }

    @Test
    fun beforeApi29ThereIsNoSetMeteredAndAnUnknownNetworkFollowsTheDefault() {
        val r = Recorder()
        TunSpec.forApp("org.hush.android").applyTo(r, null, null, 28)
        assertTrue(r.calls.none { it.startsWith("metered") })
        assertTrue(r.calls.contains("underlying default"))
        assertTrue(r.calls.none { it == "configure" })
    }

    @Test
    fun theVirtualDnsServersAreInsideTheTunsSubnetsAndPrivate() {
        val spec = TunSpec()
        val v4 = InetAddress.getByName(TunSpec.IPV4_DNS).address
        val v4net = InetAddress.getByName(TunSpec.IPV4_ADDRESS).address
        assertTrue(v4.copyOf(3).contentEquals(v4net.copyOf(3))) // same /24
        assertTrue(InetAddress.getByName(TunSpec.IPV4_ADDRESS).isSiteLocalAddress)
        val v6 = InetAddress.getByName(TunSpec.IPV6_DNS).address
        val v6net = InetAddress.getByName(TunSpec.IPV6_ADDRESS).address
        assertTrue(v6.copyOf(8).contentEquals(v6net.copyOf(8))) // same /64
        assertEquals(0xFD, v6[0].toInt() and 0xFF) // ULA fd00::/8
        assertEquals(listOf(TunSpec.IPV4_DNS, TunSpec.IPV6_DNS), spec.dnsServers)
    }

    @Test
    fun theRealVpnServiceBuilderTakesTheSpec() {
        // VpnService.Builder's own checks (address and route syntax, the prefix matching
        // the family, the MTU) run on the framework's code. Not addDisallowedApplication:
        // it asks the system's package manager, which Robolectric does not have here
        // (the recorder test above covers that call).
        val service = Robolectric.buildService(BareVpnService::class.java).get()
        val builder = service.Builder()
        val spec = TunSpec.forApp(context.packageName).copy(disallowedApplications = emptyList())
        spec.applyTo(BuilderCalls.of(builder), ShadowNetwork.newInstance(9), configure(), 35)
        val config = VpnService.Builder::class.java.getDeclaredField("mConfig").let {
            it.isAccessible = true
            it.get(builder)
        }
        fun field(name: String): Any? = config.javaClass.getField(name).get(config)
        fun builderField(name: String): Any? = VpnService.Builder::class.java.getDeclaredField(name).let {
            it.isAccessible = true
            it.get(builder)
        }
        assertEquals(9000, field("mtu"))
        fun ip(text: String) = InetAddress.getByName(text)
        assertEquals(listOf(ip("10.111.222.2"), ip("fd68:7573:6800::2")), (field("dnsServers") as List<*>).map { ip(it as String) })
        assertEquals(
            listOf(android.net.LinkAddress(ip("10.111.222.1"), 24), android.net.LinkAddress(ip("fd68:7573:6800::1"), 64)),
            builderField("mAddresses"),
        )
        assertEquals(
            listOf(android.net.IpPrefix(ip("0.0.0.0"), 0), android.net.IpPrefix(ip("::"), 0)),
            (builderField("mRoutes") as List<*>).map { route ->
                route!!.javaClass.getMethod("getDestination").invoke(route)
            },
        )
        assertEquals(false, field("isMetered"))
    }

    @Test
    fun theAppsOwnTunLeavesHushOutSoTheCoreIsToldItsSocketsNeedNoProtect() {
        val spec = TunSpec.forApp("org.hush.android")
        assertTrue(spec.excludesItself)
        // Another app left out (not Hush itself) does not count.
        assertEquals(false, TunSpec(disallowedApplications = listOf("com.example")).excludesItself)
        assertEquals(false, spec.copy(disallowedApplications = emptyList()).excludesItself)
        val config = org.hush.android.core.CoreConfig("/data/hush.db", "9.9.9.9:53", selfExcluded = spec.excludesItself)
        val json = org.json.JSONObject(org.hush.android.core.NativeFirewall.configJson(config))
        assertTrue(json.getBoolean("selfExcluded"))
        val plain = org.hush.android.core.CoreConfig("/data/hush.db", "9.9.9.9:53")
        assertEquals(false, org.json.JSONObject(org.hush.android.core.NativeFirewall.configJson(plain)).getBoolean("selfExcluded"))
    }
}

class BareVpnService : VpnService()
