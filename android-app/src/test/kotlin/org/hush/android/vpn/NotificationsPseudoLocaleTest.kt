package org.hush.android.vpn

import android.app.Notification
import android.app.NotificationManager
import android.content.Context
import android.os.Looper
import org.hush.android.R
import org.hush.android.apps.ActionOutcome
import org.hush.android.apps.NewAppChoice
import org.hush.android.apps.NewAppNotifier
import org.hush.android.core.Network
import org.hush.android.policy.AppMode
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config
import java.util.Locale

/**
 * The notifications, their channels and the Quick Settings tile in the accented
 * pseudo-locale en-XA (as PseudoLocaleTest does for the screens): every word in a
 * title, a text, an action or a channel must come out accented; one left plain was
 * written in the code. Data (the app's label) is not counted.
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35], qualifiers = "en-rXA")
class NotificationsPseudoLocaleTest {
    private val context: Context get() = RuntimeEnvironment.getApplication()
    private val manager get() = context.getSystemService(NotificationManager::class.java)!!

    @After
    fun reset() = VpnStatus.publish(VpnState.Off(OffReason.NOT_STARTED))

    /** Title, text, big text and action titles of a notification. */
    private fun words(n: Notification): List<String> =
        listOfNotNull(
            n.extras.getCharSequence(Notification.EXTRA_TITLE),
            n.extras.getCharSequence(Notification.EXTRA_TEXT),
            n.extras.getCharSequence(Notification.EXTRA_BIG_TEXT),
        ).map { it.toString() } + n.actions.orEmpty().map { it.title.toString() }

    private fun check(what: String, texts: List<String>, problems: MutableList<String>) {
        assertTrue("$what: nothing shown", texts.isNotEmpty())
        for (text in texts) {
            val plain = plainWords(text)
            if (plain.isNotEmpty()) problems.add("$what: \"$text\" has $plain")
        }
    }

    @Test
    fun theNotificationsChannelsAndTileShowNoWordWrittenInTheCode() {
        assertEquals(Locale("en", "XA"), context.resources.configuration.locales[0])
        val problems = ArrayList<String>()
        val vpn = VpnNotifications(context)
        vpn.createChannel()
        val states = listOf(
            VpnState.Starting,
            VpnState.On(VpnController.ZERO_STATS.copy(blocked = 12, allowed = 30), Network.WIFI),
            VpnState.On(VpnController.ZERO_STATS.copy(blocked = 1, allowed = 1, eventsDropped = 4), Network.MOBILE),
            VpnState.On(VpnController.ZERO_STATS, Network.ANY),
            VpnState.Off(OffReason.STOPPED),
            VpnState.Off(OffReason.REVOKED),
            VpnState.Failed(FailureKind.PERMISSION, context.getString(R.string.vpn_permission_missing)),
        )
        for (state in states) check("status, $state", words(vpn.build(state)), problems)
        for ((what, show) in listOf<Pair<String, () -> Unit>>(
            "takeover" to vpn::showTakeover,
            "update, consent" to vpn::showUpdateNeedsConsent,
            "update, not restarted" to vpn::showUpdateNotRestarted,
        )) {
            show()
            check(what, words(shadowOf(manager).getNotification(VpnNotifications.ALERT_ID)!!), problems)
        }
        for (id in listOf(VpnNotifications.CHANNEL_ID, VpnNotifications.ALERT_CHANNEL_ID)) {
            val channel = manager.getNotificationChannel(id)!!
            check("channel $id", listOf(channel.name.toString(), channel.description), problems)
        }

        val apps = NewAppNotifier(context)
        val pkg = "com.example.quiz"
        fun newApp() = shadowOf(manager).activeNotifications.first { it.tag == pkg }.notification
        apps.newApp(10_500, pkg, LABEL, null)
        check("new app", words(newApp()), problems)
        apps.newApp(10_500, pkg, LABEL, AppMode.BLOCK_ALL)
        check("new app, mode applied", words(newApp()), problems)
        for (outcome in NewAppChoice.values().map { ActionOutcome.Applied(LABEL, it) } +
            listOf(ActionOutcome.Gone(LABEL), ActionOutcome.Failed(LABEL, "database is locked"))) {
            apps.outcome(pkg, outcome)
            check("new app, $outcome", words(newApp()), problems)
        }
        val channel = manager.getNotificationChannel(NewAppNotifier.CHANNEL_ID)!!
        check("channel new apps", listOf(channel.name.toString(), channel.description), problems)

        val tile = Robolectric.buildService(HushTileService::class.java).create().get()
        tile.onStartListening()
        for (state in listOf(
            VpnState.Off(OffReason.STOPPED), VpnState.Starting,
            VpnState.On(VpnController.ZERO_STATS.copy(blocked = 5), Network.WIFI),
            VpnState.Failed(FailureKind.CORE, context.getString(R.string.vpn_no_engine)),
        )) {
            VpnStatus.publish(state)
            shadowOf(Looper.getMainLooper()).idle()
            check("tile, $state", listOf(tile.qsTile.label.toString(), tile.qsTile.subtitle.toString()), problems)
        }
        tile.onStopListening()

        assertTrue("words written in the code (move them to res/values/strings.xml):\n" + problems.distinct().joinToString("\n"), problems.isEmpty())
    }

    /** The words of [text] in plain ASCII letters that are neither data nor the pseudo-locale's padding. */
    private fun plainWords(text: String): List<String> =
        Regex("\\p{L}+").findAll(text).map { it.value }
            .filter { w -> w.length >= 2 && w.all { it in 'a'..'z' || it in 'A'..'Z' } }
            .filter { it.lowercase(Locale.ROOT) !in ALLOWED }
            .toList()

    companion object {
        const val LABEL = "Quiz Master"

        /** The app's label and the data in the failure; what aapt2's en-XA appends to lengthen a string. */
        private val ALLOWED = ("quiz master database is locked " +
            "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen fiveteen " +
            "sixteen seventeen eighteen nineteen twenty").split(' ').toSet()
    }
}
