package org.hush.android.vpn

import android.content.BroadcastReceiver
import android.content.Context
import android.content.Intent
import org.hush.android.settings.HushSettings

/**
 * Starts the firewall after the phone starts (BOOT_COMPLETED) or after Hush is updated
 * (MY_PACKAGE_REPLACED, which stops the running app), when the user turned on "start on
 * boot" and the VPN permission is still Hush's. Otherwise it does nothing: it cannot ask
 * for the permission from here. Both broadcasts let an app start a foreground service
 * from the background.
 *
 * With always-on VPN set in Android's settings the system starts the service itself;
 * a second start from here is a no-op.
 */
class BootReceiver : BroadcastReceiver() {
    override fun onReceive(context: Context, intent: Intent) {
        val settings = HushSettings(context)
        if (shouldStart(intent.action, settings.startOnBoot, settings.enabled, HushVpnService.isPermitted(context))) {
            HushVpnService.start(context) // false (refused) leaves it off, as without the setting
        }
    }

    companion object {
        /**
         * At boot: when "start on boot" is on. After an update: when it is on and the
         * firewall was on before (the update stopped it). Never without the permission.
         */
        fun shouldStart(action: String?, startOnBoot: Boolean, wasEnabled: Boolean, permitted: Boolean): Boolean {
            if (!startOnBoot || !permitted) return false
            return when (action) {
                Intent.ACTION_BOOT_COMPLETED -> true
                Intent.ACTION_MY_PACKAGE_REPLACED -> wasEnabled
                else -> false
            }
        }
    }
}
