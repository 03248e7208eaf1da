package org.hush.android.ui

import kotlinx.coroutines.Dispatchers
import org.hush.android.R
import org.hush.android.apps.InstalledApp
import org.hush.android.core.NativeCore
import org.hush.android.core.NativeStore
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test
import java.io.File
import java.nio.file.Files
import java.util.TimeZone

/**
 * "Strict" from App detail on the real store (the host build of the JNI library and a
 * real SQLite file), beside "only addresses Hush resolved". Plain JVM, as the other
 * native tests: the presenter runs on Dispatchers.Unconfined.
 */
class NativeStrictTest {
    private val dir = Files.createTempDirectory("hush-strict").toFile()
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
    fun appDetailsStrictChoiceIsStoredByPackageOnTheRealStoreReloadedAndUndone() {
        val actions = FakeActions()
        val store = NativeStore(database)
        val presenter = AppDetailPresenter(detailDeps(actions, store), GAME, "Game", XmlStrings).apply { attach { }; load() }
        assertNull(presenter.state.strict)
        assertEquals(false, presenter.state.strictDefault)

        presenter.setStrict(true)
        assertEquals(mapOf(GAME to true), store.strict().apps)
        assertTrue("another option", store.resolvedOnly().apps.isEmpty())
        assertEquals(1, actions.rulesChanged)
        assertEquals(XmlStrings.get(R.string.detail_strict_saved, XmlStrings.get(R.string.detail_strict_on)), presenter.state.strictMessage)
        assertEquals(ResolvedOnlyChange(null, true), presenter.state.strictUndo)

        presenter.setStrict(false)
        assertEquals(mapOf(GAME to false), store.strict().apps)
        presenter.undoStrict()
        assertEquals(mapOf(GAME to true), store.strict().apps)
        assertEquals(3, actions.rulesChanged)
        assertNull("an undo is not undone again", presenter.state.strictUndo)

        presenter.setStrict(null)
        assertTrue(store.strict().apps.isEmpty())
        presenter.load()
        assertNull(presenter.state.strict)

        store.setStrictDefault(true)
        presenter.load()
        assertEquals(true, presenter.state.strictDefault)
        assertTrue(store.strict().isOn(GAME))

        presenter.setStrict(true)
        presenter.setResolvedOnly(true)
        assertEquals(2L, NativeCore.forgetApp(database, GAME, "com.example.game"))
        assertTrue("made for the package, forgotten with it", store.strict().apps.isEmpty())
        assertTrue(store.resolvedOnly().apps.isEmpty())
    }

    @Test
    fun badInputIsRefusedByTheCore() {
        val store = NativeStore(database)
        val refused = runCatching { store.setStrict(-1, null, true) }.exceptionOrNull()
        assertTrue("$refused", refused is IllegalArgumentException)
        assertFalse(store.clearStrict(GAME))
        store.setStrict(GAME, null, true)
        assertTrue(store.clearStrict(GAME))
        assertFalse(store.strict().default)
    }

    companion object {
        const val GAME = 10_123
    }
}
