package org.hush.android.ui

import android.view.View
import android.widget.AbsListView
import org.hush.android.data.Action
import org.hush.android.data.ActivityEvent
import org.hush.android.data.HushStore
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.annotation.Config

@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35], qualifiers = "w360dp-h780dp-xhdpi")
class AppDetailScreenTest {
    @After
    fun reset() { HushUi.deps = null }

    private fun detail(world: SampleData.World, uid: Int?, label: String): AppDetailScreen {
        val activity = UiTest.launch(world, MainActivity.Tab.APPS).get()
        activity.openAppDetail(uid, label)
        UiTest.idle()
        return activity.detail!!
    }

    private val since = Format.startOfDay(SampleData.NOW, SampleData.ZONE) - 13 * SampleData.DAY

    /** What row [i] of the host list shows. */
    private fun row(screen: AppDetailScreen, i: Int): List<String> =
        UiTest.texts(screen.adapter.getView(i, null, screen.hostList))

    @Test
    fun eachHostWithItsCountsFirstAndLastSeenAndWhatHushDidLastAndWhy() {
        val world = SampleData.World()
        val screen = detail(world, SampleData.MI_BROWSER, "Mi Browser")
        val s = screen.presenter.state
        val events = world.store.allEvents().filter { it.uid == SampleData.MI_BROWSER && it.timeMs >= since }
        assertEquals(setOf("tracking.miui.com", "data.mistat.xiaomi.com", "api.sec.miui.com"), s.hosts.map { it.host }.toSet())
        assertEquals(3L, s.hostTotal)
        assertTrue(s.endReached)
        // Most recent first, as the store pages them.
        assertEquals(s.hosts.sortedByDescending { it.lastMs }, s.hosts)
        for (h in s.hosts) {
            val mine = events.filter { it.host == h.host }
            assertEquals(h.host, mine.count { it.action == Action.BLOCKED }.toLong(), h.blocked)
            assertEquals(h.host, mine.count { it.action == Action.ALLOWED }.toLong(), h.allowed)
            assertEquals(mine.minOf { it.timeMs }, h.firstMs)
            assertEquals(mine.maxOf { it.timeMs }, h.lastMs)
        }
        val i = s.hosts.indexOfFirst { it.host == "tracking.miui.com" }
        val tracking = s.hosts[i]
        val texts = row(screen, i)
        assertEquals("tracking.miui.com", texts[0])
        // Who is behind it (the world's FakeEvidence; EvidenceScreensTest has more).
        assertEquals("Xiaomi · phone vendor telemetry", texts[1])
        assertEquals("Last: Blocked · Your rule: block", texts[2])
        // In the screen's locale and clock (Robolectric's en-US: 12-hour), as the other times.
        val shown = ResourceStrings(screen.view.context)
        assertEquals("${Format.count(XmlStrings, tracking.blocked)} blocked · first ${Format.dateTime(shown, tracking.firstMs, SampleData.ZONE)} · " +
            "last ${Format.dateTime(shown, tracking.lastMs, SampleData.ZONE)}", texts[3])
        assertTrue(texts[3], Regex("first [A-Z][a-z]{2} \\d{1,2}, \\d{4}, \\d{1,2}:\\d{2}.?[AP]M").containsMatchIn(texts[3]))
        UiTest.assertShows(screen.view, "Hosts contacted · 3")
        UiTest.assertShows(screen.view, "Mi Browser")
        UiTest.assertShows(screen.view, "UID ${SampleData.MI_BROWSER}")
    }

    @Test
    fun aTimelineOfFourteenDaysDrawnFromTheStore() {
        val world = SampleData.World()
        val screen = detail(world, SampleData.FACEBOOK, "Facebook")
        val days = screen.chart.days
        assertEquals(14, days.size)
        assertEquals("2026-11-28", days.last().day)
        assertEquals("2026-11-15", days.first().day)
        val events = world.store.allEvents().filter { it.uid == SampleData.FACEBOOK && it.timeMs >= since }
        assertEquals(events.count { it.action == Action.BLOCKED }.toLong(), days.sumOf { it.blocked })
        assertEquals(events.count { it.action == Action.ALLOWED }.toLong(), days.sumOf { it.allowed })
        assertEquals(days.maxOf { it.blocked + it.allowed }, screen.chart.maxTotal)
        assertTrue(screen.chart.contentDescription.toString(), screen.chart.contentDescription.toString().contains("Sat, Nov 28:"))
        UiTest.assertShows(screen.view, "${Format.count(XmlStrings, days.sumOf { it.blocked })} blocked")
    }

    @Test
    fun aUidWithNoPackageIsNamedByItsUid() {
        val screen = detail(SampleData.World(), SampleData.UNINSTALLED, "UID 10123")
        UiTest.assertShows(screen.view, "UID 10123")
        UiTest.assertShows(screen.view, "No installed package (uninstalled?), seen in the log")
        val i = screen.presenter.state.hosts.indexOfFirst { it.host == "app.adjust.com" }
        assertEquals(listOf("Adjust (AppLovin) · analytics", "Last: Blocked · List: easyprivacy"), row(screen, i).subList(1, 3))
    }

    @Test
    fun aFailingStoreShowsTheMessage() {
        val world = SampleData.World()
        val activity = UiTest.launch(world, MainActivity.Tab.LISTS).get()
        world.store.failure = "disk I/O error"
        activity.openAppDetail(SampleData.TIKTOK, "TikTok")
        UiTest.idle()
        val screen = activity.detail!!
        assertEquals(View.VISIBLE, screen.error.visibility)
        assertEquals("Could not read this app's activity: disk I/O error", screen.error.text.toString())
        UiTest.assertShows(screen.view, "TikTok")
    }

    /** An app that contacted [hosts] hosts over the last days, each a few times, plus sample traffic. */
    private fun busyWorld(hosts: Int, eventsPerHost: Int = 3): SampleData.World {
        val events = ArrayList(SampleData.events())
        for (h in 0 until hosts) for (k in 0 until eventsPerHost) {
            events.add(ActivityEvent(SampleData.NOW - h * 60_000L - k * 1_000L, SampleData.TIKTOK, "h$h.tracker.example",
                "198.18.1.${h % 250}", 443, "tcp", if (h % 3 == 0) Action.ALLOWED else Action.BLOCKED, if (h % 3 == 0) "" else "list:hush-default"))
        }
        return SampleData.World(store = FakeStore(events))
    }

    @Test
    fun hostsArePagedAndTheNextPageLoadsAsTheListScrolls() {
        val world = busyWorld(250)
        val screen = detail(world, SampleData.TIKTOK, "TikTok")
        val s = screen.presenter.state
        val tiktokHosts = world.store.allEvents().filter { it.uid == SampleData.TIKTOK && it.timeMs >= since }.map { it.host }.toSet().size
        assertEquals(AppDetailPresenter.PAGE, s.hosts.size)
        assertEquals(tiktokHosts.toLong(), s.hostTotal)
        assertFalse(s.endReached)
        UiTest.assertShows(screen.view, "Hosts contacted · ${Format.count(XmlStrings, tiktokHosts.toLong())}")
        assertEquals(listOf(SampleData.TIKTOK to 0), world.store.appHostsCalls)

        // Scrolled near the end of what is loaded: the next page, once.
        val scroll = AbsListView::class.java.getDeclaredField("mOnScrollListener").apply { isAccessible = true }
            .get(screen.hostList) as AbsListView.OnScrollListener
        val total = screen.hostList.headerViewsCount + s.hosts.size + 1
        scroll.onScroll(screen.hostList, total - 10, 8, total)
        UiTest.idle()
        assertEquals(200, screen.presenter.state.hosts.size)
        while (!screen.presenter.state.endReached) {
            screen.presenter.loadMore()
            UiTest.idle()
        }
        val all = screen.presenter.state.hosts
        assertEquals(tiktokHosts, all.size)
        assertEquals("no host twice", all.size, all.map { it.host }.toSet().size)
        assertEquals(listOf(0, 100, 200, 300).take(world.store.appHostsCalls.size), world.store.appHostsCalls.map { it.second })
        assertEquals("the footer says what a tap does", "Tap a host to block or allow it", screen.footer.text.toString())
        // Every page asked was within the core's cap (the fake refuses more, as the core does).
        assertTrue(world.store.queries.all { it.limit <= HushStore.MAX_PAGE })
        assertNull(screen.presenter.state.error)
    }

    @Test
    fun anAppWithThousandsOfEventsOpensWithinTheCoresPageCap() {
        // 5,000 events for one app: the old App detail asked for them in one page of
        // 5,000, which the core refuses; the fake refuses it too.
        val world = busyWorld(1_000, eventsPerHost = 5)
        val refused = try {
            world.store.recentEvents(org.hush.android.data.EventQuery(uid = SampleData.TIKTOK, limit = 5_000)); null
        } catch (e: IllegalArgumentException) { e.message }
        assertEquals("a page holds at most 1000 events, not 5000", refused)
        val screen = detail(world, SampleData.TIKTOK, "TikTok")
        assertNull(screen.presenter.state.error)
        assertEquals(AppDetailPresenter.PAGE, screen.presenter.state.hosts.size)
        assertTrue(screen.presenter.state.hostTotal >= 1_000)
    }

    @Test
    fun tappingAHostOpensItsActionsForThisApp() {
        val world = SampleData.World()
        val activity = UiTest.launch(world, MainActivity.Tab.APPS).get()
        activity.openAppDetail(SampleData.MI_BROWSER, "Mi Browser")
        UiTest.idle()
        val screen = activity.detail!!
        val i = screen.presenter.state.hosts.indexOfFirst { it.host == "api.sec.miui.com" }
        val list = screen.hostList
        assertTrue(list.performItemClick(screen.adapter.getView(i, null, list), i + list.headerViewsCount, i.toLong()))
        UiTest.idle()
        val sheet = activity.sheet!!
        assertTrue(sheet.dialog.isShowing)
        assertEquals(HostTarget("api.sec.miui.com", AppRef(SampleData.MI_BROWSER, "Mi Browser")), sheet.presenter.state.target)
        val rowView = screen.adapter.getView(i, null, list)
        assertTrue(rowView.contentDescription.toString().contains("Opens block and allow actions"))
        assertTrue(rowView.minimumHeight >= (48 * activity.resources.displayMetrics.density).toInt())
    }
}
