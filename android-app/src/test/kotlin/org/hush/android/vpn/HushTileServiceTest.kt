package org.hush.android.vpn

import android.content.Intent
import android.os.Looper
import android.service.quicksettings.Tile
import org.hush.android.core.Network
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Before
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config
import org.robolectric.shadows.ShadowVpnService

@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35])
class HushTileServiceTest {
    private val tile = Robolectric.buildService(HushTileService::class.java).create().get()
    private val app get() = shadowOf(RuntimeEnvironment.getApplication())

    @Before
    fun setUp() {
        VpnStatus.publish(VpnState.Off(OffReason.NOT_STARTED))
        ShadowVpnService.setPrepareResult(null)
        app.clearStartedServices()
    }

    @After
    fun tearDown() {
        tile.onStopListening()
        VpnStatus.publish(VpnState.Off(OffReason.NOT_STARTED))
        ShadowVpnService.reset()
    }

    @Test
    fun showsOnAndOffAndFollowsChangesWhileListening() {
        tile.onStartListening()
        assertEquals(Tile.STATE_INACTIVE, tile.qsTile.state)
        assertEquals("Off", tile.qsTile.subtitle)
        VpnStatus.publish(VpnState.On(VpnController.ZERO_STATS.copy(blocked = 5), Network.WIFI))
        // Published on a worker thread in the app; the tile updates on the main thread.
        shadowOf(Looper.getMainLooper()).idle()
        assertEquals(Tile.STATE_ACTIVE, tile.qsTile.state)
        assertEquals("5 blocked", tile.qsTile.subtitle)
        tile.onStopListening()
        VpnStatus.publish(VpnState.Off(OffReason.STOPPED))
        shadowOf(Looper.getMainLooper()).idle()
        assertEquals("not listening: not updated", Tile.STATE_ACTIVE, tile.qsTile.state)
    }

    @Test
    fun aTapStartsTheFirewallWhenOff() {
        tile.onClick()
        assertEquals(HushVpnService.ACTION_START, app.nextStartedService.action)
    }

    @Test
    fun aTapStopsTheFirewallWhenOn() {
        VpnStatus.publish(VpnState.On(VpnController.ZERO_STATS, Network.ANY))
        tile.onClick()
        assertEquals(HushVpnService.ACTION_STOP, app.nextStartedService.action)
    }

    @Test
    fun withoutThePermissionATapOpensTheAppInsteadOfStarting() {
        ShadowVpnService.setPrepareResult(Intent("com.android.vpndialogs.ConfirmDialog"))
        // With the app's manifest linked (tests/android/jvm.sh), MainActivity is the launcher:
        // the tap opens it through the system UI, absent here, so recorded instead.
        val recording = Robolectric.buildService(RecordingTile::class.java).create().get()
        recording.onClick()
        assertNull("nothing started", app.nextStartedService)
        assertEquals("the app opened instead", 1, recording.opened.size)
        assertEquals(HushTileService.Action.OPEN_APP, HushTileService.actionFor(VpnState.Off(OffReason.STOPPED), false))
        assertEquals(HushTileService.Action.OPEN_APP, HushTileService.actionFor(VpnState.Failed(FailureKind.PERMISSION, "x"), false))
        assertEquals(HushTileService.Action.START, HushTileService.actionFor(VpnState.Failed(FailureKind.CORE, "x"), true))
        assertEquals(HushTileService.Action.STOP, HushTileService.actionFor(VpnState.Starting, false))
    }

    private fun addLauncher(): android.content.ComponentName {
        val context = RuntimeEnvironment.getApplication()
        val main = android.content.ComponentName(context.packageName, "org.hush.android.MainActivity")
        val pm = shadowOf(context.packageManager)
        pm.addActivityIfNotPresent(main)
        pm.addIntentFilterForActivity(
            main,
            android.content.IntentFilter(Intent.ACTION_MAIN).also { it.addCategory(Intent.CATEGORY_LAUNCHER) },
        )
        return main
    }

    @Test
    fun whenAndroidRefusesTheStartATapOpensTheAppInstead() {
        val main = addLauncher()
        val recording = Robolectric.buildService(RecordingTile::class.java).create().get()
        recording.refuseStart = true
        recording.onClick()
        assertEquals(main, shadowOf(recording.opened.single()).savedIntent.component)
    }

    @Test
    fun withoutThePermissionATapOpensTheLauncherActivity() {
        val main = addLauncher()
        ShadowVpnService.setPrepareResult(Intent("com.android.vpndialogs.ConfirmDialog"))
        val recording = Robolectric.buildService(RecordingTile::class.java).create().get()
        recording.onClick()
        assertNull("nothing started", app.nextStartedService)
        val opened = shadowOf(recording.opened.single()).savedIntent
        assertEquals(main, opened.component)
    }
}

class RecordingTile : HushTileService() {
    val opened = ArrayList<android.app.PendingIntent>()
    var refuseStart = false
    override fun startFirewall(): Boolean = if (refuseStart) false else super.startFirewall()
    override fun collapseAndOpen(pending: android.app.PendingIntent) {
        opened.add(pending)
    }
}
