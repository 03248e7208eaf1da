package org.hush.android.core

import org.hush.android.core.NativeFirewallTest.Companion.ALLOWED_ADDRESS
import org.hush.android.core.NativeFirewallTest.Companion.ALLOWED_NAME
import org.hush.android.core.NativeFirewallTest.Companion.BLOCKED_NAME
import org.hush.android.core.NativeFirewallTest.Companion.TUN
import org.hush.android.core.NativeFirewallTest.Companion.UPSTREAM
import org.hush.android.core.NativeFirewallTest.Companion.dig
import org.junit.AfterClass
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.BeforeClass
import org.junit.Test
import org.json.JSONObject
import java.io.File
import java.nio.file.Files

/**
 * A phone's day, on the host: the core on a real tun (the setup of [NativeFirewallTest]:
 * dig as the app, dnsmasq upstream) through network changes, injected faults, bad
 * state at start and a revoke, as the service drives it through [NativeFirewall].
 */
class SessionResilienceTest {
    private object AnyOwner : CorePlatform {
        override fun protect(fd: Int): Boolean = true
        override fun ownerUid(protocol: Int, local: ByteArray, localPort: Int, remote: ByteArray, remotePort: Int): Int =
            NativeFirewallTest.GAME_UID
    }

    private fun start(config: CoreConfig): FirewallSession = NativeFirewall.start(HostTun.attach(TUN), config, AnyOwner)

    private fun database(name: String) = File(workdir, name).path

    private fun answered(lines: List<String>) = lines.any { it.endsWith("\t$ALLOWED_ADDRESS") }

    /** Polls [probe] every 100 ms for up to [ms] for a non-null answer. */
    private fun <T : Any> within(ms: Long, probe: () -> T?): T? {
        val end = System.nanoTime() + ms * 1_000_000
        while (System.nanoTime() < end) {
            probe()?.let { return it }
            Thread.sleep(100)
        }
        return probe()
    }

    @Test
    fun aHealthySessionSaysItFiltersInJsonThatParses() {
        val session = start(CoreConfig(database("healthy.db"), UPSTREAM))
        try {
            val json = JSONObject(NativeCore.sessionHealth((session as NativeSession).handle))
            assertEquals("on", json.getJSONObject("filtering").getString("state"))
            assertTrue(json.toString(), json.getJSONObject("filtering").isNull("reason"))
            val health = session.health()
            assertEquals(CoreHealth(Filtering.ON, null, 0, emptyList()), health)
            assertTrue(health.isFiltering)
        } finally {
            session.stop()
        }
        expect<IllegalStateException> { session.health() }
    }

    @Test
    fun afterANetworkChangeNamesAreStillAnswered() {
        val session = start(CoreConfig(database("network.db"), UPSTREAM))
        try {
            assertTrue(answered(dig(ALLOWED_NAME)))
            session.networkChanged()
            // The core reopens its upstream socket: the next query goes out on it.
            assertTrue(answered(dig(ALLOWED_NAME)))
            session.networkChanged()
            session.networkChanged()
            assertTrue(dig(BLOCKED_NAME).any { it.contains("status: NXDOMAIN") })
            assertTrue(answered(dig(ALLOWED_NAME)))
            assertTrue(session.health().isFiltering)
        } finally {
            session.stop()
        }
        expect<IllegalStateException> { session.networkChanged() }
    }

    @Test
    fun aPanicInThePacketPathIsContainedAndFilteringResumesWithinTwoSeconds() {
        val session = start(CoreConfig(database("fault.db"), UPSTREAM))
        val handle = (session as NativeSession).handle
        try {
            assertTrue(answered(dig(ALLOWED_NAME)))
            NativeCore.injectFaultForTest(handle, "packet")
            // The packet that meets the fault is lost; the engine restarts on the same tun.
            dig(ALLOWED_NAME)
            val again = within(2_000) { dig(ALLOWED_NAME).takeIf { answered(it) } }
            assertTrue("no answer within 2 s of the fault", again != null)
            val health = within(2_000) { session.health().takeIf { it.restarts >= 1 } }
            assertTrue("restarts: ${session.health()}", health != null)
            assertEquals(Filtering.ON, session.health().filtering)
            assertTrue("blocked names stay blocked", dig(BLOCKED_NAME).any { it.contains("status: NXDOMAIN") })
        } finally {
            session.stop()
        }
    }

    @Test
    fun anUnknownFaultIsRefused() {
        val session = start(CoreConfig(database("unknown-fault.db"), UPSTREAM))
        try {
            val e = expect<IllegalArgumentException> { NativeCore.injectFaultForTest((session as NativeSession).handle, "cosmic-ray") }
            assertTrue(e.message, e.message.orEmpty().contains("cosmic-ray"))
        } finally {
            session.stop()
        }
    }

    @Test
    fun aMissingListFileStartsAnywayAndIsReportedAsAProblem() {
        val missing = File(workdir, "gone/list.txt").path
        val session = start(CoreConfig(database("missing-list.db"), UPSTREAM, blockLists = listOf(missing)))
        try {
            assertTrue(session.health().isFiltering)
            val problems = session.health().problems
            assertTrue(problems.toString(), problems.any { it.kind == "list" && it.message.contains("list.txt") })
            // The built-in list still blocks.
            assertTrue(dig(BLOCKED_NAME).any { it.contains("status: NXDOMAIN") })
            assertTrue(answered(dig(ALLOWED_NAME)))
        } finally {
            session.stop()
        }
    }

    @Test
    fun anUnwritableDatabaseStartsAnywayAndIsReportedAsAProblem() {
        val session = start(CoreConfig("/nonexistent/dir/hush.db", UPSTREAM))
        try {
            val problems = session.health().problems
            assertTrue(problems.toString(), problems.any { it.kind == "database" })
            assertTrue("a database problem does not stop filtering", session.health().isFiltering)
            assertTrue(dig(BLOCKED_NAME).any { it.contains("status: NXDOMAIN") })
            assertTrue(answered(dig(ALLOWED_NAME)))
        } finally {
            session.stop()
        }
    }

    @Test
    fun aRevokeThenAStartLeavesARevokedGap() {
        val path = database("gaps.db")
        val before = System.currentTimeMillis()
        start(CoreConfig(path, UPSTREAM)).stop(StopReason.REVOKED)
        Thread.sleep(50)
        start(CoreConfig(path, UPSTREAM)).stop()
        val gaps = NativeStore(path).gaps(null, 10)
        val revoked = gaps.filter { it.reason == StopReason.REVOKED }
        assertEquals(gaps.toString(), 1, revoked.size)
        val gap = revoked.single()
        assertTrue(gaps.toString(), gap.startMs >= before)
        assertTrue("the second start ended it: $gaps", gap.endMs != null && gap.endMs!! >= gap.startMs)
        // Newest first; the last stop's gap has no end yet.
        assertEquals(StopReason.STOPPED, gaps.first().reason)
        assertEquals(null, gaps.first().endMs)
        assertEquals(1, NativeStore(path).gaps(null, 1).size)
    }

    @Test
    fun aStopReasonThatIsNotOneIsRefusedAndTheSessionKeepsRunning() {
        val session = start(CoreConfig(database("reason.db"), UPSTREAM))
        try {
            val e = expect<IllegalArgumentException> { session.stop("  ") }
            assertTrue(e.message, e.message.orEmpty().contains("stop reason"))
            assertTrue(answered(dig(ALLOWED_NAME)))
        } finally {
            session.stop()
        }
    }

    companion object {
        private lateinit var workdir: File

        @BeforeClass
        @JvmStatic
        fun setUp() {
            NativeFirewallTest.createTunAndResolver()
            workdir = Files.createTempDirectory("hush-jvm-day").toFile()
        }

        @AfterClass
        @JvmStatic
        fun tearDown() {
            NativeFirewallTest.removeTunAndResolver()
            workdir.deleteRecursively()
        }
    }
}
