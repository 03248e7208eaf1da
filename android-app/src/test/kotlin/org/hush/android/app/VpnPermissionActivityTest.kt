package org.hush.android.app

import android.app.Activity
import android.content.Intent
import org.hush.android.vpn.FailureKind
import org.hush.android.vpn.HushVpnService
import org.hush.android.vpn.OffReason
import org.hush.android.vpn.VpnState
import org.hush.android.vpn.VpnStatus
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.shadows.ShadowVpnService

@RunWith(RobolectricTestRunner::class)
class VpnPermissionActivityTest {
    private val consent = Intent("android.net.vpn.CONSENT")

    @After
    fun reset() {
        VpnStatus.publish(VpnState.Off(OffReason.NOT_STARTED))
    }

    @Test
    fun consentGivenStartsTheFirewall() {
        ShadowVpnService.setPrepareResult(consent)
        val controller = Robolectric.buildActivity(VpnPermissionActivity::class.java).setup()
        val activity = controller.get()
        val asked = shadowOf(activity).nextStartedActivityForResult
        assertEquals("android.net.vpn.CONSENT", asked.intent.action)
        shadowOf(activity).receiveResult(asked.intent, Activity.RESULT_OK, null)
        assertEquals(HushVpnService.ACTION_START, shadowOf(RuntimeEnvironment.getApplication()).nextStartedService.action)
    }

    @Test
    fun consentRefusedSaysWhatToDoAndStartsNothing() {
        ShadowVpnService.setPrepareResult(consent)
        val activity = Robolectric.buildActivity(VpnPermissionActivity::class.java).setup().get()
        val asked = shadowOf(activity).nextStartedActivityForResult
        shadowOf(activity).receiveResult(asked.intent, Activity.RESULT_CANCELED, null)
        val state = VpnStatus.state.value
        assertTrue(state.toString(), state is VpnState.Failed && state.kind == FailureKind.PERMISSION)
        assertTrue((state as VpnState.Failed).message.contains("needs the VPN permission"))
        assertEquals(null, shadowOf(RuntimeEnvironment.getApplication()).nextStartedService)
        assertTrue(activity.isFinishing)
    }

    @Test
    fun alreadyPermittedGoesStraightToTheServiceThenAsksForNotifications() {
        ShadowVpnService.setPrepareResult(null)
        val activity = Robolectric.buildActivity(VpnPermissionActivity::class.java).setup().get()
        assertEquals(HushVpnService.ACTION_START, shadowOf(RuntimeEnvironment.getApplication()).nextStartedService.action)
        // Android 13+: the live counts need the notification permission, asked once here.
        val asked = shadowOf(activity).nextStartedActivityForResult
        assertEquals(VpnPermissionActivity.REQUEST_NOTIFICATIONS, asked.requestCode)
        assertEquals(android.content.pm.PackageManager.ACTION_REQUEST_PERMISSIONS, asked.intent.action)
    }

    @Test
    fun withNotificationsAllowedNothingMoreIsAsked() {
        shadowOf(RuntimeEnvironment.getApplication()).grantPermissions(android.Manifest.permission.POST_NOTIFICATIONS)
        ShadowVpnService.setPrepareResult(null)
        val activity = Robolectric.buildActivity(VpnPermissionActivity::class.java).setup().get()
        assertEquals(HushVpnService.ACTION_START, shadowOf(RuntimeEnvironment.getApplication()).nextStartedService.action)
        assertEquals(null, shadowOf(activity).nextStartedActivityForResult)
        assertTrue(activity.isFinishing)
    }
}
