package org.hush.android.ui

import android.app.Activity
import android.content.Intent
import android.net.Uri
import android.os.Looper
import android.view.View
import org.hush.android.core.CaptureSpec
import org.hush.android.core.CaptureState
import org.json.JSONObject
import org.junit.After
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config
import java.io.File
import java.time.Duration

/** The running session's capture as a test drives it: what it was asked, and what it says. */
class FakeCapture : CaptureControl {
    /** The VPN runs (false: every call says it does not). */
    @Volatile var vpnOn = true
    val starts = ArrayList<CaptureSpec>()
    var stops = 0
    /** Thrown by the next start, as the core's IllegalStateException for a full disk. */
    var startFailure: RuntimeException? = null
    /** What status says; stop says it with running false, then there is none. */
    @Volatile var state = CaptureState.NONE

    override fun start(spec: CaptureSpec): Boolean {
        if (!vpnOn) return false
        startFailure?.let { throw it }
        starts.add(spec)
        state = CaptureState(spec.uid, true, 0, 0, 0, emptyList(), null)
        return true
    }

    override fun stop(): CaptureState? {
        if (!vpnOn) return null
        stops++
        return state.copy(running = false).also { state = CaptureState.NONE }
    }

    override fun status(): CaptureState? = if (vpnOn) state else null
}

@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35], qualifiers = "w360dp-h780dp-xhdpi")
class CaptureCardTest {
    @After
    fun reset() {
        HushUi.deps = null
        captures.deleteRecursively()
    }

    private val world = SampleData.World()
    private val capture = FakeCapture()
    private val uid = SampleData.MI_BROWSER
    private val captures = File(RuntimeEnvironment.getApplication().filesDir, CapturePresenter.DIRECTORY)

    private fun open(uid: Int? = this.uid, label: String = "Mi Browser"): Pair<MainActivity, AppDetailScreen> {
        val w = world
        HushUi.deps = UiDeps(
            store = w.store, apps = w.apps, firewall = w.firewall, actions = w.actions, settings = w.settings,
            io = w.deps.io, clock = w.deps.clock, timeZone = w.deps.timeZone, dynamicColor = false,
            lists = w.lists, evidence = w.evidence, capture = capture,
        )
        val intent = Intent(RuntimeEnvironment.getApplication(), MainActivity::class.java)
            .putExtra(MainActivity.EXTRA_TAB, MainActivity.Tab.APPS.name)
        val activity = Robolectric.buildActivity(MainActivity::class.java, intent).setup().get()
        UiTest.idle()
        activity.openAppDetail(uid, label)
        UiTest.idle()
        return activity to activity.detail!!
    }

    private fun card(screen: AppDetailScreen) = screen.capture!!

    /** Past the card's next read of the capture's counts. */
    private fun poll() = shadowOf(Looper.getMainLooper()).idleFor(Duration.ofMillis(CaptureCard.POLL_MS + 100))

    private fun file(name: String, bytes: ByteArray) = File(captures, name).apply { parentFile!!.mkdirs(); writeBytes(bytes) }

    @Test
    fun theSwitchStartsACaptureOfThisAppForThePeriodChosenAndShowsItsCounts() {
        val (_, screen) = open()
        val card = card(screen)
        assertEquals(View.VISIBLE, card.card.visibility)
        UiTest.assertShows(card.card, "Capture this app's packets")
        UiTest.assertShows(card.card, "Encrypted content stays encrypted")
        UiTest.assertShows(card.card, "stays on this phone")
        assertEquals(View.GONE, card.export.visibility)

        card.periodButtons.getValue(CapturePeriod.MINUTES_5).performClick()
        card.switch.performClick()
        UiTest.idle()
        assertEquals(1, capture.starts.size)
        val spec = capture.starts[0]
        val json = JSONObject(spec.toJson())
        assertEquals(uid, json.getInt("uid"))
        assertEquals(300L, json.getLong("seconds"))
        assertEquals(16L * 1024 * 1024, json.getLong("fileBytes"))
        assertEquals(4, json.getInt("files"))
        assertEquals(File(captures, "hush-$uid.pcapng").path, json.getString("path"))
        assertEquals("Mi Browser (com.mi.globalbrowser)", json.getString("app"))
        assertTrue(card.switch.isChecked)
        assertFalse("the period is fixed while it runs", card.periodButtons.getValue(CapturePeriod.HOURS_2).isEnabled)
        UiTest.assertShows(card.card, "Capturing: 0 packets, 0 dropped")

        capture.state = capture.state.copy(packets = 1_234, dropped = 5)
        poll()
        UiTest.assertShows(card.card, "Capturing: 1,234 packets, 5 dropped")
        assertEquals(View.GONE, card.export.visibility)
    }

    @Test
    fun anotherPeriodGoesToTheCore() {
        val (_, screen) = open()
        val card = card(screen)
        card.periodButtons.getValue(CapturePeriod.HOURS_2).performClick()
        card.switch.performClick()
        UiTest.idle()
        assertEquals(7_200L, capture.starts.single().seconds)
    }

    @Test
    fun stoppingOffersTheExportWhichWritesTheFilesOldestFirstIntoThePickedDocument() {
        val (activity, screen) = open()
        val card = card(screen)
        // A capture of this app left from before: replaced by the new one, not mixed into it.
        file("hush-$uid.3.pcapng", byteArrayOf(9, 9, 9))
        card.switch.performClick()
        UiTest.idle()
        assertFalse("the last capture's files go before a new one", File(captures, "hush-$uid.3.pcapng").exists())
        // What the core leaves: the rotated file, the newest, and one still being written.
        val older = ByteArray(70_000) { (it % 251).toByte() }
        val newer = ByteArray(1_000) { (it % 7 + 100).toByte() }
        file("hush-$uid.1.pcapng", older)
        file("hush-$uid.pcapng", newer)
        file("hush-$uid.pcapng.partial", byteArrayOf(1, 2, 3))
        capture.state = capture.state.copy(packets = 77)
        card.switch.performClick()
        UiTest.idle()
        assertEquals(1, capture.stops)
        assertFalse(card.switch.isChecked)
        UiTest.assertShows(card.card, "Capture stopped: 77 packets kept.")
        assertEquals(View.VISIBLE, card.export.visibility)
        UiTest.assertShows(card.card, "A capture of this app is on the phone")

        card.export.performClick()
        val request = shadowOf(activity).nextStartedActivityForResult
        assertNotNull(request)
        assertEquals(Intent.ACTION_CREATE_DOCUMENT, request.intent.action)
        assertEquals("application/vnd.tcpdump.pcap", request.intent.type)
        assertTrue(request.intent.hasCategory(Intent.CATEGORY_OPENABLE))
        val name = request.intent.getStringExtra(Intent.EXTRA_TITLE)!!
        assertTrue(name, Regex("""hush-com\.mi\.globalbrowser-\d{8}-\d{6}\.pcapng""").matches(name))

        val out = File.createTempFile("hush-capture", ".pcapng")
        out.writeBytes(ByteArray(200_000)) // longer than the capture: the export must cut it
        shadowOf(activity).receiveResult(request.intent, Activity.RESULT_OK, Intent().setData(Uri.fromFile(out)))
        UiTest.await("the export") { card.presenter.state.message?.startsWith("Capture exported") == true }
        assertArrayEquals(older + newer, out.readBytes())
        assertNull(card.presenter.state.error)
    }

    @Test
    fun aCancelledPickerExportsNothingAndAnExportThatCannotWriteSaysWhy() {
        val (activity, screen) = open()
        val card = card(screen)
        file("hush-$uid.pcapng", byteArrayOf(1, 2, 3, 4))
        card.refresh()
        UiTest.idle()
        assertEquals(View.VISIBLE, card.export.visibility)
        card.export.performClick()
        val cancelled = shadowOf(activity).nextStartedActivityForResult
        shadowOf(activity).receiveResult(cancelled.intent, Activity.RESULT_CANCELED, null)
        UiTest.idle()
        assertNull(card.presenter.state.message)
        assertNull(card.presenter.state.error)

        card.export.performClick()
        val request = shadowOf(activity).nextStartedActivityForResult
        val nowhere = File(File.createTempFile("hush", "dir").path + ".missing", "x.pcapng")
        shadowOf(activity).receiveResult(request.intent, Activity.RESULT_OK, Intent().setData(Uri.fromFile(nowhere)))
        UiTest.await("the failed export") { card.presenter.state.error != null }
        UiTest.assertShows(card.card, "The capture could not be exported:")
        assertFalse(nowhere.exists())
    }

    @Test
    fun aCaptureThatEndedByItselfIsCollectedAndOffered() {
        val (_, screen) = open()
        val card = card(screen)
        card.switch.performClick()
        UiTest.idle()
        file("hush-$uid.pcapng", byteArrayOf(1, 2, 3))
        // Its time was up: the core says it is no longer running until it is stopped.
        capture.state = capture.state.copy(running = false, packets = 42)
        poll()
        assertEquals("collected with a stop", 1, capture.stops)
        assertFalse(card.switch.isChecked)
        UiTest.assertShows(card.card, "The capture ended at the time chosen: 42 packets kept.")
        assertEquals(View.VISIBLE, card.export.visibility)
    }

    @Test
    fun aCaptureEndedByTheVpnStoppingIsSaidAndItsFilesOffered() {
        val (_, screen) = open()
        val card = card(screen)
        card.switch.performClick()
        UiTest.idle()
        UiTest.assertNotShown(card.card, "The capture ended")
        // The VPN stopped: the core finished the capture's files as the session ended.
        file("hush-$uid.pcapng", byteArrayOf(1, 2, 3))
        capture.vpnOn = false
        poll()
        assertFalse(card.switch.isChecked)
        UiTest.assertShows(card.card, "The capture ended: Hush stopped, or another app's capture began.")
        assertEquals(View.VISIBLE, card.export.visibility)
        assertEquals(0, capture.stops)
    }

    @Test
    fun aCaptureThatEndedOnAFullDiskSaysSo() {
        val (_, screen) = open()
        val card = card(screen)
        card.switch.performClick()
        UiTest.idle()
        capture.state = capture.state.copy(running = false, error = "capture stopped: could not write /data/x.partial (No space left on device)")
        poll()
        UiTest.assertShows(card.card, "The capture ended early: capture stopped: could not write /data/x.partial (No space left on device)")
        assertFalse(card.switch.isChecked)
    }

    @Test
    fun failuresToStartAreSaidAndLeaveTheSwitchOff() {
        val (_, screen) = open()
        val card = card(screen)
        capture.vpnOn = false
        card.switch.performClick()
        UiTest.idle()
        assertFalse(card.switch.isChecked)
        UiTest.assertShows(card.card, "Hush is not running: turn it on to capture this app.")
        assertTrue(capture.starts.isEmpty())

        capture.vpnOn = true
        capture.startFailure = IllegalStateException("capture not started: /data/captures/hush-1.pcapng has 10 bytes free, one capture file needs 16777216")
        card.switch.performClick()
        UiTest.idle()
        assertFalse(card.switch.isChecked)
        UiTest.assertShows(card.card, "The capture could not start: capture not started: /data/captures/hush-1.pcapng has 10 bytes free")
        UiTest.assertNotShown(card.card, "Hush is not running")
    }

    @Test
    fun startingStopsAnotherAppsCaptureAndSaysWhose() {
        capture.state = CaptureState(SampleData.FACEBOOK, true, 10, 0, 0, emptyList(), null)
        val (_, screen) = open()
        val card = card(screen)
        assertFalse("another app's capture is not this one's", card.switch.isChecked)
        card.switch.performClick()
        UiTest.idle()
        assertEquals(1, capture.stops)
        assertEquals(uid, capture.starts.single().uid)
        val facebook = world.apps.list.first { it.uid == SampleData.FACEBOOK }.label
        UiTest.assertShows(card.card, "The capture of $facebook was stopped: one app is captured at a time.")
    }

    @Test
    fun deletingRemovesTheFiles() {
        val (_, screen) = open()
        val card = card(screen)
        val kept = file("hush-$uid.pcapng", byteArrayOf(1))
        val older = file("hush-$uid.2.pcapng", byteArrayOf(2))
        val others = file("hush-${SampleData.FACEBOOK}.pcapng", byteArrayOf(3))
        card.refresh()
        UiTest.idle()
        assertEquals(listOf(older, kept), card.presenter.state.files)
        card.delete.performClick()
        UiTest.idle()
        assertFalse(kept.exists() || older.exists())
        assertTrue("another app's capture stays", others.exists())
        assertEquals(View.GONE, card.export.visibility)
        UiTest.assertShows(card.card, "Capture deleted.")
    }

    @Test
    fun theUnknownOwnerHasNoCaptureCard() {
        val (_, screen) = open(uid = null, label = "Unknown")
        assertNull(screen.capture)
    }
}
