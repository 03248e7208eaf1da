package org.hush.android.ui

import android.graphics.Bitmap
import org.hush.android.R
import org.hush.android.data.DomainAction
import org.hush.android.data.DomainRule
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RuntimeEnvironment
import org.robolectric.RobolectricTestRunner
import org.robolectric.annotation.Config
import org.robolectric.annotation.GraphicsMode
import java.io.File
import java.io.FileOutputStream
import java.util.Locale

/**
 * The screens on a German phone: res/values-de is linked into the resources the
 * screens read (aapt2 compile --dir takes every values-* directory), and a few known
 * words come out in German, plurals included. Each screen is also drawn into
 * android-app/build/screenshots/de-NAME.png, to look at (not committed).
 * TranslationTest checks that every key has German; this checks that it is shown.
 */
@RunWith(RobolectricTestRunner::class)
@GraphicsMode(GraphicsMode.Mode.NATIVE)
@Config(sdk = [35], qualifiers = "de-w360dp-h780dp-xhdpi")
class GermanLocaleTest {
    @After
    fun reset() { HushUi.deps = null }

    private fun world() = SampleData.World().apply {
        store.rules.add(DomainRule(SampleData.TIKTOK, "log.tiktokv.com", DomainAction.BLOCK, "com.zhiliaoapp.musically"))
    }

    private fun shoot(activity: MainActivity, name: String): List<String> {
        UiTest.idle()
        val bitmap = UiTest.draw(activity.window.decorView)
        UiTest.idle()
        val file = File(UiTest.buildDir("screenshots"), "de-$name.png")
        FileOutputStream(file).use { bitmap.compress(Bitmap.CompressFormat.PNG, 100, it) }
        return UiTest.texts(activity.window.decorView)
    }

    private fun assertShown(texts: List<String>, vararg words: String) {
        for (w in words) assertTrue("\"$w\" not shown in German; shown: $texts", texts.any { it.contains(w) })
    }

    @Test
    fun theGermanResourcesAreLinked() {
        val context = RuntimeEnvironment.getApplication()
        assertEquals("de", context.resources.configuration.locales[0].language)
        assertEquals("Heute", context.getString(R.string.day_today))
        assertEquals("Hush", context.getString(R.string.app_name))
        assertEquals("UID 1000", context.getString(R.string.uid_label, 1000))
        val res = context.resources
        assertEquals("1 Regel", res.getQuantityString(R.plurals.rules_count, 1, "1"))
        assertEquals("5 Regeln", res.getQuantityString(R.plurals.rules_count, 5, "5"))
        // English is still what any other language gets.
        RuntimeEnvironment.setQualifiers("en")
        assertEquals(Locale.ENGLISH.language, context.resources.configuration.locales[0].language)
        assertEquals("Today", context.getString(R.string.day_today))
    }

    @Test
    fun theNavigationBarAndActivityAreInGerman() {
        val activity = UiTest.launch(world(), MainActivity.Tab.ACTIVITY).get()
        val texts = shoot(activity, "activity")
        assertShown(texts, "Start", "Apps", "Aktivität", "Listen", "Einstellungen")
        assertShown(texts, "Heute", "Blockiert", "App: alle ▾", "Aktion: alle ▾")
        assertTrue("English left on a German screen: $texts", texts.none { it == "Today" || it == "Settings" || it.startsWith("Blocked") })
    }

    @Test
    fun rulesAreInGermanWithTheirPlural() {
        val activity = UiTest.launch(world(), MainActivity.Tab.LISTS).get()
        activity.openRules()
        val texts = shoot(activity, "rules")
        assertShown(texts, "Regeln", "4 Regeln", "Entfernen", "für TikTok", "für alle Apps")
    }

    @Test
    fun everyMainScreenOpensInGerman() {
        for (tab in MainActivity.Tab.values()) {
            val activity = UiTest.launch(world(), tab).get()
            val texts = shoot(activity, tab.name.lowercase(Locale.ROOT))
            // The bar's labels are the same words on every screen.
            assertShown(texts, "Aktivität", "Einstellungen")
            activity.finish()
        }
    }
}
