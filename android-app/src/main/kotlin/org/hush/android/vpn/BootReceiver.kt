package org.hush.android.vpn

import android.content.BroadcastReceiver
import android.content.Context
import android.content.Intent
import org.hush.android.settings.HushSettings

/**
 * Starts the firewall after the phone starts (BOOT_COMPLETED) when the user turned on
 * "start on boot" and the VPN permission is still Hush's. Otherwise it does nothing: it
 * cannot ask for the permission from here. The broadcast lets an app start a foreground
 * service from the background. (After an update, [UpdateReceiver] turns it back on.)
 *
 * With always-on VPN set in Android's settings the system starts the service itself;
 * a second start from here is a no-op.
 */
class BootReceiver : BroadcastReceiver() {
    override fun onReceive(context: Context, intent: Intent) {
        val settings = HushSettings(context)
        if (shouldStart(intent.action, settings.startOnBoot, HushVpnService.isPermitted(context))) {
            HushVpnService.start(context) // false (refused) leaves it off, as without the setting
        }
    }

    companion object {
        /** At boot, when "start on boot" is on; never without the permission. */
        fun shouldStart(action: String?, startOnBoot: Boolean, permitted: Boolean): Boolean =
            action == Intent.ACTION_BOOT_COMPLETED && startOnBoot && permitted
    }
}
