package org.hush.android.app

import android.content.Context
import android.content.Intent
import android.os.Handler
import android.os.Looper
import org.hush.android.core.LiveStats
import org.hush.android.lists.ListDownloader
import org.hush.android.lists.ListSubscriptions
import org.hush.android.settings.HushSettings
import org.hush.android.ui.FirewallControl
import org.hush.android.ui.FirewallState
import org.hush.android.ui.HushActions
import org.hush.android.ui.UiSettings
import org.hush.android.vpn.HushVpnService
import org.hush.android.vpn.VpnNotifications
import org.hush.android.vpn.VpnState
import org.hush.android.vpn.VpnStatus
import java.util.concurrent.Executor
import java.util.concurrent.Executors

/** The screens' view of the firewall, over [VpnStatus] and [HushVpnService]. */
class VpnFirewallControl(private val context: Context) : FirewallControl {
    private val main = Handler(Looper.getMainLooper())
    private val wrappers = HashMap<FirewallControl.Listener, (VpnState) -> Unit>()

    override fun state(): FirewallState = shown(VpnStatus.state.value)

    override fun addListener(listener: FirewallControl.Listener) {
        val wrapper = { state: VpnState -> main.post { listener.onFirewallState(shown(state)) }; Unit }
        synchronized(wrappers) { wrappers[listener] = wrapper }
        VpnStatus.addListener(wrapper)
    }

    override fun removeListener(listener: FirewallControl.Listener) {
        val wrapper = synchronized(wrappers) { wrappers.remove(listener) } ?: return
        VpnStatus.removeListener(wrapper)
    }

    /**
     * On: straight to the service when everything is granted; else through the screen
     * that asks (VPN consent, and on Android 13+ the notification for the live counts).
     */
    override fun setEnabled(enabled: Boolean) {
        try {
            if (!enabled) {
                HushVpnService.stop(context)
            } else if (HushVpnService.isPermitted(context) && !VpnNotifications.shouldAskNotificationPermission(context)) {
                if (!HushVpnService.start(context)) context.startActivity(permissionIntent())
            } else {
                context.startActivity(permissionIntent())
            }
        } catch (e: RuntimeException) {
            // The switch must not throw: the state stays as it is, and says so below.
            val why = e.message ?: e.javaClass.simpleName
            VpnStatus.fail(context.getString(if (enabled) org.hush.android.R.string.switch_on_failed else org.hush.android.R.string.switch_off_failed, why))
        }
    }

    private fun permissionIntent() =
        Intent(context, VpnPermissionActivity::class.java).addFlags(Intent.FLAG_ACTIVITY_NEW_TASK)

    override fun liveStats(): LiveStats? = (VpnStatus.state.value as? VpnState.On)?.stats

    override fun problems(): List<String> {
        val on = VpnStatus.state.value as? VpnState.On ?: return emptyList()
        return on.health.problems.map { coreProblem(org.hush.android.ui.ResourceStrings(context), it) } +
            platformProblems(context, VpnStatus.controller)
    }

    override fun alwaysOn(): org.hush.android.vpn.AlwaysOn? = VpnStatus.controller?.alwaysOn()

    companion object {
        /**
         * What the phone does around the running session, in the owner's words: strict
         * Private DNS (lookups sent encrypted past Hush, or failing on its refused port
         * 853; automatic mode falls back to Hush and is not a problem), and a network
         * that named no resolver while Hush follows the network's own.
         */
        fun platformProblems(context: Context, controller: org.hush.android.vpn.VpnController?): List<String> {
            if (controller == null) return emptyList()
            val out = ArrayList<String>(2)
            val privateDns = controller.currentNetwork.privateDns
            if (privateDns.mode == org.hush.android.vpn.PrivateDns.Mode.STRICT) {
                out.add(context.getString(org.hush.android.R.string.problem_private_dns_strict, privateDns.serverName ?: ""))
            }
            if (controller.upstreamFallback) {
                out.add(context.getString(org.hush.android.R.string.problem_network_dns_none, controller.upstreamInUse ?: ""))
            }
            return out
        }

        /**
         * A problem the core reports, for Home: the encrypted DNS server failing in the
         * owner's words, with the reasons the core counted (read from its English account,
         * `hush_session`'s `upstream_problem`); any other in the core's own words.
         */
        fun coreProblem(s: org.hush.android.ui.Strings, problem: org.hush.android.core.CoreProblem): String {
            if (problem.kind != "upstream") return problem.message
            // The core's account ends "since start, unreachable: 3, certificate not trusted: 1".
            val counted = problem.message.substringAfter("since start,", "")
            val why = UPSTREAM_REASONS.filter { (core, _) -> Regex(Regex.escape(core) + """: [1-9]""").containsMatchIn(counted) }
                .map { (_, words) -> s.get(words) }
            return if (why.isEmpty()) s.get(org.hush.android.R.string.problem_upstream_failing)
            else s.get(org.hush.android.R.string.problem_upstream_failing_why, why.joinToString(", "))
        }

        /** The core's words for each reason an encrypted lookup failed, and the owner's. */
        private val UPSTREAM_REASONS = listOf(
            "unreachable" to org.hush.android.R.string.upstream_why_unreachable,
            "certificate not trusted" to org.hush.android.R.string.upstream_why_certificate,
            "handshake failed" to org.hush.android.R.string.upstream_why_handshake,
            "no answer in time" to org.hush.android.R.string.upstream_why_timeout,
            "HTTP error" to org.hush.android.R.string.upstream_why_http,
            "answer not DNS" to org.hush.android.R.string.upstream_why_bad_answer,
            "connection closed" to org.hush.android.R.string.upstream_why_closed,
            "too many queries" to org.hush.android.R.string.upstream_why_overload,
        )

        fun shown(state: VpnState): FirewallState = when (state) {
            is VpnState.Off -> FirewallState.Off
            is VpnState.Starting -> FirewallState.Starting
            is VpnState.On -> if (state.health.isFiltering) FirewallState.On else FirewallState.NotFiltering(state.health.filtering, state.health.reason)
            is VpnState.Failed -> FirewallState.Failed(state.message)
        }
    }
}

/**
 * What the screens ask of the rest of the app: rule reloads and list downloads, run
 * off the main thread, one at a time. List downloads happen only here, for lists
 * the user added: Hush sends nothing on its own.
 */
class AppActions(
    private val context: Context,
    private val subscriptions: ListSubscriptions = ListSubscriptions(context),
    private val downloader: ListDownloader = ListDownloader(AppWiring.listsDirectory(context)),
    private val executor: Executor = Executors.newSingleThreadExecutor(),
    private val clock: () -> Long = { System.currentTimeMillis() },
) : HushActions {
    override fun rulesChanged() {
        executor.execute {
            val controller = VpnStatus.controller ?: return@execute
            controller.reloadRules()
            // An app trusted or no longer: the VPN is set up again with it left out or in.
            controller.trustedChanged()
        }
    }

    override fun updateLists() {
        executor.execute {
            // As the daily job does: each list's time or error recorded, then one reload.
            org.hush.android.lists.ListUpdater(subscriptions, downloader, reload = ::reloadLists, clock = clock).updateAll()
        }
    }

    override fun addListUrl(url: String) {
        executor.execute {
            val added = try {
                subscriptions.add(url)
            } catch (e: IllegalArgumentException) {
                return@execute // already there, or not a web address: the screen checked
            }
            AppWiring.syncListUpdates(context, HushSettings(context)) // the daily update now has a list to fetch
            download(added.url, added.kind)
            reloadLists()
        }
    }

    /** As the daily update does: the failure stored as data (ListProblem), said in the words of the day. */
    private fun download(url: String, kind: String) {
        org.hush.android.lists.ListUpdater(subscriptions, downloader, reload = {}, clock = clock).update(url, kind)
    }

    /** Puts the lists on disk in force in a running session (a session not running reads them at start). */
    private fun reloadLists() {
        val controller = VpnStatus.controller ?: return
        try {
            controller.reloadLists(AppWiring.coreConfig(context, HushSettings(context)))
        } catch (e: RuntimeException) {
            // A list vanished between download and reload, or the core failed: the lists in force stay.
        }
    }
}

/** The Settings screen's settings, kept (and checked) by [HushSettings]. */
class SettingsAdapter(private val settings: HushSettings) : UiSettings {
    override var upstreamDns: String
        get() = settings.upstreamDns
        set(value) {
            settings.upstreamDns = value
        }

    override var startOnBoot: Boolean
        get() = settings.startOnBoot
        set(value) {
            settings.startOnBoot = value
        }

    override var newAppMode: org.hush.android.policy.AppMode?
        get() = settings.newAppMode
        set(value) {
            settings.newAppMode = value
        }

    override var upstreamChoice: org.hush.android.settings.UpstreamChoice
        get() = settings.upstreamChoice
        set(value) {
            settings.upstreamChoice = value
        }

    override fun encryptedDns(https: Boolean) = settings.encryptedDns(https)

    override fun setEncryptedDns(server: org.hush.android.settings.EncryptedDns) = settings.setEncryptedDns(server)

    override var allowEncryptedDns: Boolean
        get() = settings.allowEncryptedDns
        set(value) {
            settings.allowEncryptedDns = value
        }

    override var stripEch: Boolean
        get() = settings.stripEch
        set(value) {
            settings.stripEch = value
        }
}
