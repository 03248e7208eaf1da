package org.hush.android.vpn

import android.content.Context
import org.hush.android.R
import org.hush.android.app.VpnFirewallControl
import org.hush.android.core.CoreConfig
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.annotation.Config
import org.robolectric.shadows.ShadowNetwork

/**
 * Issue 13 on the VPN side: allowed DNS following the network's own resolvers (the
 * first at start, each new one on a change, the address in Settings when a network
 * names none), the Private DNS warning among the problems Home shows, and always-on
 * and lockdown as the running service reads them. The core is a fake session; the
 * networks are Robolectric's.
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35])
class NetworkDnsTest {
    private val context: Context get() = RuntimeEnvironment.getApplication()
    private val core = FakeCore()
    private val tun = FakeTunBuilder()
    private var follow = true
    private var alwaysOn: AlwaysOn? = null
    private val controller = VpnController(
        tunBuilder = tun,
        platform = NoPlatform,
        core = { core },
        config = { CoreConfig(databasePath = "/data/hush.db", upstreamDns = "9.9.9.9:53", followNetworkDns = follow) },
        spec = TunSpec.forApp("org.hush.android"),
        alwaysOnReader = { alwaysOn },
        strings = org.hush.android.ui.XmlStrings,
    )
    private val wifi = ShadowNetwork.newInstance(50)
    private val cell = ShadowNetwork.newInstance(51)

    @After
    fun tearDown() {
        VpnStatus.controller = null
        VpnStatus.publish(VpnState.Off(OffReason.NOT_STARTED))
    }

    private fun net(network: android.net.Network, vararg dns: String, privateDns: PrivateDns = PrivateDns.OFF) =
        DefaultNetwork(Transport.WIFI, network, setOf("192.168.1.20/24"), dns.toList(), privateDns)

    @Test
    fun followingTheNetworkStartsWithItsFirstResolverAndMovesWithEachChange() {
        controller.onNetworkChanged(net(wifi, "192.168.1.1:53", "[2001:db8::53]:53"))
        controller.start()
        assertEquals("192.168.1.1:53", core.starts.single().second.upstreamDns)
        assertEquals("192.168.1.1:53", controller.upstreamInUse)
        assertFalse(controller.upstreamFallback)

        // Another network: the core hears its first resolver.
        controller.onNetworkChanged(net(cell, "10.64.0.1:53").copy(transport = Transport.CELLULAR))
        // The same network with a new DNS server (a DHCP renewal).
        controller.onNetworkChanged(net(cell, "10.64.0.2:53").copy(transport = Transport.CELLULAR))
        // Signal or Private DNS only: no new resolver, no move.
        controller.onNetworkChanged(net(cell, "10.64.0.2:53", privateDns = PrivateDns(PrivateDns.Mode.OPPORTUNISTIC)).copy(transport = Transport.CELLULAR))
        assertEquals(listOf("10.64.0.1:53", "10.64.0.2:53"), core.session.resolvers)
        assertEquals(2, core.session.networkChanges)
        assertEquals("10.64.0.2:53", controller.upstreamInUse)
    }

    @Test
    fun aNetworkWithoutResolversFallsBackToTheAddressInSettingsAndSaysSo() {
        controller.onNetworkChanged(net(wifi))
        controller.start()
        assertEquals("9.9.9.9:53", core.starts.single().second.upstreamDns)
        assertTrue(controller.upstreamFallback)
        VpnStatus.controller = controller
        val problems = VpnFirewallControl.platformProblems(context, controller)
        assertEquals(listOf(context.getString(R.string.problem_network_dns_none, "9.9.9.9:53")), problems)

        // A resolver appears: it is used, and the problem goes.
        controller.onNetworkChanged(net(wifi, "192.168.1.1:53"))
        assertEquals(listOf("192.168.1.1:53"), core.session.resolvers)
        assertFalse(controller.upstreamFallback)
        assertTrue(VpnFirewallControl.platformProblems(context, controller).isEmpty())

        // Another network that names none: back to the address in Settings.
        controller.onNetworkChanged(net(cell))
        assertEquals(listOf("192.168.1.1:53", "9.9.9.9:53"), core.session.resolvers)
        assertTrue(controller.upstreamFallback)
    }

    @Test
    fun theAddressInSettingsIgnoresTheNetworksResolvers() {
        follow = false
        controller.onNetworkChanged(net(wifi, "192.168.1.1:53"))
        controller.start()
        assertEquals("9.9.9.9:53", core.starts.single().second.upstreamDns)
        controller.onNetworkChanged(net(cell, "10.64.0.1:53"))
        assertTrue(core.session.resolvers.isEmpty())
        assertEquals(1, core.session.networkChanges) // moved, resolver kept
        assertFalse(controller.upstreamFallback)
    }

    @Test
    fun strictPrivateDnsIsAProblemOnHomeAutomaticAndOffAreNot() {
        VpnStatus.controller = controller
        controller.onNetworkChanged(net(wifi, "192.168.1.1:53", privateDns = PrivateDns(PrivateDns.Mode.STRICT, "dns.example")))
        controller.start()
        VpnStatus.publish(controller.state.value)
        val firewall = VpnFirewallControl(context)
        val problems = firewall.problems()
        assertEquals(1, problems.size)
        assertTrue(problems.single(), problems.single().contains("dns.example"))
        assertTrue(problems.single(), problems.single().contains("Private DNS › Automatic or Off"))

        controller.onNetworkChanged(net(wifi, "192.168.1.1:53", privateDns = PrivateDns(PrivateDns.Mode.OPPORTUNISTIC)))
        assertTrue(firewall.problems().isEmpty())
        controller.onNetworkChanged(net(wifi, "192.168.1.1:53", privateDns = PrivateDns.OFF))
        assertTrue(firewall.problems().isEmpty())

        // Not running: no problems at all.
        controller.onNetworkChanged(net(wifi, "192.168.1.1:53", privateDns = PrivateDns(PrivateDns.Mode.STRICT, "dns.example")))
        VpnStatus.publish(controller.stop())
        assertTrue(firewall.problems().isEmpty())
    }

    @Test
    fun alwaysOnAndLockdownAreReadFromTheRunningService() {
        val firewall = VpnFirewallControl(context)
        assertNull("no service", firewall.alwaysOn())
        VpnStatus.controller = controller
        assertNull("Android cannot say", firewall.alwaysOn())
        alwaysOn = AlwaysOn(alwaysOn = true, lockdown = false)
        assertEquals(AlwaysOn(alwaysOn = true, lockdown = false), firewall.alwaysOn())
        alwaysOn = AlwaysOn(alwaysOn = true, lockdown = true)
        assertEquals(AlwaysOn(alwaysOn = true, lockdown = true), firewall.alwaysOn())
    }

    @Test
    fun alwaysOnOfARealServiceIsReadNotGuessed() {
        // Robolectric's VpnService has no always-on package: both read false, never a crash.
        val service = org.robolectric.Robolectric.buildService(HushVpnService::class.java).get()
        val read = AlwaysOn.of(service)
        assertTrue(read == null || read == AlwaysOn(alwaysOn = false, lockdown = false))
    }
}
