package org.hush.android.ui

import android.view.View
import org.hush.android.data.Action
import org.hush.android.data.EventQuery
import org.junit.After
import org.junit.Assert.assertEquals
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

    @Test
    fun hostsBlockedAndAllowedWithTheirReasons() {
        val world = SampleData.World()
        val screen = detail(world, SampleData.MI_BROWSER, "Mi Browser")
        val s = screen.presenter.state
        val hosts = s.hosts.map { it.host to it.action }
        assertEquals(listOf("tracking.miui.com" to Action.BLOCKED, "data.mistat.xiaomi.com" to Action.BLOCKED,
            "api.sec.miui.com" to Action.ALLOWED).toSet(), hosts.toSet())
        assertTrue("blocked first", s.hosts.first().action == Action.BLOCKED && s.hosts.last().action == Action.ALLOWED)
        val texts = UiTest.texts(screen.hostList)
        val i = texts.indexOf("tracking.miui.com")
        assertEquals("Blocked · Your rule: block", texts[i + 1])
        val j = texts.indexOf("data.mistat.xiaomi.com")
        assertEquals("Blocked · List: xiaomi", texts[j + 1])
        val since = Format.startOfDay(SampleData.NOW, SampleData.ZONE) - 13 * SampleData.DAY
        val events = world.store.recentEvents(EventQuery(uid = SampleData.MI_BROWSER, sinceMs = since, limit = 100_000))
        val n = events.count { it.host == "tracking.miui.com" }
        assertEquals("×" + Format.count(n.toLong()), texts[i + 2])
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
        val since = Format.startOfDay(SampleData.NOW, SampleData.ZONE) - 13 * SampleData.DAY
        val events = world.store.recentEvents(EventQuery(uid = SampleData.FACEBOOK, sinceMs = since, limit = 100_000))
        assertEquals(events.count { it.action == Action.BLOCKED }.toLong(), days.sumOf { it.blocked })
        assertEquals(events.count { it.action == Action.ALLOWED }.toLong(), days.sumOf { it.allowed })
        assertEquals(days.maxOf { it.blocked + it.allowed }, screen.chart.maxTotal)
        assertTrue(screen.chart.contentDescription.toString().contains("2026-11-28:"))
        UiTest.assertShows(screen.view, "${Format.count(days.sumOf { it.blocked })} blocked")
    }

    @Test
    fun aUidWithNoPackageIsNamedByItsUid() {
        val screen = detail(SampleData.World(), SampleData.UNINSTALLED, "UID 10123")
        UiTest.assertShows(screen.view, "UID 10123")
        UiTest.assertShows(screen.view, "No installed package (uninstalled?), seen in the log")
        UiTest.assertShows(screen.hostList, "app.adjust.com")
        UiTest.assertShows(screen.hostList, "Blocked · List: easyprivacy")
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
}
