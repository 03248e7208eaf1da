package org.hush.android.ui

import android.os.Looper
import android.view.View
import android.view.ViewGroup
import org.hush.android.data.DomainAction
import org.hush.android.data.DomainRule
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config
import java.time.Duration

@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35], qualifiers = "w360dp-h780dp-xhdpi")
class RulesScreenTest {
    @After
    fun reset() { HushUi.deps = null }

    private fun rules(world: SampleData.World): Pair<MainActivity, RulesScreen> {
        val activity = UiTest.launch(world, MainActivity.Tab.LISTS).get()
        val lists = activity.screen(MainActivity.Tab.LISTS) as ListsScreen
        lists.manageRules.performClick()
        UiTest.idle()
        return activity to activity.pushed as RulesScreen
    }

    private fun row(screen: RulesScreen, i: Int): View = screen.adapter.getView(i, null, screen.list)

    private fun world() = SampleData.World().apply {
        store.rules.add(DomainRule(SampleData.TIKTOK, "log.tiktokv.com", DomainAction.BLOCK, "com.zhiliaoapp.musically"))
        store.rules.add(DomainRule(SampleData.UNINSTALLED, "app.adjust.com", DomainAction.ALLOW, "com.gone.game"))
    }

    @Test
    fun everyRuleWithItsAppDomainAndActionInWords() {
        val (activity, screen) = rules(world())
        val s = screen.presenter.state
        assertEquals(5L, s.total)
        assertEquals(listOf("cdn.jsdelivr.net", "ads.tiktok.com", "tracking.miui.com").sorted(), s.rules.take(3).map { it.domain }.sorted())
        val texts = (0 until s.rules.size).map { UiTest.texts(row(screen, it)) }
        assertTrue(texts.toString(), texts.contains(listOf("log.tiktokv.com", "Blocked · for TikTok", "Remove")))
        assertTrue(texts.toString(), texts.contains(listOf("app.adjust.com", "Allowed · for UID 10123 (app removed)", "Remove")))
        assertTrue(texts.toString(), texts.contains(listOf("cdn.jsdelivr.net", "Allowed · for every app", "Remove")))
        UiTest.assertShows(screen.view, "5 rules")
        // Blocked and allowed: a word and an icon each, not colour alone.
        val details = (0 until s.rules.size).map { (row(screen, it).tag as RulesScreen.Holder).detail }
        assertTrue(details.all { it.compoundDrawablesRelative[0] != null })
        val blocked = details.first { it.text.startsWith("Blocked") }.compoundDrawablesRelative[0]
        val allowed = details.first { it.text.startsWith("Allowed") }.compoundDrawablesRelative[0]
        assertTrue(blocked !== allowed)
        screen.back.performClick()
        assertEquals(null, activity.pushed)
        assertEquals(MainActivity.Tab.LISTS, activity.tab)
    }

    @Test
    fun theSearchKeepsTheRulesWhoseDomainContainsIt() {
        val world = world()
        val (_, screen) = rules(world)
        screen.search.setText("TikTok")
        shadowOf(Looper.getMainLooper()).idleFor(Duration.ofMillis(RulesScreen.TYPING_MS + 50))
        assertEquals(listOf("ads.tiktok.com", "log.tiktokv.com"), screen.presenter.state.rules.map { it.domain })
        UiTest.assertShows(screen.view, "2 rules")
        screen.search.setText("nothing-like-it")
        shadowOf(Looper.getMainLooper()).idleFor(Duration.ofMillis(RulesScreen.TYPING_MS + 50))
        UiTest.assertShows(screen.view, "No rule's domain contains \"nothing-like-it\"")
    }

    @Test
    fun removeTakesTheRuleAwayAndUndoPutsItBack() {
        val world = world()
        val (activity, screen) = rules(world)
        val i = screen.presenter.state.rules.indexOfFirst { it.domain == "log.tiktokv.com" }
        val remove = UiTest.find(row(screen, i), "Remove")
        assertEquals("Remove the rule: blocked log.tiktokv.com for TikTok", remove.contentDescription.toString())
        assertTrue(remove.minHeight >= (48 * activity.resources.displayMetrics.density).toInt())
        remove.performClick()
        UiTest.idle()
        assertFalse(world.store.rules.any { it.domain == "log.tiktokv.com" })
        assertFalse(screen.presenter.state.rules.any { it.domain == "log.tiktokv.com" })
        assertEquals(4L, screen.presenter.state.total)
        assertEquals(1, world.actions.rulesChanged)
        assertEquals("Rule removed: blocked log.tiktokv.com for TikTok", activity.undoBar.message.text.toString())

        activity.undoBar.undo.performClick()
        UiTest.idle()
        assertTrue(world.store.rules.contains(DomainRule(SampleData.TIKTOK, "log.tiktokv.com", DomainAction.BLOCK, "com.zhiliaoapp.musically")))
        assertTrue("the screen shows it again", screen.presenter.state.rules.any { it.domain == "log.tiktokv.com" })
        assertEquals(2, world.actions.rulesChanged)
    }

    @Test
    fun aRemovalTheStoreRefusesSaysSoAndKeepsTheRule() {
        val world = world()
        val (activity, screen) = rules(world)
        world.store.failure = "database is locked"
        UiTest.find(row(screen, 0), "Remove").performClick()
        UiTest.idle()
        assertEquals("Could not remove the rule: database is locked", screen.error.text.toString())
        assertEquals(5, world.store.rules.size)
        assertEquals(5, screen.presenter.state.rules.size)
        assertEquals(View.GONE, activity.undoBar.view.visibility)
        assertEquals(0, world.actions.rulesChanged)
    }

    @Test
    fun manyRulesArePaged() {
        val world = SampleData.World()
        for (i in 0 until 250) world.store.rules.add(DomainRule(null, "t$i.example.org", DomainAction.BLOCK))
        val (_, screen) = rules(world)
        assertEquals(RulesPresenter.PAGE, screen.presenter.state.rules.size)
        assertEquals(253L, screen.presenter.state.total)
        while (!screen.presenter.state.endReached) {
            screen.presenter.loadMore()
            UiTest.idle()
        }
        assertEquals(253, screen.presenter.state.rules.size)
        assertEquals(253, screen.presenter.state.rules.map { it.uid to it.domain }.toSet().size)
        assertTrue((screen.view as ViewGroup).childCount > 0)
    }
}
