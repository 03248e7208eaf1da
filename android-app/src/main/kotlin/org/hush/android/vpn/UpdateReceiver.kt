package org.hush.android.vpn

import android.content.BroadcastReceiver
import android.content.Context
import android.content.Intent
import org.hush.android.settings.HushSettings

/**
 * Turns the firewall back on after Hush is updated (MY_PACKAGE_REPLACED: the update
 * stopped the running app, and with it the VPN), when it was on: the owner had turned it
 * on and not off since, and no other VPN took over ([HushSettings.enabled]). The
 * broadcast lets an app start a foreground service from the background.
 *
 * Android may want the VPN consent again (`VpnService.prepare` gives an intent): a
 * receiver cannot ask for it, so nothing starts and a notification offers to turn Hush
 * back on through the consent screen. Likewise when Android refuses the start.
 */
class UpdateReceiver : BroadcastReceiver() {
    override fun onReceive(context: Context, intent: Intent) {
        if (intent.action != Intent.ACTION_MY_PACKAGE_REPLACED) return
        if (!HushSettings(context).enabled) return
        val notifications = VpnNotifications(context)
        val permitted = try {
            HushVpnService.isPermitted(context)
        } catch (e: RuntimeException) {
            false
        }
        if (!permitted) {
            notifications.createChannel()
            notifications.showUpdateNeedsConsent()
        } else if (!HushVpnService.start(context)) {
            notifications.createChannel()
            notifications.showUpdateNotRestarted()
        }
    }
}
