package org.hush.android.ui

import android.view.View
import android.view.ViewGroup
import android.widget.Switch
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.annotation.Config

@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35], qualifiers = "w360dp-h780dp-xhdpi")
class ListsScreenTest {
    @After
    fun reset() { HushUi.deps = null }

    private fun lists(world: SampleData.World): ListsScreen {
        val activity = UiTest.launch(world, MainActivity.Tab.LISTS).get()
        return activity.screen(MainActivity.Tab.LISTS) as ListsScreen
    }

    private fun switches(group: ViewGroup): List<Switch> {
        val found = ArrayList<Switch>()
        fun walk(v: View) {
            if (v is Switch) found.add(v)
            if (v is ViewGroup) for (i in 0 until v.childCount) walk(v.getChildAt(i))
        }
        walk(group)
        return found
    }

    @Test
    fun theBuiltInCatalogueShowsEachListsCountLicenceAndSourceWithASwitch() {
        val screen = lists(SampleData.World())
        val texts = UiTest.texts(screen.builtinList)
        val a = texts.indexOf("Ads & trackers — AdAway")
        assertEquals("6,540 entries · CC-BY-3.0 · as hush-adaway", texts[a + 1])
        assertEquals("Source: AdAway/adaway.github.io hosts.txt @7b5368f (2023-04-29)", texts[a + 2])
        val v = texts.indexOf("Phone-vendor telemetry")
        assertEquals("1,328 entries · GPL-3.0 (HaGeZi), CC-BY-3.0 (AdAway) · as hush-default", texts[v + 1])
        val d = texts.indexOf("Encrypted DNS (DoH) endpoints")
        assertEquals("1,216 entries · GPL-3.0 · as hush-doh", texts[d + 1])
        val toggles = switches(screen.builtinList)
        assertEquals(listOf(true, true, true), toggles.map { it.isChecked })
        assertEquals("Ads & trackers — AdAway", toggles[1].contentDescription)
        val dp48 = (48 * screen.view.resources.displayMetrics.density).toInt()
        assertTrue(toggles.all { it.minimumHeight >= dp48 })
        // The duplicate rules section is gone; the Rules screen is one tap away.
        UiTest.assertNotShown(screen.view, "Your domain rules")
        UiTest.assertShows(screen.view, "Domain rules ›")
    }

    @Test
    fun aBuiltInListIsTurnedOffAndOnAndTheSessionReloads() {
        val world = SampleData.World()
        val screen = lists(world)
        switches(screen.builtinList)[1].performClick()
        UiTest.idle()
        assertEquals(mapOf("hush-adaway" to false), world.lists.switches)
        assertEquals(1, world.lists.applied)
        assertEquals("Ads & trackers — AdAway is off from now on", screen.message.text.toString())
        assertFalse(switches(screen.builtinList)[1].isChecked)
        switches(screen.builtinList)[1].performClick()
        assertEquals(true, world.lists.switches["hush-adaway"])
        assertEquals(2, world.lists.applied)

        // Stopped: the change applies at the next start, and says so.
        world.firewall.publish(FirewallState.Off)
        switches(screen.builtinList)[2].performClick()
        assertEquals("Encrypted DNS (DoH) endpoints is off from the next start", screen.message.text.toString())
    }

    @Test
    fun addedListsShowTheirLastUpdateOrWhyItFailedAndCanBeSwitchedAndRemoved() {
        val world = SampleData.World()
        val screen = lists(world)
        val texts = UiTest.texts(screen.subscriptionList)
        val e = texts.indexOf("Easyprivacy.txt")
        assertEquals("https://v.firebog.net/hosts/Easyprivacy.txt", texts[e + 1])
        assertEquals("41,870 entries · updated Nov 27, 2026, 1:30 PM", texts[e + 2])
        val s = texts.indexOf("hosts")
        assertEquals("Not downloaded yet · off", texts[s + 2])
        val x = texts.indexOf("native.xiaomi.txt")
        assertEquals("407 entries · updated Nov 26, 2026, 1:30 PM", texts[x + 2])
        assertEquals("Last update failed Nov 28, 2026, 1:30 PM: raw.githubusercontent.com sent a web page (text/html), not a list " +
            "(is the address the list's raw file?). The copy in use stays.", texts[x + 3])

        val toggles = switches(screen.subscriptionList)
        assertEquals(listOf(true, false, true), toggles.map { it.isChecked })
        toggles[0].performClick()
        UiTest.idle()
        assertFalse(world.lists.subs[0].enabled)
        assertEquals(1, world.lists.applied)
        assertEquals("Easyprivacy.txt is off from now on", screen.message.text.toString())
        assertTrue(UiTest.texts(screen.subscriptionList).contains("41,870 entries · updated Nov 27, 2026, 1:30 PM · off"))

        UiTest.click(screen.subscriptionList.getChildAt(2), "Remove")
        assertEquals(listOf(SampleData.subscriptions[2].url), world.lists.removed)
        assertEquals(2, world.lists.applied)
        assertEquals("native.xiaomi.txt removed, with its downloaded copy", screen.message.text.toString())
        assertFalse(UiTest.texts(screen.subscriptionList).contains("native.xiaomi.txt"))
    }

    @Test
    fun automaticUpdatesCanBeRelaxedToAnyNetworkAndNoCharging() {
        val world = SampleData.World()
        val screen = lists(world)
        assertFalse(screen.anytime.isChecked)
        UiTest.assertShows(screen.view, "Updated daily on Wi-Fi while charging (unless below); a failed update keeps the copy in use.")
        screen.anytime.performClick()
        assertTrue(world.lists.anytime)
        assertEquals("Lists are updated daily on any network, charging or not", screen.message.text.toString())
        screen.anytime.performClick()
        assertFalse(world.lists.anytime)
        assertEquals("Lists are updated daily on Wi-Fi (unmetered) while charging", screen.message.text.toString())
    }

    @Test
    fun updateNowCallsBack() {
        val world = SampleData.World()
        val screen = lists(world)
        screen.updateNow.performClick()
        assertEquals(1, world.actions.updates)
        UiTest.assertShows(screen.view, "Update requested")
    }

    @Test
    fun aMalformedUrlIsRefusedInlineAndAGoodOneAdded() {
        val world = SampleData.World()
        val screen = lists(world)
        for ((bad, message) in listOf(
            "htp://lists.example.org/hosts" to "Not a valid URL: it must start with https://",
            "https://" to "Not a valid URL: it has no host name",
            "easylist.to/easylist/easyprivacy.txt" to "Not a valid URL: it must start with https://",
            "https://lists example.org/hosts" to "Not a valid URL: it contains spaces",
            "https://lists.example.org:99999/hosts" to "Not a valid URL: port 99999 is out of range",
            "" to "Enter the list's URL, e.g. https://example.org/hosts.txt",
        )) {
            screen.urlField.setText(bad)
            screen.addUrl.performClick()
            assertEquals(bad, View.VISIBLE, screen.urlError.visibility)
            assertEquals(bad, message, screen.urlError.text.toString())
        }
        assertEquals(emptyList<String>(), world.actions.addedUrls)

        val url = "https://easylist.to/easylist/easyprivacy.txt"
        screen.urlField.setText(url)
        screen.addUrl.performClick()
        assertEquals(listOf(url), world.actions.addedUrls)
        assertEquals(View.GONE, screen.urlError.visibility)
        assertEquals("", screen.urlField.text.toString())
        val texts = UiTest.texts(screen.subscriptionList)
        assertEquals("Waiting for its first download", texts[texts.indexOf(url) + 1])

        screen.urlField.setText(SampleData.subscriptions[0].url)
        screen.addUrl.performClick()
        assertEquals("This list is already added", screen.urlError.text.toString())
        assertEquals(1, world.actions.addedUrls.size)
    }

    @Test
    fun aFailingCatalogueShowsTheMessageAndChangesNothing() {
        val world = SampleData.World()
        world.lists.failure = "the lists folder cannot be read"
        val screen = lists(world)
        assertEquals(View.VISIBLE, screen.error.visibility)
        assertEquals("Could not read the lists: the lists folder cannot be read", screen.error.text.toString())
        world.lists.failure = null
        screen.presenter.load()
        world.lists.failure = "disk full"
        switches(screen.builtinList)[0].performClick()
        assertEquals("Could not change the lists: disk full", screen.error.text.toString())
        assertEquals(0, world.lists.applied)
    }
}
