package org.hush.android.ui

import android.view.View
import kotlinx.coroutines.Dispatchers
import org.hush.android.R
import org.hush.android.apps.InstalledApp
import org.hush.android.data.AppOption
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.annotation.Config
import java.util.TimeZone

/**
 * The app's own options on App detail ([AppOption]: issue 13's "only addresses Hush
 * resolved", issue 14's "strict"), each in its own card: its own choice with undo, each
 * option's message under its own card, a store that fails changing nothing, and their
 * reasons in words. On the real store: NativeStrictTest; Settings' default for every app:
 * WayAroundSettingsTest.
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35], qualifiers = "w360dp-h780dp-xhdpi")
class StrictTest {
    @After
    fun reset() {
        HushUi.deps = null
    }

    private fun detailDeps(actions: FakeActions, store: org.hush.android.data.HushStore) = UiDeps(
        store = store,
        apps = FakeApps(listOf(InstalledApp("com.example.game", "Game", GAME, false))),
        firewall = FakeFirewall(), actions = actions, settings = FakeSettings(),
        io = Dispatchers.Unconfined, main = Dispatchers.Unconfined,
        clock = object : Clock { override fun nowMs() = 1_700_000_000_000 }, timeZone = TimeZone.getTimeZone("UTC"),
    )

    private fun other(option: AppOption) = AppOption.values().single { it != option }

    private fun AppDetailScreen.card(option: AppOption) = if (option == AppOption.STRICT) strict else resolvedOnly

    @Test
    fun appDetailsChoiceOnAFailingStoreChangesNothingAndSaysSo() {
        for (option in AppOption.values()) {
            val texts = OptionTexts.of(option)
            val other = other(option)
            val actions = FakeActions()
            val store = FakeStore()
            val presenter = AppDetailPresenter(detailDeps(actions, store), GAME, "Game", XmlStrings).apply { attach { }; load() }
            assertNull(presenter.state.option(option).choice)
            assertEquals(false, presenter.state.option(option).default)
            store.failure = "the database is read-only"
            presenter.setOption(option, true)
            assertNull("$option", presenter.state.option(option).choice)
            assertTrue(store.optionApps.getValue(option).isEmpty())
            assertEquals(0, actions.rulesChanged)
            assertEquals(XmlStrings.get(texts.error, "the database is read-only"), presenter.state.error)
            assertNull(presenter.state.option(option).undo)
            // Back: the same choice goes through, made for the app's package.
            store.failure = null
            presenter.setOption(option, true)
            assertEquals(true to "com.example.game", store.optionApps.getValue(option)[GAME])
            assertTrue("$other is untouched", store.optionApps.getValue(other).isEmpty())
            assertEquals(1, actions.rulesChanged)
            assertNull(presenter.state.error)
            assertEquals(XmlStrings.get(texts.saved, XmlStrings.get(texts.on)), presenter.state.option(option).message)
            assertNull("each option's message under its own card", presenter.state.option(other).message)

            // A change of the other option takes the message over, and this one's goes.
            presenter.setOption(other, false)
            assertNull(presenter.state.option(option).message)
            assertEquals(XmlStrings.get(OptionTexts.of(other).saved, XmlStrings.get(OptionTexts.of(other).off)), presenter.state.option(other).message)
            assertEquals(true, presenter.state.option(option).choice)
            presenter.undoOption(option)
            assertTrue("$option: undo puts back the default", store.optionApps.getValue(option).isEmpty())
            assertNull(presenter.state.option(option).choice)
            assertEquals(XmlStrings.get(texts.undone, XmlStrings.get(texts.defaultShort)), presenter.state.option(option).message)
            assertEquals(false to "com.example.game", store.optionApps.getValue(other)[GAME])
        }
    }

    @Test
    fun appDetailShowsEachOptionBesideTheOtherAndTheReasonsInWords() {
        for (option in AppOption.values()) {
            val texts = OptionTexts.of(option)
            val other = other(option)
            val world = SampleData.World()
            val activity = UiTest.launch(world, MainActivity.Tab.APPS).get()
            val app = world.apps.list.first()
            world.store.optionDefaults[option] = true
            activity.openAppDetail(app.uid, app.label)
            UiTest.idle()
            val detail = activity.pushed as AppDetailScreen
            val shown = detail.card(option)
            val beside = detail.card(other)
            assertEquals(View.VISIBLE, shown.card.visibility)
            assertEquals(View.VISIBLE, beside.card.visibility)
            assertTrue(shown.default.isChecked && beside.default.isChecked)
            assertEquals(XmlStrings.get(texts.defaultOn), shown.default.text.toString())
            assertEquals(XmlStrings.get(OptionTexts.of(other).defaultOff), beside.default.text.toString())
            shown.off.performClick()
            assertEquals(false to app.packageName, world.store.optionApps.getValue(option)[app.uid])
            assertTrue(world.store.optionApps.getValue(other).isEmpty())
            assertEquals(View.VISIBLE, shown.undo.visibility)
            assertEquals(View.VISIBLE, shown.message.visibility)
            assertEquals(View.GONE, beside.undo.visibility)
            assertEquals(View.GONE, beside.message.visibility)
            shown.undo.performClick()
            assertTrue("$option", world.store.optionApps.getValue(option).isEmpty())
            assertTrue(shown.default.isChecked)
            assertEquals(View.GONE, shown.undo.visibility)
        }

        assertEquals(XmlStrings.get(R.string.reason_strict), Format.reason(XmlStrings, "strict"))
        assertEquals(XmlStrings.get(R.string.reason_not_resolved), Format.reason(XmlStrings, "not-resolved"))
    }

    companion object {
        const val GAME = 10_123
    }
}
