package org.hush.android.ui

import kotlinx.coroutines.Dispatchers
import org.hush.android.core.NativeStore
import org.hush.android.data.AppOption
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test
import java.io.File
import java.nio.file.Files

/**
 * Settings' "Strict for every app" on the real store (the host build of the JNI library
 * and a real SQLite file): what the switch saves is the core's default for the option,
 * an app's own choice still wins, and "only addresses Hush resolved" is left alone. Plain
 * JVM, as the other native tests: the presenter runs on Dispatchers.Unconfined.
 */
class NativeStrictDefaultTest {
    private val dir = Files.createTempDirectory("hush-strict-default").toFile()
    private val database = File(dir, "hush.db").path

    @After
    fun cleanUp() {
        dir.deleteRecursively()
    }

    @Test
    fun strictForEveryAppIsTheCoresDefault() {
        val actions = FakeActions()
        val deps = UiDeps(
            store = NativeStore(database), apps = FakeApps(emptyList()), firewall = FakeFirewall(), actions = actions,
            settings = FakeSettings(), io = Dispatchers.Unconfined, main = Dispatchers.Unconfined,
        )
        NativeStore(database).setAppOption(AppOption.STRICT, BROWSER, "org.example.browser", false)
        val presenter = SettingsPresenter(deps, XmlStrings).apply { attach { }; load() }
        assertEquals(false, presenter.state.strictDefault)

        presenter.setStrictDefault(true)
        val on = NativeStore(database).appOption(AppOption.STRICT)
        assertTrue(on.default)
        assertTrue("no choice of its own: the default", on.isOn(GAME))
        assertFalse("its own choice overrides the default", on.isOn(BROWSER))
        assertFalse(NativeStore(database).appOption(AppOption.RESOLVED_ONLY).default)
        assertEquals(1, actions.rulesChanged)
        presenter.load()
        assertEquals(true, presenter.state.strictDefault)
        assertEquals(false, presenter.state.resolvedOnlyDefault)

        presenter.setStrictDefault(false)
        assertFalse(NativeStore(database).appOption(AppOption.STRICT).default)
        assertEquals(mapOf(BROWSER to false), NativeStore(database).appOption(AppOption.STRICT).apps)
        assertEquals(2, actions.rulesChanged)
    }

    companion object {
        const val GAME = 10_123
        const val BROWSER = 10_200
    }
}
