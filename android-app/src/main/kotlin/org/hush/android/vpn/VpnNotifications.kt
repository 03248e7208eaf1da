package org.hush.android.vpn

import android.Manifest
import android.app.Notification
import android.app.NotificationChannel
import android.app.NotificationManager
import android.app.PendingIntent
import android.content.Context
import android.content.Intent
import android.content.pm.PackageManager
import android.os.Build
import org.hush.android.app.VpnPermissionActivity
import org.hush.android.core.Network

/**
 * The firewall's ongoing notification: what state it is in (and whether the core
 * filters), live counts while on, and a Stop action, on a low-importance channel, so
 * updates never buzz. And alerts when Hush went off without its owner's say (another
 * VPN took over; an update needs the VPN consent again), each with a tap that turns
 * Hush back on, on a channel of their own.
 */
class VpnNotifications(private val context: Context) {
    private val manager: NotificationManager =
        context.getSystemService(Context.NOTIFICATION_SERVICE) as NotificationManager

    /** Creates (or updates) the channels; safe to call every time. */
    fun createChannel() {
        val channel = NotificationChannel(CHANNEL_ID, "Firewall status", NotificationManager.IMPORTANCE_LOW)
        channel.description = "Shows while Hush filters this phone's traffic, with what it blocked."
        channel.setShowBadge(false)
        manager.createNotificationChannel(channel)
        val alerts = NotificationChannel(ALERT_CHANNEL_ID, "Firewall turned off", NotificationManager.IMPORTANCE_DEFAULT)
        alerts.description = "When Hush went off without you: another VPN app took over, or an update needs your permission again."
        manager.createNotificationChannel(alerts)
    }

    /** Another VPN app took over: Hush is off; a tap turns it back on (asking the VPN consent). */
    fun showTakeover() = showAlert(TAKEOVER_TITLE, TAKEOVER_TEXT)

    /** After an update, Android wants the VPN consent again before Hush can be back on. */
    fun showUpdateNeedsConsent() = showAlert(UPDATE_TITLE, UPDATE_CONSENT_TEXT)

    /** After an update, Android did not let Hush start again from the background. */
    fun showUpdateNotRestarted() = showAlert(UPDATE_TITLE, UPDATE_REFUSED_TEXT)

    /** Removes the alert (Hush is on again). */
    fun cancelAlert() {
        manager.cancel(ALERT_ID)
    }

    private fun showAlert(title: String, text: String) {
        val builder = Notification.Builder(context, ALERT_CHANNEL_ID)
            .setSmallIcon(statusIcon())
            .setContentTitle(title)
            .setContentText(text)
            .setStyle(Notification.BigTextStyle().bigText(text))
            .setCategory(Notification.CATEGORY_STATUS)
            .setAutoCancel(true)
            .setLocalOnly(true)
            .setVisibility(Notification.VISIBILITY_PUBLIC)
            .setContentIntent(turnOnIntent(context))
        // A button as well as the tap: the tap alone is not obvious, and a button reads out under TalkBack.
        @Suppress("DEPRECATION") // Action.Builder(Icon, ...) needs API 23 Icons; the int form is fine for a framework icon
        builder.addAction(Notification.Action.Builder(android.R.drawable.ic_media_play, TURN_ON_LABEL, turnOnIntent(context)).build())
        manager.notify(ALERT_ID, builder.build())
    }

    fun build(state: VpnState): Notification {
        val builder = Notification.Builder(context, CHANNEL_ID)
            .setSmallIcon(statusIcon())
            .setContentTitle(title(state))
            .setContentText(text(state))
            .setCategory(Notification.CATEGORY_SERVICE)
            .setOngoing(state.isActive)
            .setOnlyAlertOnce(true)
            .setShowWhen(false)
            .setLocalOnly(true)
            .setVisibility(Notification.VISIBILITY_PUBLIC)
        openAppIntent(context)?.let { builder.setContentIntent(it) }
        if (state.isActive) {
            val stop = PendingIntent.getService(
                context, REQUEST_STOP, HushVpnService.stopIntent(context),
                PendingIntent.FLAG_UPDATE_CURRENT or PendingIntent.FLAG_IMMUTABLE,
            )
            @Suppress("DEPRECATION") // Action.Builder(Icon, ...) needs API 23 Icons; the int form is fine for a framework icon
            builder.addAction(Notification.Action.Builder(android.R.drawable.ic_menu_close_clear_cancel, STOP_LABEL, stop).build())
        }
        if (Build.VERSION.SDK_INT >= 31) {
            builder.setForegroundServiceBehavior(Notification.FOREGROUND_SERVICE_IMMEDIATE)
        }
        return builder.build()
    }

    /**
     * Hush's own mark (res/drawable/ic_hush, a one-colour vector as the status bar wants)
     * where the app's resources are there, as in the APK; the framework's lock where they
     * are not (the JVM harness compiles without the generated R class and runs without
     * the app's resources). Looked up by name for that reason.
     */
    @android.annotation.SuppressLint("DiscouragedApi")
    private fun statusIcon(): Int =
        context.resources.getIdentifier(STATUS_ICON, "drawable", context.packageName)
            .takeIf { it != 0 } ?: android.R.drawable.ic_lock_lock

    fun show(state: VpnState) {
        manager.notify(NOTIFICATION_ID, build(state))
    }

    fun cancel() {
        manager.cancel(NOTIFICATION_ID)
    }

    companion object {
        /** res/drawable/ic_hush.xml; ResourcesTest checks it is there. */
        const val STATUS_ICON = "ic_hush"

        const val CHANNEL_ID = "vpn_status"
        const val NOTIFICATION_ID = 1
        const val ALERT_CHANNEL_ID = "vpn_alerts"
        const val ALERT_ID = 2
        const val STOP_LABEL = "Stop"
        const val TURN_ON_LABEL = "Turn Hush on"
        const val TAKEOVER_TITLE = "Another VPN app took over; Hush is off"
        const val TAKEOVER_TEXT = "Apps connect without Hush's filtering. Tap to turn Hush back on."
        const val UPDATE_TITLE = "Hush is off after its update"
        const val UPDATE_CONSENT_TEXT = "Android wants your permission again for Hush's VPN. Tap to turn Hush back on."
        const val UPDATE_REFUSED_TEXT = "Android did not let Hush start again by itself. Tap to turn Hush back on."
        private const val REQUEST_STOP = 1
        private const val REQUEST_OPEN = 2
        private const val REQUEST_TURN_ON = 3

        fun title(state: VpnState): String = when (state) {
            is VpnState.On -> state.warning ?: "Hush is on" + when (state.network) {
                Network.WIFI -> " (Wi-Fi)"
                Network.MOBILE -> " (mobile data)"
                Network.ANY -> ""
            }
            VpnState.Starting -> "Hush is starting…"
            is VpnState.Off -> "Hush is off"
            is VpnState.Failed -> "Hush could not start"
        }

        fun text(state: VpnState): String = when (state) {
            is VpnState.On -> {
                val s = state.stats
                val counts = "${s.blocked} blocked · ${s.allowed} allowed"
                if (s.eventsDropped > 0) "$counts · ${s.eventsDropped} not logged" else counts
            }
            VpnState.Starting -> "Setting up the firewall"
            is VpnState.Off -> state.detail ?: state.reason.message
            is VpnState.Failed -> state.message
        }

        /** Turns Hush on through [VpnPermissionActivity], which asks the VPN consent when Android wants it. */
        fun turnOnIntent(context: Context): PendingIntent =
            PendingIntent.getActivity(
                context, REQUEST_TURN_ON,
                Intent(context, VpnPermissionActivity::class.java).addFlags(Intent.FLAG_ACTIVITY_NEW_TASK),
                PendingIntent.FLAG_UPDATE_CURRENT or PendingIntent.FLAG_IMMUTABLE,
            )

        /** Opens Hush (its launcher activity), or null when it has none. */
        fun openAppIntent(context: Context): PendingIntent? {
            val launch = launchIntent(context) ?: return null
            return PendingIntent.getActivity(
                context, REQUEST_OPEN, launch,
                PendingIntent.FLAG_UPDATE_CURRENT or PendingIntent.FLAG_IMMUTABLE,
            )
        }

        fun launchIntent(context: Context): Intent? =
            context.packageManager.getLaunchIntentForPackage(context.packageName)
                ?.addFlags(Intent.FLAG_ACTIVITY_NEW_TASK)

        /**
         * Whether an activity should ask for POST_NOTIFICATIONS (Android 13+) before
         * starting the firewall: without it the foreground service still runs, but the
         * status and its Stop action are hidden from the notification drawer.
         */
        fun shouldAskNotificationPermission(context: Context, sdkInt: Int = Build.VERSION.SDK_INT): Boolean =
            sdkInt >= 33 &&
                context.checkSelfPermission(Manifest.permission.POST_NOTIFICATIONS) != PackageManager.PERMISSION_GRANTED
    }
}
