package org.hush.android.ui

import android.content.ComponentName
import android.content.Intent
import android.content.IntentFilter
import android.graphics.Bitmap
import android.graphics.Canvas
import android.provider.Settings
import android.view.View
import org.junit.After
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config
import org.robolectric.annotation.GraphicsMode
import org.robolectric.shadows.ShadowBuild
import java.io.File
import java.io.FileOutputStream

/**
 * Every screen, drawn for real (Robolectric's native graphics), day and night, into
 * android-app/build/screenshots/NAME-{day,night}.png (copied by hand into
 * docs/screenshots/ when the screens change: `bash tests/android/jvm.sh ScreenshotTest`):
 * - on realistic data (a Xiaomi phone a week into Hush): every tab, App detail, Rules,
 *   the guidance screen, and the host sheet over Activity;
 * - as a new owner first sees them (fresh-NAME): a fresh install, nothing logged, no
 *   rule, no app mode set, the firewall off.
 */
@RunWith(RobolectricTestRunner::class)
@GraphicsMode(GraphicsMode.Mode.NATIVE)
@Config(sdk = [35], qualifiers = "w360dp-h780dp-xhdpi")
class ScreenshotTest {
    @After
    fun reset() { HushUi.deps = null }

    /** A screenshot: its name, the world it shows, how to get there. */
    private class Shot(val name: String, val world: () -> SampleData.World, val open: (MainActivity) -> Unit)

    private val used = { SampleData.World() }

    /**
     * Installed apps and the built-in lists (all on, as shipped) but nothing else: the
     * store empty, no rule or mode, no list added, Hush never turned on.
     */
    private val fresh = {
        SampleData.World(store = FakeStore(), firewall = FakeFirewall(FirewallState.Off), lists = FakeListCatalogue(subscriptions = emptyList()))
    }

    private val shots: List<Shot> = listOf(
        Shot("home", used) { a -> a.select(MainActivity.Tab.HOME) },
        Shot("apps", used) { a -> a.select(MainActivity.Tab.APPS) },
        Shot("app-detail", used) { a -> a.select(MainActivity.Tab.APPS); a.openAppDetail(SampleData.MI_BROWSER, "Mi Browser") },
        Shot("activity", used) { a -> a.select(MainActivity.Tab.ACTIVITY) },
        Shot("rules", used) { a -> a.select(MainActivity.Tab.LISTS); a.openRules() },
        Shot("lists", used) { a -> a.select(MainActivity.Tab.LISTS) },
        Shot("settings", used) { a -> a.select(MainActivity.Tab.SETTINGS) },
        Shot("guidance", used) { a -> xiaomi(); a.select(MainActivity.Tab.SETTINGS); a.openGuidance() },
        Shot("sheet", used) { a ->
            a.select(MainActivity.Tab.ACTIVITY)
            a.openHostActions(HostTarget("tracking.miui.com", AppRef(SampleData.MI_BROWSER, "Mi Browser")))
        },
        Shot("fresh-home", fresh) { a -> a.select(MainActivity.Tab.HOME) },
        Shot("fresh-apps", fresh) { a -> a.select(MainActivity.Tab.APPS) },
        Shot("fresh-activity", fresh) { a -> a.select(MainActivity.Tab.ACTIVITY) },
        Shot("fresh-lists", fresh) { a -> a.select(MainActivity.Tab.LISTS) },
    )

    /** The phone the sample data comes from: a Xiaomi, whose autostart and battery screens resolve. */
    private fun xiaomi() {
        ShadowBuild.setManufacturer("Xiaomi")
        val pm = shadowOf(RuntimeEnvironment.getApplication().packageManager)
        fun system(action: String, component: ComponentName) {
            pm.addActivityIfNotPresent(component)
            pm.addIntentFilterForActivity(component, IntentFilter(action).apply { addCategory(Intent.CATEGORY_DEFAULT) })
        }
        system(Settings.ACTION_IGNORE_BATTERY_OPTIMIZATION_SETTINGS, ComponentName("com.android.settings", "com.android.settings.HighPowerApplications"))
        system(Settings.ACTION_VPN_SETTINGS, ComponentName("com.android.settings", "com.android.settings.VpnSettings"))
        pm.addActivityIfNotPresent(ComponentName("com.miui.securitycenter", "com.miui.permcenter.autostart.AutoStartManagementActivity"))
    }

    /** The activity's window, and the sheet's (a dialog: a window of its own) over it, behind a scrim, at the bottom. */
    private fun draw(activity: MainActivity): Bitmap {
        val bitmap = UiTest.draw(activity.window.decorView)
        val sheet = activity.sheet?.dialog?.takeIf { it.isShowing } ?: return bitmap
        val decor: View = sheet.window!!.decorView
        val w = bitmap.width
        val h = bitmap.height
        decor.measure(View.MeasureSpec.makeMeasureSpec(w, View.MeasureSpec.EXACTLY), View.MeasureSpec.makeMeasureSpec(h, View.MeasureSpec.AT_MOST))
        decor.layout(0, 0, decor.measuredWidth, decor.measuredHeight)
        val canvas = Canvas(bitmap)
        canvas.drawColor(SCRIM)
        canvas.translate(0f, (h - decor.measuredHeight).toFloat())
        decor.draw(canvas)
        return bitmap
    }

    private fun shootAll(theme: String) {
        val dir = UiTest.buildDir("screenshots")
        for (shot in shots) {
            val activity = UiTest.launch(shot.world()).get()
            shot.open(activity)
            UiTest.idle()
            UiTest.draw(activity.window.decorView) // a first layout, for lists that fill on it
            UiTest.idle()
            val bitmap = draw(activity)
            val file = File(dir, "${shot.name}-$theme.png")
            FileOutputStream(file).use { bitmap.compress(Bitmap.CompressFormat.PNG, 100, it) }
            val variety = UiTest.colourVariety(bitmap)
            assertTrue("$file looks blank: $variety colours", variety >= 30)
            assertTrue(file.length() > 10_000)
            // The palette's background fills the screen behind the cards (the sheet's scrim darkens it).
            val bg = if (theme == "night") Palette.NIGHT.background else Palette.DAY.background
            if (shot.name == "sheet") {
                assertTrue("$file: no sheet drawn", activity.sheet?.dialog?.isShowing == true)
                assertTrue("$file: no scrim", bitmap.getPixel(2, 2) != bg)
            } else {
                // At the left edge mid-height, or the top corners where a screen's cards run edge to edge.
                val edges = listOf(2 to bitmap.height / 2, 2 to 2, bitmap.width - 3 to 2)
                assertTrue("$file: background", edges.any { (x, y) -> bitmap.getPixel(x, y) == bg })
            }
            println("screenshot: ${file.path} (${bitmap.width}x${bitmap.height}, $variety colours)")
            activity.finish()
        }
    }

    @Test
    fun everyScreenByDay() = shootAll("day")

    @Test
    fun everyScreenByNight() {
        RuntimeEnvironment.setQualifiers("+night")
        shootAll("night")
    }

    companion object {
        /** Material's scrim behind a modal sheet: black at 32%. */
        private const val SCRIM = 0x52000000
    }
}
