package org.hush.android.ui

import android.view.View
import android.widget.TextView
import org.hush.android.data.DomainAction
import org.hush.android.data.DomainRule
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.annotation.Config

/** The host actions sheet: each action, undo, and what it refuses. */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35], qualifiers = "w360dp-h780dp-xhdpi")
class HostSheetTest {
    @After
    fun reset() { HushUi.deps = null }

    private val miBrowser = AppRef(SampleData.MI_BROWSER, "Mi Browser")

    private fun open(world: SampleData.World, target: HostTarget): Pair<MainActivity, HostSheet> {
        val activity = UiTest.launch(world, MainActivity.Tab.ACTIVITY).get()
        activity.openHostActions(target)
        UiTest.idle()
        return activity to activity.sheet!!
    }

    private fun actionLabels(sheet: HostSheet): List<String> =
        (0 until sheet.actions.childCount).map { (sheet.actions.getChildAt(it) as TextView).text.toString() }

    private fun rule(world: SampleData.World, uid: Int?, domain: String) = world.store.rules.firstOrNull { it.uid == uid && it.domain == domain }

    @Test
    fun blockForThisAppStoresTheRuleWithItsPackageAndUndoRemovesIt() {
        val world = SampleData.World()
        val (activity, sheet) = open(world, HostTarget("api.sec.miui.com", miBrowser))
        assertEquals("Your rules for api.sec.miui.com: no rule for Mi Browser · no rule for every app", sheet.current.text.toString())
        assertEquals(listOf("Block for Mi Browser", "Allow for Mi Browser", "Block for every app", "Allow for every app"), actionLabels(sheet))
        // Block and allow are told apart by an icon as well as the word, not by colour.
        for (i in 0 until sheet.actions.childCount) {
            assertNotNull("an icon before ${actionLabels(sheet)[i]}", (sheet.actions.getChildAt(i) as TextView).compoundDrawablesRelative[0])
        }

        UiTest.click(sheet.actions, "Block for Mi Browser")
        assertEquals(DomainRule(SampleData.MI_BROWSER, "api.sec.miui.com", DomainAction.BLOCK, "com.mi.globalbrowser"),
            rule(world, SampleData.MI_BROWSER, "api.sec.miui.com"))
        assertEquals("the running session is told", 1, world.actions.rulesChanged)
        assertFalse("the sheet closes", sheet.dialog.isShowing)
        val bar = activity.undoBar
        assertEquals(View.VISIBLE, bar.view.visibility)
        assertEquals("Blocked api.sec.miui.com for Mi Browser", bar.message.text.toString())

        bar.undo.performClick()
        UiTest.idle()
        assertNull(rule(world, SampleData.MI_BROWSER, "api.sec.miui.com"))
        assertEquals(2, world.actions.rulesChanged)
        assertEquals("Undone", bar.message.text.toString())
        assertEquals(View.GONE, bar.undo.visibility)
    }

    @Test
    fun allowForEveryAppReplacesItsBlockAndUndoPutsTheBlockBack() {
        val world = SampleData.World()
        val (activity, sheet) = open(world, HostTarget("tracking.miui.com", miBrowser))
        UiTest.assertShows(sheet.current, "blocked for every app")
        assertEquals(listOf("Block for Mi Browser", "Allow for Mi Browser", "Allow for every app", "Remove the rule for every app"), actionLabels(sheet))
        UiTest.click(sheet.actions, "Allow for every app")
        assertEquals(DomainAction.ALLOW, rule(world, null, "tracking.miui.com")?.action)
        assertEquals("Allowed tracking.miui.com for every app", activity.undoBar.message.text.toString())
        activity.undoBar.undo.performClick()
        UiTest.idle()
        assertEquals(DomainRule(null, "tracking.miui.com", DomainAction.BLOCK), rule(world, null, "tracking.miui.com"))
    }

    @Test
    fun removingAnAppsRuleAndUndoingItMakesItAgainForItsPackage() {
        val world = SampleData.World()
        val mine = DomainRule(SampleData.TIKTOK, "ads.tiktok.com", DomainAction.ALLOW, "com.zhiliaoapp.musically")
        world.store.rules.add(mine)
        val (activity, sheet) = open(world, HostTarget("ADS.tiktok.com", AppRef(SampleData.TIKTOK, "TikTok")))
        UiTest.assertShows(sheet.current, "allowed for TikTok")
        UiTest.click(sheet.actions, "Remove the rule for TikTok")
        assertNull(rule(world, SampleData.TIKTOK, "ads.tiktok.com"))
        assertEquals("the rule for every app stays", DomainAction.BLOCK, rule(world, null, "ads.tiktok.com")?.action)
        assertEquals("Rule removed: ads.tiktok.com for TikTok", activity.undoBar.message.text.toString())
        activity.undoBar.undo.performClick()
        UiTest.idle()
        assertEquals(mine, rule(world, SampleData.TIKTOK, "ads.tiktok.com"))
    }

    @Test
    fun anAddressOrABareAttemptCannotHaveADomainRule() {
        for ((host, says) in listOf(
            "198.18.0.53" to "198.18.0.53 is an address, not a domain name: Hush cannot make a domain rule for it.",
            "2001:db8::1" to "2001:db8::1 is an address, not a domain name",
            "" to "a bare address, with no host name: Hush cannot make a domain rule",
        )) {
            val world = SampleData.World()
            val (_, sheet) = open(world, HostTarget(host, miBrowser))
            UiTest.assertShows(sheet.problem, says)
            assertEquals(host, 0, sheet.actions.childCount)
            assertTrue(world.store.addRuleCalls.isEmpty())
            sheet.dialog.dismiss()
        }
        // A name the core's rules refuse: the store's reason, no actions.
        val world = SampleData.World()
        val (_, sheet) = open(world, HostTarget("bad..name", miBrowser))
        UiTest.assertShows(sheet.problem, "Hush cannot make a domain rule for this host: 'bad..name' is not a valid domain name")
        assertEquals(0, sheet.actions.childCount)
    }

    @Test
    fun anUnknownOwnerOrARemovedAppGetsRulesForEveryAppOnly() {
        val world = SampleData.World()
        val (_, unknown) = open(world, HostTarget("app.adjust.com", AppRef(null, "Unknown app")))
        UiTest.assertShows(unknown.problem, "The app that made these attempts is not known: rules can be made for every app only.")
        assertEquals(listOf("Block for every app", "Allow for every app"), actionLabels(unknown))
        unknown.dialog.dismiss()

        val (_, removed) = open(world, HostTarget("app.adjust.com", AppRef(SampleData.UNINSTALLED, "UID 10123")))
        UiTest.assertShows(removed.problem, "UID 10123 is no longer installed: a rule for it could pass to the next app given UID 10123")
        assertEquals(listOf("Block for every app", "Allow for every app"), actionLabels(removed))
        removed.dialog.dismiss()

        // A system UID has no package and keeps its number: its own rule, made without one.
        val (_, system) = open(world, HostTarget("time.android.com", AppRef(SampleData.SYSTEM_UID, "Android system")))
        UiTest.click(system.actions, "Block for Android system")
        assertEquals(DomainRule(SampleData.SYSTEM_UID, "time.android.com", DomainAction.BLOCK), rule(world, SampleData.SYSTEM_UID, "time.android.com"))

        // Across apps (Home's top hosts): no app to make a rule for, and nothing to explain.
        val (_, across) = open(world, HostTarget("app.adjust.com", null))
        assertEquals(View.GONE, across.problem.visibility)
        assertEquals(listOf("Block for every app", "Allow for every app"), actionLabels(across))
    }

    @Test
    fun anAppRemovedWhileTheSheetIsOpenGetsNoRule() {
        val world = SampleData.World()
        val (_, sheet) = open(world, HostTarget("api.sec.miui.com", miBrowser))
        world.apps.list = world.apps.list.filter { it.uid != SampleData.MI_BROWSER }
        UiTest.click(sheet.actions, "Block for Mi Browser")
        assertTrue(sheet.dialog.isShowing)
        assertEquals("Nothing was changed: Mi Browser is no longer installed: a rule for it could pass to the next app given UID " +
            "${SampleData.MI_BROWSER}, so rules can be made for every app only.", sheet.error.text.toString())
        assertNull(rule(world, SampleData.MI_BROWSER, "api.sec.miui.com"))
        assertEquals(0, world.actions.rulesChanged)
    }

    @Test
    fun aDatabaseUnavailableWhileTheSheetIsOpenIsSaidInTheSheetAndNothingChanges() {
        val world = SampleData.World()
        val (activity, sheet) = open(world, HostTarget("tracking.miui.com", miBrowser))
        val before = world.store.rules.toList()
        world.store.failure = "unable to open database file"
        UiTest.click(sheet.actions, "Allow for every app")
        assertTrue(sheet.dialog.isShowing)
        assertEquals(View.VISIBLE, sheet.error.visibility)
        assertEquals("Nothing was changed: unable to open database file", sheet.error.text.toString())
        assertEquals(before, world.store.rules)
        assertEquals(0, world.actions.rulesChanged)
        assertEquals(View.GONE, activity.undoBar.view.visibility)
        // The database back: the same sheet goes through.
        world.store.failure = null
        UiTest.click(sheet.actions, "Allow for every app")
        assertEquals(DomainAction.ALLOW, rule(world, null, "tracking.miui.com")?.action)

        // Unavailable when the sheet opens: it says so and offers nothing it cannot do.
        world.store.failure = "unable to open database file"
        val (_, broken) = open(world, HostTarget("tracking.miui.com", miBrowser))
        assertEquals("Could not read the rules for this host: unable to open database file", broken.error.text.toString())
        assertEquals(0, broken.actions.childCount)
    }

    @Test
    fun aDatabaseLostMidSheetLeavesEveryActionAsItWasAndReadyToRetry() {
        val world = SampleData.World()
        val mine = DomainRule(SampleData.MI_BROWSER, "tracking.miui.com", DomainAction.ALLOW, "com.mi.globalbrowser")
        world.store.rules.add(mine)
        val (activity, sheet) = open(world, HostTarget("tracking.miui.com", miBrowser))
        val before = world.store.rules.toList()
        val labels = actionLabels(sheet)
        world.store.failure = "unable to open database file"
        // Each kind of write: for the app (its package), for every app, a removal.
        for (label in listOf("Block for Mi Browser", "Allow for every app", "Remove the rule for Mi Browser")) {
            UiTest.click(sheet.actions, label)
            assertTrue(label, sheet.dialog.isShowing)
            assertEquals(label, "Nothing was changed: unable to open database file", sheet.error.text.toString())
            assertEquals(label, before, world.store.rules)
            assertEquals("the same actions, none left busy", labels, actionLabels(sheet))
            for (i in 0 until sheet.actions.childCount) assertTrue(label, sheet.actions.getChildAt(i).isEnabled)
        }
        assertEquals(0, world.actions.rulesChanged)
        assertEquals("no undo for what did not happen", View.GONE, activity.undoBar.view.visibility)
        // Closed while broken: still nothing changed, and no undo offered.
        sheet.dialog.dismiss()
        UiTest.idle()
        assertEquals(before, world.store.rules)
        assertEquals(View.GONE, activity.undoBar.view.visibility)
    }

    @Test
    fun anUndoThatFailsSaysSoAndKeepsTheChange() {
        val world = SampleData.World()
        val (activity, sheet) = open(world, HostTarget("api.sec.miui.com", miBrowser))
        UiTest.click(sheet.actions, "Allow for every app")
        world.store.failure = "database is locked"
        activity.undoBar.undo.performClick()
        UiTest.idle()
        assertEquals("Could not undo: database is locked", activity.undoBar.message.text.toString())
        world.store.failure = null
        assertEquals(DomainAction.ALLOW, rule(world, null, "api.sec.miui.com")?.action)
    }

    @Test
    fun everyActionIsATouchTargetOf48dpWithADescription() {
        val world = SampleData.World()
        val (activity, sheet) = open(world, HostTarget("tracking.miui.com", miBrowser))
        val min = (48 * activity.resources.displayMetrics.density).toInt()
        assertTrue(sheet.actions.childCount >= 4)
        for (i in 0 until sheet.actions.childCount) {
            val v = sheet.actions.getChildAt(i) as TextView
            assertTrue(v.text.toString(), v.minHeight >= min)
            assertTrue(v.text.toString(), v.contentDescription.toString().contains("tracking.miui.com"))
        }
        assertTrue(activity.undoBar.undo.minHeight >= min)
    }

    @Test
    fun tappingAHostInActivityOrHomeOpensTheSheet() {
        val world = SampleData.World()
        val activity = UiTest.launch(world, MainActivity.Tab.ACTIVITY).get()
        val screen = activity.screen(MainActivity.Tab.ACTIVITY) as ActivityScreen
        val e = screen.adapter.events[0]
        screen.list.performItemClick(screen.adapter.getView(0, null, screen.list), 0, 0)
        UiTest.idle()
        assertEquals(HostTarget(e.host, AppRef(e.uid, screen.presenter.label(e.uid))), activity.sheet!!.presenter.state.target)
        activity.sheet!!.dialog.dismiss()

        activity.select(MainActivity.Tab.HOME)
        UiTest.idle()
        val home = activity.screen(MainActivity.Tab.HOME) as HomeScreen
        val top = home.presenter.state.topHosts[0]
        UiTest.click(home.topHostsList, top.host)
        assertEquals(HostTarget(top.host, null), activity.sheet!!.presenter.state.target)
        assertTrue(activity.sheet!!.dialog.isShowing)
    }
}
