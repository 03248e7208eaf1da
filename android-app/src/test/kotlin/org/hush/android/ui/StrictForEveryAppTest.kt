package org.hush.android.ui

import org.hush.android.R
import org.hush.android.data.AppOption
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.annotation.Config

/**
 * Settings' "Strict for every app" switch (issue 14): stored as the option's default, in
 * force at once, its line saying what it does and that an app's own choice wins; a store
 * that fails leaves it as it was. On the real store: NativeStrictDefaultTest.
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35], qualifiers = "w360dp-h780dp-xhdpi")
class StrictForEveryAppTest {
    @After
    fun reset() {
        HushUi.deps = null
    }

    private fun settings(world: SampleData.World): SettingsScreen =
        UiTest.launch(world, MainActivity.Tab.SETTINGS).get().screen(MainActivity.Tab.SETTINGS) as SettingsScreen

    @Test
    fun theSwitchSetsTheDefaultForEveryAppAtOnce() {
        val world = SampleData.World()
        val screen = settings(world)
        assertFalse(screen.strictSwitch.isChecked)
        assertTrue("enabled once the default is read", screen.strictSwitch.isEnabled)
        UiTest.assertShows(screen.view, XmlStrings.get(R.string.settings_strict))
        UiTest.assertShows(screen.view, XmlStrings.get(R.string.settings_strict_note))

        screen.strictSwitch.performClick()
        assertEquals(true, world.store.optionDefaults[AppOption.STRICT])
        assertNull("resolved-only is another option", world.store.optionDefaults[AppOption.RESOLVED_ONLY])
        assertEquals(1, world.actions.rulesChanged)
        assertEquals(XmlStrings.get(R.string.settings_strict_saved_on), screen.message.text.toString())

        screen.strictSwitch.performClick()
        assertEquals(false, world.store.optionDefaults[AppOption.STRICT])
        assertEquals(2, world.actions.rulesChanged)
        assertEquals(XmlStrings.get(R.string.settings_strict_saved_off), screen.message.text.toString())

        world.store.failure = "database is locked"
        screen.strictSwitch.performClick()
        UiTest.idle()
        assertFalse("the store failed: the switch is off again", screen.strictSwitch.isChecked)
        assertEquals(false, world.store.optionDefaults[AppOption.STRICT])
        assertEquals(2, world.actions.rulesChanged)
        assertEquals(XmlStrings.get(R.string.settings_error_strict, "database is locked"), screen.presenter.state.error)
    }

    @Test
    fun theStoredDefaultIsShown() {
        val world = SampleData.World()
        world.store.optionDefaults[AppOption.STRICT] = true
        val screen = settings(world)
        assertTrue(screen.strictSwitch.isChecked)
        assertFalse(screen.resolvedOnlySwitch.isChecked)
        assertEquals(0, world.actions.rulesChanged)
    }
}
