package org.hush.android.ui

import android.app.AlertDialog
import android.view.View
import android.widget.ListView
import kotlinx.coroutines.asCoroutineDispatcher
import org.hush.android.R
import org.hush.android.core.Network
import org.hush.android.data.Action
import org.hush.android.data.ActivityEvent
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
import org.robolectric.RuntimeEnvironment
import org.robolectric.annotation.Config
import org.robolectric.shadows.ShadowAlertDialog
import org.robolectric.Shadows.shadowOf
import java.util.concurrent.Executors

@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35], qualifiers = "w360dp-h780dp-xhdpi")
class AppsScreenTest {
    @After
    fun reset() { HushUi.deps = null }

    private val unknownOwner get() = RuntimeEnvironment.getApplication().getString(R.string.apps_unknown_owner)
    private val unknownOwnerNote get() = RuntimeEnvironment.getApplication().getString(R.string.apps_unknown_owner_note)

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
        // 60 installed apps, plus the two UIDs the log names without a package and the unknown owner.
        assertEquals(63, rows.size)
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
        assertEquals(listOf("TikTok", Format.count(XmlStrings, tiktok.blocked) + " blocked", "com.zhiliaoapp.musically",
            "Wi-Fi\nNo trackers", "Mobile\nBlocked"), texts)
        UiTest.assertShows(screen.view, "63 apps")
    }

    @Test
    fun aUidWithNoPackageShowsAsUidWithANote() {
        val (_, screen) = apps(SampleData.World())
        val row = screen.adapter.rows.first { it.uid == SampleData.UNINSTALLED }
        assertNull(row.packageName)
        assertEquals("UID 10123", row.label)
        val texts = UiTest.texts(rowView(screen, "UID 10123"))
        assertEquals("UID 10123", texts[0])
        assertEquals(Format.count(XmlStrings, row.blocked) + " blocked", texts[1])
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
        assertEquals(63, screen.adapter.count)
    }

    @Test
    fun changingAModeStoresItThenSaysTheRulesChanged() {
        val world = SampleData.World()
        val (_, screen) = apps(world)
        UiTest.click(rowView(screen, "Duolingo"), "Wi-Fi\nNo trackers")
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
        assertEquals("Wi-Fi\nBlocked", UiTest.texts(rowView(screen, "Duolingo"))[3])
        assertEquals("the mode goes with the app", "com.duolingo", world.store.modePackages[SampleData.DUOLINGO to Network.WIFI])

        UiTest.click(rowView(screen, "UID 10123"), "Mobile\nNo trackers")
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
            assertEquals(63, screen.adapter.count)
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

    /** The sample world plus Android System's shared UID (three packages) and attempts with no owner. */
    private fun sharedWorld(): SampleData.World {
        val base = SampleData.World()
        val apps = base.apps.apps() + listOf(
            org.hush.android.apps.InstalledApp("com.android.phone", "Phone", SampleData.SYSTEM_UID, true),
            org.hush.android.apps.InstalledApp("com.android.settings", "Settings", SampleData.SYSTEM_UID, true),
            org.hush.android.apps.InstalledApp("com.android.stk", "SIM Toolkit", SampleData.SYSTEM_UID, true),
            org.hush.android.apps.InstalledApp("com.xiaomi.finddevice", "Find device", SampleData.SYSTEM_UID, true),
        )
        val store = base.store
        for (i in 0 until 5) {
            store.log(org.hush.android.data.ActivityEvent(SampleData.NOW - i * 60_000L, null, "ownerless$i.example.com",
                "198.18.0.9", 443, "tcp", org.hush.android.data.Action.BLOCKED, "list:hush-default"))
        }
        return SampleData.World(store = store, apps = FakeApps(apps))
    }

    @Test
    fun aSharedUidIsOneRowListingItsPackages() {
        val (_, screen) = apps(sharedWorld())
        val rows = screen.adapter.rows.filter { it.uid == SampleData.SYSTEM_UID }
        assertEquals("one row for UID 1000", 1, rows.size)
        val system = rows[0]
        assertEquals("Android System", system.label)
        assertEquals("4 apps: Find device, Phone, Settings, …", system.note)
        assertEquals(listOf("com.xiaomi.finddevice", "com.android.phone", "com.android.settings", "com.android.stk"), system.packages)
        assertEquals(listOf("Android System", Format.count(XmlStrings, system.blocked) + " blocked", "4 apps: Find device, Phone, Settings, …"),
            UiTest.texts(rowView(screen, "Android System")).take(3))
        // Found by any of its packages.
        screen.search.setText("com.android.stk")
        assertEquals(listOf("Android System"), screen.adapter.rows.map { it.label })
        // A mode for a shared UID is the UID's (every package on it), not one package's.
        screen.presenter.setMode(SampleData.SYSTEM_UID, Network.WIFI, AppMode.BLOCK_ALL)
        UiTest.idle()
        assertNull(screen.presenter.state.error)
    }

    @Test
    fun theUnknownOwnerHasItsOwnRowWithoutModesAndOpensItsDetail() {
        val world = sharedWorld()
        val (activity, screen) = apps(world)
        val unknown = screen.adapter.rows.single { it.uid == null }
        assertEquals(unknownOwner, unknown.label)
        assertEquals(world.store.appActivity(SampleData.NOW - 7 * SampleData.DAY, SampleData.NOW + 1).first { it.uid == null }.blocked,
            unknown.blocked)
        val view = rowView(screen, unknownOwner)
        val texts = UiTest.texts(view)
        assertEquals(unknownOwnerNote, texts[2])
        val holder = view.tag as AppsScreen.Holder
        assertEquals("no mode to choose for no owner", View.GONE, holder.wifi.visibility)
        assertEquals(View.GONE, holder.mobile.visibility)

        screen.list.performItemClick(null, screen.adapter.rows.indexOf(unknown), 0)
        UiTest.idle()
        val detail = activity.detail!!
        assertNull(detail.presenter.state.uid)
        assertEquals(unknownOwner, detail.title.text.toString())
        assertEquals(unknownOwnerNote, detail.subtitle.text.toString())
        val hosts = detail.presenter.state.hosts.map { it.host }
        assertEquals((0 until 5).map { "ownerless$it.example.com" }, hosts.take(5))
        val since = Format.startOfDay(SampleData.NOW, SampleData.ZONE) - 13 * SampleData.DAY
        val ownerless = world.store.allEvents().filter { it.uid == null && it.timeMs >= since }
        assertEquals(ownerless.map { it.host }.toSet(), hosts.toSet())
        // Its days are its own, not every app's.
        assertEquals(ownerless.size.toLong(), detail.presenter.state.days.sumOf { it.blocked + it.allowed + it.failed })
        assertEquals(AppDetailPresenter.DAYS, detail.presenter.state.days.size)
    }

    @Test
    fun rowsAreDenseWithModeChipsThatSayTheModeInWordsAndColour() {
        val (activity, screen) = apps(SampleData.World())
        screen.view.measure(View.MeasureSpec.makeMeasureSpec(activity.window.decorView.width.coerceAtLeast(720), View.MeasureSpec.EXACTLY),
            View.MeasureSpec.makeMeasureSpec(1560, View.MeasureSpec.EXACTLY))
        screen.view.layout(0, 0, screen.view.measuredWidth, screen.view.measuredHeight)
        val density = activity.resources.displayMetrics.density
        val view = rowView(screen, "TikTok")
        view.measure(View.MeasureSpec.makeMeasureSpec(screen.list.width, View.MeasureSpec.EXACTLY), View.MeasureSpec.UNSPECIFIED)
        val rowDp = view.measuredHeight / density
        assertTrue("a row is at most 60 dp, not $rowDp", rowDp <= 60f)
        // About ten apps in the list's height on a 780 dp phone.
        assertTrue("${screen.list.height / density / rowDp} rows fit", screen.list.height / density / rowDp >= 9.5f)
        val h = view.tag as AppsScreen.Holder
        for (chip in listOf(h.wifi, h.mobile)) {
            assertTrue("48 dp target", chip.measuredHeight / density >= 48f - 0.5f)
            assertTrue("48 dp wide", chip.measuredWidth / density >= 48f - 0.5f)
        }
        assertEquals("Wi-Fi\nNo trackers", h.wifi.text.toString())
        assertEquals("Mobile\nBlocked", h.mobile.text.toString())
        assertEquals("TikTok on Mobile: Block all. Double tap to change.", h.mobile.contentDescription.toString())
        assertEquals("colour by mode", screen.ui.palette.blocked, h.mobile.currentTextColor)
        screen.presenter.setMode(SampleData.SIGNAL, Network.WIFI, AppMode.ALLOW_ALL)
        UiTest.idle()
        val after = rowView(screen, "Signal").tag as AppsScreen.Holder
        assertEquals("Wi-Fi\nAllowed", after.wifi.text.toString())
        assertEquals(screen.ui.palette.allowed, after.wifi.currentTextColor)
        assertTrue("trackers and allowed look different", h.wifi.currentTextColor != after.wifi.currentTextColor)
        assertTrue(view.contentDescription.toString().startsWith("TikTok, "))
    }


    @Test
    fun appsActiveWithTheScreenOffInTheDaysShownAreMarkedInWordsAndForTalkBack() {
        val hour = SampleData.NOW - SampleData.HOUR
        fun attempt(uid: Int?, host: String, at: Long, off: Boolean) = ActivityEvent(
            timeMs = at, uid = uid, host = host, ip = "198.18.0.53", port = 53, protocol = "dns",
            action = Action.ALLOWED, reason = "unlisted", screenOff = off,
        )
        val extra = listOf(
            attempt(SampleData.TIKTOK, "log.tiktokv.com", hour, true),
            // Signal only with the screen on; Duolingo with it off, but before the 7 days shown.
            attempt(SampleData.SIGNAL, "chat.signal.org", hour, false),
            attempt(SampleData.DUOLINGO, "ads.duolingo.example", SampleData.NOW - 8 * SampleData.DAY, true),
            attempt(null, "ownerless.example.com", hour, true),
        )
        val world = SampleData.World(store = SampleData.store(SampleData.events() + extra))
        val (_, screen) = apps(world)
        assertEquals(listOf(1L, 0L, 0L, 1L), listOf(SampleData.TIKTOK, SampleData.SIGNAL, SampleData.DUOLINGO, null)
            .map { uid -> screen.adapter.rows.first { it.uid == uid }.screenOff })

        val mark = RuntimeEnvironment.getApplication().getString(R.string.apps_screen_off)
        assertEquals("Active with screen off", mark)
        val tiktok = rowView(screen, "TikTok")
        assertTrue(UiTest.texts(tiktok).toString(), UiTest.texts(tiktok).contains(mark))
        assertTrue(tiktok.contentDescription.toString(), tiktok.contentDescription.toString().endsWith(", $mark"))
        assertTrue(UiTest.texts(rowView(screen, unknownOwner)).contains(mark))
        for (label in listOf("Signal", "Duolingo")) {
            val row = rowView(screen, label)
            assertFalse(label, UiTest.texts(row).contains(mark))
            assertFalse(label, row.contentDescription.toString().contains(mark))
        }
        // A recycled row does not keep the mark of the app it showed before.
        val position = screen.adapter.rows.indexOfFirst { it.label == "Signal" }
        val reused = screen.adapter.getView(position, tiktok, screen.list)
        assertFalse(UiTest.texts(reused).contains(mark))
    }

    @Test
    fun aModeForAnAppRemovedMeanwhileStoresNothingAndSaysSo() {
        val world = SampleData.World()
        val (_, screen) = apps(world)
        world.apps.list = world.apps.list.filter { it.uid != SampleData.DUOLINGO }
        UiTest.click(rowView(screen, "Duolingo"), "Wi-Fi\nNo trackers")
        shadowOf(ShadowAlertDialog.getLatestAlertDialog()).clickOnItem(AppMode.values().indexOf(AppMode.BLOCK_ALL))
        UiTest.idle()
        assertTrue(world.store.setModeCalls.isEmpty())
        assertEquals(0, world.actions.rulesChanged)
        assertEquals("Duolingo was removed: nothing was changed", screen.error.text.toString())
        assertEquals(View.VISIBLE, screen.error.visibility)
        assertTrue(screen.adapter.rows.none { it.label == "Duolingo" })
    }

    @Test
    fun aSharedUidsDetailListsEveryPackage() {
        val (activity, screen) = apps(sharedWorld())
        screen.list.performItemClick(null, screen.adapter.rows.indexOfFirst { it.uid == SampleData.SYSTEM_UID }, 0)
        UiTest.idle()
        val detail = activity.detail!!
        assertEquals("Android System", detail.title.text.toString())
        assertEquals(View.VISIBLE, detail.packages.visibility)
        assertEquals("Apps on this UID:\n• Find device (com.xiaomi.finddevice)\n• Phone (com.android.phone)\n" +
            "• Settings (com.android.settings)\n• SIM Toolkit (com.android.stk)", detail.packages.text.toString())
        assertTrue(detail.subtitle.text.toString().contains("4 apps: Find device, Phone, Settings, …"))
    }

}
