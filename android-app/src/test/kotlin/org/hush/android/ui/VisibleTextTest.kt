package org.hush.android.ui

import org.hush.android.apps.InstalledApp
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

    /** An app chooses its own label: TikTok's UID, installed as an app whose label hides a newline and an override. */
    private val hostileLabel = "Bank\u202Eppa\nFORGED"
    private val escapedLabel = "Bank[U+202E]ppa[U+000A]FORGED"
    private val hostileHost = "evil\u202Emoc.example\nFORGED"
    private val escapedHost = "evil[U+202E]moc.example[U+000A]FORGED"

    /** A world where TikTok's UID is the hostile app, the most blocked today, and asked for [hostileHost]. */
    private fun hostileWorld(): SampleData.World {
        val apps = SampleData.apps(60).filter { it.uid != SampleData.TIKTOK } +
            InstalledApp("com.evil.bank", hostileLabel, SampleData.TIKTOK, false)
        val world = SampleData.World(apps = FakeApps(apps))
        world.store.log(ActivityEvent(SampleData.NOW - 60_000, SampleData.TIKTOK, hostileHost, "198.18.7.8", 443, "tls",
            Action.BLOCKED, "list:easyprivacy"))
        for (i in 0 until 2_000) {
            world.store.log(ActivityEvent(SampleData.NOW - 120_000 - i, SampleData.TIKTOK, "t$i.tiktokv.com", "198.18.7.9", 443, "tls",
                Action.BLOCKED, "list:easyprivacy"))
        }
        return world
    }

    /** Neither the override nor the newline before "FORGED" reached the screen (the app's own texts may break lines). */
    private fun assertNothingDisguised(texts: List<String>) =
        assertFalse(texts.toString(), texts.any { it.contains('\u202E') || it.contains("\nFORGED") })

    @Test
    fun aHostileLabelIsEscapedOnTheAppsScreen() {
        val world = hostileWorld()
        val screen = UiTest.launch(world, MainActivity.Tab.APPS).get().screen(MainActivity.Tab.APPS) as AppsScreen
        val position = screen.adapter.rows.indexOfFirst { it.uid == SampleData.TIKTOK }
        assertEquals(escapedLabel, screen.adapter.rows[position].label)
        val row = UiTest.texts(screen.adapter.getView(position, null, screen.list))
        assertTrue(row.toString(), row.contains(escapedLabel))
        assertNothingDisguised(row)
    }

    @Test
    fun aHostileLabelAndHostAreEscapedOnTheAppDetail() {
        val world = hostileWorld()
        val activity = UiTest.launch(world, MainActivity.Tab.APPS).get()
        activity.openAppDetail(SampleData.TIKTOK, hostileLabel)
        UiTest.idle()
        val screen = activity.detail!!
        assertEquals(escapedLabel, screen.title.text.toString())
        assertEquals(listOf("$escapedLabel (com.evil.bank)"), screen.presenter.state.packages)
        val i = screen.presenter.state.hosts.indexOfFirst { it.host == hostileHost }
        assertTrue(i >= 0)
        val row = UiTest.texts(screen.adapter.getView(i, null, screen.hostList))
        assertEquals(escapedHost, row[0])
        assertNothingDisguised(row + screen.title.text.toString())
    }

    @Test
    fun aHostileLabelIsEscapedOnTheActivityLog() {
        val world = hostileWorld()
        val screen = UiTest.launch(world, MainActivity.Tab.ACTIVITY).get().screen(MainActivity.Tab.ACTIVITY) as ActivityScreen
        val i = screen.adapter.events.indexOfFirst { it.host == hostileHost }
        assertTrue(i >= 0)
        val row = UiTest.texts(screen.adapter.getView(i, null, screen.list))
        assertEquals(escapedHost, row[1])
        assertTrue(row.toString(), row.any { it.contains(escapedLabel) })
        assertNothingDisguised(row)
    }

    @Test
    fun aHostileLabelIsEscapedOnHome() {
        val world = hostileWorld()
        val home = UiTest.launch(world, MainActivity.Tab.HOME).get().screen(MainActivity.Tab.HOME) as HomeScreen
        val top = UiTest.texts(home.topAppsList)
        assertEquals(escapedLabel, top[0])
        assertNothingDisguised(top)
    }

    @Test
    fun aSharedUidNamesItsHostileLabelsEscaped() {
        val apps = listOf(
            InstalledApp("com.evil.a", hostileLabel, 10_500, false),
            InstalledApp("com.evil.b", "Zed", 10_500, false),
        )
        val label = org.hush.android.apps.AppNamesOfUid.label(XmlStrings, 10_500, apps)
        assertTrue(label, label.startsWith(escapedLabel))
        val note = AppsPresenter.sharedNote(XmlStrings, apps)
        assertTrue(note, note.contains(escapedLabel))
        assertNothingDisguised(listOf(label, note))
    }
}
