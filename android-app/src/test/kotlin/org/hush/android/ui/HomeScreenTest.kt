package org.hush.android.ui

import android.view.View
import org.hush.android.core.LiveStats
import org.hush.android.data.Action
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

@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35], qualifiers = "w360dp-h780dp-xhdpi")
class HomeScreenTest {
    @After
    fun reset() { HushUi.deps = null }

    private fun home(world: SampleData.World): Pair<MainActivity, HomeScreen> {
        val activity = UiTest.launch(world).get()
        return activity to activity.screen(MainActivity.Tab.HOME) as HomeScreen
    }

    @Test
    fun showsTodaysCountsTopAppsAndTopHosts() {
        val world = SampleData.World()
        val (_, home) = home(world)
        val today = Format.startOfDay(SampleData.NOW, SampleData.ZONE)
        val todays = world.store.allEvents().filter { it.timeMs >= today }
        val blocked = todays.count { it.action == Action.BLOCKED }
        val allowed = todays.count { it.action == Action.ALLOWED }
        assertTrue("sample has blocked attempts today", blocked > 50)
        assertEquals(Format.count(XmlStrings, blocked.toLong()), home.blockedCount.text.toString())
        assertEquals(Format.count(XmlStrings, allowed.toLong()), home.allowedCount.text.toString())

        val topHost = todays.filter { it.action == Action.BLOCKED }.groupingBy { it.host }.eachCount().maxByOrNull { it.value }!!
        val hosts = UiTest.texts(home.topHostsList)
        assertEquals(topHost.key, hosts[0])
        val apps = todays.filter { it.host == topHost.key && it.action == Action.BLOCKED }.map { it.uid }.distinct().size
        // Who is behind the host first, when the table names it (the world's FakeEvidence).
        val owner = world.evidence.owners(listOf(topHost.key))[topHost.key]?.let { Owners.line(XmlStrings, it) + " · " } ?: ""
        assertEquals(owner + if (apps == 1) "1 app" else "$apps apps", hosts[1])
        assertEquals(Format.count(XmlStrings, topHost.value.toLong()), hosts[2])
        assertTrue(hosts.toString(), hosts.contains("data.mistat.xiaomi.com"))
        assertTrue(hosts.toString(), hosts.contains("graph.facebook.com"))

        val topUid = todays.filter { it.action == Action.BLOCKED }.groupingBy { it.uid }.eachCount().maxByOrNull { it.value }!!.key
        val topLabel = SampleData.realApps.first { it.uid == topUid }.label
        assertEquals(topLabel, UiTest.texts(home.topAppsList)[0])
        assertEquals(HomePresenter.TOP, home.presenter.state.topApps.size)
    }

    @Test
    fun theSwitchCallsTheFirewallAndShowsEachStateItIsGiven() {
        val world = SampleData.World(firewall = FakeFirewall(FirewallState.Off))
        val (_, home) = home(world)
        assertFalse(home.switch.isChecked)
        UiTest.assertShows(home.view, "Off: apps connect without filtering")

        home.switch.performClick()
        assertEquals(listOf(true), world.firewall.enableCalls)

        world.firewall.publish(FirewallState.Starting)
        assertTrue(home.switch.isChecked)
        assertFalse("no second tap while starting", home.switch.isEnabled)
        UiTest.assertShows(home.view, "Starting…")

        world.firewall.publish(FirewallState.Failed("VPN permission was not granted"))
        assertFalse(home.switch.isChecked)
        assertTrue(home.switch.isEnabled)
        UiTest.assertShows(home.view, "Could not start: VPN permission was not granted")
        assertEquals("rendering a state does not call back", listOf(true), world.firewall.enableCalls)

        world.firewall.live = LiveStats(packetsIn = 52_000, dnsQueries = 2_300, blocked = 412, allowed = 1_880, eventsDropped = 3)
        world.firewall.publish(FirewallState.On)
        assertTrue(home.switch.isChecked)
        UiTest.assertShows(home.view, "This session: 412 blocked, 1,880 allowed, 3 events not logged")

        world.firewall.live = LiveStats(packetsIn = 53_000, dnsQueries = 2_350, blocked = 420, allowed = 1_901, eventsDropped = 3)
        org.robolectric.Shadows.shadowOf(android.os.Looper.getMainLooper()).idleFor(java.time.Duration.ofMillis(HomeScreen.LIVE_MS))
        UiTest.assertShows(home.view, "This session: 420 blocked, 1,901 allowed")

        home.switch.performClick()
        assertEquals(listOf(true, false), world.firewall.enableCalls)
    }

    @Test
    fun aFirewallThatStoppedFilteringOrHasProblemsSaysSo() {
        val world = SampleData.World(firewall = FakeFirewall(FirewallState.On))
        val (_, home) = home(world)
        UiTest.assertShows(home.view, "On. " + BLOCKING)

        world.firewall.publish(FirewallState.NotFiltering(org.hush.android.core.Filtering.HOLDING, "the engine failed 5 times in a minute"))
        assertTrue("the VPN is still up: the switch stays on", home.switch.isChecked)
        UiTest.assertShows(home.view, "Hush stopped filtering: the engine failed 5 times in a minute")

        world.firewall.problems = listOf("the activity log cannot be written (disk full)", "failed to read list /data/lists/a.txt")
        world.firewall.publish(FirewallState.On)
        UiTest.assertShows(home.view, "On. $BLOCKING\n• the activity log cannot be written (disk full)\n• failed to read list /data/lists/a.txt")

        world.firewall.publish(FirewallState.Off)
        UiTest.assertShows(home.view, "Off: apps connect without filtering")
        UiTest.assertNotShown(home.view, "disk full")
    }

    @Test
    fun aFailingStoreShowsItsMessageAndTheSwitchStillWorks() {
        val world = SampleData.World(firewall = FakeFirewall(FirewallState.Off))
        world.store.failure = "database disk image is malformed"
        val (_, home) = home(world)
        assertEquals(View.VISIBLE, home.error.visibility)
        assertEquals("Could not read today's activity: database disk image is malformed", home.error.text.toString())
        home.switch.performClick()
        assertEquals(listOf(true), world.firewall.enableCalls)
    }

    @Test
    fun tappingATopAppOpensItsDetail() {
        val world = SampleData.World()
        val (activity, home) = home(world)
        val first = home.presenter.state.topApps[0]
        UiTest.click(home.topAppsList, first.label)
        val detail = activity.detail
        assertNotNull(detail)
        assertEquals(first.uid, detail!!.presenter.state.uid)
        UiTest.assertShows(activity.window.decorView, first.label)
    }

    @Test
    @Config(qualifiers = "night")
    fun nightModeUsesTheNightPalette() {
        val activity = UiTest.launch(SampleData.World()).get()
        assertTrue(Palette.isNight(activity))
        assertEquals(Palette.NIGHT, activity.ui.palette)
        val home = activity.screen(MainActivity.Tab.HOME) as HomeScreen
        assertEquals(Palette.NIGHT.blocked, home.blockedCount.currentTextColor)
    }

    @Test
    fun dayModeUsesDynamicColourOnApi31AndUp() {
        val activity = UiTest.launch(SampleData.World(dynamicColor = true)).get()
        val p = activity.ui.palette
        assertFalse(p.night)
        assertTrue(p.dynamic)
        assertEquals(RuntimeEnvironment.getApplication().getColor(android.R.color.system_accent1_600), p.primary)
        assertEquals(Palette.DAY.blocked, p.blocked)
    }

    private companion object {
        /** What SampleData's lists block, as Home says it (lists/ListSummary.kt). */
        const val BLOCKING = "Blocking: phone-vendor telemetry (1,328 names), ads & trackers — AdAway (6,540), " +
            "DoH endpoints (1,216), 2 added lists (42,277)"
    }
}
