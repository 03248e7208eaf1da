package org.hush.android.ui

import android.view.View
import kotlinx.coroutines.Dispatchers
import org.hush.android.R
import org.hush.android.apps.InstalledApp
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
 * Issue 14's "strict" on App detail, beside "only addresses Hush resolved": its own
 * choice with undo, each option's message under its own card, a store that fails
 * changing nothing, and the `strict` reason in words. On the real store: NativeStrictTest.
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

    @Test
    fun appDetailsStrictChoiceOnAFailingStoreChangesNothingAndSaysSo() {
        val actions = FakeActions()
        val store = FakeStore()
        val presenter = AppDetailPresenter(detailDeps(actions, store), GAME, "Game", XmlStrings).apply { attach { }; load() }
        assertNull(presenter.state.strict)
        assertEquals(false, presenter.state.strictDefault)
        store.failure = "the database is read-only"
        presenter.setStrict(true)
        assertNull(presenter.state.strict)
        assertTrue(store.strictApps.isEmpty())
        assertEquals(0, actions.rulesChanged)
        assertEquals(XmlStrings.get(R.string.detail_strict_error, "the database is read-only"), presenter.state.error)
        assertNull(presenter.state.strictUndo)
        // Back: the same choice goes through, made for the app's package.
        store.failure = null
        presenter.setStrict(true)
        assertEquals(true to "com.example.game", store.strictApps[GAME])
        assertTrue("resolved only is untouched", store.resolvedOnlyApps.isEmpty())
        assertEquals(1, actions.rulesChanged)
        assertNull(presenter.state.error)
        assertEquals(XmlStrings.get(R.string.detail_strict_saved, XmlStrings.get(R.string.detail_strict_on)), presenter.state.strictMessage)
        assertNull("each option's message under its own card", presenter.state.message)

        // A change of the other option takes the message over, and strict's goes.
        presenter.setResolvedOnly(false)
        assertNull(presenter.state.strictMessage)
        assertEquals(true, presenter.state.strict)
        presenter.undoStrict()
        assertTrue("undo puts back the default", store.strictApps.isEmpty())
        assertNull(presenter.state.strict)
        assertEquals(false to "com.example.game", store.resolvedOnlyApps[GAME])
    }

    @Test
    fun appDetailShowsStrictBesideResolvedOnlyAndTheReasonInWords() {
        val world = SampleData.World()
        val activity = UiTest.launch(world, MainActivity.Tab.APPS).get()
        val app = world.apps.list.first()
        world.store.defaultStrict = true
        activity.openAppDetail(app.uid, app.label)
        UiTest.idle()
        val detail = activity.pushed as AppDetailScreen
        assertEquals(View.VISIBLE, (detail.strictChoice.parent as View).visibility)
        assertTrue(detail.strictDefault.isChecked)
        assertTrue(detail.resolvedOnlyDefault.isChecked)
        assertEquals(XmlStrings.get(R.string.detail_strict_default_on), detail.strictDefault.text.toString())
        assertEquals(XmlStrings.get(R.string.detail_resolved_only_default_off), detail.resolvedOnlyDefault.text.toString())
        detail.strictOff.performClick()
        assertEquals(false to app.packageName, world.store.strictApps[app.uid])
        assertTrue(world.store.resolvedOnlyApps.isEmpty())
        assertEquals(View.VISIBLE, detail.strictUndo.visibility)
        assertEquals(View.GONE, detail.resolvedOnlyUndo.visibility)
        assertEquals(View.GONE, detail.resolvedOnlyMessage.visibility)
        detail.strictUndo.performClick()
        assertTrue(world.store.strictApps.isEmpty())
        assertTrue(detail.strictDefault.isChecked)

        assertEquals(XmlStrings.get(R.string.reason_strict), Format.reason(XmlStrings, "strict"))
    }

    companion object {
        const val GAME = 10_123
    }
}
