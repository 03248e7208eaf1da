package org.hush.android.vpn

import android.app.Notification
import android.app.NotificationManager
import android.content.Context
import android.content.Intent
import org.hush.android.app.VpnPermissionActivity
import org.hush.android.settings.HushSettings
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config
import org.robolectric.shadows.ShadowVpnService

@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35])
class UpdateReceiverTest {
    private val context: Context get() = RuntimeEnvironment.getApplication()
    private val notifications: NotificationManager get() = context.getSystemService(NotificationManager::class.java)!!

    @After
    fun tearDown() {
        ShadowVpnService.reset()
    }

    private fun updated(action: String = Intent.ACTION_MY_PACKAGE_REPLACED): Intent? {
        UpdateReceiver().onReceive(context, Intent(action))
        return shadowOf(RuntimeEnvironment.getApplication()).nextStartedService
    }

    private fun alert(): Notification? = shadowOf(notifications).getNotification(VpnNotifications.ALERT_ID)

    @Test
    fun wasOnStartsItAgainWhateverStartOnBootSays() {
        val settings = HushSettings(context)
        settings.enabled = true
        settings.startOnBoot = false
        ShadowVpnService.setPrepareResult(null)
        val started = updated()!!
        assertEquals(HushVpnService.ACTION_START, started.action)
        assertEquals(HushVpnService::class.java.name, started.component!!.className)
        assertNull("no alert when it starts", alert())
    }

    @Test
    fun wasOffDoesNothing() {
        val settings = HushSettings(context)
        settings.enabled = false
        settings.startOnBoot = true
        ShadowVpnService.setPrepareResult(null)
        assertNull(updated())
        assertNull(alert())
    }

    @Test
    fun missingConsentPostsANotificationThatTurnsItOnThroughTheConsentScreen() {
        HushSettings(context).enabled = true
        ShadowVpnService.setPrepareResult(Intent("com.android.vpndialogs.ConfirmDialog"))
        assertNull("nothing starts without the consent", updated())
        val n = alert()!!
        assertEquals(context.getString(VpnNotifications.UPDATE_TITLE), n.extras.getCharSequence(Notification.EXTRA_TITLE).toString())
        assertEquals(context.getString(VpnNotifications.UPDATE_CONSENT_TEXT), n.extras.getCharSequence(Notification.EXTRA_TEXT).toString())
        assertEquals(VpnNotifications.ALERT_CHANNEL_ID, n.channelId)
        val tap = shadowOf(n.contentIntent)
        assertTrue(tap.isActivity)
        assertEquals(VpnPermissionActivity::class.java.name, tap.savedIntent.component!!.className)
        assertTrue((n.flags and Notification.FLAG_AUTO_CANCEL) != 0)
    }

    @Test
    fun otherBroadcastsAreIgnored() {
        HushSettings(context).enabled = true
        ShadowVpnService.setPrepareResult(null)
        assertNull(updated(Intent.ACTION_BOOT_COMPLETED))
    }
}
