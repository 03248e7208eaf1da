package org.hush.android.policy

import android.content.Context
import android.os.Build
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.annotation.Config

@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35])
class AppModeTest {
    private val context: Context get() = RuntimeEnvironment.getApplication()

    @Test
    fun everyModeRoundTripsThroughItsWireWord() {
        for (mode in AppMode.values()) {
            assertEquals(mode, AppMode.fromWire(mode.wire))
        }
        assertEquals(
            listOf("block-trackers", "block-all", "allow-all"),
            AppMode.values().map { it.wire },
        )
    }

    @Test
    fun unknownWordsAreNull() {
        assertNull(AppMode.fromWire("block"))
        assertNull(AppMode.fromWire(""))
        assertNull(AppMode.fromWire("BLOCK-ALL"))
        assertNull(AppMode.fromWire("block-all "))
    }

    @Test
    fun runsOnTheAndroid15FrameworkAsTheApp() {
        assertEquals(35, Build.VERSION.SDK_INT)
        // targetSdk from gradle/libs.versions.toml, through the merged manifest.
        assertEquals(35, context.applicationInfo.targetSdkVersion)
    }

    @Test
    fun storeKeepsModesInSharedPreferences() {
        val store = AppModeStore(context)
        assertEquals(AppMode.BLOCK_TRACKERS, store.modeOf("com.example.weather"))

        store.setMode("com.example.weather", AppMode.BLOCK_ALL)
        store.setMode("org.example.browser", AppMode.ALLOW_ALL)
        // A second store over the same Context sees what the first one wrote.
        val again = AppModeStore(context)
        assertEquals(AppMode.BLOCK_ALL, again.modeOf("com.example.weather"))
        assertEquals(
            mapOf("com.example.weather" to AppMode.BLOCK_ALL, "org.example.browser" to AppMode.ALLOW_ALL),
            again.all(),
        )
        val raw = context.getSharedPreferences(AppModeStore.PREFS_NAME, Context.MODE_PRIVATE)
        assertEquals("block-all", raw.getString("mode:com.example.weather", null))

        again.clear("com.example.weather")
        assertEquals(AppMode.DEFAULT, store.modeOf("com.example.weather"))
    }

    @Test
    fun unknownStoredWordFallsBackToTheDefault() {
        context.getSharedPreferences(AppModeStore.PREFS_NAME, Context.MODE_PRIVATE)
            .edit().putString("mode:com.example.old", "block-everything").commit()
        val store = AppModeStore(context)
        assertEquals(AppMode.DEFAULT, store.modeOf("com.example.old"))
        assertEquals(emptyMap<String, AppMode>(), store.all())
    }
}
