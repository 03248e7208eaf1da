package org.hush.android.ui

import kotlinx.coroutines.Dispatchers
import org.hush.android.R
import org.hush.android.apps.InstalledApp
import org.hush.android.core.NativeStore
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test
import java.io.File
import java.nio.file.Files
import java.util.TimeZone

/**
 * "Only addresses Hush resolved" from Settings and App detail on the real store (the
 * host build of the JNI library and a real SQLite file). Plain JVM, as the other
 * native tests: the presenters run on Dispatchers.Unconfined.
 */
class NativeResolvedOnlyTest {
    private val dir = Files.createTempDirectory("hush-resolved-only").toFile()
    private val database = File(dir, "hush.db").path

    @After
    fun cleanUp() {
        dir.deleteRecursively()
    }

    private fun detailDeps(actions: FakeActions, store: org.hush.android.data.HushStore) = UiDeps(
        store = store,
        apps = FakeApps(listOf(InstalledApp("com.example.game", "Game", GAME, false))),
        firewall = FakeFirewall(), actions = actions, settings = FakeSettings(),
        io = Dispatchers.Unconfined, main = Dispatchers.Unconfined,
        clock = object : Clock { override fun nowMs() = 1_700_000_000_000 }, timeZone = TimeZone.getTimeZone("UTC"),
    )

    @Test
    fun resolvedOnlyForEveryAppOnTheRealStore() {
        val actions = FakeActions()
        val deps = UiDeps(
            store = NativeStore(database), apps = FakeApps(emptyList()), firewall = FakeFirewall(), actions = actions,
            settings = FakeSettings(), io = Dispatchers.Unconfined, main = Dispatchers.Unconfined,
        )
        val presenter = SettingsPresenter(deps, XmlStrings).apply { attach { }; load() }
        assertEquals(false, presenter.state.resolvedOnlyDefault)
        presenter.setResolvedOnlyDefault(true)
        assertTrue(NativeStore(database).resolvedOnly().default)
        assertEquals(1, actions.rulesChanged)
        presenter.load()
        assertEquals(true, presenter.state.resolvedOnlyDefault)
    }


    @Test
    fun appDetailsOwnChoiceIsStoredByPackageOnTheRealStoreReloadedAndUndone() {
        val actions = FakeActions()
        val store = NativeStore(database)
        val presenter = AppDetailPresenter(detailDeps(actions, store), GAME, "Game", XmlStrings).apply { attach { }; load() }
        assertNull(presenter.state.resolvedOnly)
        assertEquals(false, presenter.state.resolvedOnlyDefault)

        presenter.setResolvedOnly(true)
        assertEquals(mapOf(GAME to true), store.resolvedOnly().apps)
        assertEquals(1, actions.rulesChanged)
        assertEquals(XmlStrings.get(R.string.detail_resolved_only_saved, XmlStrings.get(R.string.detail_resolved_only_on)), presenter.state.message)
        // Stored with the package: it goes when the package leaves the UID.
        assertEquals(ResolvedOnlyChange(null, true), presenter.state.resolvedOnlyUndo)

        presenter.setResolvedOnly(false)
        assertEquals(mapOf(GAME to false), store.resolvedOnly().apps)
        presenter.undoResolvedOnly()
        assertEquals(mapOf(GAME to true), store.resolvedOnly().apps)
        assertEquals(3, actions.rulesChanged)
        assertNull("an undo is not undone again", presenter.state.resolvedOnlyUndo)

        presenter.setResolvedOnly(null)
        assertTrue(store.resolvedOnly().apps.isEmpty())
        presenter.load()
        assertNull(presenter.state.resolvedOnly)

        presenter.setResolvedOnly(true)
        store.forgetApp(GAME, "com.example.game")
        assertTrue("made for the package, forgotten with it", store.resolvedOnly().apps.isEmpty())
    }

    @Test
    fun aSharedUidsChoiceIsTheUidsAndStaysWhenOneOfItsAppsLeaves() {
        val store = NativeStore(database)
        val deps = UiDeps(
            store = store,
            apps = FakeApps(listOf(
                InstalledApp("com.android.phone", "Phone", SYSTEM, true),
                InstalledApp("com.android.settings", "Settings", SYSTEM, true),
            )),
            firewall = FakeFirewall(), actions = FakeActions(), settings = FakeSettings(),
            io = Dispatchers.Unconfined, main = Dispatchers.Unconfined,
            clock = object : Clock { override fun nowMs() = 1_700_000_000_000 }, timeZone = TimeZone.getTimeZone("UTC"),
        )
        val presenter = AppDetailPresenter(deps, SYSTEM, "Android System", XmlStrings).apply { attach { }; load() }
        presenter.setResolvedOnly(true)
        assertEquals(mapOf(SYSTEM to true), store.resolvedOnly().apps)
        // Phone (the first by label) leaves UID 1000: Settings keeps the choice made for the UID.
        store.forgetApp(SYSTEM, "com.android.phone")
        assertEquals(mapOf(SYSTEM to true), store.resolvedOnly().apps)
    }

    companion object {
        const val GAME = 10_123
        const val SYSTEM = 1000
    }
}
