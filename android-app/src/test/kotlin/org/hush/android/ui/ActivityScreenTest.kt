package org.hush.android.ui

import android.view.View
import org.hush.android.R
import org.hush.android.data.Action
import org.hush.android.data.ActivityEvent
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config
import org.robolectric.shadows.ShadowAlertDialog

@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35], qualifiers = "w360dp-h780dp-xhdpi")
class ActivityScreenTest {
    @After
    fun reset() { HushUi.deps = null }

    private fun activity(world: SampleData.World): ActivityScreen {
        val activity = UiTest.launch(world, MainActivity.Tab.ACTIVITY).get()
        return activity.screen(MainActivity.Tab.ACTIVITY) as ActivityScreen
    }

    private fun scrollToEnd(screen: ActivityScreen) {
        screen.list.setSelection(screen.adapter.count - 1)
        UiTest.draw(screen.list.rootView)
        UiTest.idle()
    }

    @Test
    fun anEmptyLogSaysToTurnHushOnWhileOffAndThatItWaitsForTrafficWhileOn() {
        val world = SampleData.World(store = FakeStore(), firewall = FakeFirewall(FirewallState.Off))
        val screen = activity(world)
        assertEquals(XmlStrings.get(R.string.activity_empty_off), screen.footer.text.toString())
        assertEquals(View.VISIBLE, screen.turnOn.visibility)
        assertEquals(XmlStrings.get(R.string.activity_turn_on), screen.turnOn.text.toString())
        screen.turnOn.performClick()
        assertEquals("the button turns Hush on", listOf(true), world.firewall.enableCalls)

        world.firewall.publish(FirewallState.On)
        assertEquals(XmlStrings.get(R.string.activity_empty_waiting), screen.footer.text.toString())
        assertEquals(View.GONE, screen.turnOn.visibility)

        // A filter that matches nothing is not an empty log: it says so, whether Hush runs or not.
        world.firewall.publish(FirewallState.Off)
        screen.presenter.setFilter(ActivityFilter(host = "nothing-like-this"))
        UiTest.idle()
        assertEquals(XmlStrings.get(R.string.activity_empty_filtered), screen.footer.text.toString())
        assertEquals(View.GONE, screen.turnOn.visibility)
    }

    @Test
    fun newestFirstAndOnlyOnePageRead() {
        val world = SampleData.World()
        val screen = activity(world)
        assertEquals(1, world.store.queries.size)
        assertEquals(100, world.store.queries[0].limit)
        assertEquals(0, world.store.queries[0].offset)
        val events = screen.adapter.events
        assertEquals(100, events.size)
        assertEquals((0 until events.size - 1).map { true }, (0 until events.size - 1).map { events[it].timeMs >= events[it + 1].timeMs })
        val newest = world.store.recentEvents(org.hush.android.data.EventQuery(limit = 1))[0]
        assertEquals(newest, events[0])
        val row = UiTest.texts(screen.adapter.getView(0, null, screen.list))
        val strings = ResourceStrings(screen.list.context)
        assertEquals("Today", row[0])
        assertEquals(newest.host.ifEmpty { newest.ip }, row[1])
        assertTrue(row[2], row[2].startsWith(Format.clockTime(strings, newest.timeMs, SampleData.ZONE) + " · "))
        assertTrue(row[2], row[2].endsWith(Format.reason(strings, newest.reason)))
    }

    @Test
    fun eachDayHasItsHeadingAndEachRowSaysBlockedOrAllowedInAWordAndAnIcon() {
        val midnight = Format.startOfDay(SampleData.NOW, SampleData.ZONE)
        fun at(t: Long, action: Action) = ActivityEvent(t, SampleData.TIKTOK, "log.tiktokv.com", "10.111.222.2", 53, "dns", action, "list:easyprivacy")
        val events = listOf(
            at(SampleData.NOW - 1_000, Action.BLOCKED), at(midnight + 1_000, Action.ALLOWED),
            at(midnight - 1_000, Action.BLOCKED), at(midnight - 20 * SampleData.HOUR, Action.FAILED),
            at(midnight - 2 * SampleData.DAY + SampleData.HOUR, Action.ALLOWED),
        )
        val screen = activity(SampleData.World(store = SampleData.store(events.reversed())))
        val holders = (0 until screen.adapter.count).map { screen.adapter.getView(it, null, screen.list).tag as ActivityScreen.Holder }
        val headings = holders.map { h -> h.day.text.toString().takeIf { h.day.visibility == View.VISIBLE } }
        // 28 November 2026 is a Saturday: two days before is Thursday the 26th.
        assertEquals(listOf("Today", null, "Yesterday", null, "Thu, Nov 26"), headings)
        assertEquals(listOf("Blocked", "Allowed", "Blocked", "Failed", "Allowed"), holders.map { it.action.text.toString() })
        val icons = holders.map { it.action.compoundDrawablesRelative[0] }
        assertTrue("every action has its icon", icons.all { it != null })
        assertTrue("blocked and allowed icons differ", icons[0] !== icons[1] && icons[0] === icons[2])
        val time = Format.clockTime(ResourceStrings(screen.list.context), events[2].timeMs, SampleData.ZONE)
        assertEquals("Yesterday $time: log.tiktokv.com, Blocked, TikTok. Opens block and allow actions.", holders[2].row.contentDescription.toString())
    }

    @Test
    fun scrollingToTheEndLoadsTheNextPageUntilTheLogEnds() {
        val world = SampleData.World(store = SampleData.store(SampleData.events(total = 250)))
        val screen = activity(world)
        scrollToEnd(screen)
        assertEquals(listOf(0, 100), world.store.queries.map { it.offset })
        assertEquals(200, screen.adapter.count)
        scrollToEnd(screen)
        assertEquals(listOf(0, 100, 200), world.store.queries.map { it.offset })
        assertEquals(250, screen.adapter.count)
        assertTrue(screen.presenter.state.endReached)
        UiTest.assertShows(screen.view, "End of the log · 250 attempts")
        scrollToEnd(screen)
        assertEquals("nothing read past the end", 3, world.store.queries.size)
        // Every event once, newest first.
        assertEquals(world.store.recentEvents(org.hush.android.data.EventQuery(limit = 1000)), screen.adapter.events)
    }

    @Test
    fun attemptsLoggedWhileScrollingAreNeitherRepeatedNorSkipped() {
        val world = SampleData.World(store = SampleData.store(SampleData.events(total = 250)))
        val screen = activity(world)
        val before = world.store.recentEvents(org.hush.android.data.EventQuery(limit = 1000))
        world.store.queries.removeAt(world.store.queries.size - 1) // the test's own read
        val fresh = (1..7).map { i ->
            ActivityEvent(SampleData.NOW + i * 1000L, SampleData.FACEBOOK, "graph.facebook.com", "10.111.222.2", 53, "dns",
                Action.BLOCKED, "list:easyprivacy")
        }
        fresh.forEach { world.store.log(it) }
        scrollToEnd(screen)
        // The second page overlapped the first by the 7 new attempts: dropped.
        assertEquals(listOf(0, 100), world.store.queries.map { it.offset })
        assertEquals(193, screen.adapter.count)
        assertTrue("every older attempt once, in order", before.take(193) == screen.adapter.events)
        scrollToEnd(screen)
        assertEquals(listOf(0, 100, 200), world.store.queries.map { it.offset })
        assertTrue(screen.presenter.state.endReached)
        assertTrue("the whole log once", before == screen.adapter.events)
        screen.presenter.refreshHead()
        assertTrue("the new ones on top", fresh.reversed() + before == screen.adapter.events)
    }

    @Test
    fun filtersByHostTextActionAndApp() {
        val world = SampleData.World()
        val screen = activity(world)
        screen.hostFilter.setText("ad")
        screen.hostFilter.setText("adj")
        screen.hostFilter.setText("adjust")
        UiTest.idle()
        assertEquals("nothing asked while typing", 1, world.store.queries.size)
        shadowOf(android.os.Looper.getMainLooper()).idleFor(java.time.Duration.ofMillis(ActivityScreen.TYPING_MS))
        assertEquals("one query for the pause", 2, world.store.queries.size)
        assertEquals("adjust", world.store.queries.last().hostContains)
        assertEquals(0, world.store.queries.last().offset)
        assertTrue(screen.adapter.events.isNotEmpty())
        assertTrue(screen.adapter.events.all { it.host == "app.adjust.com" })

        screen.hostFilter.setText("")
        shadowOf(android.os.Looper.getMainLooper()).idleFor(java.time.Duration.ofMillis(ActivityScreen.TYPING_MS))
        screen.actionChip.performClick()
        shadowOf(ShadowAlertDialog.getLatestAlertDialog()).clickOnItem(1 + Action.BLOCKED.ordinal)
        UiTest.idle()
        assertEquals(Action.BLOCKED, world.store.queries.last().action)
        assertNull(world.store.queries.last().hostContains)
        assertTrue(screen.adapter.events.all { it.action == Action.BLOCKED })
        assertEquals("Action: Blocked ▾", screen.actionChip.text.toString())

        screen.appChip.performClick()
        val choices = listOf("All apps") + screen.presenter.state.apps.map { it.label }
        assertTrue(choices.toString(), "UID 10123" in choices && "Mi Browser" in choices)
        shadowOf(ShadowAlertDialog.getLatestAlertDialog()).clickOnItem(choices.indexOf("Mi Browser"))
        UiTest.idle()
        val q = world.store.queries.last()
        assertEquals(SampleData.MI_BROWSER, q.uid)
        assertEquals(Action.BLOCKED, q.action)
        assertEquals(setOf("tracking.miui.com", "data.mistat.xiaomi.com"), screen.adapter.events.map { it.host }.toSet())
        assertEquals("App: Mi Browser ▾", screen.appChip.text.toString())
    }

    @Test
    fun liveNewAttemptsComeOnTop() {
        val world = SampleData.World()
        val screen = activity(world)
        val fresh = ActivityEvent(SampleData.NOW + 500, SampleData.TIKTOK, "mon.tiktokv.com", "10.111.222.2", 53, "dns",
            Action.BLOCKED, "list:easyprivacy")
        world.store.log(fresh)
        val before = screen.adapter.events[0].timeMs
        screen.presenter.refreshHead()
        UiTest.idle()
        assertEquals(fresh, screen.adapter.events[0])
        assertEquals(101, screen.adapter.count)
        assertEquals(before, world.store.queries.last().sinceMs)
        screen.presenter.refreshHead()
        assertEquals("nothing twice", 101, screen.adapter.count)
    }

    @Test
    fun aFlowWhoseNameCouldNotBeReadSaysWhyInItsRow() {
        val world = SampleData.World()
        val screen = activity(world)
        val unread = ActivityEvent(SampleData.NOW + 500, SampleData.TIKTOK, "", "198.18.7.7", 443, "tls",
            Action.ALLOWED, "", "unread:timeout")
        world.store.log(unread)
        screen.presenter.refreshHead()
        UiTest.idle()
        assertEquals(unread, screen.adapter.events[0])
        val row = UiTest.texts(screen.adapter.getView(0, null, screen.list))
        assertEquals("198.18.7.7", row[1])
        assertTrue(row[2], row[2].endsWith("TLS 443 · No rule · name not read: it came too slowly"))
    }

    @Test
    fun aRetryStormIsOneRowWithItsCount() {
        val world = SampleData.World()
        val screen = activity(world)
        val storm = ActivityEvent(SampleData.NOW + 500, SampleData.TIKTOK, "log.tiktokv.com", "198.18.0.53", 53, "dns",
            Action.BLOCKED, "list:easyprivacy", "A", repeats = 1234)
        world.store.log(storm)
        screen.presenter.refreshHead()
        UiTest.idle()
        val row = UiTest.texts(screen.adapter.getView(0, null, screen.list))
        assertTrue(row.toString(), row.contains("Blocked ×1,234"))
        // A single attempt says no count.
        val single = UiTest.texts(screen.adapter.getView(1, null, screen.list))
        assertTrue(single.toString(), single.none { it.contains("×") })
    }

    @Test
    fun aFailingStoreShowsTheMessage() {
        val world = SampleData.World()
        world.store.failure = "database is locked"
        val screen = activity(world)
        assertEquals(View.VISIBLE, screen.error.visibility)
        assertEquals("Could not read the activity log: database is locked", screen.error.text.toString())
        assertEquals(0, screen.adapter.count)
    }
}
