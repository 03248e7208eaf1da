package org.hush.android.ui

import org.hush.android.data.Action
import org.hush.android.data.ActivityEvent
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertSame
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.annotation.Config

/**
 * Stored text (host names, list names, details) with control, bidirectional and invisible
 * characters is shown with those characters as `[U+XXXX]`, the same set and form as the core's
 * exports (hush-store's `visible`), on the screens that show it.
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35], qualifiers = "w360dp-h780dp-xhdpi")
class VisibleTextTest {
    @After
    fun reset() { HushUi.deps = null }

    @Test
    fun disguisingCharactersAreShownAsCodePoints() {
        assertEquals("a[U+202E]elpmaxe.b", Format.visible("a\u202Eelpmaxe.b"))
        assertEquals(
            "[U+200B][U+2066]x[U+2069][U+FEFF][U+061C][U+2028]",
            Format.visible("\u200B\u2066x\u2069\uFEFF\u061C\u2028"),
        )
        assertEquals(
            "nul[U+0000]tab[U+0009]nl[U+000A]del[U+007F]csi[U+009B]",
            Format.visible("nul\u0000tab\tnl\ndel\u007Fcsi\u009B"),
        )
        // Plain text, other scripts and emoji come back as they were (the same string).
        for (plain in listOf("tracker.example", "bücher.example", "مثال.example", "😀.example", "\u00A0\u202F")) {
            assertSame(plain, Format.visible(plain))
        }
    }

    @Test
    fun theSetIsTheCoresSet() {
        // hush-store's is_disguising: Cc, U+061C, U+200B-200F, U+2028-202E, U+2060-2064,
        // U+2066-2069, U+FEFF; nothing around them.
        val listed = (0..0x1F) + (0x7F..0x9F) + 0x061C + (0x200B..0x200F) + (0x2028..0x202E) +
            (0x2060..0x2064) + (0x2066..0x2069) + 0xFEFF
        for (c in 0..0xFFFF) {
            val control = Character.getType(c) == Character.CONTROL.toInt()
            assertEquals("U+%04X".format(c), c in listed, Format.disguising(c))
            if (control) assertTrue("U+%04X".format(c), Format.disguising(c))
        }
    }

    @Test
    fun listNamesAndDetailsInReasonsAreEscaped() {
        val s = XmlStrings
        assertEquals("List: evil[U+202E]txt.", Format.reason(s, "list:evil\u202Etxt."))
        assertEquals("future[U+000A]thing", Format.reason(s, "future\nthing"))
        assertEquals(
            "List: easyprivacy · name not read: cosmic[U+200B]rays",
            Format.eventReason(s, "list:easyprivacy", "unread:cosmic\u200Brays"),
        )
    }

    @Test
    fun theActivityRowShowsAHostileHostEscaped() {
        val world = SampleData.World()
        val screen = UiTest.launch(world, MainActivity.Tab.ACTIVITY).get().screen(MainActivity.Tab.ACTIVITY) as ActivityScreen
        val hostile = ActivityEvent(SampleData.NOW + 500, SampleData.TIKTOK, "moc.\u202Eevil\u200B.example", "198.18.7.7", 53, "dns",
            Action.BLOCKED, "list:bad\u2066list")
        world.store.log(hostile)
        screen.presenter.refreshHead()
        UiTest.idle()
        assertEquals(hostile, screen.adapter.events[0])
        val row = UiTest.texts(screen.adapter.getView(0, null, screen.list))
        assertEquals("moc.[U+202E]evil[U+200B].example", row[1])
        assertTrue(row[2], row[2].endsWith("List: bad[U+2066]list"))
        assertFalse(row.joinToString("").any { Format.disguising(it.code) })
    }
}
