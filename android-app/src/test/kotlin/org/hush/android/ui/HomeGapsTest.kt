package org.hush.android.ui

import kotlinx.coroutines.Dispatchers
import org.hush.android.R
import org.hush.android.data.Gap
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Before
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config
import java.time.Duration
import java.util.Calendar
import java.util.TimeZone

/** Home's "when Hush was off": the store's gaps in the owner's words and time zone, and no polling while unseen. */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35], qualifiers = "w360dp-h780dp-xhdpi")
class HomeGapsTest {
    /** The times below are on the 24-hour clock (Robolectric's default is 12-hour). */
    @Before
    fun clock24() {
        android.provider.Settings.System.putString(
            org.robolectric.RuntimeEnvironment.getApplication().contentResolver, android.provider.Settings.System.TIME_12_24, "24",
        )
    }

    @After
    fun reset() { HushUi.deps = null }

    /** [daysAgo] days before NOW's day, at [h]:[m]:[s] in [zone]. */
    private fun at(daysAgo: Int, h: Int, m: Int, s: Int = 0, zone: TimeZone = SampleData.ZONE): Long = Calendar.getInstance(zone).run {
        timeInMillis = SampleData.NOW
        add(Calendar.DAY_OF_MONTH, -daysAgo)
        set(Calendar.HOUR_OF_DAY, h); set(Calendar.MINUTE, m); set(Calendar.SECOND, s); set(Calendar.MILLISECOND, 0)
        timeInMillis
    }

    // NOW is 2026-11-28 15:30 in Berlin.
    private fun gaps() = listOf(
        Gap(at(0, 2, 14), at(0, 6, 30), "stopped"),
        Gap(at(1, 23, 10), at(0, 0, 40), "killed"),
        Gap(at(3, 10, 0), at(3, 10, 5), "revoked"),
        Gap(at(0, 12, 0, 0), at(0, 12, 0, 4), "engine-restart: the engine panicked"),
        Gap(at(12, 9, 0), at(12, 9, 30), "stopped"), // older than 7 days: not shown
    )

    private fun home(world: SampleData.World): HomeScreen {
        val activity = UiTest.launch(world).get()
        return activity.screen(MainActivity.Tab.HOME) as HomeScreen
    }

    @Test
    fun aFreshInstallSaysHushHasNotRunYetRatherThanThatItWasNeverOff() {
        // No gap and nothing logged, Hush off: the core has no record of a run.
        val fresh = SampleData.World(store = FakeStore(), firewall = FakeFirewall(FirewallState.Off))
        val home = home(fresh)
        assertEquals(listOf(XmlStrings.get(R.string.home_never_ran)), UiTest.texts(home.offList))
        assertEquals(RunHistory(gapsEver = false, logged = false), home.presenter.state.history)

        // Turned on for the first time: it has not been off since.
        fresh.firewall.publish(FirewallState.On)
        assertEquals(listOf(XmlStrings.get(R.string.home_never_off_since_first)), UiTest.texts(home.offList))

        // Off again with activity logged but no gap this week, and one long ago: "not off in the last 7 days".
        val older = SampleData.World(firewall = FakeFirewall(FirewallState.Off))
        older.store.gaps = listOf(Gap(at(20, 9, 0), at(20, 9, 30), "stopped"))
        assertEquals(listOf(XmlStrings.get(R.string.home_never_off)), UiTest.texts(home(older).offList))
        // Logged, never a gap, off now (the last run was killed, found at the next start): not "never ran".
        val killed = SampleData.World(firewall = FakeFirewall(FirewallState.Off))
        assertEquals(listOf(XmlStrings.get(R.string.home_never_off)), UiTest.texts(home(killed).offList))
    }

    @Test
    fun homeShowsTheLastGapsWithTheirReasonsInPlainWordsNewestFirst() {
        val world = SampleData.World()
        world.store.gaps = gaps()
        val home = home(world)
        assertEquals(listOf(
            "Off 12:00–12:00 (4 s)", "Hush restarted its engine; traffic waited meanwhile (the engine panicked)",
            "Off 02:14–06:30 (4 h 16 min)", "you turned it off",
            "Off yesterday 23:10 – today 00:40 (1 h 30 min)", "Android stopped Hush (battery saving?)", "What to do →",
            "Off Wed, Nov 25 10:00–10:05 (5 min)", "another VPN took over",
        ), UiTest.texts(home.offList))
        UiTest.assertShows(home.view, XmlStrings.get(R.string.home_off_title))
    }

    @Test
    fun aKillLinksToTheGuidanceScreenAndSoDoesTheCard() {
        val world = SampleData.World()
        world.store.gaps = listOf(Gap(at(1, 23, 10), at(0, 0, 40), "killed"))
        val activity = UiTest.launch(world).get()
        val home = activity.screen(MainActivity.Tab.HOME) as HomeScreen
        UiTest.click(home.offList, "What to do")
        val guidance = activity.pushed as GuidanceScreen
        UiTest.assertShows(guidance.view, XmlStrings.get(R.string.guidance_title))
        activity.back()
        assertNull(activity.pushed)
        home.guidanceLink.performClick()
        UiTest.idle()
        assertTrue(activity.pushed is GuidanceScreen)
    }

    @Test
    fun timesAreInTheDevicesTimeZone() {
        val world = SampleData.World()
        val tokyo = TimeZone.getTimeZone("Asia/Tokyo")
        // 02:14-06:30 in Berlin is 10:14-14:30 in Tokyo (UTC+9, Berlin UTC+1 in November).
        world.store.gaps = listOf(Gap(at(0, 2, 14), at(0, 6, 30), "stopped"))
        val deps = UiDeps(world.store, world.apps, world.firewall, world.actions, world.settings,
            io = Dispatchers.Unconfined, clock = world.deps.clock, timeZone = tokyo, dynamicColor = false)
        HushUi.deps = deps
        val activity = org.robolectric.Robolectric.buildActivity(MainActivity::class.java).setup().get()
        UiTest.idle()
        val home = activity.screen(MainActivity.Tab.HOME) as HomeScreen
        assertEquals("Off 10:14–14:30 (4 h 16 min)", UiTest.texts(home.offList)[0])
        // Berlin's 23:10 yesterday is Tokyo's 07:10 today: "today" is the zone's.
        assertEquals("Off 07:10–07:10 (0 s)", OffPeriods.describe(XmlStrings, Gap(at(1, 23, 10), at(1, 23, 10), "x"), SampleData.NOW, tokyo).time)
        assertEquals("Off yesterday 23:10–23:10 (0 s)", OffPeriods.describe(XmlStrings, Gap(at(1, 23, 10), at(1, 23, 10), "x"), SampleData.NOW, SampleData.ZONE).time)
        // On a 12-hour clock, as the owner's setting says.
        val twelve = object : Strings by XmlStrings { override val clock24 = false }
        assertEquals("Off 2:14 AM–6:30 AM (4 h 16 min)", OffPeriods.describe(twelve, Gap(at(0, 2, 14), at(0, 6, 30), "stopped"), SampleData.NOW, SampleData.ZONE).time)
    }

    @Test
    fun everyReasonHasItsWordsAndAnOpenGapSaysSince() {
        val s = XmlStrings
        assertEquals(s.get(R.string.home_why_you), OffPeriods.why(s, "stopped"))
        assertEquals("another VPN took over", OffPeriods.why(s, "revoked"))
        assertEquals(s.get(R.string.home_why_killed), OffPeriods.why(s, "killed"))
        assertEquals(s.get(R.string.home_why_service_destroyed), OffPeriods.why(s, "service-destroyed"))
        assertEquals(s.get(R.string.home_why_engine), OffPeriods.why(s, "engine-restart"))
        assertEquals(
            "Hush held all traffic (nothing got through) while its engine kept failing (3 restarts in 60 s)",
            OffPeriods.why(s, "holding: 3 restarts in 60 s"),
        )
        assertEquals("stopped by the system (always-on turned off)", OffPeriods.why(s, "always-on turned off"))
        assertEquals(s.get(R.string.home_why_other), OffPeriods.why(s, ""))
        assertTrue(OffPeriods.guidance("killed") && OffPeriods.guidance("service-destroyed"))
        assertTrue(!OffPeriods.guidance("stopped") && !OffPeriods.guidance("revoked"))
        val open = OffPeriods.describe(XmlStrings, Gap(at(3, 8, 5), null, "stopped"), SampleData.NOW, SampleData.ZONE)
        assertEquals("Off since Wed, Nov 25 08:05", open.time)
        assertEquals("2 d 3 h", OffPeriods.duration(s, 51 * 3_600_000L))
        assertEquals(listOf("45 s", "12 min", "4 h", "4 h 16 min", "2 d"), listOf(45_000L, 720_000L, 4 * 3_600_000L, 15_360_000L, 48 * 3_600_000L).map { OffPeriods.duration(s, it) })
    }

    @Test
    fun noGapsAndAStoreThatFailsAreSaid() {
        val world = SampleData.World()
        world.store.gaps = listOf(Gap(at(20, 9, 0), at(20, 9, 30), "stopped")) // one, but not this week
        val home = home(world)
        assertEquals(listOf(XmlStrings.get(R.string.home_never_off)), UiTest.texts(home.offList))
        world.store.failure = "unable to open database file"
        home.onShow()
        UiTest.idle()
        assertEquals(listOf("Could not read when Hush was off: unable to open database file"), UiTest.texts(home.offList))
    }

    @Test
    fun noLiveCountPollingWhileTheActivityIsNotVisible() {
        var reads = 0
        val world = SampleData.World()
        val counting = object : FirewallControl by world.firewall {
            override fun liveStats() = world.firewall.liveStats().also { reads++ }
        }
        HushUi.deps = UiDeps(world.store, world.apps, counting, world.actions, world.settings,
            io = Dispatchers.Unconfined, clock = world.deps.clock, timeZone = SampleData.ZONE, dynamicColor = false)
        val controller = org.robolectric.Robolectric.buildActivity(MainActivity::class.java).setup()
        val main = shadowOf(android.os.Looper.getMainLooper())
        main.idleFor(Duration.ofMillis(HomeScreen.LIVE_MS * 3))
        assertTrue("polls while shown: $reads", reads >= 3)
        // The screen goes off: the activity is paused and stopped.
        controller.pause().stop()
        val before = reads
        main.idleFor(Duration.ofMinutes(5))
        assertEquals("no reads while not visible", before, reads)
        controller.start().resume()
        main.idleFor(Duration.ofMillis(HomeScreen.LIVE_MS * 2))
        assertTrue("polls again once visible", reads > before)
    }
}
