package org.hush.android.vpn

import android.content.Context
import org.hush.android.R
import org.hush.android.app.VpnFirewallControl
import org.hush.android.core.CoreConfig
import org.hush.android.core.EncryptedUpstream
import org.hush.android.core.NativeFirewall
import org.hush.android.core.ResolverExemptions
import org.json.JSONObject
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.annotation.Config
import org.robolectric.shadows.ShadowNetwork
import java.net.UnknownHostException

/**
 * Strict Private DNS under Hush: Android's resolver speaks DNS over TLS to the named
 * server through the tun, where the core refuses port 853, so the controller looks the
 * name up on the network under the VPN and lets that server through (`exemptResolvers`
 * at start, `setResolverExemptions` on each change; none when not strict). And an
 * encrypted upstream is never replaced by a network's plain resolver. The core is a
 * fake session, the lookups a fake of `Network.getAllByName`.
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35])
class PrivateDnsExemptionTest {
    private val context: Context get() = RuntimeEnvironment.getApplication()
    private val core = FakeCore()
    private val wifi = ShadowNetwork.newInstance(60)
    private val cell = ShadowNetwork.newInstance(61)
    /** What each lookup was asked: the network's id and the name. */
    private val asked = ArrayList<Pair<Int, String>>()
    /** The addresses each network gives; a name it does not know throws. */
    private val known = HashMap<Int, List<String>>()
    private var config = CoreConfig(databasePath = "/data/hush.db", upstreamDns = "9.9.9.9:53")
    private val controller = VpnController(
        tunBuilder = FakeTunBuilder(),
        platform = NoPlatform,
        core = { core },
        config = { config },
        spec = TunSpec.forApp("org.hush.android"),
        strings = org.hush.android.ui.XmlStrings,
        lookUp = { network, name ->
            val id = if (network == wifi) 60 else if (network == cell) 61 else -1
            asked.add(id to name)
            known[id] ?: throw UnknownHostException(name)
        },
    )

    @After
    fun tearDown() {
        VpnStatus.controller = null
        VpnStatus.publish(VpnState.Off(OffReason.NOT_STARTED))
    }

    private fun net(network: android.net.Network, privateDns: PrivateDns = PrivateDns.OFF, transport: Transport = Transport.WIFI) =
        DefaultNetwork(transport, network, setOf("192.168.1.20/24"), listOf("192.168.1.1:53"), privateDns)

    private val strict = PrivateDns(PrivateDns.Mode.STRICT, "dns.example")

    @Test
    fun strictPrivateDnsAtStartIsExemptByNameAndItsAddressesOnTheNetwork() {
        known[60] = listOf("198.18.5.1", "fd00::51")
        controller.onNetworkChanged(net(wifi, strict))
        controller.start()
        val started = core.starts.single().second
        assertEquals(ResolverExemptions(listOf("dns.example"), listOf("198.18.5.1", "fd00::51")), started.exemptResolvers)
        assertEquals("looked up once, on the network under the VPN", listOf(60 to "dns.example"), asked)
        // As the core reads it.
        val json = JSONObject(NativeFirewall.configJson(started)).getJSONObject("exemptResolvers")
        assertEquals("dns.example", json.getJSONArray("names").getString(0))
        assertEquals(listOf("198.18.5.1", "fd00::51"), (0 until json.getJSONArray("addresses").length()).map { json.getJSONArray("addresses").getString(it) })
    }

    @Test
    fun eachChangeOfPrivateDnsOrNetworkTellsTheRunningCoreAndOnlyThen() {
        known[60] = listOf("198.18.5.1")
        known[61] = listOf("198.18.6.1")
        controller.onNetworkChanged(net(wifi))
        controller.start()
        assertTrue("not strict: none", core.starts.single().second.exemptResolvers.isEmpty)
        assertFalse(JSONObject(NativeFirewall.configJson(core.starts.single().second)).has("exemptResolvers"))

        // Switched to strict on the same network: exempt at once.
        controller.onNetworkChanged(net(wifi, strict))
        // New addresses on the same network, Private DNS as it was: nothing new, no lookup.
        controller.onNetworkChanged(net(wifi, strict).copy(addresses = setOf("192.168.1.21/24")))
        // Another network: the name is looked up there.
        controller.onNetworkChanged(net(cell, strict, Transport.CELLULAR))
        // Automatic: nothing to let through.
        controller.onNetworkChanged(net(cell, PrivateDns(PrivateDns.Mode.OPPORTUNISTIC), Transport.CELLULAR))
        controller.onNetworkChanged(net(cell, PrivateDns.OFF, Transport.CELLULAR))
        assertEquals(
            listOf(
                ResolverExemptions(listOf("dns.example"), listOf("198.18.5.1")),
                ResolverExemptions(listOf("dns.example"), listOf("198.18.6.1")),
                ResolverExemptions.NONE,
            ),
            core.session.exemptions,
        )
        assertEquals(listOf(60 to "dns.example", 61 to "dns.example"), asked)
    }

    @Test
    fun aNameThatCannotBeFoundIsExemptByNameAndLookedUpAgainAtTheNextChange() {
        controller.onNetworkChanged(net(wifi))
        controller.start()
        controller.onNetworkChanged(net(wifi, strict))
        assertEquals(listOf(ResolverExemptions(listOf("dns.example"))), core.session.exemptions)
        known[60] = listOf("198.18.5.1")
        controller.onNetworkChanged(net(wifi, strict).copy(addresses = setOf("192.168.1.21/24")))
        assertEquals(ResolverExemptions(listOf("dns.example"), listOf("198.18.5.1")), core.session.exemptions.last())
        assertEquals(2, asked.size)
    }

    @Test
    fun homeSaysHonestlyWhatStrictPrivateDnsDoesUnderHush() {
        known[60] = listOf("198.18.5.1")
        VpnStatus.controller = controller
        controller.onNetworkChanged(net(wifi, strict))
        controller.start()
        VpnStatus.publish(controller.state.value)
        val said = VpnFirewallControl(context).problems().single()
        assertEquals(context.getString(R.string.problem_private_dns_strict, "dns.example"), said)
        assertTrue(said, said.contains("not through Hush's DNS filter"))
        assertTrue(said, said.contains("by name and address"))
        assertFalse("no longer said to fail: the server is let through", said.contains("or fail"))
    }

    @Test
    fun anEncryptedUpstreamIsKeptOnEveryNetworkChange() {
        // Even asked to follow the network, an encrypted server is not swapped for its plain resolvers.
        config = config.copy(followNetworkDns = true, upstream = EncryptedUpstream("tls://dns.quad9.net", listOf("9.9.9.9")))
        controller.onNetworkChanged(net(wifi))
        controller.start()
        val started = core.starts.single().second
        assertEquals("tls://dns.quad9.net", started.upstream?.url)
        assertFalse(started.followNetworkDns)
        assertFalse(controller.upstreamFallback)
        assertEquals("tls://dns.quad9.net", controller.upstreamInUse)
        controller.onNetworkChanged(net(cell, transport = Transport.CELLULAR).copy(dnsServers = listOf("10.64.0.1:53")))
        controller.onNetworkChanged(net(cell, transport = Transport.CELLULAR).copy(dnsServers = emptyList()))
        assertTrue("never networkChangedTo a plain resolver", core.session.resolvers.isEmpty())
        assertEquals("the sockets move all the same", 1, core.session.networkChanges)
        assertFalse(controller.upstreamFallback)
        val json = JSONObject(NativeFirewall.configJson(started))
        assertFalse(json.has("upstreamDns"))
        assertEquals("tls://dns.quad9.net", json.getJSONObject("upstream").getString("url"))
    }
}
