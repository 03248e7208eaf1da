package org.hush.android.ui

import android.content.pm.ApplicationInfo
import android.content.pm.PackageInfo
import android.graphics.Bitmap
import android.graphics.Canvas
import android.graphics.Color
import android.view.View
import org.hush.android.apps.PackageManagerApps
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config

@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35], qualifiers = "w360dp-h780dp-xhdpi")
class MainActivityTest {
    @After
    fun reset() { HushUi.deps = null }

    @Test
    fun theBottomBarSwitchesScreensAndKeepsEachOne() {
        val world = SampleData.World()
        val activity = UiTest.launch(world).get()
        assertEquals(listOf("Home", "Apps", "Activity", "Lists", "Settings"), activity.navItems.values.map { it.contentDescription.toString() })
        activity.navItems[MainActivity.Tab.ACTIVITY]!!.performClick()
        assertEquals(MainActivity.Tab.ACTIVITY, activity.tab)
        val log = activity.screen(MainActivity.Tab.ACTIVITY) as ActivityScreen
        assertTrue(log.view.isAttachedToWindow)
        assertTrue(activity.navItems[MainActivity.Tab.ACTIVITY]!!.isSelected)
        activity.navItems[MainActivity.Tab.HOME]!!.performClick()
        assertTrue(!log.view.isAttachedToWindow)
        activity.navItems[MainActivity.Tab.ACTIVITY]!!.performClick()
        assertTrue("the same screen comes back", log === activity.screen(MainActivity.Tab.ACTIVITY))
    }

    @Test
    @org.robolectric.annotation.GraphicsMode(org.robolectric.annotation.GraphicsMode.Mode.NATIVE)
    fun theBottomBarHasAnIconAndAWordPerTabWith48dpTargets() {
        val activity = UiTest.launch(SampleData.World()).get()
        val min = (48 * activity.resources.displayMetrics.density).toInt()
        UiTest.draw(activity.window.decorView)
        val shapes = HashMap<MainActivity.Tab, Bitmap>()
        for ((tab, item) in activity.navItems) {
            assertEquals(activity.getString(tab.label), item.text.toString())
            assertEquals(item.text.toString(), item.contentDescription.toString())
            assertTrue("$tab: ${item.width}x${item.height}", item.width >= min && item.height >= min)
            val icon = item.compoundDrawablesRelative[1] ?: throw AssertionError("$tab has no icon")
            shapes[tab] = Bitmap.createBitmap(48, 48, Bitmap.Config.ARGB_8888).also { b ->
                icon.constantState!!.newDrawable().mutate().apply { setBounds(0, 0, 48, 48); setTint(Color.BLACK) }.draw(Canvas(b))
            }
        }
        // Activity and Lists looked alike as glyphs (≡, ☰): their icons must differ plainly.
        fun inked(b: Bitmap) = (0 until 48 * 48).map { Color.alpha(b.getPixel(it % 48, it / 48)) > 128 }
        val tabs = MainActivity.Tab.values()
        for (i in tabs.indices) for (j in i + 1 until tabs.size) {
            val a = inked(shapes.getValue(tabs[i]))
            val b = inked(shapes.getValue(tabs[j]))
            assertTrue("${tabs[i]} draws nothing", a.count { it } > 48)
            val differ = a.indices.count { a[it] != b[it] }
            assertTrue("${tabs[i]} and ${tabs[j]} icons differ in only $differ of 2304 pixels", differ > 48 * 48 / 8)
        }
    }

    @Test
    fun backClosesAppDetailFirst() {
        val activity = UiTest.launch(SampleData.World(), MainActivity.Tab.APPS).get()
        activity.openAppDetail(SampleData.TIKTOK, "TikTok")
        @Suppress("DEPRECATION") activity.onBackPressed()
        assertNull(activity.detail)
        assertTrue(!activity.isFinishing)
        @Suppress("DEPRECATION") activity.onBackPressed()
        assertTrue(activity.isFinishing)
    }

    @Test
    fun unwiredTheScreensSayTheStoreIsMissingAndDoNotCrash() {
        HushUi.deps = null
        val activity = Robolectric.buildActivity(MainActivity::class.java).setup().get()
        // The real dispatcher (Dispatchers.IO) here: the messages come asynchronously.
        val home = activity.screen(MainActivity.Tab.HOME) as HomeScreen
        UiTest.await("Home's message") { home.error.visibility == View.VISIBLE }
        assertEquals("Could not read today's activity: the activity store is not connected yet", home.error.text.toString())
        for (tab in MainActivity.Tab.values()) {
            activity.select(tab)
            UiTest.await("$tab's message") {
                UiTest.texts(activity.window.decorView).any { it.endsWith(": the activity store is not connected yet") }
            }
        }
    }

    @Test
    fun installedAppsComeFromThePackageManager() {
        val app = RuntimeEnvironment.getApplication()
        fun install(pkg: String, uid: Int, system: Boolean) {
            val info = PackageInfo().apply {
                packageName = pkg
                applicationInfo = ApplicationInfo().apply {
                    packageName = pkg
                    this.uid = uid
                    flags = if (system) ApplicationInfo.FLAG_SYSTEM else 0
                    nonLocalizedLabel = pkg.substringAfterLast('.').replaceFirstChar { it.uppercase() }
                }
            }
            shadowOf(app.packageManager).installPackage(info)
        }
        install("com.duolingo", 10111, false)
        install("com.miui.analytics", 10108, true)
        val apps = PackageManagerApps(app).apps().associateBy { it.packageName }
        assertEquals(10111, apps["com.duolingo"]!!.uid)
        assertEquals("Duolingo", apps["com.duolingo"]!!.label)
        assertTrue(!apps["com.duolingo"]!!.system)
        assertTrue(apps["com.miui.analytics"]!!.system)
        assertNull(PackageManagerApps(app).icon("com.example.gone"))
    }
}
