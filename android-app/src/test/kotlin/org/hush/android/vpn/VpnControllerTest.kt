package org.hush.android.vpn

import org.hush.android.core.CoreConfig
import org.hush.android.core.CoreHealth
import org.hush.android.core.Filtering
import org.hush.android.core.StopReason
import org.hush.android.core.LiveStats
import org.hush.android.core.Network
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNull
import org.junit.Assert.assertSame
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.annotation.Config
import org.robolectric.shadows.ShadowNetwork

@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35])
class VpnControllerTest {
    private val core = FakeCore()
    private val tun = FakeTunBuilder()
    private val seen = ArrayList<VpnState>()
    private var coreAvailable = true
    private val controller = VpnController(
        tunBuilder = tun,
        platform = NoPlatform,
        core = { if (coreAvailable) core else null },
        config = { CoreConfig(databasePath = "/data/hush.db", upstreamDns = "9.9.9.9:53", mtu = 9000) },
        spec = TunSpec.forApp("org.hush.android"),
        strings = org.hush.android.ui.XmlStrings,
    ).also {
        it.addListener(object : VpnController.Listener {
            override fun onStateChanged(state: VpnState) { seen.add(state) }
        })
    }

    private val wifi = DefaultNetwork(Transport.WIFI, ShadowNetwork.newInstance(100))
    private val mobile = DefaultNetwork(Transport.CELLULAR, ShadowNetwork.newInstance(101))

    @Test
    fun startsOffAndStartGoesThroughStartingToOn() {
        assertEquals(VpnState.Off(OffReason.NOT_STARTED), controller.state.value)
        val state = controller.start()
        assertEquals(VpnState.On(VpnController.ZERO_STATS, Network.ANY), state)
        assertEquals(listOf(VpnState.Starting, state), seen)
        assertSame(state, controller.state.value)

        // the core got the detached fd, the settings, the tun's MTU (not the config's)
        // and the tun's virtual DNS servers, which it keeps to itself
        assertEquals(1, core.starts.size)
        val (fd, config) = core.starts[0]
        assertEquals(42, fd)
        assertTrue(tun.tuns[0].detached)
        assertEquals(
            CoreConfig(
                "/data/hush.db", "9.9.9.9:53", 9000, Network.ANY,
                ownAddresses = listOf(TunSpec.IPV4_DNS, TunSpec.IPV6_DNS), selfExcluded = true,
            ),
            config,
        )
        assertEquals(TunSpec.forApp("org.hush.android"), tun.specs[0])
    }

    @Test
    fun startWhileOnDoesNothing() {
        controller.start()
        controller.start()
        assertEquals(1, core.starts.size)
        assertEquals(1, tun.specs.size)
    }

    @Test
    fun startUsesTheNetworkKnownBeforeIt() {
        controller.onNetworkChanged(mobile)
        val state = controller.start()
        assertEquals(Network.MOBILE, (state as VpnState.On).network)
        assertEquals(Network.MOBILE, core.starts[0].second.network)
        assertEquals(listOf(mobile.network), tun.underlyingAtEstablish)
        assertTrue("nothing set on a VPN that was not running", tun.underlyingSet.isEmpty())
    }

    @Test
    fun deniedPermissionFailsWithAMessageAndDoesNotRetry() {
        tun.permitted = false
        val state = controller.start()
        assertTrue(state is VpnState.Failed)
        state as VpnState.Failed
        assertEquals(FailureKind.PERMISSION, state.kind)
        assertEquals(org.hush.android.ui.XmlStrings.get(org.hush.android.R.string.vpn_permission_missing), state.message)
        assertTrue("no tun asked for", tun.specs.isEmpty())
        assertTrue(core.starts.isEmpty())

        // nothing happens by itself afterwards: not on a network change either
        controller.onNetworkChanged(wifi)
        controller.onNetworkChanged(mobile)
        assertNull(controller.refreshStats())
        assertEquals(state, controller.state.value)
        assertEquals(listOf(VpnState.Starting, state), seen)
        assertTrue(tun.specs.isEmpty())
    }

    @Test
    fun establishReturningNullIsAMissingPermission() {
        tun.returnNull = true
        val state = controller.start() as VpnState.Failed
        assertEquals(FailureKind.PERMISSION, state.kind)
        assertTrue(core.starts.isEmpty())
        tun.returnNull = false
        tun.establishFailure = SecurityException("not prepared")
        assertEquals(FailureKind.PERMISSION, (controller.start() as VpnState.Failed).kind)
    }

    @Test
    fun androidRejectingTheTunFailsWithItsReason() {
        tun.establishFailure = IllegalStateException("another VPN is always-on")
        val state = controller.start() as VpnState.Failed
        assertEquals(FailureKind.TUN, state.kind)
        assertTrue(state.message, state.message.contains("another VPN is always-on"))
    }

    @Test
    fun anInvalidFdFailsClosesTheTunAndNeverReachesTheCore() {
        tun.fd = -1
        val state = controller.start() as VpnState.Failed
        assertEquals(FailureKind.TUN, state.kind)
        assertTrue(tun.tuns[0].closed)
        assertTrue(core.starts.isEmpty())
    }

    @Test
    fun aCoreStartFailureFailsWithTheCoresMessage() {
        core.failWith = IllegalStateException("cannot open /data/hush.db: disk full")
        val state = controller.start() as VpnState.Failed
        assertEquals(FailureKind.CORE, state.kind)
        assertTrue(state.message, state.message.contains("cannot open /data/hush.db: disk full"))
        assertEquals("the core closed the fd it was handed", listOf(42), core.closedFds)
        assertFalse("the detached tun is not closed twice", tun.tuns[0].closed)

        core.failWith = IllegalArgumentException("upstream DNS \"x\" is not address:port")
        val again = controller.start() as VpnState.Failed
        assertTrue(again.message, again.message.contains("upstream DNS \"x\" is not address:port"))
        assertEquals("one start per call, no retries", 2, core.starts.size)
    }

    @Test
    fun aPanicInTheCoreAndAMissingCoreFailToo() {
        core.failWith = RuntimeException("panicked at engine.rs:12")
        assertTrue((controller.start() as VpnState.Failed).message.contains("panicked at engine.rs:12"))
        coreAvailable = false
        val state = controller.start() as VpnState.Failed
        assertEquals(FailureKind.CORE, state.kind)
        assertTrue(state.message, state.message.contains("no firewall engine"))
        assertEquals("a missing core asks for no tun", 1, tun.specs.size)
    }

    @Test
    fun stopStopsTheSessionWhichClosesTheFd() {
        controller.start()
        val session = core.session
        val state = controller.stop()
        assertEquals(VpnState.Off(OffReason.STOPPED), state)
        assertTrue(session.stopped)
        assertEquals(listOf(42), core.closedFds)
        assertNull("no session left", controller.refreshStats())
        assertEquals(VpnState.Off(OffReason.STOPPED), controller.stop())
    }

    @Test
    fun anErrorTheSessionEndedWithIsKept() {
        controller.start()
        core.session.endError = "tun read failed: I/O error"
        assertEquals(VpnState.Off(OffReason.STOPPED, "tun read failed: I/O error"), controller.stop())
    }

    @Test
    fun revokeIsOffWithTheRevokedReasonAndStopsTheSession() {
        controller.start()
        val state = controller.revoke()
        assertEquals(VpnState.Off(OffReason.REVOKED), state)
        val revoked = VpnNotifications.offReason(org.hush.android.ui.XmlStrings, OffReason.REVOKED)
        assertTrue(revoked, revoked.contains("another VPN app"))
        assertTrue(core.session.stopped)
        assertEquals(1, core.starts.size)
    }

    @Test
    fun networkChangesReachTheCoreAndTheUnderlyingNetworks() {
        controller.onNetworkChanged(wifi)
        controller.start()
        val session = core.session
        controller.onNetworkChanged(mobile)
        assertEquals(Network.MOBILE, (controller.state.value as VpnState.On).network)
        controller.onNetworkChanged(DefaultNetwork.NONE)
        assertEquals(Network.ANY, (controller.state.value as VpnState.On).network)
        controller.onNetworkChanged(DefaultNetwork.NONE) // no change: nothing said
        controller.onNetworkChanged(wifi)

        assertEquals(listOf(Network.WIFI, Network.MOBILE, Network.ANY, Network.WIFI), session.networks)
        assertEquals(
            listOf(listOf(mobile.network!!), emptyList(), listOf(wifi.network!!)),
            tun.underlyingSet,
        )
    }

    @Test
    fun aNewNetworkOfTheSameKindOnlyMovesTheUnderlyingNetwork() {
        controller.onNetworkChanged(wifi)
        controller.start()
        val otherWifi = DefaultNetwork(Transport.WIFI, ShadowNetwork.newInstance(200))
        controller.onNetworkChanged(otherWifi)
        val ethernet = DefaultNetwork(Transport.OTHER, ShadowNetwork.newInstance(300))
        controller.onNetworkChanged(ethernet)
        assertEquals(listOf(Network.WIFI, Network.ANY), core.session.networks)
        assertEquals(listOf(listOf(otherWifi.network!!), listOf(ethernet.network!!)), tun.underlyingSet)
    }

    @Test
    fun statsAreReadIntoTheOnState() {
        controller.start()
        val stats = LiveStats(packetsIn = 500, dnsQueries = 40, blocked = 12, allowed = 28, eventsDropped = 0)
        core.session.stats = stats
        assertEquals(stats, controller.refreshStats())
        assertEquals(VpnState.On(stats, Network.ANY), controller.state.value)
        val count = seen.size
        controller.refreshStats()
        assertEquals("unchanged counts are not announced again", count, seen.size)
    }

    @Test
    fun aSessionThatStoppedUnderneathIsFailedNotOn() {
        controller.start()
        core.session.stop()
        assertNull(controller.refreshStats())
        val state = controller.state.value as VpnState.Failed
        assertEquals(FailureKind.CORE, state.kind)
        assertTrue(state.message, state.message.contains("stopped unexpectedly"))
    }

    @Test
    fun theCoresHealthIsReadWithTheCountsAndANotFilteringCoreSaysSo() {
        controller.start()
        core.session.health = CoreHealth(Filtering.RESTARTING, "a fault in the packet path", restarts = 1)
        controller.refreshStats()
        val on = controller.state.value as VpnState.On
        assertEquals("Hush is restarting its engine", on.warning(org.hush.android.ui.XmlStrings))
        assertEquals("Hush is restarting its engine", VpnNotifications.title(org.hush.android.ui.XmlStrings, on))
        core.session.health = CoreHealth(Filtering.STOPPED, "the engine ended")
        controller.refreshStats()
        assertEquals("Hush stopped filtering: the engine ended", (controller.state.value as VpnState.On).warning(org.hush.android.ui.XmlStrings))
        core.session.health = CoreHealth.HEALTHY
        controller.refreshStats()
        assertNull((controller.state.value as VpnState.On).warning(org.hush.android.ui.XmlStrings))
        assertEquals("Hush is on", VpnNotifications.title(org.hush.android.ui.XmlStrings, controller.state.value))
    }

    @Test
    fun theCoreMovesOnlyForAnotherNetworkOrNewAddressesOnTheSameOne() {
        val wifiNet = ShadowNetwork.newInstance(110)
        fun at(vararg addresses: String?) = DefaultNetwork(Transport.WIFI, wifiNet, addresses.filterNotNull().toSet().takeIf { addresses.isNotEmpty() })
        assertTrue(VpnController.isNewWayOut(DefaultNetwork.NONE, at()))
        assertTrue(VpnController.isNewWayOut(mobile, at("10.0.0.2/24")))
        assertFalse("addresses learned", VpnController.isNewWayOut(at(), at("10.0.0.2/24")))
        assertTrue(VpnController.isNewWayOut(at("10.0.0.2/24"), at("10.0.0.3/24")))
        assertFalse(VpnController.isNewWayOut(at("10.0.0.2/24"), at("10.0.0.2/24")))
        assertFalse("no network to move to", VpnController.isNewWayOut(at("10.0.0.2/24"), DefaultNetwork.NONE))
    }

    @Test
    fun theStopReasonReachesTheCore() {
        controller.start()
        controller.stop()
        assertEquals(StopReason.STOPPED, core.sessions[0].stopReason)
        controller.start()
        controller.revoke()
        assertEquals(StopReason.REVOKED, core.sessions[1].stopReason)
    }

    @Test
    fun reloadRulesReachesTheRunningSessionOnly() {
        assertFalse(controller.reloadRules())
        controller.start()
        assertTrue(controller.reloadRules())
        assertEquals(1, core.session.reloads)
    }
}
