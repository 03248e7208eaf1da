package org.hush.android.ui

import android.graphics.Bitmap
import org.junit.After
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.annotation.Config
import org.robolectric.annotation.GraphicsMode
import java.io.File
import java.io.FileOutputStream

/**
 * Every screen, drawn for real (Robolectric's native graphics), day and night, on
 * realistic data: android-app/build/screenshots/NAME-{day,night}.png (copied by hand into
 * docs/screenshots/ when the screens change: `bash tests/android/jvm.sh ScreenshotTest`).
 */
@RunWith(RobolectricTestRunner::class)
@GraphicsMode(GraphicsMode.Mode.NATIVE)
@Config(sdk = [35], qualifiers = "w360dp-h780dp-xhdpi")
class ScreenshotTest {
    @After
    fun reset() { HushUi.deps = null }

    private val shots: List<Pair<String, (MainActivity) -> Unit>> = listOf(
        "home" to { a -> a.select(MainActivity.Tab.HOME) },
        "apps" to { a -> a.select(MainActivity.Tab.APPS) },
        "app-detail" to { a -> a.select(MainActivity.Tab.APPS); a.openAppDetail(SampleData.MI_BROWSER, "Mi Browser") },
        "activity" to { a -> a.select(MainActivity.Tab.ACTIVITY) },
        "rules" to { a -> a.select(MainActivity.Tab.LISTS); a.openRules() },
        "lists" to { a -> a.select(MainActivity.Tab.LISTS) },
        "settings" to { a -> a.select(MainActivity.Tab.SETTINGS) },
    )

    private fun shootAll(theme: String) {
        val dir = UiTest.buildDir("screenshots")
        for ((name, open) in shots) {
            val activity = UiTest.launch(SampleData.World()).get()
            open(activity)
            UiTest.idle()
            val bitmap = UiTest.draw(activity.window.decorView)
            val file = File(dir, "$name-$theme.png")
            FileOutputStream(file).use { bitmap.compress(Bitmap.CompressFormat.PNG, 100, it) }
            val variety = UiTest.colourVariety(bitmap)
            assertTrue("$file looks blank: $variety colours", variety >= 30)
            assertTrue(file.length() > 10_000)
            // The palette's background fills the screen behind the cards.
            val bg = if (theme == "night") Palette.NIGHT.background else Palette.DAY.background
            assertTrue("$file: background", bitmap.getPixel(2, bitmap.height / 2) == bg)
            println("screenshot: ${file.path} (${bitmap.width}x${bitmap.height}, $variety colours)")
        }
    }

    @Test
    fun everyScreenByDay() = shootAll("day")

    @Test
    fun everyScreenByNight() {
        RuntimeEnvironment.setQualifiers("+night")
        shootAll("night")
    }
}
