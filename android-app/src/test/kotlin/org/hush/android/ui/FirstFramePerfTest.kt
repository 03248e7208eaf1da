package org.hush.android.ui

import android.content.Intent
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.annotation.Config
import org.robolectric.annotation.GraphicsMode

/**
 * Time to first frame on the JVM, on large data, with native graphics: "activity" from
 * building MainActivity on a tab until its first layout and draw; "screen" from
 * switching an open MainActivity to the tab (screen built, data loaded) until its
 * first layout and draw. Printed, not asserted: what is asserted is that the
 * screens stay lazy.
 */
@RunWith(RobolectricTestRunner::class)
@GraphicsMode(GraphicsMode.Mode.NATIVE)
@Config(sdk = [35], qualifiers = "w360dp-h780dp-xhdpi")
class FirstFramePerfTest {
    @After
    fun reset() { HushUi.deps = null }

    private fun firstFrame(tab: MainActivity.Tab, world: SampleData.World): Pair<Long, MainActivity> {
        HushUi.deps = world.deps
        val intent = Intent(RuntimeEnvironment.getApplication(), MainActivity::class.java).putExtra(MainActivity.EXTRA_TAB, tab.name)
        val t0 = System.nanoTime()
        val activity = Robolectric.buildActivity(MainActivity::class.java, intent).setup().get()
        UiTest.draw(activity.window.decorView)
        val ns = System.nanoTime() - t0
        return ns to activity
    }

    /** From switching an open MainActivity to [tab] (the screen built, loaded) until it is laid out and drawn. */
    private fun screenFrame(tab: MainActivity.Tab, world: SampleData.World): Long {
        HushUi.deps = world.deps
        val activity = Robolectric.buildActivity(MainActivity::class.java).setup().get()
        UiTest.draw(activity.window.decorView)
        val t0 = System.nanoTime()
        activity.select(tab)
        UiTest.draw(activity.window.decorView)
        return System.nanoTime() - t0
    }

    /** [all]: the first [WARMUP] runs warm the JIT and are left out of the median. */
    private fun report(what: String, all: List<Long>) {
        val ms = all.drop(WARMUP).map { it / 1e6 }
        val median = ms.sorted()[ms.size / 2]
        println(String.format(java.util.Locale.US, "first frame, %s: median %.1f ms over %d runs (first, cold: %.1f ms; runs %s)",
            what, median, ms.size, all[0] / 1e6, ms.joinToString(", ") { String.format(java.util.Locale.US, "%.0f", it) }))
    }

    @Test
    fun appsWith500InstalledApps() {
        val store = SampleData.store()
        val times = ArrayList<Long>()
        repeat(WARMUP + RUNS) {
            val apps = FakeApps(SampleData.apps(500))
            val (ns, activity) = firstFrame(MainActivity.Tab.APPS, SampleData.World(store = store, apps = apps))
            times.add(ns)
            val screen = activity.screen(MainActivity.Tab.APPS) as AppsScreen
            assertEquals("500 apps, two UIDs without a package, the unknown owner", 500 + 3, screen.adapter.count)
            val shown = screen.list.childCount
            assertTrue("rows on screen: $shown", shown in 5..20)
            assertTrue("row views built: ${screen.adapter.viewsCreated} for $shown rows", screen.adapter.viewsCreated <= shown + 2)
            assertTrue("icons asked: ${apps.iconRequests.size}", apps.iconRequests.size <= shown + 2)
        }
        report("Apps (500 installed apps), activity", times)
        report("Apps (500 installed apps), screen", (0 until WARMUP + RUNS).map {
            screenFrame(MainActivity.Tab.APPS, SampleData.World(store = store, apps = FakeApps(SampleData.apps(500))))
        })
    }

    @Test
    fun activityWith100000Events() {
        val events = SampleData.events(total = 100_000)
        val times = ArrayList<Long>()
        repeat(WARMUP + RUNS) {
            val store = SampleData.store(events)
            assertEquals(100_000, store.eventCount())
            val (ns, activity) = firstFrame(MainActivity.Tab.ACTIVITY, SampleData.World(store = store))
            times.add(ns)
            val screen = activity.screen(MainActivity.Tab.ACTIVITY) as ActivityScreen
            assertEquals("one page asked for", 1, store.queries.size)
            assertEquals(100, store.queries[0].limit)
            assertEquals(100, screen.adapter.count)
            val shown = screen.list.childCount
            assertTrue("row views built: ${screen.adapter.viewsCreated} for $shown rows", screen.adapter.viewsCreated <= shown + 2)
        }
        report("Activity (100,000 events), activity", times)
        report("Activity (100,000 events), screen", (0 until WARMUP + RUNS).map {
            screenFrame(MainActivity.Tab.ACTIVITY, SampleData.World(store = SampleData.store(events)))
        })
    }

    /** For comparison: a screen with little data (the Lists tab). */
    @Test
    fun baselineListsScreen() {
        val times = ArrayList<Long>()
        repeat(WARMUP + RUNS) {
            val (ns, _) = firstFrame(MainActivity.Tab.LISTS, SampleData.World())
            times.add(ns)
        }
        report("Lists (baseline: 5 lists, 3 rules), activity", times)
        report("Lists (baseline: 5 lists, 3 rules), screen", (0 until WARMUP + RUNS).map { screenFrame(MainActivity.Tab.LISTS, SampleData.World()) })
    }

    /**
     * Every screen, with 500 installed apps and 100,000 events in the store: each tab
     * switched to, then App detail of the busiest app, the Rules screen and the guidance
     * screen pushed, from the call until laid out and drawn.
     */
    @Test
    fun everyScreenWith500AppsAnd100000Events() {
        val events = SampleData.events(total = 100_000)
        val busiest = events.groupingBy { it.uid }.eachCount().maxByOrNull { it.value }!!.key!!
        val world = { SampleData.World(store = SampleData.store(events), apps = FakeApps(SampleData.apps(500))) }
        for (tab in MainActivity.Tab.values()) {
            report("$tab (500 apps, 100,000 events), screen", (0 until WARMUP + RUNS).map { screenFrame(tab, world()) })
        }
        val pushed = listOf<Pair<String, (MainActivity) -> Unit>>(
            "App detail of the busiest app" to { it.openAppDetail(busiest, "Busiest") },
            "Rules" to { it.openRules() },
            "Guidance" to { it.openGuidance() },
        )
        for ((name, open) in pushed) {
            report("$name (500 apps, 100,000 events), screen", (0 until WARMUP + RUNS).map {
                val w = world()
                HushUi.deps = w.deps
                val activity = Robolectric.buildActivity(MainActivity::class.java).setup().get()
                UiTest.draw(activity.window.decorView)
                val t0 = System.nanoTime()
                open(activity)
                UiTest.draw(activity.window.decorView)
                val ns = System.nanoTime() - t0
                if (name.startsWith("App detail")) {
                    assertTrue("App detail read no page of its hosts", w.store.appHostsCalls.any { it.first == busiest })
                }
                ns
            })
        }
    }

    companion object {
        const val WARMUP = 3
        const val RUNS = 9
    }
}
