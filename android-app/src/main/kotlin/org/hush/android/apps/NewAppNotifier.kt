package org.hush.android.apps

import android.app.Notification
import android.app.NotificationChannel
import android.app.NotificationManager
import android.app.PendingIntent
import android.content.BroadcastReceiver
import android.content.Context
import android.content.Intent
import android.net.Uri
import android.util.Log
import org.hush.android.R
import org.hush.android.policy.AppMode
import org.hush.android.ui.Format
import org.hush.android.ui.ResourceStrings

/** Tells the owner about new apps and what their answer did ([NewAppNotifier]; a fake in tests). */
interface NewAppAlerts {
    /** [label] ([packageName] at [uid]) was installed and can reach the internet; [applied]: the mode stored at install, if any. */
    fun newApp(uid: Int, packageName: String, label: String, applied: AppMode?)

    /** Replaces the app's notification with what the owner's answer did. */
    fun outcome(packageName: String, outcome: ActionOutcome)

    /** The app is gone: its notification goes too. */
    fun cancel(packageName: String)
}

/**
 * The new-app notification: "New app X can reach the internet", with Block all, Allow
 * and Keep default. One per app (tagged by package), replaced by what the answer did.
 * The actions go to [NewAppActionReceiver], which is not exported: only these
 * PendingIntents (immutable, carrying the UID and the package) reach it.
 */
class NewAppNotifier(private val context: Context) : NewAppAlerts {
    private val manager: NotificationManager =
        context.getSystemService(Context.NOTIFICATION_SERVICE) as NotificationManager
    private val strings = ResourceStrings(context)

    private fun channel() {
        val channel = NotificationChannel(CHANNEL_ID, strings.get(R.string.newapp_channel), NotificationManager.IMPORTANCE_DEFAULT)
        channel.description = strings.get(R.string.newapp_channel_description)
        manager.createNotificationChannel(channel)
    }

    override fun newApp(uid: Int, packageName: String, label: String, applied: AppMode?) {
        channel()
        val text = if (applied == null) {
            strings.get(R.string.newapp_text_default, Format.mode(strings, AppMode.DEFAULT))
        } else {
            strings.get(R.string.newapp_text_applied, Format.mode(strings, applied))
        }
        val builder = builder()
            .setContentTitle(strings.get(R.string.newapp_title, label))
            .setContentText(text)
            .setStyle(Notification.BigTextStyle().bigText(text))
            .setAutoCancel(true)
        for (choice in NewAppChoice.values()) {
            @Suppress("DEPRECATION") // Action.Builder(Icon, ...) needs Icons; the int form is fine for a framework icon
            builder.addAction(Notification.Action.Builder(0, strings.get(actionLabel(choice)), actionIntent(context, uid, packageName, label, choice)).build())
        }
        manager.notify(packageName, NOTIFICATION_ID, builder.build())
    }

    override fun outcome(packageName: String, outcome: ActionOutcome) {
        channel()
        val (title, text) = when (outcome) {
            is ActionOutcome.Applied -> outcome.label to when (outcome.choice) {
                NewAppChoice.BLOCK_ALL -> strings.get(R.string.newapp_blocked)
                NewAppChoice.ALLOW -> strings.get(R.string.newapp_allowed)
                NewAppChoice.KEEP_DEFAULT ->
                    if (outcome.shared) strings.get(R.string.newapp_kept_shared)
                    else strings.get(R.string.newapp_kept, Format.mode(strings, AppMode.DEFAULT))
            }
            is ActionOutcome.Gone -> strings.get(R.string.newapp_removed_title, outcome.label) to strings.get(R.string.newapp_removed_text)
            is ActionOutcome.Failed -> outcome.label to strings.get(R.string.newapp_failed, outcome.why)
        }
        val builder = builder().setContentTitle(title).setContentText(text)
            .setStyle(Notification.BigTextStyle().bigText(text))
            .setAutoCancel(true)
            .setTimeoutAfter(OUTCOME_TIMEOUT_MS)
        manager.notify(packageName, NOTIFICATION_ID, builder.build())
    }

    override fun cancel(packageName: String) = manager.cancel(packageName, NOTIFICATION_ID)

    private fun builder(): Notification.Builder = Notification.Builder(context, CHANNEL_ID)
        .setSmallIcon(icon())
        .setCategory(Notification.CATEGORY_RECOMMENDATION)
        .setLocalOnly(true)
        // The app's name is private: on the lock screen, only that there is a new app.
        .setVisibility(Notification.VISIBILITY_PRIVATE)

    private fun icon(): Int =
        context.resources.getIdentifier("ic_hush", "drawable", context.packageName).takeIf { it != 0 }
            ?: android.R.drawable.ic_lock_lock

    companion object {
        const val CHANNEL_ID = "hush_new_apps"
        const val NOTIFICATION_ID = 7301
        const val OUTCOME_TIMEOUT_MS = 10_000L

        const val ACTION_CHOOSE = "org.hush.android.action.NEW_APP_CHOICE"
        const val EXTRA_UID = "org.hush.android.extra.UID"
        const val EXTRA_PACKAGE = "org.hush.android.extra.PACKAGE"
        const val EXTRA_LABEL = "org.hush.android.extra.LABEL"
        const val EXTRA_CHOICE = "org.hush.android.extra.CHOICE"

        /** An action's button, in res/values/strings.xml. */
        fun actionLabel(choice: NewAppChoice): Int = when (choice) {
            NewAppChoice.BLOCK_ALL -> R.string.newapp_block_all
            NewAppChoice.ALLOW -> R.string.newapp_allow
            NewAppChoice.KEEP_DEFAULT -> R.string.newapp_keep_default
        }

        /** The intent an action sends (explicit, to the receiver that is not exported). */
        fun actionIntentFor(context: Context, uid: Int, packageName: String, label: String, choice: NewAppChoice): Intent =
            Intent(context, NewAppActionReceiver::class.java)
                .setAction(ACTION_CHOOSE)
                // Distinct data per app and choice: PendingIntents that differ only in extras would be one.
                .setData(Uri.fromParts("package", packageName, choice.name))
                .putExtra(EXTRA_UID, uid)
                .putExtra(EXTRA_PACKAGE, packageName)
                .putExtra(EXTRA_LABEL, label)
                .putExtra(EXTRA_CHOICE, choice.name)

        fun actionIntent(context: Context, uid: Int, packageName: String, label: String, choice: NewAppChoice): PendingIntent =
            PendingIntent.getBroadcast(
                context, choice.ordinal, actionIntentFor(context, uid, packageName, label, choice),
                PendingIntent.FLAG_UPDATE_CURRENT or PendingIntent.FLAG_IMMUTABLE,
            )
    }
}

/** Applies the owner's answer to a new app's notification ([AppChanges.act]), off the main thread. */
class NewAppActionReceiver : BroadcastReceiver() {
    override fun onReceive(context: Context, intent: Intent) {
        if (intent.action != NewAppNotifier.ACTION_CHOOSE) return
        val uid = intent.getIntExtra(NewAppNotifier.EXTRA_UID, -1)
        val packageName = intent.getStringExtra(NewAppNotifier.EXTRA_PACKAGE)
        val choice = intent.getStringExtra(NewAppNotifier.EXTRA_CHOICE)
            ?.let { name -> NewAppChoice.values().firstOrNull { it.name == name } }
        if (uid < 0 || packageName.isNullOrEmpty() || choice == null) {
            Log.w(PackageEvents.TAG, "a new-app action without its app or choice was ignored")
            return
        }
        val label = intent.getStringExtra(NewAppNotifier.EXTRA_LABEL) ?: packageName
        // Null when called outside a broadcast's delivery (a direct call): nothing to finish then.
        val pending: PendingResult? = goAsync()
        val changes = PackageEvents.changes(context.applicationContext ?: context)
        PackageEvents.executor.execute {
            try {
                changes.act(uid, packageName, label, choice)
            } catch (e: RuntimeException) {
                PackageEvents.logFailure("a new-app action failed", e)
            } finally {
                pending?.finish()
            }
        }
    }
}
