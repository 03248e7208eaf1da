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

    /** [allowed]: data the texts quote (an entered value), whose words may stay plain. */
    private fun check(what: String, texts: List<String>, problems: MutableList<String>, allowed: String = "") {
        assertTrue("$what: nothing shown", texts.isNotEmpty())
        val data = Regex("\\p{L}+").findAll(allowed).map { it.value }.toSet()
        for (text in texts) {
            val plain = plainWords(text).filter { it !in data }
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
            VpnState.Off(OffReason.NOT_STARTED),
            VpnState.Off(OffReason.SERVICE_DESTROYED),
            VpnState.Failed(FailureKind.PERMISSION, context.getString(R.string.vpn_permission_missing)),
            // The core's health: the title says it in words; the core's own reason is data.
            VpnState.On(VpnController.ZERO_STATS, Network.WIFI, org.hush.android.core.CoreHealth(org.hush.android.core.Filtering.RESTARTING, CORE_REASON)),
            VpnState.On(VpnController.ZERO_STATS, Network.WIFI, org.hush.android.core.CoreHealth(org.hush.android.core.Filtering.HOLDING, CORE_REASON)),
            VpnState.On(VpnController.ZERO_STATS, Network.MOBILE, org.hush.android.core.CoreHealth(org.hush.android.core.Filtering.STOPPED)),
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
            listOf(ActionOutcome.Applied(LABEL, NewAppChoice.KEEP_DEFAULT, shared = true)) +
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

    /**
     * What the app says outside the screens and notifications, each way it can be said:
     * the settings' refusals (upstream DNS, database path, from HushSettings itself), the
     * core that would not load, the switch and the VPN consent failing.
     */
    @Test
    fun theRefusalsAndFailuresShowNoWordWrittenInTheCode() {
        val problems = ArrayList<String>()
        val settings = org.hush.android.settings.HushSettings(context)
        val dns = listOf(
            "", "9.9.9.9", "dns.quad9.net:53", "9.9.9.300:53", "9.9.9.9:0", "9.9.9.9:dns", "2620:fe::fe", "[2620:fe::fe]",
            "[2620:fe::fe:53", "[2620:zz::1]:53", "[1:2:3:4:5:6:7:8:9]:53", "0.0.0.0:53", "224.0.0.1:53",
        )
        val kinds = HashSet<org.hush.android.settings.SettingProblem.Kind>()
        for (input in dns) {
            val e = try { settings.upstreamDns = input; null } catch (e: org.hush.android.settings.SettingRefused) { e }
            assertTrue("\"$input\" refused", e != null)
            kinds.add(e!!.problem.kind)
            check("upstream DNS \"$input\"", listOf(e.message!!), problems, allowed = input)
        }
        val folder = context.filesDir.path
        for (input in listOf("", " /data/x.db", "/data/\u0000x.db", "hush.db", "/data/files/", folder)) {
            val e = try { settings.databasePath = input; null } catch (e: org.hush.android.settings.SettingRefused) { e }
            assertTrue("\"$input\" refused", e != null)
            kinds.add(e!!.problem.kind)
            // The default file name (hush.db) in the example is a name, not a word.
            check("database path \"$input\"", listOf(e.message!!), problems, allowed = input + " " + org.hush.android.settings.HushSettings.DATABASE_FILE)
        }
        // The encrypted upstream's server and addresses, as Settings checks them (issue 13).
        val words = org.hush.android.ui.ResourceStrings(context)
        val encrypted = listOf(
            Triple(false, "", ""), Triple(false, "quic://dns.example", ""), Triple(true, "http://dns.example/q", ""),
            Triple(false, "u@dns.example", ""), Triple(false, "bad_name!", ""), Triple(false, "dns.example:0", ""),
            Triple(false, "dns.example/q", ""), Triple(false, "dns.example", ""), Triple(false, "dns.example", "9.9.9"),
            Triple(false, "dns.example", (1..9).joinToString(",") { "198.18.0.$it" }),
        )
        for ((https, server, addresses) in encrypted) {
            val e = try { org.hush.android.settings.EncryptedDns.parse(https, server, addresses); null } catch (e: org.hush.android.settings.SettingRefused) { e }
            assertTrue("\"$server\" \"$addresses\" refused", e != null)
            kinds.add(e!!.problem.kind)
            check("encrypted DNS \"$server\" \"$addresses\"", listOf(e.problem.words(words)), problems, allowed = "$server $addresses tls https")
        }
        val none = try { settings.upstreamChoice = org.hush.android.settings.UpstreamChoice.TLS; null } catch (e: org.hush.android.settings.SettingRefused) { e }
        kinds.add(none!!.problem.kind)
        check("encrypted DNS chosen without a server", listOf(none.message!!), problems)
        context.getSharedPreferences(org.hush.android.settings.HushSettings.PREFS_NAME, android.content.Context.MODE_PRIVATE).edit()
            .putString("upstream_choice", "tls").putString("dot_url", "tls://dns.example").commit()
        val unreadable = try { org.hush.android.settings.HushSettings(context).encryptedUpstream; null } catch (e: IllegalStateException) { e }
        assertEquals(org.hush.android.settings.SettingProblem(org.hush.android.settings.SettingProblem.Kind.ENC_UNREADABLE).words(words), unreadable!!.message)
        kinds.add(org.hush.android.settings.SettingProblem.Kind.ENC_UNREADABLE)
        check("encrypted DNS unreadable", listOf(unreadable.message!!), problems)
        assertEquals("every refusal reached", org.hush.android.settings.SettingProblem.Kind.values().toSet() - kinds, emptySet<Any>())

        val strings = org.hush.android.ui.ResourceStrings(context)
        check("core not loaded", listOf(org.hush.android.app.AppWiring.coreProblem(strings) { throw UnsatisfiedLinkError(CORE_REASON) }!!), problems)
        check("core failed", listOf(org.hush.android.app.AppWiring.coreProblem(strings) { throw IllegalStateException(CORE_REASON) }!!), problems)
        for (id in listOf(R.string.switch_on_failed, R.string.switch_off_failed, R.string.permission_not_asked)) {
            check("failure ${context.resources.getResourceEntryName(id)}", listOf(context.getString(id, CORE_REASON)), problems)
        }
        for (id in listOf(org.hush.android.app.VpnPermissionActivity.DENIED, R.string.permission_start_refused)) {
            check("failure ${context.resources.getResourceEntryName(id)}", listOf(context.getString(id)), problems)
        }
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
        /** The core's own account of a failure: data, in English. */
        const val CORE_REASON = "database is locked"

        /** The app's label and the data in the failure; what aapt2's en-XA appends to lengthen a string. */
        private val ALLOWED = ("quiz master database is locked " +
            "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen fiveteen " +
            "sixteen seventeen eighteen nineteen twenty").split(' ').toSet()
    }
}
