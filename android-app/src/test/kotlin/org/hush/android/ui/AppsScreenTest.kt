package org.hush.android.ui

import android.app.AlertDialog
import android.view.View
import android.widget.ListView
import kotlinx.coroutines.asCoroutineDispatcher
import org.hush.android.core.Network
import org.hush.android.data.AppModeRule
import org.hush.android.policy.AppMode
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.annotation.Config
import org.robolectric.shadows.ShadowAlertDialog
import org.robolectric.Shadows.shadowOf
import java.util.concurrent.Executors

@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35], qualifiers = "w360dp-h780dp-xhdpi")
class AppsScreenTest {
    @After
    fun reset() { HushUi.deps = null }

    private fun apps(world: SampleData.World): Pair<MainActivity, AppsScreen> {
        val activity = UiTest.launch(world, MainActivity.Tab.APPS).get()
        return activity to activity.screen(MainActivity.Tab.APPS) as AppsScreen
    }

    private fun rowView(screen: AppsScreen, label: String): View {
        val position = screen.adapter.rows.indexOfFirst { it.label == label }
        assertTrue("$label listed", position >= 0)
        return screen.adapter.getView(position, null, screen.list)
    }

    @Test
    fun everyInstalledAppWithItsModesPerNetworkAndBlockedCount() {
        val world = SampleData.World()
        val (_, screen) = apps(world)
        val rows = screen.adapter.rows
        // 60 installed apps, plus the two UIDs the log names without a package.
        assertEquals(62, rows.size)
        val tiktok = rows.first { it.label == "TikTok" }
        assertEquals(AppMode.BLOCK_TRACKERS, tiktok.wifi)
        assertEquals(AppMode.BLOCK_ALL, tiktok.mobile)
        val analytics = rows.first { it.label == "MIUI Analytics" }
        assertEquals("a mode for any network applies on both", AppMode.BLOCK_ALL, analytics.wifi)
        assertEquals(AppMode.BLOCK_ALL, analytics.mobile)
        // Most blocked first; counts are the store's over the last 7 days.
        val since = SampleData.NOW - 7 * SampleData.DAY
        val expected = world.store.appActivity(since, SampleData.NOW + 1).first { it.uid == SampleData.FACEBOOK }.blocked
        assertEquals(expected, rows.first { it.uid == SampleData.FACEBOOK }.blocked)
        assertEquals(rows.maxOf { it.blocked }, rows[0].blocked)

        val texts = UiTest.texts(rowView(screen, "TikTok"))
        assertEquals(listOf("TikTok", Format.count(tiktok.blocked) + " blocked", "com.zhiliaoapp.musically",
            "Wi-Fi: Block trackers", "Mobile: Block all"), texts)
        UiTest.assertShows(screen.view, "62 apps")
    }

    @Test
    fun aUidWithNoPackageShowsAsUidWithANote() {
        val (_, screen) = apps(SampleData.World())
        val row = screen.adapter.rows.first { it.uid == SampleData.UNINSTALLED }
        assertNull(row.packageName)
        assertEquals("UID 10123", row.label)
        val texts = UiTest.texts(rowView(screen, "UID 10123"))
        assertEquals("UID 10123", texts[0])
        assertEquals(Format.count(row.blocked) + " blocked", texts[1])
        assertEquals("No installed package (uninstalled?), seen in the log", texts[2])
        val system = screen.adapter.rows.first { it.uid == SampleData.SYSTEM_UID }
        assertEquals("System UID, no app package", system.note)
        assertTrue(system.system)
    }

    @Test
    fun searchAndTheSystemUserFilter() {
        val (_, screen) = apps(SampleData.World())
        screen.search.setText("insta")
        assertEquals(listOf("Instagram"), screen.adapter.rows.map { it.label })
        screen.search.setText("com.miui")
        assertEquals(setOf("MIUI Analytics", "Weather"), screen.adapter.rows.map { it.label }.toSet())
        screen.search.setText("zzz-nothing")
        assertEquals(0, screen.adapter.count)
        UiTest.assertShows(screen.view, "No app matches \"zzz-nothing\"")
        screen.search.setText("")

        UiTest.click(screen.filters, "System apps")
        val system = screen.adapter.rows
        assertTrue(system.isNotEmpty())
        assertTrue(system.all { it.system })
        assertTrue(system.any { it.label == "Mi Browser" })
        UiTest.click(screen.filters, "User apps")
        assertTrue(screen.adapter.rows.none { it.system })
        assertTrue(screen.adapter.rows.any { it.label == "Signal" })
        UiTest.click(screen.filters, "All apps")
        assertEquals(62, screen.adapter.count)
    }

    @Test
    fun changingAModeStoresItThenSaysTheRulesChanged() {
        val world = SampleData.World()
        val (_, screen) = apps(world)
        UiTest.click(rowView(screen, "Duolingo"), "Wi-Fi: Block trackers")
        val dialog = ShadowAlertDialog.getLatestAlertDialog()
        assertNotNull(dialog)
        assertEquals("Duolingo on Wi-Fi", shadowOf(dialog).title.toString())
        shadowOf(dialog).clickOnItem(AppMode.values().indexOf(AppMode.BLOCK_ALL))
        UiTest.idle()
        assertEquals(listOf(AppModeRule(SampleData.DUOLINGO, Network.WIFI, AppMode.BLOCK_ALL)), world.store.setModeCalls)
        assertEquals(1, world.actions.rulesChanged)
        val row = screen.adapter.rows.first { it.label == "Duolingo" }
        assertEquals(AppMode.BLOCK_ALL, row.wifi)
        assertEquals(AppMode.BLOCK_TRACKERS, row.mobile)
        assertEquals("Wi-Fi: Block all", UiTest.texts(rowView(screen, "Duolingo"))[3])

        UiTest.click(rowView(screen, "UID 10123"), "Mobile: Block trackers")
        shadowOf(ShadowAlertDialog.getLatestAlertDialog()).clickOnItem(AppMode.values().indexOf(AppMode.ALLOW_ALL))
        UiTest.idle()
        assertEquals(AppModeRule(SampleData.UNINSTALLED, Network.MOBILE, AppMode.ALLOW_ALL), world.store.setModeCalls.last())
        assertEquals(2, world.actions.rulesChanged)
    }

    @Test
    fun aModeTheStoreRefusesShowsItsMessageAndNoReload() {
        val world = SampleData.World()
        val (_, screen) = apps(world)
        world.store.failure = "attempt to write a readonly database"
        screen.presenter.setMode(SampleData.TIKTOK, Network.WIFI, AppMode.ALLOW_ALL)
        UiTest.idle()
        assertEquals(View.VISIBLE, screen.error.visibility)
        assertEquals("Could not change the mode: attempt to write a readonly database", screen.error.text.toString())
        assertEquals(0, world.actions.rulesChanged)
        assertEquals(AppMode.BLOCK_TRACKERS, screen.adapter.rows.first { it.label == "TikTok" }.wifi)
    }

    @Test
    fun aFailingStoreShowsTheMessage() {
        val world = SampleData.World()
        world.store.failure = "no such table: events"
        val (_, screen) = apps(world)
        assertEquals("Could not load the apps: no such table: events", screen.error.text.toString())
        assertEquals(View.VISIBLE, screen.error.visibility)
        assertEquals(0, screen.adapter.count)
    }

    @Test
    fun storeCallsRunOffTheMainThread() {
        val pool = Executors.newSingleThreadExecutor { r -> Thread(r, "hush-test-io") }
        try {
            val base = SampleData.World()
            val world = SampleData.World(store = base.store, apps = base.apps)
            val deps = UiDeps(world.store, world.apps, world.firewall, world.actions, world.settings,
                io = pool.asCoroutineDispatcher(), clock = base.deps.clock, timeZone = SampleData.ZONE, dynamicColor = false)
            HushUi.deps = deps
            val activity = org.robolectric.Robolectric.buildActivity(MainActivity::class.java,
                android.content.Intent().putExtra(MainActivity.EXTRA_TAB, "APPS")).setup().get()
            val screen = activity.screen(MainActivity.Tab.APPS) as AppsScreen
            UiTest.await("apps loaded") { !screen.presenter.state.loading }
            assertEquals(62, screen.adapter.count)
            screen.presenter.setMode(SampleData.TIKTOK, Network.WIFI, AppMode.BLOCK_ALL)
            UiTest.await("mode stored") { world.actions.rulesChanged == 1 }
            assertEquals(setOf("hush-test-io"), world.store.threads)
            assertEquals(AppMode.BLOCK_ALL, screen.adapter.rows.first { it.label == "TikTok" }.wifi)
        } finally {
            pool.shutdownNow()
        }
    }

    @Test
    fun tappingAnAppOpensItsDetailAndBackReturns() {
        val (activity, screen) = apps(SampleData.World())
        val position = screen.adapter.rows.indexOfFirst { it.label == "Mi Browser" }
        screen.list.performItemClick(null, position, 0)
        UiTest.idle()
        val detail = activity.detail!!
        assertEquals(SampleData.MI_BROWSER, detail.presenter.state.uid)
        activity.back()
        assertNull(activity.detail)
        assertEquals(MainActivity.Tab.APPS, activity.tab)
        assertTrue(screen.view.isAttachedToWindow)
        assertFalse(detail.view.isAttachedToWindow)
    }
}
