package org.hush.android.ui

import kotlinx.coroutines.Dispatchers
import org.hush.android.apps.InstalledApp
import org.hush.android.core.NativeCore
import org.hush.android.core.NativeStore
import org.hush.android.data.AppOption
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
 * Each of the app's own options ([AppOption]: "strict", "only addresses Hush resolved")
 * from App detail on the real store (the host build of the JNI library and a real SQLite
 * file), each beside the other. Plain JVM, as the other native tests: the presenter runs
 * on Dispatchers.Unconfined. Settings' resolved-only default and a shared UID:
 * NativeResolvedOnlyTest.
 */
class NativeStrictTest {
    private val dir = Files.createTempDirectory("hush-strict").toFile()

    @After
    fun cleanUp() {
        dir.deleteRecursively()
    }

    /** A database of its own for [option]. */
    private fun database(option: AppOption) = File(dir, "${option.word}.db").path

    private fun detailDeps(actions: FakeActions, store: org.hush.android.data.HushStore) = UiDeps(
        store = store,
        apps = FakeApps(listOf(InstalledApp("com.example.game", "Game", GAME, false))),
        firewall = FakeFirewall(), actions = actions, settings = FakeSettings(),
        io = Dispatchers.Unconfined, main = Dispatchers.Unconfined,
        clock = object : Clock { override fun nowMs() = 1_700_000_000_000 }, timeZone = TimeZone.getTimeZone("UTC"),
    )

    @Test
    fun appDetailsChoiceIsStoredByPackageOnTheRealStoreReloadedAndUndone() {
        for (option in AppOption.values()) {
            val other = AppOption.values().single { it != option }
            val texts = OptionTexts.of(option)
            val database = database(option)
            val actions = FakeActions()
            val store = NativeStore(database)
            val presenter = AppDetailPresenter(detailDeps(actions, store), GAME, "Game", XmlStrings).apply { attach { }; load() }
            assertNull(presenter.state.option(option).choice)
            assertEquals(false, presenter.state.option(option).default)

            presenter.setOption(option, true)
            assertEquals(mapOf(GAME to true), store.appOption(option).apps)
            assertTrue("$option is not $other", store.appOption(other).apps.isEmpty())
            assertEquals(1, actions.rulesChanged)
            assertEquals(XmlStrings.get(texts.saved, XmlStrings.get(texts.on)), presenter.state.option(option).message)
            assertEquals(OptionChange(null, true), presenter.state.option(option).undo)

            presenter.setOption(option, false)
            assertEquals(mapOf(GAME to false), store.appOption(option).apps)
            presenter.undoOption(option)
            assertEquals(mapOf(GAME to true), store.appOption(option).apps)
            assertEquals(3, actions.rulesChanged)
            assertNull("an undo is not undone again", presenter.state.option(option).undo)

            presenter.setOption(option, null)
            assertTrue(store.appOption(option).apps.isEmpty())
            presenter.load()
            assertNull(presenter.state.option(option).choice)

            store.setAppOptionDefault(option, true)
            presenter.load()
            assertEquals(true, presenter.state.option(option).default)
            assertEquals(false, presenter.state.option(other).default)
            assertTrue(store.appOption(option).isOn(GAME))

            // Stored with the package: both choices go when the package leaves the UID.
            presenter.setOption(option, true)
            presenter.setOption(other, true)
            assertEquals(2L, NativeCore.forgetApp(database, GAME, "com.example.game"))
            assertTrue("made for the package, forgotten with it", store.appOption(option).apps.isEmpty())
            assertTrue(store.appOption(other).apps.isEmpty())
        }
    }

    @Test
    fun badInputIsRefusedByTheCore() {
        for (option in AppOption.values()) {
            val store = NativeStore(database(option))
            val refused = runCatching { store.setAppOption(option, -1, null, true) }.exceptionOrNull()
            assertTrue("$option: $refused", refused is IllegalArgumentException)
            assertFalse(store.clearAppOption(option, GAME))
            store.setAppOption(option, GAME, null, true)
            assertTrue(store.clearAppOption(option, GAME))
            assertFalse(store.appOption(option).default)
        }
        // An option the core does not know, by its word: refused, not another option's.
        val unknown = runCatching { NativeCore.setAppOption(database(AppOption.STRICT), "Strict", GAME, "", true) }.exceptionOrNull()
        assertTrue("$unknown", unknown is IllegalArgumentException)
        assertTrue(NativeStore(database(AppOption.STRICT)).appOption(AppOption.STRICT).apps.isEmpty())
    }

    companion object {
        const val GAME = 10_123
    }
}
