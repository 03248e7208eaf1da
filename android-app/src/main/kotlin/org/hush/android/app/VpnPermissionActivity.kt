package org.hush.android.app

import android.Manifest
import android.app.Activity
import android.content.Intent
import android.net.VpnService
import android.os.Bundle
import org.hush.android.R
import org.hush.android.vpn.FailureKind
import org.hush.android.vpn.HushVpnService
import org.hush.android.vpn.VpnNotifications
import org.hush.android.vpn.VpnState
import org.hush.android.vpn.VpnStatus

/**
 * A screen with no face of its own: asks Android's VPN consent (and, on Android 13+,
 * the notification permission for the live counts), then starts the firewall. A
 * refusal is shown as the firewall's state, with what to do; nothing retries.
 */
class VpnPermissionActivity : Activity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        if (savedInstanceState != null) return // the consent screen is already up
        val consent = try {
            VpnService.prepare(this)
        } catch (e: RuntimeException) {
            refused(getString(R.string.permission_not_asked, e.message ?: e.javaClass.simpleName))
            return
        }
        if (consent == null) granted() else startActivityForResult(consent, REQUEST_VPN)
    }

    @Deprecated("The framework's own API; no AndroidX here.")
    override fun onActivityResult(requestCode: Int, resultCode: Int, data: Intent?) {
        if (requestCode != REQUEST_VPN) return
        if (resultCode == RESULT_OK) granted() else refused(getString(DENIED))
    }

    private fun granted() {
        if (!HushVpnService.start(this)) {
            refused(getString(R.string.permission_start_refused))
            return
        }
        if (VpnNotifications.shouldAskNotificationPermission(this)) {
            requestPermissions(arrayOf(Manifest.permission.POST_NOTIFICATIONS), REQUEST_NOTIFICATIONS)
        } else {
            finish()
        }
    }

    override fun onRequestPermissionsResult(requestCode: Int, permissions: Array<out String>, grantResults: IntArray) {
        // Without it Hush still runs; only its notification is hidden.
        finish()
    }

    private fun refused(message: String) {
        VpnStatus.fail(message, FailureKind.PERMISSION)
        finish()
    }

    companion object {
        const val REQUEST_VPN = 1
        const val REQUEST_NOTIFICATIONS = 2
        /** What a refused consent says (res/values/strings.xml). */
        val DENIED = R.string.permission_denied
    }
}
