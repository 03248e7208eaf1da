package org.hush.android.apps

import org.hush.android.core.Network
import org.hush.android.core.NativeStore
import org.hush.android.data.AppModeRule
import org.hush.android.data.DomainAction
import org.hush.android.data.InstalledPackage
import org.hush.android.data.StoredApp
import org.hush.android.policy.AppMode
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test
import java.io.File
import java.nio.file.Files

/**
 * New and removed apps on the real store (the host build of the JNI library, a real
 * SQLite file): rules keyed by package and UID, what a removal takes, the reconcile at
 * the firewall's start, the apps' records, and the time of a new-app action (tap ->
 * rule stored -> rules-changed path called). Plain JVM.
 */
class NativeAppsTest {
    private val dir = Files.createTempDirectory("hush-apps").toFile()
    private val store = NativeStore(File(dir, "hush.db").path)
    private val lookup = FakeLookup(listOf(
        InstalledApp(GAME, "Game", GAME_UID, false),
        InstalledApp(PHONE, "Phone", SYSTEM_UID, true),
        InstalledApp(SETTINGS, "Settings", SYSTEM_UID, true),
    ))
    private val alerts = RecordingAlerts()
    private var rulesChanged = 0
    private val changes = AppChanges(store, lookup, { null }, alerts, { rulesChanged++ })

    @After
    fun cleanUp() {
        dir.deleteRecursively()
    }

    @Test
    fun anActionStoresTheModeByPackageOnTheRealStore() {
        assertEquals(ActionOutcome.Applied("Game", NewAppChoice.BLOCK_ALL), changes.act(GAME_UID, GAME, "Game", NewAppChoice.BLOCK_ALL))
        assertEquals(listOf(AppModeRule(GAME_UID, Network.ANY, AppMode.BLOCK_ALL)), store.appModes())
        assertEquals(1, rulesChanged)
        changes.act(GAME_UID, GAME, "Game", NewAppChoice.KEEP_DEFAULT)
        assertTrue(store.appModes().isEmpty())
        // Gone: nothing stored.
        lookup.apps = lookup.apps.filter { it.packageName != GAME }
        assertEquals(ActionOutcome.Gone("Game"), changes.act(GAME_UID, GAME, "Game", NewAppChoice.ALLOW))
        assertTrue(store.appModes().isEmpty())
        assertEquals(2, rulesChanged)
        // The store refuses a package that cannot be one, with its words.
        try {
            store.setAppModeForPackage(GAME_UID, "not a package", Network.ANY, AppMode.ALLOW_ALL)
            fail("refused")
        } catch (e: IllegalArgumentException) {
            assertTrue(e.message, e.message!!.contains("not a package name"))
        }
    }

    @Test
    fun keepDefaultForOnePackageOfASharedUidLeavesTheModeTheOwnerSetForTheUid() {
        // The owner set UID 1000's mode (Phone and Settings share it) on the Apps screen.
        store.setAppMode(SYSTEM_UID, Network.ANY, AppMode.BLOCK_ALL)
        // A new package joins the shared UID, with "New apps start as: Allow all" set.
        lookup.apps = lookup.apps + InstalledApp(PLUGIN, "Plugin", SYSTEM_UID, true)
        val allowNew = AppChanges(store, lookup, { AppMode.ALLOW_ALL }, alerts, { rulesChanged++ })
        allowNew.installed(PLUGIN, SYSTEM_UID)
        assertEquals("the new-app mode does not overwrite the UID's", listOf(AppModeRule(SYSTEM_UID, Network.ANY, AppMode.BLOCK_ALL)), store.appModes())

        assertEquals(ActionOutcome.Applied("Plugin", NewAppChoice.KEEP_DEFAULT, shared = true),
            changes.act(SYSTEM_UID, PLUGIN, "Plugin", NewAppChoice.KEEP_DEFAULT))
        assertEquals("Keep default for the plugin leaves Phone's and Settings' mode", listOf(AppModeRule(SYSTEM_UID, Network.ANY, AppMode.BLOCK_ALL)), store.appModes())

        // Block all from a shared UID's notification is the UID's: it stays when the plugin leaves.
        changes.act(SYSTEM_UID, PLUGIN, "Plugin", NewAppChoice.ALLOW)
        lookup.apps = lookup.apps.filter { it.packageName != PLUGIN }
        changes.removed(PLUGIN, SYSTEM_UID)
        assertEquals(listOf(AppModeRule(SYSTEM_UID, Network.ANY, AppMode.ALLOW_ALL)), store.appModes())

        // An app alone on its UID: Keep default takes its mode away, as before.
        store.setAppModeForPackage(GAME_UID, GAME, Network.ANY, AppMode.BLOCK_ALL)
        assertEquals(ActionOutcome.Applied("Game", NewAppChoice.KEEP_DEFAULT), changes.act(GAME_UID, GAME, "Game", NewAppChoice.KEEP_DEFAULT))
        assertEquals(listOf(AppModeRule(SYSTEM_UID, Network.ANY, AppMode.ALLOW_ALL)), store.appModes())
    }

    @Test
    fun aRemovedPackageTakesItsRulesAndASharedUidKeepsTheOthers() {
        store.setAppModeForPackage(SYSTEM_UID, PHONE, Network.WIFI, AppMode.BLOCK_ALL)
        store.setAppModeForPackage(SYSTEM_UID, SETTINGS, Network.MOBILE, AppMode.ALLOW_ALL)
        store.addDomainRuleForPackage(SYSTEM_UID, PHONE, "ads.example.com", DomainAction.BLOCK)
        store.addDomainRule(null, "tracker.example.com", DomainAction.BLOCK)
        store.setAppModeForPackage(GAME_UID, GAME, Network.ANY, AppMode.BLOCK_ALL)
        store.addDomainRule(GAME_UID, "cdn.example.com", DomainAction.ALLOW) // made without a package

        // Phone leaves UID 1000; Settings stays there.
        lookup.apps = lookup.apps.filter { it.packageName != PHONE }
        assertEquals(2L, changes.removed(PHONE, SYSTEM_UID))
        assertEquals(setOf(AppModeRule(SYSTEM_UID, Network.MOBILE, AppMode.ALLOW_ALL), AppModeRule(GAME_UID, Network.ANY, AppMode.BLOCK_ALL)),
            store.appModes().toSet())
        assertEquals(1, rulesChanged)

        // The game goes and nothing is left on its UID: even the rule made without a package goes.
        lookup.apps = lookup.apps.filter { it.packageName != GAME }
        assertEquals(2L, changes.removed(GAME, GAME_UID))
        assertEquals(listOf(AppModeRule(SYSTEM_UID, Network.MOBILE, AppMode.ALLOW_ALL)), store.appModes())
        assertEquals("rules for every app stay", listOf("tracker.example.com"), store.domainRules().map { it.domain })
        assertEquals(2, rulesChanged)
        // Removed again (the manifest and the runtime receiver both heard it): nothing more, no reload.
        assertEquals(0L, changes.removed(GAME, GAME_UID))
        assertEquals(2, rulesChanged)
        assertEquals(listOf("cancel $PHONE", "cancel $GAME", "cancel $GAME"), alerts.shown)
    }

    @Test
    fun atStartTheStoreIsReconciledWithTheInstalledAppsAndRecordsThem() {
        store.setAppModeForPackage(GAME_UID, GAME, Network.ANY, AppMode.BLOCK_ALL)
        // Removed while Hush was off, its UID handed to a new app: the new app must not inherit.
        store.setAppModeForPackage(NEW_UID, "com.example.old", Network.ANY, AppMode.ALLOW_ALL)
        store.addDomainRuleForPackage(NEW_UID, "com.example.old", "cdn.example.com", DomainAction.ALLOW)
        lookup.apps = lookup.apps + InstalledApp("com.example.new", "New", NEW_UID, false)

        assertEquals(2L, changes.reconcile())
        assertEquals(listOf(AppModeRule(GAME_UID, Network.ANY, AppMode.BLOCK_ALL)), store.appModes())
        assertTrue(store.domainRules().isEmpty())
        assertEquals(1, rulesChanged)
        assertEquals(listOf(
            StoredApp(SYSTEM_UID, "Android System", listOf(PHONE, SETTINGS), true),
            StoredApp(GAME_UID, "Game", listOf(GAME), false),
            StoredApp(NEW_UID, "New", listOf("com.example.new"), false),
        ), store.storedApps())

        // Nothing changed since: nothing goes, no reload.
        assertEquals(0L, changes.reconcile())
        assertEquals(1, rulesChanged)

        // A package manager that lists no app is not believed: nothing checked, nothing dropped.
        lookup.apps = emptyList()
        assertNull(changes.reconcile())
        assertEquals(1, store.appModes().size)
        try {
            store.reconcileApps(emptyList())
            fail("an empty list is refused")
        } catch (e: IllegalArgumentException) {
            assertTrue(e.message, e.message!!.contains("empty"))
        }
        assertEquals(1, store.appModes().size)
        assertEquals(0L, store.reconcileApps(listOf(InstalledPackage(GAME_UID, GAME))))
    }

    @Test
    fun forgettingAUidThatWasNeverThereIsNotAnError() {
        assertEquals(0L, store.forgetApp(12345, null))
        assertEquals(0L, store.forgetApp(12345, "com.example.never"))
        try {
            store.forgetApp(-5, null)
            fail("a negative uid is no app")
        } catch (e: IllegalArgumentException) {
            assertTrue(e.message, e.message!!.contains("uid"))
        }
    }

    /** A tap on a new-app action: the rule stored by package on the real store, then the rules-changed path. */
    @Test
    fun aNewAppActionTakesUnder100Ms() {
        val choices = listOf(NewAppChoice.BLOCK_ALL, NewAppChoice.ALLOW, NewAppChoice.KEEP_DEFAULT)
        repeat(20) { changes.act(GAME_UID, GAME, "Game", choices[it % 3]) } // warm up
        val nanos = LongArray(ROUNDS)
        for (i in 0 until ROUNDS) {
            val before = rulesChanged
            val t0 = System.nanoTime()
            val outcome = changes.act(GAME_UID, GAME, "Game", choices[i % 3])
            nanos[i] = System.nanoTime() - t0
            check(outcome is ActionOutcome.Applied && rulesChanged == before + 1) { "round $i: $outcome" }
        }
        nanos.sort()
        val ms = { n: Long -> String.format(java.util.Locale.US, "%.2f", n / 1e6) }
        println("new-app action, tap -> mode stored by package -> rules-changed (n=$ROUNDS): " +
            "median ${ms(nanos[ROUNDS / 2])} ms, p95 ${ms(nanos[ROUNDS * 95 / 100])} ms, max ${ms(nanos[ROUNDS - 1])} ms")
        assertTrue("median ${ms(nanos[ROUNDS / 2])} ms", nanos[ROUNDS / 2] < 100_000_000L)
    }


    /** The unknown owner on the real store: its own row in Apps, its own hosts and days in its detail. */
    @Test
    fun theUnknownOwnerHasARowAndADetailPageOnTheRealStore() {
        val database = File(dir, "hush.db").path
        val now = System.currentTimeMillis()
        val events = org.json.JSONArray()
        fun event(t: Long, uid: Int?, host: String, action: String) = events.put(org.json.JSONObject()
            .put("timeMs", t).put("uid", uid ?: org.json.JSONObject.NULL).put("host", host).put("action", action)
            .put("list", org.json.JSONObject.NULL))
        event(now - 60_000, null, "ownerless.example.com", "blocked")
        event(now - 120_000, null, "ownerless.example.com", "blocked")
        event(now - 3 * 86_400_000L, null, "old.example.com", "allowed")
        event(now - 60_000, GAME_UID, "game.example.com", "blocked")
        assertEquals(4L, org.hush.android.core.HostStore.recordEvents(database, events.toString()))
        val deps = org.hush.android.ui.UiDeps(
            store = store, apps = org.hush.android.ui.FakeApps(lookup.apps), firewall = org.hush.android.ui.FakeFirewall(),
            actions = org.hush.android.ui.FakeActions(), settings = org.hush.android.ui.FakeSettings(),
            io = kotlinx.coroutines.Dispatchers.Unconfined, main = kotlinx.coroutines.Dispatchers.Unconfined,
            clock = object : org.hush.android.ui.Clock { override fun nowMs() = now }, timeZone = java.util.TimeZone.getTimeZone("UTC"),
        )
        val apps = org.hush.android.ui.AppsPresenter(deps, org.hush.android.ui.XmlStrings).apply { attach { }; load() }
        val unknown = apps.state.all.single { it.uid == null }
        assertEquals(org.hush.android.ui.XmlStrings.get(org.hush.android.R.string.apps_unknown_owner), unknown.label)
        assertEquals(2L, unknown.blocked)
        assertEquals(1L, apps.state.all.single { it.uid == GAME_UID }.blocked)
        assertEquals("Android System", apps.state.all.single { it.uid == SYSTEM_UID }.label)

        val detail = org.hush.android.ui.AppDetailPresenter(deps, null, "Unknown owner", org.hush.android.ui.XmlStrings).apply { attach { }; load() }
        val s = detail.state
        assertNull(s.error)
        assertEquals(listOf("ownerless.example.com", "old.example.com"), s.hosts.map { it.host })
        assertEquals(2L, s.blocked)
        assertEquals(1L, s.allowed)
        assertEquals("its own days, not every app's", 3L, s.days.sumOf { it.blocked + it.allowed + it.failed })
    }

    companion object {
        const val GAME = "com.example.game"
        const val PHONE = "com.android.phone"
        const val SETTINGS = "com.android.settings"
        const val PLUGIN = "com.android.phone.plugin"
        const val GAME_UID = 10300
        const val NEW_UID = 10310
        const val SYSTEM_UID = 1000
        const val ROUNDS = 200
    }
}
