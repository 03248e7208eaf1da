package org.hush.android.ui

import android.content.Context
import android.content.SharedPreferences
import android.os.Handler
import android.os.Looper
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.Dispatchers
import org.hush.android.apps.InstalledApps
import org.hush.android.core.LiveStats
import org.hush.android.data.HushStore
import java.util.TimeZone
import kotlin.coroutines.CoroutineContext

/** The firewall as the Home switch sees it. */
sealed class FirewallState {
    object Off : FirewallState() { override fun toString() = "Off" }
    object Starting : FirewallState() { override fun toString() = "Starting" }
    object On : FirewallState() { override fun toString() = "On" }
    /** A start failed; [message] is shown as is. */
    data class Failed(val message: String) : FirewallState()
    /**
     * The VPN is up but the core does not filter now (its engine restarting, or traffic
     * held): nothing passes unfiltered. [filtering] is how (never ON), [reason] the core's
     * own account (English, shown as the detail); [Format.notFiltering] says it in words.
     */
    data class NotFiltering(val filtering: org.hush.android.core.Filtering, val reason: String? = null) : FirewallState()
}

/**
 * The running firewall, seen from the screens: its state comes in through the
 * listener (on the main thread), the switch goes out through [setEnabled].
 * Implemented by the VPN service's side; a fake in tests.
 */
interface FirewallControl {
    fun state(): FirewallState
    fun addListener(listener: Listener)
    fun removeListener(listener: Listener)

    /** The switch: start (true) or stop (false) the firewall. Must not throw. */
    fun setEnabled(enabled: Boolean)

    /** The running session's counts, or null when none runs. */
    fun liveStats(): LiveStats?

    /**
     * What is wrong with the running session without stopping it ("the database cannot
     * be written: ...", "list X could not be read"); empty when nothing is, or none runs.
     */
    fun problems(): List<String> = emptyList()

    /**
     * Android's "Always-on VPN" and "Block connections without VPN" for Hush, as the
     * running VPN service reads them (API 29+); null when none runs or Android cannot say.
     * For the guidance screen's always-on step.
     */
    fun alwaysOn(): org.hush.android.vpn.AlwaysOn? = null

    interface Listener {
        fun onFirewallState(state: FirewallState)
    }
}

/** What the screens ask of the rest of the app (wired by whoever hosts the session). */
interface HushActions {
    /** Stored rules changed: a running session should reload them (FirewallSession.reloadRules). */
    fun rulesChanged()

    /** "Update now" on the Lists screen: download and reload the lists. */
    fun updateLists()

    /** The user added a list URL (already checked to be an http(s) URL). */
    fun addListUrl(url: String)
}

/**
 * Settings the store does not keep (the service reads them when it starts). A setter
 * may refuse a value with IllegalArgumentException saying why.
 */
interface UiSettings {
    var upstreamDns: String
    var startOnBoot: Boolean
    /** The mode a newly installed app starts with; null: Hush's default (no rule of its own). */
    var newAppMode: org.hush.android.policy.AppMode?
    /**
     * Where allowed DNS goes, from the next start: the network's own resolvers ([upstreamDns]
     * when it names none), [upstreamDns], or the saved encrypted server of that kind. The
     * encrypted choices are refused (IllegalArgumentException) while none is saved.
     */
    var upstreamChoice: org.hush.android.settings.UpstreamChoice
    /** The DNS-over-TLS ([https] false) or DNS-over-HTTPS server saved, chosen or not; null when none is. */
    fun encryptedDns(https: Boolean): org.hush.android.settings.EncryptedDns?
    /** Saves [server] for its kind (it does not choose it). */
    fun setEncryptedDns(server: org.hush.android.settings.EncryptedDns)
    /** Apps may use their own DNS over TLS or QUIC (port 853); from the next start. */
    var allowEncryptedDns: Boolean
    /** ECH removed from DNS answers; from the next start. */
    var stripEch: Boolean
}

/** [UiSettings] in SharedPreferences ("hush_settings"). */
class PrefsSettings(context: Context) : UiSettings {
    private val prefs: SharedPreferences =
        context.getSharedPreferences(PREFS_NAME, Context.MODE_PRIVATE)

    override var upstreamDns: String
        get() = prefs.getString(KEY_DNS, null) ?: DEFAULT_DNS
        set(value) { prefs.edit().putString(KEY_DNS, value).apply() }

    override var startOnBoot: Boolean
        get() = prefs.getBoolean(KEY_BOOT, false)
        set(value) { prefs.edit().putBoolean(KEY_BOOT, value).apply() }

    override var newAppMode: org.hush.android.policy.AppMode?
        get() = prefs.getString(KEY_NEW_APP_MODE, null)?.let { org.hush.android.policy.AppMode.fromWire(it) }
        set(value) { prefs.edit().apply { if (value == null) remove(KEY_NEW_APP_MODE) else putString(KEY_NEW_APP_MODE, value.wire) }.apply() }

    /** The upstream choice and encrypted servers, kept (and checked) as the service reads them. */
    private val upstream = org.hush.android.settings.HushSettings(context)

    override var upstreamChoice: org.hush.android.settings.UpstreamChoice
        get() = upstream.upstreamChoice
        set(value) { upstream.upstreamChoice = value }

    override fun encryptedDns(https: Boolean) = upstream.encryptedDns(https)

    override fun setEncryptedDns(server: org.hush.android.settings.EncryptedDns) = upstream.setEncryptedDns(server)

    override var allowEncryptedDns: Boolean
        get() = prefs.getBoolean(KEY_ALLOW_ENCRYPTED_DNS, false)
        set(value) { prefs.edit().putBoolean(KEY_ALLOW_ENCRYPTED_DNS, value).apply() }

    override var stripEch: Boolean
        get() = prefs.getBoolean(KEY_STRIP_ECH, true)
        set(value) { prefs.edit().putBoolean(KEY_STRIP_ECH, value).apply() }

    companion object {
        const val KEY_FOLLOW_NETWORK_DNS = "follow_network_dns"
        const val KEY_ALLOW_ENCRYPTED_DNS = "allow_encrypted_dns"
        const val KEY_STRIP_ECH = "strip_ech"
        const val PREFS_NAME = "hush_settings"
        const val KEY_DNS = "upstream_dns"
        const val KEY_BOOT = "start_on_boot"
        const val KEY_NEW_APP_MODE = "new_app_mode"
        const val DEFAULT_DNS = "9.9.9.9:53"
    }
}

/** Everything the screens use, injected by the app (or a test) through [HushUi.deps]. */
class UiDeps(
    val store: HushStore,
    val apps: InstalledApps,
    val firewall: FirewallControl,
    val actions: HushActions,
    val settings: UiSettings,
    /** Where store and package-manager calls run. Tests pass Dispatchers.Unconfined. */
    val io: CoroutineDispatcher = Dispatchers.IO,
    /** Where presenters hand states to the views: the main thread (MainDispatcher). */
    val main: CoroutineDispatcher = MainDispatcher,
    val clock: Clock = Clock.SYSTEM,
    val timeZone: TimeZone = TimeZone.getDefault(),
    /** Use the platform's dynamic colours on API 31+ (false: the fixed palette). */
    val dynamicColor: Boolean = true,
    /** The built-in lists and those added by URL, each with its switch (Lists, Home's summary). */
    val lists: org.hush.android.lists.ListCatalogue = org.hush.android.lists.ListCatalogue.NONE,
    /** Who is behind the hosts shown, and App detail's report (none: no company shown, no report). */
    val evidence: org.hush.android.data.Evidence = org.hush.android.data.Evidence.unavailable("no evidence in this build"),
    /** The running session's packet capture, for App detail's capture card (none: as if the VPN never ran). */
    val capture: CaptureControl = CaptureControl.NONE,
)

interface Clock {
    fun nowMs(): Long

    companion object {
        val SYSTEM: Clock = object : Clock {
            override fun nowMs() = System.currentTimeMillis()
        }
    }
}

/** Where [MainActivity] finds its dependencies (set by the Application, or a test). */
object HushUi {
    @Volatile
    var deps: UiDeps? = null
}

/** The main thread as a coroutine dispatcher, without kotlinx-coroutines-android. */
object MainDispatcher : CoroutineDispatcher() {
    override fun isDispatchNeeded(context: CoroutineContext): Boolean =
        Looper.myLooper() != Looper.getMainLooper()

    override fun dispatch(context: CoroutineContext, block: Runnable) {
        Handler(Looper.getMainLooper()).post(block)
    }
}
