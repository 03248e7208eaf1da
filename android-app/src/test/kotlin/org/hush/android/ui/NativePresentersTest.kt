package org.hush.android.ui

import kotlinx.coroutines.Dispatchers
import org.hush.android.apps.InstalledApp
import org.hush.android.core.HostStore
import org.hush.android.core.NativeStore
import org.hush.android.data.Action
import org.hush.android.data.DomainAction
import org.hush.android.data.DomainRule
import org.hush.android.data.HushStore
import org.json.JSONArray
import org.json.JSONObject
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test
import java.io.File
import java.nio.file.Files
import java.util.TimeZone

/**
 * The screens' presenters on the real store (the host build of the JNI library, a
 * real SQLite file written as a session writes it), not a fake: what they ask must be
 * what the core answers, within the core's limits. Plain JVM: no Android looper, the
 * presenters run on Dispatchers.Unconfined.
 */
class NativePresentersTest {
    private val dir = Files.createTempDirectory("hush-presenters").toFile()
    private val database = File(dir, "hush.db").path
    private val store = NativeStore(database)
    private val now = System.currentTimeMillis()
    private val apps = FakeApps(listOf(
        InstalledApp("com.example.game", "Game", GAME, false),
        InstalledApp("com.example.browser", "Browser", BROWSER, false),
    ))
    private val actions = FakeActions()
    private val deps = UiDeps(
        store = store, apps = apps, firewall = FakeFirewall(), actions = actions, settings = FakeSettings(),
        io = Dispatchers.Unconfined, main = Dispatchers.Unconfined,
        clock = object : Clock { override fun nowMs() = now }, timeZone = TimeZone.getTimeZone("UTC"),
    )

    @After
    fun cleanUp() {
        dir.deleteRecursively()
    }

    private fun record(vararg events: JSONObject) {
        assertEquals(events.size.toLong(), HostStore.recordEvents(database, JSONArray(events.toList()).toString()))
    }

    private fun event(timeMs: Long, uid: Int?, host: String, action: String, list: String? = null) = JSONObject()
        .put("timeMs", timeMs).put("uid", uid ?: JSONObject.NULL).put("host", host).put("action", action)
        .put("list", list ?: JSONObject.NULL)

    /** [hosts] hosts for the game over the last hours, host i last seen i minutes ago: every third allowed, the rest blocked twice. */
    private fun gameTraffic(hosts: Int) {
        val events = ArrayList<JSONObject>()
        for (i in 0 until hosts) {
            val last = now - i * 60_000L
            if (i % 3 == 0) {
                events.add(event(last, GAME, "h$i.example.net", "allowed"))
            } else {
                events.add(event(last - 30_000, GAME, "h$i.example.net", "blocked", "hush-default"))
                events.add(event(last, GAME, "h$i.example.net", "blocked", "hush-default"))
            }
        }
        events.add(event(now - 5_000, BROWSER, "en.wikipedia.org", "allowed"))
        events.add(event(now - 6_000, null, "tracking.miui.com", "blocked", "hush-default"))
        record(*events.toTypedArray())
    }

    @Test
    fun appDetailPagesTheRealStoresHostsWithExactCounts() {
        gameTraffic(150)
        val presenter = AppDetailPresenter(deps, GAME, "Game", XmlStrings)
        presenter.attach { }
        presenter.load()
        var s = presenter.state
        assertNull(s.error)
        assertEquals("Game", s.label)
        assertEquals(AppDetailPresenter.PAGE, s.hosts.size)
        assertEquals(150L, s.hostTotal)
        assertFalse(s.endReached)
        assertEquals("most recent first", (0 until 100).map { "h$it.example.net" }, s.hosts.map { it.host })
        val h1 = s.hosts[1]
        assertEquals(listOf(2L, 0L, 0L), listOf(h1.blocked, h1.allowed, h1.failed))
        assertEquals(now - 60_000 - 30_000, h1.firstMs)
        assertEquals(now - 60_000, h1.lastMs)
        assertEquals(Action.BLOCKED to "list:hush-default", h1.lastAction to h1.lastReason)
        assertEquals(Action.ALLOWED to "unlisted", s.hosts[0].lastAction to s.hosts[0].lastReason)
        assertEquals(150 / 3 * 1L, s.allowed)
        assertEquals(100 * 2L, s.blocked)
        assertEquals(14, s.days.size)

        presenter.loadMore()
        s = presenter.state
        assertEquals(150, s.hosts.size)
        assertTrue(s.endReached)
        assertEquals(150, s.hosts.map { it.host }.toSet().size)
        presenter.loadMore() // nothing left: no call, nothing changes
        assertEquals(s, presenter.state)

        // The owner not known has its own hosts.
        val unknown = AppDetailPresenter(deps, null, "Unknown app", XmlStrings).apply { attach { }; load() }.state
        assertEquals(listOf("tracking.miui.com"), unknown.hosts.map { it.host })
    }

    @Test
    fun theActivityLogPagesTheRealStoreWithinItsCap() {
        gameTraffic(150) // 50 allowed, 200 blocked, 2 of other owners
        val presenter = ActivityPresenter(deps, XmlStrings)
        presenter.attach { }
        presenter.load()
        assertNull(presenter.state.error)
        assertEquals(ActivityPresenter.PAGE, presenter.state.events.size)
        assertEquals(listOf(GAME), presenter.state.apps.map { it.uid }.filter { it == GAME })
        while (!presenter.state.endReached) presenter.loadMore()
        assertEquals(252, presenter.state.events.size)
        assertEquals(presenter.state.events.sortedByDescending { it.timeMs }, presenter.state.events)

        presenter.setFilter(ActivityFilter(uid = BROWSER))
        assertEquals(listOf("en.wikipedia.org"), presenter.state.events.map { it.host })
        presenter.setFilter(ActivityFilter(action = Action.ALLOWED, host = "H3"))
        assertTrue(presenter.state.events.isNotEmpty())
        assertTrue(presenter.state.events.all { it.action == Action.ALLOWED && it.host.contains("h3") })
    }

    @Test
    fun homeReadsTodaysCountsAndTopHostsFromTheRealStore() {
        record(
            event(now - 1_000, GAME, "ads.example.net", "blocked", "hush-default"),
            event(now - 2_000, BROWSER, "ads.example.net", "blocked", "hush-default"),
            event(now - 3_000, GAME, "ok.example.net", "allowed"),
        )
        val presenter = HomePresenter(deps, XmlStrings)
        presenter.attach { }
        presenter.refresh()
        val s = presenter.state
        assertNull(s.error)
        assertEquals(2L to 1L, s.blockedToday to s.allowedToday)
        assertEquals("ads.example.net", s.topHosts[0].host)
        assertEquals(2, s.topHosts[0].apps)
    }

    @Test
    fun theSheetAndTheRulesScreenChangeTheRealStoreAndUndoPutsItBack() {
        store.addDomainRule(null, "ads.example.net", DomainAction.BLOCK)
        val sheet = HostSheetPresenter(deps, HostTarget("Ads.Example.net", AppRef(GAME, "Game")), XmlStrings)
        sheet.attach { }
        sheet.load()
        assertEquals("ads.example.net", sheet.state.domain)
        assertEquals(DomainRule(null, "ads.example.net", DomainAction.BLOCK), sheet.state.allRule)
        assertEquals("com.example.game", sheet.state.packageName)

        sheet.apply(RuleScope.APP, DomainAction.ALLOW)
        val change = sheet.state.done!!
        assertEquals(DomainRule(GAME, "ads.example.net", DomainAction.ALLOW, "com.example.game"), change.after)
        assertTrue(store.domainRules().contains(DomainRule(GAME, "ads.example.net", DomainAction.ALLOW, "com.example.game")))
        assertEquals(1, actions.rulesChanged)
        val undo = UndoPresenter(deps, XmlStrings).apply { attach { } }
        undo.offer(change)
        undo.undo { }
        assertEquals(listOf(DomainRule(null, "ads.example.net", DomainAction.BLOCK)), store.domainRules())

        // What the core refuses as a domain, the sheet says, and offers nothing.
        val bad = HostSheetPresenter(deps, HostTarget("bad..name", AppRef(GAME, "Game")), XmlStrings).apply { attach { }; load() }.state
        assertNull(bad.domain)
        assertTrue(bad.notADomain, bad.notADomain!!.contains("not a valid domain name"))

        // The Rules screen: searched, paged, removal and undo.
        for (i in 0 until 120) store.addDomainRule(BROWSER, "t$i.tracker.example", DomainAction.BLOCK)
        val rules = RulesPresenter(deps, XmlStrings).apply { attach { } }
        rules.load()
        assertEquals(121L, rules.state.total)
        assertEquals(RulesPresenter.PAGE, rules.state.rules.size)
        assertEquals("Browser", rules.whom(rules.state.rules[1]))
        rules.search("T11")
        assertEquals((listOf(11) + (110 until 120)).map { "t$it.tracker.example" }.sorted(), rules.state.rules.map { it.domain }.sorted())
        val gone = rules.state.rules[0]
        rules.remove(gone)
        assertFalse(store.domainRules().contains(gone))
        undo.offer(rules.state.removed!!)
        undo.undo { }
        assertTrue(store.domainRules().contains(gone))
    }

    @Test
    fun aStoreThatCannotBeOpenedIsAMessageOnEveryPresenter() {
        val broken = UiDeps(
            store = NativeStore(File(dir, "missing/dir/hush.db").path), apps = apps, firewall = FakeFirewall(), actions = actions,
            settings = FakeSettings(), io = Dispatchers.Unconfined, main = Dispatchers.Unconfined,
        )
        val detail = AppDetailPresenter(broken, GAME, "Game", XmlStrings).apply { attach { }; load() }.state
        assertTrue(detail.error, detail.error!!.startsWith("Could not read this app's activity: "))
        val sheet = HostSheetPresenter(broken, HostTarget("ads.example.net", AppRef(GAME, "Game")), XmlStrings).apply { attach { }; load() }.state
        assertTrue(sheet.error, sheet.error!!.startsWith("Could not read the rules for this host: "))
        assertNull(sheet.domain)
        val rules = RulesPresenter(broken, XmlStrings).apply { attach { }; load() }.state
        assertTrue(rules.error, rules.error!!.startsWith("Could not read the rules: "))
        assertEquals(0, actions.rulesChanged)
    }

    @Test
    fun pagesOverTheCapAreRefusedByTheCoreAsByTheFake() {
        for (s in listOf<HushStore>(store, FakeStore())) {
            val e = try { s.appHosts(GAME, null, null, HushStore.MAX_PAGE + 1, 0); null } catch (e: IllegalArgumentException) { e.message }
            assertEquals(s.javaClass.simpleName, "a page holds at most 1000 hosts, not 1001", e)
            val r = try { s.domainRulesMatching("", HushStore.MAX_PAGE + 1, 0); null } catch (e: IllegalArgumentException) { e.message }
            assertEquals(s.javaClass.simpleName, "a page holds at most 1000 rules, not 1001", r)
        }
    }

    companion object {
        const val GAME = 10_123
        const val BROWSER = 10_200
    }
}
