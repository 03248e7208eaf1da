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
    fun aListsUpdateTimeAndItsTooLargeSizeAreGerman() {
        val world = world()
        // The third list's last update failed on a list larger than the cap: the size travels as bytes.
        world.lists.subs[2] = world.lists.subs[2].copy(
            lastError = org.hush.android.lists.ListProblem(org.hush.android.lists.ListProblem.Kind.TOO_LARGE,
                listOf(org.hush.android.lists.ListDownloader.MAX_BYTES.toString())).encode())
        val activity = UiTest.launch(world, MainActivity.Tab.LISTS).get()
        val texts = shoot(activity, "lists-failed")
        // The German month and order, on the phone's clock (Robolectric's German default: 24 hours).
        assertShown(texts, "41.870 Einträge · aktualisiert 27. Nov. 2026, 13:30",
            "Letzte Aktualisierung fehlgeschlagen 28. Nov. 2026, 13:30: die Liste ist größer als 64 MB: nicht behalten")
        assertTrue("an English or fixed date left: $texts", texts.none { it.contains("2026-11") || it.contains("updated") || it.contains("Nov 2") })
        // Bytes in German words, as a list under a kilobyte would say it.
        val s = ResourceStrings(activity)
        assertEquals("1 Byte", Format.size(s, 1))
        assertEquals("1.000 Byte", Format.size(s, 1000))
        assertEquals("die Liste ist größer als 4 KB: nicht behalten",
            org.hush.android.lists.ListProblem(org.hush.android.lists.ListProblem.Kind.TOO_LARGE, listOf("4096")).text(s))
    }

    @Test
    fun theUnwiredStoreSaysSoInGerman() {
        HushUi.deps = null // as before the app wired the store: MainActivity's own
        val activity = org.robolectric.Robolectric.buildActivity(MainActivity::class.java).setup().get()
        val home = activity.screen(MainActivity.Tab.HOME) as HomeScreen
        UiTest.await("Home's message") { home.error.visibility == android.view.View.VISIBLE }
        assertEquals("Die heutige Aktivität konnte nicht gelesen werden: der Aktivitätsspeicher ist noch nicht verbunden",
            home.error.text.toString())
        activity.select(MainActivity.Tab.LISTS)
        UiTest.await("the Lists screen's message") {
            UiTest.texts(activity.window.decorView).any { it.endsWith(": der Aktivitätsspeicher ist noch nicht verbunden") }
        }
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
