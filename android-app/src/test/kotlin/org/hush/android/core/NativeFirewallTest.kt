package org.hush.android.core

import org.hush.android.data.Action
import org.hush.android.data.DomainAction
import org.hush.android.data.EventQuery
import org.hush.android.data.ExportFormat
import org.hush.android.policy.AppMode
import org.junit.AfterClass
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.BeforeClass
import org.junit.Test
import java.io.File
import java.io.FileOutputStream
import java.net.InetAddress
import java.nio.file.Files
import java.util.Collections
import java.util.concurrent.TimeUnit

/**
 * The core on a real Linux tun, through the same Kotlin classes the VpnService uses
 * (NativeFirewall, NativeStore), with a real client (dig) and a real resolver
 * (dnsmasq). Runs as root inside the network namespace tests/android/jvm.sh makes:
 * the tun holds 198.18.0.1/24, dnsmasq listens on 127.0.0.1:5353, nothing else.
 */
class NativeFirewallTest {
    /** A phone's platform, recording what the core asked of it. */
    private class RecordingPlatform(private val uid: Int) : CorePlatform {
        val protectedFds: MutableList<Int> = Collections.synchronizedList(ArrayList())
        val lookups: MutableList<String> = Collections.synchronizedList(ArrayList())

        override fun protect(fd: Int): Boolean {
            protectedFds.add(fd)
            return true
        }

        override fun ownerUid(protocol: Int, local: ByteArray, localPort: Int, remote: ByteArray, remotePort: Int): Int {
            val from = InetAddress.getByAddress(local).hostAddress
            val to = InetAddress.getByAddress(remote).hostAddress
            lookups.add("$protocol $from:$localPort $to:$remotePort")
            return uid
        }
    }

    @Test
    fun blockedAndAllowedNamesAreAnsweredAndRecordedForTheAppTheCallbackNamed() {
        val database = File(workdir, "blocked-allowed.db").path
        val platform = RecordingPlatform(GAME_UID)
        val session = NativeFirewall.start(HostTun.attach(TUN), CoreConfig(database, UPSTREAM), platform)
        val blocked: List<String>
        val allowed: List<String>
        try {
            blocked = dig(BLOCKED_NAME)
            allowed = dig(ALLOWED_NAME)
            val live = waitFor { session.stats().takeIf { it.blocked >= 1 && it.allowed >= 1 } }
            assertEquals(2L, live.dnsQueries)
        } finally {
            val end = session.stop()
            assertNull(end.error)
            assertEquals(1L, end.stats.blocked)
            assertEquals(0L, end.stats.eventsDropped)
        }
        assertTrue(blocked.joinToString("\n"), blocked.any { it.contains("status: NXDOMAIN") })
        assertTrue(allowed.joinToString("\n"), allowed.any { it.startsWith("$ALLOWED_NAME.") && it.endsWith("\t$ALLOWED_ADDRESS") })

        // The upstream socket was protected; each query's owner was asked for by its flow.
        assertTrue("protect was never called", platform.protectedFds.isNotEmpty())
        assertTrue(platform.protectedFds.toString(), platform.protectedFds.all { it > 2 })
        assertTrue(platform.lookups.toString(), platform.lookups.isNotEmpty())
        assertTrue(platform.lookups.toString(), platform.lookups.all { it.startsWith("17 $CLIENT:") && it.endsWith(" $RESOLVER:53") })

        val store = NativeStore(database)
        val events = store.recentEvents(EventQuery())
        assertEquals(events.toString(), listOf(ALLOWED_NAME, BLOCKED_NAME), events.map { it.host })
        assertEquals(listOf(Action.ALLOWED, Action.BLOCKED), events.map { it.action })
        assertTrue(events.all { it.uid == GAME_UID && it.protocol == "dns" && it.ip == RESOLVER && it.port == 53 })
        assertEquals("list:hush-default", events[1].reason)
        assertTrue(events[0].timeMs >= events[1].timeMs)

        val day = System.currentTimeMillis() - 86_400_000L to System.currentTimeMillis() + 3_600_000L
        val apps = store.appActivity(day.first, day.second)
        assertEquals(1, apps.size)
        assertEquals(GAME_UID, apps[0].uid)
        assertEquals(1L to 1L, apps[0].blocked to apps[0].allowed)
        assertEquals(listOf(BLOCKED_NAME), store.topBlockedHosts(day.first, day.second, null, 10).map { it.host })

        val csv = File(workdir, "export.csv")
        val written = FileOutputStream(csv).use { out -> store.export(out.fd.number(), ExportFormat.CSV, null, null) }
        assertEquals(2L, written)
        val lines = Files.readAllLines(csv.toPath())
        assertEquals(3, lines.size)
        assertTrue(lines.toString(), lines[0].startsWith("time,"))
    }

    @Test
    fun anAppModeSetThroughTheStoreAppliesToTheRunningSessionAfterReload() {
        val database = File(workdir, "modes.db").path
        val store = NativeStore(database)
        val session = NativeFirewall.start(HostTun.attach(TUN), CoreConfig(database, UPSTREAM, network = Network.WIFI), RecordingPlatform(GAME_UID))
        try {
            assertTrue(dig(ALLOWED_NAME).any { it.endsWith("\t$ALLOWED_ADDRESS") })
            // Blocked on mobile data only: on Wi-Fi the game still gets through.
            store.setAppMode(GAME_UID, Network.MOBILE, AppMode.BLOCK_ALL)
            session.reloadRules()
            assertTrue(dig(ALLOWED_NAME).any { it.endsWith("\t$ALLOWED_ADDRESS") })
            session.setNetwork(Network.MOBILE)
            assertTrue(dig(ALLOWED_NAME).any { it.contains("status: NXDOMAIN") })
            // A global allow rule does not beat the app's block-all; the app's own rule does.
            store.addDomainRule(GAME_UID, ALLOWED_NAME, DomainAction.ALLOW)
            session.reloadRules()
            assertTrue(dig(ALLOWED_NAME).any { it.endsWith("\t$ALLOWED_ADDRESS") })
        } finally {
            session.stop()
        }
        val reasons = store.recentEvents(EventQuery()).map { "${it.action.wire} ${it.reason}" }
        assertEquals(listOf("allowed app-rule:allow", "blocked app:block-all", "allowed unlisted", "allowed unlisted"), reasons)
    }

    @Test
    fun aHostActionReachesTheRunningCoreAndChangesTheNextAnswerForThatAppOnly() {
        val database = File(workdir, "host-actions.db").path
        val platform = SwitchablePlatform(GAME_UID)
        val session = NativeFirewall.start(HostTun.attach(TUN), CoreConfig(database, UPSTREAM), platform)
        // The app's wiring, with the session's reload called as AppActions' worker does.
        val actions = object : org.hush.android.ui.HushActions {
            override fun rulesChanged() = session.reloadRules()
            override fun updateLists() {}
            override fun addListUrl(url: String) {}
        }
        val deps = org.hush.android.ui.UiDeps(
            store = NativeStore(database),
            apps = org.hush.android.ui.FakeApps(listOf(org.hush.android.apps.InstalledApp("com.example.game", "Game", GAME_UID, false))),
            firewall = org.hush.android.ui.FakeFirewall(), actions = actions, settings = org.hush.android.ui.FakeSettings(),
            io = kotlinx.coroutines.Dispatchers.Unconfined, main = kotlinx.coroutines.Dispatchers.Unconfined,
        )
        val target = org.hush.android.ui.HostTarget(ALLOWED_NAME, org.hush.android.ui.AppRef(GAME_UID, "Game"))
        fun answered() = dig(ALLOWED_NAME).any { it.endsWith("\t$ALLOWED_ADDRESS") }
        fun refused() = dig(ALLOWED_NAME).any { it.contains("status: NXDOMAIN") }
        try {
            assertTrue(answered())
            val sheet = org.hush.android.ui.HostSheetPresenter(deps, target, org.hush.android.ui.XmlStrings).apply { attach { }; load() }
            sheet.apply(org.hush.android.ui.RuleScope.APP, DomainAction.BLOCK)
            val change = sheet.state.done!!
            assertTrue("the game's next query is refused", refused())
            platform.uid = OTHER_UID
            assertTrue("another app's is not", answered())
            platform.uid = GAME_UID
            val undo = org.hush.android.ui.UndoPresenter(deps, org.hush.android.ui.XmlStrings).apply { attach { } }
            undo.offer(change)
            undo.undo { }
            assertTrue("undone: answered again", answered())

            // Tap -> rule stored -> in force in the running core, timed (the sheet and
            // undo, alternately, each then checked with a query).
            val nanos = LongArray(ROUNDS)
            for (i in 0 until ROUNDS) {
                val block = i % 2 == 0
                val t0 = System.nanoTime()
                if (block) {
                    val s = org.hush.android.ui.HostSheetPresenter(deps, target, org.hush.android.ui.XmlStrings).apply { attach { }; load() }
                    s.apply(org.hush.android.ui.RuleScope.APP, DomainAction.BLOCK)
                    checkNotNull(s.state.done) { s.state.error ?: "not applied" }
                    undo.offer(s.state.done!!)
                } else {
                    undo.undo { }
                }
                nanos[i] = System.nanoTime() - t0
                if (i < 6) assertTrue("round $i", if (block) refused() else answered())
            }
            nanos.sort()
            val ms = { n: Long -> String.format(java.util.Locale.US, "%.2f", n / 1e6) }
            println("host action, tap -> rule stored -> in force in the running core (n=$ROUNDS): " +
                "median ${ms(nanos[ROUNDS / 2])} ms, p95 ${ms(nanos[ROUNDS * 95 / 100])} ms, max ${ms(nanos[ROUNDS - 1])} ms")
            assertTrue("within 1 s: ${ms(nanos[ROUNDS - 1])} ms", nanos[ROUNDS - 1] < 1_000_000_000L)
        } finally {
            session.stop()
        }
        val reasons = NativeStore(database).recentEvents(EventQuery(limit = 5)).map { "${it.uid} ${it.action.wire} ${it.reason}" }
        assertTrue(reasons.toString(), reasons.contains("$GAME_UID blocked app-rule:block"))
    }

    /** A platform whose every flow belongs to [uid], which the test switches. */
    private class SwitchablePlatform(@Volatile var uid: Int) : CorePlatform {
        override fun protect(fd: Int) = true
        override fun ownerUid(protocol: Int, local: ByteArray, localPort: Int, remote: ByteArray, remotePort: Int) = uid
    }

    @Test
    fun aDownloadedListIsPutInForceWithoutARestart() {
        val database = File(workdir, "lists.db").path
        val list = File(workdir, "user-list.txt")
        list.writeText("# nothing yet\n")
        val config = CoreConfig(database, UPSTREAM, blockLists = listOf(list.path))
        val session = NativeFirewall.start(HostTun.attach(TUN), config, RecordingPlatform(GAME_UID))
        try {
            assertTrue(dig(ALLOWED_NAME).any { it.endsWith("\t$ALLOWED_ADDRESS") })
            list.writeText("0.0.0.0 $ALLOWED_NAME\n")
            val loads = session.reloadLists(config)
            // The built-in lists (hush-default, and hush-doh where the engine loads it) and the user's.
            assertEquals("hush-default", loads[0].name)
            assertEquals(1L, loads.single { it.name == "user-list.txt" }.entries)
            assertTrue(dig(ALLOWED_NAME).any { it.contains("status: NXDOMAIN") })
            // A list that vanished: the core says so, and the lists in force stay.
            val gone = expect<IllegalStateException> { session.reloadLists(config.copy(blockLists = listOf("/nonexistent/list.txt"))) }
            assertTrue(gone.message, gone.message.orEmpty().contains("/nonexistent/list.txt"))
            assertTrue(dig(ALLOWED_NAME).any { it.contains("status: NXDOMAIN") })
        } finally {
            session.stop()
        }
        assertEquals("list:user-list.txt", NativeStore(database).recentEvents(EventQuery(limit = 1))[0].reason)
        assertTrue(NativeStore(database).listSources().any { it.name == "user-list.txt" && it.entries == 1L })
    }

    @Test
    fun aSessionWhoseTunVanishesSaysSoOnItsNextStatsCall() {
        val session = NativeFirewall.start(HostTun.attach(TUN), CoreConfig(File(workdir, "vanish.db").path, UPSTREAM), RecordingPlatform(1))
        try {
            run("ip", "link", "del", TUN)
            val e = waitFor {
                try {
                    session.stats()
                    null
                } catch (e: IllegalStateException) {
                    e
                }
            }
            assertTrue(e.message, e.message.orEmpty().startsWith("the firewall stopped: "))
            // Released with that call: nothing is left to stop.
            expect<IllegalStateException> { session.stop() }
        } finally {
            createTun()
        }
    }

    @Test
    fun manyThreadsCallTheBridgeAtOnceWhileTheCoreWorks() {
        val database = File(workdir, "busy.db").path
        val session = NativeFirewall.start(HostTun.attach(TUN), CoreConfig(database, UPSTREAM), RecordingPlatform(GAME_UID))
        val store = NativeStore(database)
        val failures = Collections.synchronizedList(ArrayList<Throwable>())
        try {
            val callers = (1..8).map { n ->
                Thread {
                    try {
                        repeat(500) {
                            if (n % 2 == 0) session.stats() else store.recentEvents(EventQuery(limit = 50))
                            store.domainRules()
                        }
                    } catch (t: Throwable) {
                        failures.add(t)
                    }
                }.apply { start() }
            }
            repeat(5) { assertTrue(dig(BLOCKED_NAME).any { it.contains("status: NXDOMAIN") }) }
            callers.forEach { it.join(60_000) }
        } finally {
            session.stop()
        }
        assertEquals(emptyList<Throwable>(), failures)
        // Five lookups of one blocked name in a row are one row that counts them.
        val events = store.recentEvents(EventQuery())
        assertEquals(1, events.size)
        assertEquals(5L, events[0].repeats)
    }

    @Test
    fun theScreenStateTheServiceGivesReachesEachStoredEventAndTheAppsScreensQuery() {
        val database = File(workdir, "screen.db").path
        // Started with the screen off, as the service does when PowerManager says so.
        val session = NativeFirewall.start(HostTun.attach(TUN), CoreConfig(database, UPSTREAM, screenOff = true), RecordingPlatform(GAME_UID))
        val handle = (session as NativeSession).handle
        try {
            assertTrue(dig(BLOCKED_NAME).any { it.contains("status: NXDOMAIN") })
            session.setScreenOff(false)
            // The same blocked name again within the repeat window: a row of its own, as the screen changed.
            assertTrue(dig(BLOCKED_NAME).any { it.contains("status: NXDOMAIN") })
            assertTrue(dig(ALLOWED_NAME).any { it.endsWith("\t$ALLOWED_ADDRESS") })
            session.setScreenOff(true)
            assertTrue(dig(ALLOWED_NAME).any { it.endsWith("\t$ALLOWED_ADDRESS") })
        } finally {
            assertNull(session.stop().error)
        }
        // Through the bridge like every other entry: a stopped session is an IllegalStateException.
        val stale = expect<IllegalStateException> { NativeCore.setScreenOff(handle, false) }
        assertTrue(stale.message, stale.message.orEmpty().contains("no running session"))

        val store = NativeStore(database)
        val events = store.recentEvents(EventQuery()).reversed()
        assertEquals(events.toString(), listOf(BLOCKED_NAME, BLOCKED_NAME, ALLOWED_NAME, ALLOWED_NAME), events.map { it.host })
        assertEquals(listOf(true, false, false, true), events.map { it.screenOff })
        assertTrue(events.all { it.repeats == 1L })

        val day = System.currentTimeMillis() - 86_400_000L to System.currentTimeMillis() + 3_600_000L
        val off = store.screenOffApps(day.first, day.second)
        assertEquals(off.toString(), listOf(GAME_UID), off.map { it.uid })
        assertEquals(1L to 1L, off[0].blocked to off[0].allowed)
        assertEquals(0L, off[0].failed)
        // Every attempt is in the app's totals all the same.
        assertEquals(2L to 2L, store.appActivity(day.first, day.second).single().let { it.blocked to it.allowed })
        assertEquals(emptyList<Any>(), store.screenOffApps(day.second, day.second + 3_600_000L))
    }

    @Test
    fun aStoppedSessionRefusesEveryCallAndStoppingTwiceIsAnError() {
        val session = NativeFirewall.start(HostTun.attach(TUN), CoreConfig(File(workdir, "stop.db").path, UPSTREAM), RecordingPlatform(1))
        session.stop()
        val message = expect<IllegalStateException> { session.stats() }.message.orEmpty()
        assertTrue(message, message.contains("no running session"))
        expect<IllegalStateException> { session.setNetwork(Network.WIFI) }
        expect<IllegalStateException> { session.stop() }
        // The tun was closed with the session: it can be attached again.
        val again = HostTun.attach(TUN)
        NativeFirewall.start(again, CoreConfig(File(workdir, "stop.db").path, UPSTREAM), RecordingPlatform(1)).stop()
    }

    @Test
    fun aRefusedStartClosesTheTunAndSaysWhy() {
        val cases = listOf(
            CoreConfig(File(workdir, "bad.db").path, "9.9.9.9") to "is not an address:port",
            CoreConfig(File(workdir, "bad.db").path, UPSTREAM, mtu = 576) to "the MTU is 576; it must be from 1280",
            CoreConfig("", UPSTREAM) to "database path is empty",
        )
        for ((config, says) in cases) {
            val e = expect<IllegalArgumentException> { NativeFirewall.start(HostTun.attach(TUN), config, RecordingPlatform(1)) }
            assertTrue(e.message, e.message.orEmpty().contains(says))
        }
        val notOpen = expect<IllegalArgumentException> {
            NativeFirewall.start(987_654, CoreConfig(File(workdir, "bad.db").path, UPSTREAM), RecordingPlatform(1))
        }
        assertTrue(notOpen.message, notOpen.message.orEmpty().contains("987654 is not open"))
        // (A database that cannot be written is no reason to refuse: the session starts and
        // says so, SessionResilienceTest.anUnwritableDatabaseStartsAnywayAndIsReportedAsAProblem.)
        // After every refusal the tun is free again: nothing kept it open.
        HostTun.attach(TUN).let { NativeFirewall.start(it, CoreConfig(File(workdir, "ok.db").path, UPSTREAM), RecordingPlatform(1)).stop() }
    }

    @Test
    fun anEncryptedUpstreamFromSettingsStartsTheCoreAndFailsClosed() {
        // What Settings saves, as AppWiring sends it: the core takes each form.
        val forms = listOf(
            org.hush.android.settings.EncryptedDns.parse(false, "dns.hush.test", "127.0.0.1, fd00::53"),
            org.hush.android.settings.EncryptedDns.parse(true, "dns.hush.test:8443", "127.0.0.1"),
            org.hush.android.settings.EncryptedDns.parse(true, "https://[fd00::53]/resolve", ""),
        )
        for (form in forms) {
            val config = CoreConfig(File(workdir, "encrypted.db").path, UPSTREAM, upstream = EncryptedUpstream(form.url, form.addresses))
            NativeFirewall.start(HostTun.attach(TUN), config, RecordingPlatform(1)).stop()
        }
        // Nothing listens on 127.0.0.1:853: the lookup fails (SERVFAIL), never goes plain to
        // dnsmasq, and the health says why, which Home puts in the owner's words.
        val tls = forms[0]
        val config = CoreConfig(File(workdir, "encrypted.db").path, UPSTREAM, upstream = EncryptedUpstream(tls.url, listOf("127.0.0.1")))
        val session = NativeFirewall.start(HostTun.attach(TUN), config, RecordingPlatform(GAME_UID))
        try {
            val answer = dig(ALLOWED_NAME)
            assertTrue(answer.joinToString("\n"), answer.any { it.contains("status: SERVFAIL") })
            assertTrue(answer.joinToString("\n"), answer.none { it.endsWith("\t$ALLOWED_ADDRESS") })
            val problem = waitFor { session.health().problems.firstOrNull { it.kind == "upstream" } }
            assertTrue(problem.message, problem.message.contains("unreachable: "))
            val said = org.hush.android.app.VpnFirewallControl.coreProblem(org.hush.android.ui.XmlStrings, problem)
            val why = org.hush.android.ui.XmlStrings.get(org.hush.android.R.string.upstream_why_unreachable)
            assertEquals(org.hush.android.ui.XmlStrings.get(org.hush.android.R.string.problem_upstream_failing_why, why), said)
        } finally {
            session.stop()
        }
    }

    @Test
    fun resolverExemptionsAreTakenAtStartAndWhileRunningAndBadOnesRefused() {
        // Strict Private DNS as the controller sends it: the server's name and its addresses.
        val exempt = ResolverExemptions(listOf("dns.example"), listOf("198.18.5.1", "fd00::51"))
        val database = File(workdir, "exempt.db").path
        val session = NativeFirewall.start(HostTun.attach(TUN), CoreConfig(database, UPSTREAM, exemptResolvers = exempt), RecordingPlatform(GAME_UID))
        try {
            session.setResolverExemptions(ResolverExemptions(listOf("other.example"), listOf("198.18.6.1")))
            session.setResolverExemptions(ResolverExemptions.NONE)
            val bad = expect<IllegalArgumentException> { session.setResolverExemptions(ResolverExemptions(addresses = listOf("dns.example"))) }
            assertTrue(bad.message, bad.message.orEmpty().contains("is not an IP address"))
            // Still filtering, with what it had.
            assertTrue(dig(ALLOWED_NAME).any { it.endsWith("\t$ALLOWED_ADDRESS") })
        } finally {
            assertNull(session.stop().error)
        }
        val refused = expect<IllegalArgumentException> {
            NativeFirewall.start(HostTun.attach(TUN), CoreConfig(database, UPSTREAM, exemptResolvers = ResolverExemptions(listOf("bad name!"))), RecordingPlatform(1))
        }
        assertTrue(refused.message, refused.message.orEmpty().contains("exempt resolver"))
    }

    @Test
    fun aThrowingCallbackIsAnUnknownOwnerNotACrash() {
        val database = File(workdir, "throwing.db").path
        val platform = object : CorePlatform {
            override fun protect(fd: Int): Boolean = true
            override fun ownerUid(protocol: Int, local: ByteArray, localPort: Int, remote: ByteArray, remotePort: Int): Int =
                throw SecurityException("no permission to look up owners")
        }
        val session = NativeFirewall.start(HostTun.attach(TUN), CoreConfig(database, UPSTREAM), platform)
        try {
            assertTrue(dig(BLOCKED_NAME).any { it.contains("status: NXDOMAIN") })
        } finally {
            session.stop()
        }
        val events = NativeStore(database).recentEvents(EventQuery())
        assertEquals(1, events.size)
        assertNull(events[0].uid)
    }

    @Test
    fun theOwnerCallbackRoundTripIsTimedFromANativeThread() {
        val nanos = HostBench.ownerCallbackNanos(RecordingPlatform(GAME_UID), 1000)
        assertEquals(1000, nanos.size)
        assertTrue(nanos.all { it > 0 })
        val answering = object : CorePlatform {
            override fun protect(fd: Int) = true
            override fun ownerUid(protocol: Int, local: ByteArray, localPort: Int, remote: ByteArray, remotePort: Int) =
                CorePlatform.UNKNOWN_UID
        }
        val e = expect<IllegalStateException> { HostBench.ownerCallbackNanos(answering, 10) }
        assertTrue(e.message, e.message.orEmpty().contains("no owner"))
        assertArrayEquals(LongArray(0), HostBench.ownerCallbackNanos(RecordingPlatform(GAME_UID), 0))
    }

    companion object {
        const val TUN = "hushjvm0"
        const val CLIENT = "198.18.0.1"
        /** In the tun's subnet, so the kernel routes it into the tun: the VPN's virtual DNS. */
        const val RESOLVER = "198.18.0.53"
        const val UPSTREAM = "127.0.0.1:5353"
        const val GAME_UID = 10_123
        const val OTHER_UID = 10_200
        /** Host actions timed by aHostActionReachesTheRunningCore... */
        const val ROUNDS = 200
        const val BLOCKED_NAME = "tracking.miui.com"
        const val ALLOWED_NAME = "allowed.hush.test"
        const val ALLOWED_ADDRESS = "198.18.7.7"

        private lateinit var workdir: File
        private var dnsmasq: Process? = null

        fun run(vararg command: String) {
            val process = ProcessBuilder(*command).redirectErrorStream(true).start()
            val output = process.inputStream.bufferedReader().readText()
            check(process.waitFor(20, TimeUnit.SECONDS) && process.exitValue() == 0) {
                "${command.joinToString(" ")} failed: $output"
            }
        }

        @BeforeClass
        @JvmStatic
        fun createTunAndResolver() {
            check(System.getProperty("user.name") == "root") {
                "NativeFirewallTest needs root: it creates a tun device (run tests/android/jvm.sh as root)"
            }
            check(System.getenv("HUSH_JVM_NETNS") != null) {
                "NativeFirewallTest runs only inside the network namespace tests/android/jvm.sh makes"
            }
            workdir = Files.createTempDirectory("hush-jvm-tun").toFile()
            run("ip", "link", "set", "lo", "up")
            createTun()
            dnsmasq = ProcessBuilder(
                "dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
                "--bind-interfaces", "--listen-address=127.0.0.1", "--port=5353", "--user=root",
                "--pid-file=${File(workdir, "dnsmasq.pid")}", "--address=/$ALLOWED_NAME/$ALLOWED_ADDRESS",
            ).redirectErrorStream(true).redirectOutput(File(workdir, "dnsmasq.log")).start()
            // Ready when it answers (bounded: 50 tries, 5 s).
            waitFor { dig(ALLOWED_NAME, "@127.0.0.1", "-p", "5353").takeIf { out -> out.any { it.contains(ALLOWED_ADDRESS) } } }
        }

        fun createTun() {
            run("ip", "tuntap", "add", "dev", TUN, "mode", "tun")
            run("ip", "addr", "add", "$CLIENT/24", "dev", TUN)
            run("ip", "link", "set", TUN, "up")
        }

        @AfterClass
        @JvmStatic
        fun removeTunAndResolver() {
            dnsmasq?.destroyForcibly()?.waitFor(5, TimeUnit.SECONDS)
            runCatching { run("ip", "link", "del", TUN) }
            workdir.deleteRecursively()
        }

        /** dig's output lines, one try, a 2 s timeout. */
        fun dig(name: String, vararg server: String): List<String> {
            val at = if (server.isEmpty()) arrayOf("@$RESOLVER") else arrayOf(*server)
            val process = ProcessBuilder("dig", *at, "+tries=1", "+time=2", "A", name)
                .redirectErrorStream(true).start()
            val output = process.inputStream.bufferedReader().readLines()
            check(process.waitFor(10, TimeUnit.SECONDS)) { "dig $name hung" }
            return output
        }

        /** Polls [probe] every 100 ms, at most 50 times, for a non-null answer. */
        fun <T : Any> waitFor(probe: () -> T?): T {
            repeat(50) {
                probe()?.let { return it }
                Thread.sleep(100)
            }
            throw AssertionError("nothing came within 5 s")
        }
    }
}
