package org.hush.android.ui

import android.view.View
import org.hush.android.data.DomainAction
import org.hush.android.data.DomainRule
import org.junit.After
import org.junit.Assert.assertEquals
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

    @Test
    fun listsWithTheirEntryCountsAndLastUpdate() {
        val screen = lists(SampleData.World())
        val texts = UiTest.texts(screen.sourcesList)
        val i = texts.indexOf("easyprivacy")
        assertEquals("https://v.firebog.net/hosts/Easyprivacy.txt · 41,870 entries · updated 2026-11-27 13:30", texts[i + 1])
        val b = texts.indexOf("hush-default")
        assertEquals("Built in · 1,328 entries · updated 2026-11-28 13:30", texts[b + 1])
        val s = texts.indexOf("stevenblack")
        assertTrue(texts[s + 1], texts[s + 1].endsWith("0 entries · never updated · disabled"))
        val rules = UiTest.texts(screen.rulesList)
        assertEquals(listOf("ads.tiktok.com", "Block · every app", "Remove", "cdn.jsdelivr.net", "Allow · every app", "Remove",
            "tracking.miui.com", "Block · every app", "Remove"), rules)
    }

    @Test
    fun aListWhoseUpdateFailedSaysWhy() {
        val world = SampleData.World()
        world.store.sources = world.store.sources.map {
            if (it.name == "easyprivacy") it.copy(problem = "v.firebog.net answered HTTP 404 Not Found") else it
        }
        val texts = UiTest.texts(lists(world).sourcesList)
        val i = texts.indexOf("easyprivacy")
        assertEquals("v.firebog.net answered HTTP 404 Not Found", texts[i + 2])
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
        val texts = UiTest.texts(screen.sourcesList)
        assertEquals("Waiting for the next update", texts[texts.indexOf(url) + 1])

        screen.urlField.setText(SampleData.sources[2].origin)
        screen.addUrl.performClick()
        assertEquals("This list is already added", screen.urlError.text.toString())
        assertEquals(1, world.actions.addedUrls.size)
    }

    @Test
    fun domainRulesAreAddedAndRemovedThenTheRulesReload() {
        val world = SampleData.World()
        val screen = lists(world)
        screen.domainField.setText(" Data.Mistat.Xiaomi.COM. ")
        screen.addRule.performClick()
        UiTest.idle()
        assertEquals(Triple(null, "Data.Mistat.Xiaomi.COM.", DomainAction.BLOCK), world.store.addRuleCalls.single())
        assertEquals(1, world.actions.rulesChanged)
        assertTrue(UiTest.texts(screen.rulesList).contains("data.mistat.xiaomi.com"))
        assertEquals("", screen.domainField.text.toString())

        screen.allowChoice.performClick()
        screen.domainField.setText("api.sec.miui.com")
        screen.addRule.performClick()
        assertEquals(DomainRule(null, "api.sec.miui.com", DomainAction.ALLOW), world.store.rules.last())

        UiTest.click(screen.rulesList.getChildAt(screen.presenter.state.rules.indexOfFirst { it.domain == "ads.tiktok.com" }), "Remove")
        assertEquals(listOf(null to "ads.tiktok.com"), world.store.removeRuleCalls)
        assertEquals(3, world.actions.rulesChanged)
        assertTrue(UiTest.texts(screen.rulesList).none { it == "ads.tiktok.com" })
    }

    @Test
    fun anInvalidDomainShowsTheStoresMessageInline() {
        val world = SampleData.World()
        val screen = lists(world)
        screen.domainField.setText("bad..name")
        screen.addRule.performClick()
        assertEquals(View.VISIBLE, screen.ruleError.visibility)
        assertEquals("'bad..name' is not a valid domain name", screen.ruleError.text.toString())
        assertEquals(View.GONE, screen.error.visibility)
        assertEquals(0, world.actions.rulesChanged)
        assertEquals("bad..name", screen.domainField.text.toString())
    }

    @Test
    fun aFailingStoreShowsTheMessage() {
        val world = SampleData.World()
        world.store.failure = "unable to open database file"
        val screen = lists(world)
        assertEquals(View.VISIBLE, screen.error.visibility)
        assertEquals("Could not read the lists: unable to open database file", screen.error.text.toString())
        screen.domainField.setText("tracking.miui.com")
        screen.addRule.performClick()
        assertEquals("Could not add the rule: unable to open database file", screen.error.text.toString())
        assertEquals(0, world.actions.rulesChanged)
    }
}
