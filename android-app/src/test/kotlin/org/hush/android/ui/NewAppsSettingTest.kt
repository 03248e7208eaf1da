package org.hush.android.ui

import android.widget.RadioButton
import org.hush.android.policy.AppMode
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.annotation.Config

/** Settings' "New apps start as": shown as stored, changed by a tap, 48 dp targets. */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35], qualifiers = "w360dp-h780dp-xhdpi")
class NewAppsSettingTest {
    @After
    fun reset() { HushUi.deps = null }

    @Test
    fun theChoiceIsShownAsStoredAndATapStoresAnother() {
        val world = SampleData.World()
        world.settings.newAppMode = AppMode.BLOCK_ALL
        val activity = UiTest.launch(world, MainActivity.Tab.SETTINGS).get()
        val screen = activity.screen(MainActivity.Tab.SETTINGS) as SettingsScreen
        UiTest.assertShows(screen.view, XmlStrings.get(org.hush.android.R.string.settings_new_apps))
        val buttons = (0 until screen.newAppModes.childCount).map { screen.newAppModes.getChildAt(it) as RadioButton }
        assertEquals(listOf("Default (block trackers)", "Block all", "Allow all"), buttons.map { it.text.toString() })
        assertEquals(listOf(false, true, false), buttons.map { it.isChecked })
        assertTrue(buttons.all { it.minHeight >= screen.ui.dp(48) })

        UiTest.click(screen.view, "Allow all")
        assertEquals(AppMode.ALLOW_ALL, world.settings.newAppMode)
        assertEquals(AppMode.ALLOW_ALL, screen.presenter.state.newAppMode)
        UiTest.click(screen.view, "Default (block trackers)")
        assertNull(world.settings.newAppMode)
    }
}
