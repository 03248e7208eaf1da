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
import org.hush.android.R
import org.hush.android.app.VpnPermissionActivity
import org.hush.android.core.Network
import org.hush.android.ui.Format
import org.hush.android.ui.ResourceStrings
import org.hush.android.ui.Strings

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
    private val strings = ResourceStrings(context)

    /** Creates (or updates) the channels; safe to call every time. */
    fun createChannel() {
        val channel = NotificationChannel(CHANNEL_ID, strings.get(R.string.vpn_channel_status), NotificationManager.IMPORTANCE_LOW)
        channel.description = strings.get(R.string.vpn_channel_status_description)
        channel.setShowBadge(false)
        manager.createNotificationChannel(channel)
        val alerts = NotificationChannel(ALERT_CHANNEL_ID, strings.get(R.string.vpn_channel_alerts), NotificationManager.IMPORTANCE_DEFAULT)
        alerts.description = strings.get(R.string.vpn_channel_alerts_description)
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

    private fun showAlert(titleId: Int, textId: Int) {
        val title = strings.get(titleId)
        val text = strings.get(textId)
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
        builder.addAction(Notification.Action.Builder(android.R.drawable.ic_media_play, strings.get(R.string.vpn_turn_on), turnOnIntent(context)).build())
        manager.notify(ALERT_ID, builder.build())
    }

    fun build(state: VpnState): Notification {
        val builder = Notification.Builder(context, CHANNEL_ID)
            .setSmallIcon(statusIcon())
            .setContentTitle(title(strings, state))
            .setContentText(text(strings, state))
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
            builder.addAction(Notification.Action.Builder(android.R.drawable.ic_menu_close_clear_cancel, strings.get(R.string.vpn_stop), stop).build())
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
        /** The alerts' words (res/values/strings.xml). */
        val TAKEOVER_TITLE = R.string.vpn_takeover_title
        val TAKEOVER_TEXT = R.string.vpn_takeover_text
        val UPDATE_TITLE = R.string.vpn_update_title
        val UPDATE_CONSENT_TEXT = R.string.vpn_update_consent_text
        val UPDATE_REFUSED_TEXT = R.string.vpn_update_refused_text
        private const val REQUEST_STOP = 1
        private const val REQUEST_OPEN = 2
        private const val REQUEST_TURN_ON = 3

        fun title(s: Strings, state: VpnState): String = when (state) {
            is VpnState.On -> state.warning(s) ?: s.get(when (state.network) {
                Network.WIFI -> R.string.vpn_on_wifi
                Network.MOBILE -> R.string.vpn_on_mobile
                Network.ANY -> R.string.vpn_on
            })
            VpnState.Starting -> s.get(R.string.vpn_starting)
            is VpnState.Off -> s.get(R.string.vpn_off)
            is VpnState.Failed -> s.get(R.string.vpn_failed)
        }

        fun text(s: Strings, state: VpnState): String = when (state) {
            is VpnState.On -> {
                val n = state.stats
                if (n.eventsDropped > 0) {
                    s.get(R.string.vpn_counts_dropped, Format.count(s, n.blocked), Format.count(s, n.allowed), Format.count(s, n.eventsDropped))
                } else {
                    s.get(R.string.vpn_counts, Format.count(s, n.blocked), Format.count(s, n.allowed))
                }
            }
            VpnState.Starting -> s.get(R.string.vpn_setting_up)
            is VpnState.Off -> state.detail ?: offReason(s, state.reason)
            is VpnState.Failed -> state.message
        }

        /** [OffReason.message] in the owner's language. */
        fun offReason(s: Strings, reason: OffReason): String = s.get(when (reason) {
            OffReason.NOT_STARTED -> R.string.vpn_off_not_started
            OffReason.STOPPED -> R.string.vpn_off_stopped
            OffReason.REVOKED -> R.string.vpn_off_revoked
            OffReason.SERVICE_DESTROYED -> R.string.vpn_off_destroyed
        })

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
