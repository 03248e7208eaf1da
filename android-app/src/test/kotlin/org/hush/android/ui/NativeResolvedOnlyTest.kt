package org.hush.android.ui

import kotlinx.coroutines.Dispatchers
import org.hush.android.apps.InstalledApp
import org.hush.android.core.NativeStore
import org.hush.android.data.AppOption
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import java.io.File
import java.nio.file.Files
import java.util.TimeZone

/**
 * "Only addresses Hush resolved" from Settings, and a shared UID's own options from App
 * detail, on the real store (the host build of the JNI library and a real SQLite file).
 * Plain JVM, as the other native tests: the presenters run on Dispatchers.Unconfined.
 * Each option's own choice on App detail: NativeStrictTest.
 */
class NativeResolvedOnlyTest {
    private val dir = Files.createTempDirectory("hush-resolved-only").toFile()
    private val database = File(dir, "hush.db").path

    @After
    fun cleanUp() {
        dir.deleteRecursively()
    }

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
        assertTrue(NativeStore(database).appOption(AppOption.RESOLVED_ONLY).default)
        assertEquals(1, actions.rulesChanged)
        presenter.load()
        assertEquals(true, presenter.state.resolvedOnlyDefault)
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
        for (option in AppOption.values()) {
            presenter.setOption(option, true)
            assertEquals(mapOf(SYSTEM to true), store.appOption(option).apps)
        }
        // Phone (the first by label) leaves UID 1000: Settings keeps the choices made for the UID.
        assertEquals(0L, store.forgetApp(SYSTEM, "com.android.phone"))
        for (option in AppOption.values()) assertEquals("$option", mapOf(SYSTEM to true), store.appOption(option).apps)
    }

    companion object {
        const val SYSTEM = 1000
    }
}
