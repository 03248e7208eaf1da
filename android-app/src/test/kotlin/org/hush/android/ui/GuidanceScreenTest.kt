package org.hush.android.ui

import android.content.ComponentName
import android.content.Intent
import android.content.IntentFilter
import android.os.PowerManager
import android.provider.Settings
import android.view.View
import org.hush.android.R
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
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config
import org.robolectric.shadows.ShadowBuild

/**
 * The guidance screen over Robolectric's PackageManager and PowerManager: a maker's
 * screen is offered only where it resolves, stock Android's always (when it resolves),
 * and the battery step says whether it is done.
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35], qualifiers = "w360dp-h780dp-xhdpi")
class GuidanceScreenTest {
    @After
    fun reset() { HushUi.deps = null }

    private val app get() = RuntimeEnvironment.getApplication()
    private val pm get() = shadowOf(app.packageManager)

    private fun system(action: String, component: ComponentName) {
        pm.addActivityIfNotPresent(component)
        pm.addIntentFilterForActivity(component, IntentFilter(action).apply { addCategory(Intent.CATEGORY_DEFAULT) })
    }

    private fun stockScreens() {
        system(Settings.ACTION_IGNORE_BATTERY_OPTIMIZATION_SETTINGS, ComponentName("com.android.settings", "com.android.settings.HighPowerApplications"))
        system(Settings.ACTION_VPN_SETTINGS, ComponentName("com.android.settings", "com.android.settings.VpnSettings"))
    }

    private var controller: org.robolectric.android.controller.ActivityController<MainActivity>? = null

    private fun open(world: SampleData.World = SampleData.World()): Pair<MainActivity, GuidanceScreen> {
        val activity = UiTest.launch(world, MainActivity.Tab.SETTINGS).also { controller = it }.get()
        activity.openGuidance()
        UiTest.idle()
        return activity to activity.pushed as GuidanceScreen
    }

    /** The shipped English words (the test runs in the default locale). */
    private fun str(id: Int) = app.getString(id)

    private fun keys(screen: GuidanceScreen) = screen.presenter.state.steps.map { it.key }
    private fun step(screen: GuidanceScreen, key: String) = screen.presenter.state.steps.first { it.key == key }

    @Test
    fun aStockPhoneGetsBatteryAndAlwaysOnWithTheirScreensAndNoMakersSteps() {
        ShadowBuild.setManufacturer("Google")
        stockScreens()
        val (activity, screen) = open()
        assertEquals(listOf("battery", "always-on"), keys(screen))
        val battery = screen.stepView("battery")!!
        UiTest.assertShows(battery, "✗ " + str(R.string.guidance_not_done))
        UiTest.click(battery, str(R.string.guidance_open))
        assertEquals(Settings.ACTION_IGNORE_BATTERY_OPTIMIZATION_SETTINGS, shadowOf(activity).nextStartedActivity.action)

        val alwaysOn = screen.stepView("always-on")!!
        UiTest.assertShows(alwaysOn, "Block connections without VPN")
        UiTest.assertShows(alwaysOn, "? " + str(R.string.guidance_always_on_unknown))
        UiTest.click(alwaysOn, str(R.string.guidance_open))
        assertEquals(Settings.ACTION_VPN_SETTINGS, shadowOf(activity).nextStartedActivity.action)
    }

    @Test
    fun theAlwaysOnStepSaysWhatAndroidSaysAndOffersTheVpnScreenUntilBothAreOn() {
        ShadowBuild.setManufacturer("Google")
        stockScreens()
        val world = SampleData.World(firewall = FakeFirewall(FirewallState.On))
        fun shown(expected: org.hush.android.vpn.AlwaysOn?): View {
            world.firewall.alwaysOn = expected
            val (_, screen) = open(world)
            return screen.stepView("always-on")!!
        }
        val off = shown(org.hush.android.vpn.AlwaysOn(alwaysOn = false, lockdown = false))
        UiTest.assertShows(off, "✗ " + str(R.string.guidance_always_on_off))
        UiTest.assertShows(off, str(R.string.guidance_open))
        val noLockdown = shown(org.hush.android.vpn.AlwaysOn(alwaysOn = true, lockdown = false))
        UiTest.assertShows(noLockdown, "✗ " + str(R.string.guidance_always_on_no_lockdown))
        val (activity, screen) = open(world.also { it.firewall.alwaysOn = org.hush.android.vpn.AlwaysOn(alwaysOn = true, lockdown = true) })
        assertEquals(true, step(screen, "always-on").done)
        UiTest.assertShows(screen.stepView("always-on")!!, "✓ " + str(R.string.guidance_always_on_both))
        UiTest.click(screen.stepView("always-on")!!, str(R.string.guidance_open))
        assertEquals(Settings.ACTION_VPN_SETTINGS, shadowOf(activity).nextStartedActivity.action)
    }

    @Test
    fun theStepsAreCardsWithTheSideMarginsOfEveryScreen() {
        ShadowBuild.setManufacturer("Google")
        stockScreens()
        val (activity, screen) = open()
        val sixteen = (16 * activity.resources.displayMetrics.density).toInt()
        for (key in listOf("battery", "always-on")) {
            val lp = screen.stepView(key)!!.layoutParams as android.view.ViewGroup.MarginLayoutParams
            assertEquals("$key left", sixteen, lp.leftMargin)
            assertEquals("$key right", sixteen, lp.rightMargin)
        }
    }

    @Test
    fun theBatteryStepShowsDoneOnceHushIsExemptWhenBackFromTheSystemScreen() {
        ShadowBuild.setManufacturer("Google")
        stockScreens()
        val (activity, screen) = open()
        assertEquals(false, step(screen, "battery").done)
        val power = app.getSystemService(PowerManager::class.java)
        shadowOf(power).setIgnoringBatteryOptimizations(app.packageName, true)
        // Back from Android's screen: the activity resumes, the pushed screen reloads.
        controller!!.pause().resume()
        UiTest.idle()
        assertTrue(activity.pushed === screen)
        assertEquals(true, step(screen, "battery").done)
        UiTest.assertShows(screen.stepView("battery")!!, "✓ " + str(R.string.guidance_done))
    }

    @Test
    fun aMakersScreenIsOfferedOnlyWhereItResolves() {
        ShadowBuild.setManufacturer("samsung")
        stockScreens()
        // Samsung, without its battery screen on this firmware: the step, in words only.
        val (_, without) = open()
        assertEquals(listOf("battery", "samsung-battery", "always-on"), keys(without))
        assertNull(step(without, "samsung-battery").open)
        UiTest.assertShows(without.stepView("samsung-battery")!!, str(R.string.guidance_no_screen))
        UiTest.assertNotShown(without.stepView("samsung-battery")!!, str(R.string.guidance_open))

        // Its second known class name resolves: that one is offered, and opens.
        val samsung = ComponentName("com.samsung.android.lool", "com.samsung.android.sm.ui.battery.BatteryActivity")
        pm.addActivityIfNotPresent(samsung)
        val (activity, with) = open()
        assertEquals(samsung, step(with, "samsung-battery").open!!.component)
        UiTest.click(with.stepView("samsung-battery")!!, str(R.string.guidance_open))
        assertEquals(samsung, shadowOf(activity).nextStartedActivity.component)
        UiTest.assertShows(with.stepView("samsung-battery")!!, str(R.string.guidance_cannot_tell_vendor))

        // Xiaomi's autostart screen on this phone (a rebranded firmware): offered as it resolves.
        val miui = ComponentName("com.miui.securitycenter", "com.miui.permcenter.autostart.AutoStartManagementActivity")
        pm.addActivityIfNotPresent(miui)
        val (_, both) = open()
        assertEquals(listOf("battery", "xiaomi-autostart", "samsung-battery", "always-on"), keys(both))
        // Gone again (an update removed it): no longer offered.
        pm.removeActivity(miui)
        val (_, after) = open()
        assertFalse(keys(after).contains("xiaomi-autostart"))
    }

    @Test
    fun eachMakersFirstKnownScreenIsTheOneOffered() {
        ShadowBuild.setManufacturer("Google")
        val expected = mapOf(
            "xiaomi-autostart" to ComponentName("com.miui.securitycenter", "com.miui.permcenter.autostart.AutoStartManagementActivity"),
            "huawei-launch" to ComponentName("com.huawei.systemmanager", "com.huawei.systemmanager.startupmgr.ui.StartupNormalAppListActivity"),
            "oppo-autostart" to ComponentName("com.coloros.safecenter", "com.coloros.safecenter.permission.startup.StartupAppListActivity"),
            "vivo-background" to ComponentName("com.vivo.permissionmanager", "com.vivo.permissionmanager.activity.BgStartUpManagerActivity"),
        )
        for (c in expected.values) pm.addActivityIfNotPresent(c)
        val (_, screen) = open()
        for ((key, component) in expected) assertEquals(key, component, step(screen, key).open!!.component)
        assertTrue((step(screen, "vivo-background").open!!.flags and Intent.FLAG_ACTIVITY_NEW_TASK) != 0)
    }

    @Test
    fun nothingResolvesOnABarePhone() {
        ShadowBuild.setManufacturer("Xiaomi")
        val (_, screen) = open()
        // Xiaomi's steps stay (it is one), in words; nothing offers a button that would not open.
        assertEquals(listOf("battery", "xiaomi-autostart", "xiaomi-battery", "always-on"), keys(screen))
        for (s in screen.presenter.state.steps) {
            assertNull(s.key, s.open)
            UiTest.assertShows(screen.stepView(s.key)!!, str(R.string.guidance_no_screen))
        }
        UiTest.assertNotShown(screen.view, str(R.string.guidance_open))
    }

    @Test
    fun aScreenThatResolvesButRefusesToOpenIsSaidNotACrash() {
        ShadowBuild.setManufacturer("Google")
        val (_, screen) = open()
        val broken = GuidanceStep("x", "X", "Do X", Intent("org.hush.test.NOWHERE"), null, "")
        shadowOf(app).checkActivities(true)
        screen.render(GuidanceState(loading = false, steps = listOf(broken)))
        screen.open(broken)
        UiTest.assertShows(screen.stepView("x")!!, str(R.string.guidance_cannot_open))
    }

    @Test
    fun reachableFromSettingsAndEveryTargetIs48dp() {
        ShadowBuild.setManufacturer("Google")
        stockScreens()
        val activity = UiTest.launch(SampleData.World(), MainActivity.Tab.SETTINGS).get()
        val settings = activity.screen(MainActivity.Tab.SETTINGS) as SettingsScreen
        settings.guidanceLink.performClick()
        UiTest.idle()
        val screen = activity.pushed as GuidanceScreen
        assertNotNull(screen)
        assertEquals(View.VISIBLE, screen.back.visibility)
        val min = (48 * activity.resources.displayMetrics.density).toInt()
        assertTrue(screen.back.minHeight >= min)
        val button = UiTest.find(screen.stepView("battery")!!, str(R.string.guidance_open))
        assertTrue(button.minHeight >= min)
        assertTrue(button.contentDescription.toString().contains(str(R.string.guidance_battery_title)))
        screen.back.performClick()
        assertNull(activity.pushed)
    }
}
