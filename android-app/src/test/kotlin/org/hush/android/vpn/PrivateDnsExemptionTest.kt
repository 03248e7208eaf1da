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
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.annotation.Config
import org.robolectric.shadows.ShadowNetwork
import java.net.UnknownHostException
import java.util.Collections
import java.util.concurrent.CountDownLatch
import java.util.concurrent.Executor
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit

/**
 * Strict Private DNS under Hush: Android's resolver speaks DNS over TLS to the named
 * server through the tun, where the core refuses port 853, so the controller looks the
 * name up on the network under the VPN and lets that server through (`exemptResolvers`
 * at start, `setResolverExemptions` on each change; none when not strict). The lookup
 * runs off the controller's lock, so a slow resolver holds up no start, stop or read of
 * the counts, and what it finds is told only if the network is still the one it was
 * asked on. And an encrypted upstream is never replaced by a network's plain resolver.
 * The core is a fake session, the lookups a fake of `Network.getAllByName`; most tests
 * run them on the calling thread once the controller lets its lock go.
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35])
class PrivateDnsExemptionTest {
    private val context: Context get() = RuntimeEnvironment.getApplication()
    private val core = FakeCore()
    private val wifi = ShadowNetwork.newInstance(60)
    private val cell = ShadowNetwork.newInstance(61)
    /** What each lookup was asked: the network's id and the name. */
    private val asked: MutableList<Pair<Int, String>> = Collections.synchronizedList(ArrayList())
    /** The addresses each network gives; a name it does not know throws. */
    private val known: MutableMap<Int, List<String>> = Collections.synchronizedMap(HashMap())
    /** A network whose lookups wait here until the test lets them go (a slow resolver). */
    private val held = HashMap<Int, CountDownLatch>()
    /** Counted down as each lookup begins. */
    private val begun = CountDownLatch(1)
    private var config = CoreConfig(databasePath = "/data/hush.db", upstreamDns = "9.9.9.9:53")
    private val fakeLookUp = { network: android.net.Network, name: String ->
        val id = if (network == wifi) 60 else if (network == cell) 61 else -1
        asked.add(id to name)
        begun.countDown()
        held[id]?.let { check(it.await(10, TimeUnit.SECONDS)) { "never let go" } }
        known[id] ?: throw UnknownHostException(name)
    }

    private fun controller(lookUps: Executor) = VpnController(
        tunBuilder = FakeTunBuilder(),
        platform = NoPlatform,
        core = { core },
        config = { config },
        spec = TunSpec.forApp("org.hush.android"),
        strings = org.hush.android.ui.XmlStrings,
        lookUp = fakeLookUp,
        lookUps = lookUps,
    )

    /** Lookups on the thread that let the lock go, so each call has told the core before it returns. */
    private val controller = controller(Executor { it.run() })

    /** Lookups on threads of their own, for the tests with a slow one. */
    private val pool: ExecutorService = Executors.newCachedThreadPool()
    /** The test's other thread, to show that a call returns while a lookup waits. */
    private val caller: ExecutorService = Executors.newSingleThreadExecutor()

    @After
    fun tearDown() {
        held.values.forEach { it.countDown() }
        pool.shutdownNow()
        caller.shutdownNow()
        VpnStatus.controller = null
        VpnStatus.publish(VpnState.Off(OffReason.NOT_STARTED))
    }

    /** [block]'s result, failing if it takes a second or more (it waited for a lookup). */
    private fun <T> atOnce(what: String, block: () -> T): T = try {
        caller.submit(java.util.concurrent.Callable { block() }).get(1, TimeUnit.SECONDS)
    } catch (e: java.util.concurrent.TimeoutException) {
        throw AssertionError("$what waited for the lookup", e)
    }

    /** Waits (5 s at most) for [done]. */
    private fun waitFor(what: String, done: () -> Boolean) {
        val until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5)
        while (!done()) {
            if (System.nanoTime() > until) throw AssertionError("never: $what")
            Thread.sleep(5)
        }
    }

    /** Every lookup handed to [pool] has ended, and told the core what it would. */
    private fun drainLookups() {
        pool.shutdown()
        assertTrue("lookups ended", pool.awaitTermination(5, TimeUnit.SECONDS))
    }

    private fun net(network: android.net.Network, privateDns: PrivateDns = PrivateDns.OFF, transport: Transport = Transport.WIFI) =
        DefaultNetwork(transport, network, setOf("192.168.1.20/24"), listOf("192.168.1.1:53"), privateDns)

    private val strict = PrivateDns(PrivateDns.Mode.STRICT, "dns.example")

    @Test
    fun strictPrivateDnsAtStartIsExemptByNameThenByItsAddressesOnTheNetwork() {
        known[60] = listOf("198.18.5.1", "fd00::51", "198.18.5.1")
        controller.onNetworkChanged(net(wifi, strict))
        assertTrue("not running: nothing looked up", asked.isEmpty())
        controller.start()
        val found = ResolverExemptions(listOf("dns.example"), listOf("198.18.5.1", "fd00::51"))
        // The start does not wait for the lookup: the name alone, as the core reads it.
        val first = core.starts.single().second
        assertEquals(ResolverExemptions(listOf("dns.example")), first.exemptResolvers)
        val json = JSONObject(NativeFirewall.configJson(first)).getJSONObject("exemptResolvers")
        assertEquals("dns.example", json.getJSONArray("names").getString(0))
        assertFalse(json.has("addresses") && json.getJSONArray("addresses").length() > 0)
        // Then the addresses, once, without duplicates.
        assertEquals(listOf(found), core.session.exemptions)
        assertEquals("looked up once, on the network under the VPN", listOf(60 to "dns.example"), asked)

        // Started again on the same network: what was found goes in the start JSON, and nothing is asked again.
        controller.stop()
        controller.start()
        val second = core.starts.last().second
        assertEquals(found, second.exemptResolvers)
        val again = JSONObject(NativeFirewall.configJson(second)).getJSONObject("exemptResolvers")
        assertEquals(listOf("198.18.5.1", "fd00::51"), (0 until again.getJSONArray("addresses").length()).map { again.getJSONArray("addresses").getString(it) })
        assertTrue(core.session.exemptions.isEmpty())
        assertEquals(1, asked.size)
    }

    @Test
    fun eachChangeOfPrivateDnsOrNetworkTellsTheRunningCoreAndOnlyThen() {
        known[60] = listOf("198.18.5.1")
        known[61] = listOf("198.18.6.1")
        controller.onNetworkChanged(net(wifi))
        controller.start()
        assertTrue("not strict: none", core.starts.single().second.exemptResolvers.isEmpty)
        assertFalse(JSONObject(NativeFirewall.configJson(core.starts.single().second)).has("exemptResolvers"))

        // Switched to strict on the same network: exempt by name at once, then by address.
        controller.onNetworkChanged(net(wifi, strict))
        // New addresses on the same network, Private DNS as it was: nothing new, no lookup.
        controller.onNetworkChanged(net(wifi, strict).copy(addresses = setOf("192.168.1.21/24")))
        // Another network: the last one's addresses go at once, the name is looked up there.
        controller.onNetworkChanged(net(cell, strict, Transport.CELLULAR))
        // Automatic: nothing to let through.
        controller.onNetworkChanged(net(cell, PrivateDns(PrivateDns.Mode.OPPORTUNISTIC), Transport.CELLULAR))
        controller.onNetworkChanged(net(cell, PrivateDns.OFF, Transport.CELLULAR))
        assertEquals(
            listOf(
                ResolverExemptions(listOf("dns.example")),
                ResolverExemptions(listOf("dns.example"), listOf("198.18.5.1")),
                ResolverExemptions(listOf("dns.example")),
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
    fun aSlowLookupHoldsUpNoStartStopOrCountsAndItsAddressesFollow() {
        val slow = controller(pool)
        known[60] = listOf("198.18.5.1")
        held[60] = CountDownLatch(1)
        slow.onNetworkChanged(net(wifi, strict))
        assertTrue(atOnce("start") { slow.start() } is VpnState.On)
        assertTrue("the lookup began", begun.await(5, TimeUnit.SECONDS))
        val name = ResolverExemptions(listOf("dns.example"))
        assertEquals("started with the name alone", name, core.starts.single().second.exemptResolvers)

        // While the resolver is silent, everything that takes the lock goes on.
        assertNotNull(atOnce("the counts") { slow.refreshStats() })
        assertEquals("9.9.9.9:53", atOnce("the upstream") { slow.upstreamInUse })
        assertTrue(atOnce("a network change") { slow.onNetworkChanged(net(wifi, strict).copy(addresses = setOf("192.168.1.21/24"))); true })
        val first = core.session
        assertEquals(VpnState.Off(OffReason.STOPPED), atOnce("stop") { slow.stop() })
        assertTrue(atOnce("start again") { slow.start() } is VpnState.On)
        val second = core.session
        assertEquals("the second start, too, with the name alone", name, core.starts.last().second.exemptResolvers)
        assertEquals("one lookup for the network and name at a time", 1, asked.size)
        assertTrue("nothing told before the lookup ends", first.exemptions.isEmpty() && second.exemptions.isEmpty())

        // The resolver answers: the running session hears the addresses.
        held.getValue(60).countDown()
        val found = ResolverExemptions(listOf("dns.example"), listOf("198.18.5.1"))
        waitFor("the addresses told") { second.exemptions.isNotEmpty() }
        drainLookups()
        assertEquals(listOf(found), second.exemptions)
        assertTrue("the stopped session hears nothing", first.exemptions.isEmpty())
        // Kept for the network: the next start has them in its JSON.
        slow.stop()
        slow.start()
        assertEquals(found, core.starts.last().second.exemptResolvers)
        assertEquals(1, asked.size)
    }

    @Test
    fun aLookupOvertakenByANetworkChangeIsNotTold() {
        val slow = controller(pool)
        known[60] = listOf("198.18.5.1")
        known[61] = listOf("198.18.6.1")
        held[60] = CountDownLatch(1)
        slow.onNetworkChanged(net(wifi, strict))
        slow.start()
        assertTrue(begun.await(5, TimeUnit.SECONDS))
        // Moved to cellular while Wi-Fi's resolver is silent: cellular's lookup answers first.
        atOnce("a network change") { slow.onNetworkChanged(net(cell, strict, Transport.CELLULAR)) }
        val onCell = ResolverExemptions(listOf("dns.example"), listOf("198.18.6.1"))
        waitFor("cellular's addresses told") { core.session.exemptions.isNotEmpty() }
        // Wi-Fi's answer comes late, for a network no longer under the VPN: not told, not kept.
        held.getValue(60).countDown()
        drainLookups()
        assertEquals(listOf(onCell), core.session.exemptions)
        assertEquals(listOf(60 to "dns.example", 61 to "dns.example"), asked)
        slow.stop()
        slow.start()
        assertEquals("cellular's kept, not Wi-Fi's", onCell, core.starts.last().second.exemptResolvers)
    }

    @Test
    fun aLookupOvertakenByPrivateDnsTurnedOffIsNotTold() {
        val slow = controller(pool)
        known[60] = listOf("198.18.5.1")
        held[60] = CountDownLatch(1)
        slow.onNetworkChanged(net(wifi, strict))
        slow.start()
        assertTrue(begun.await(5, TimeUnit.SECONDS))
        atOnce("a network change") { slow.onNetworkChanged(net(wifi, PrivateDns.OFF)) }
        held.getValue(60).countDown()
        drainLookups()
        assertEquals("none, and then nothing", listOf(ResolverExemptions.NONE), core.session.exemptions)
        // Strict again: the late answer was not kept (its addresses would come at once). With
        // the lookups' pool shut, the name alone stays, and nothing is asked.
        slow.onNetworkChanged(net(wifi, strict))
        assertEquals(ResolverExemptions(listOf("dns.example")), core.session.exemptions.last())
        assertEquals(1, asked.size)
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
