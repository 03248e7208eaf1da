package org.hush.android.ui

import org.hush.android.core.LiveStats
import org.hush.android.core.Network
import org.hush.android.data.ActivityEvent
import org.hush.android.data.AppActivity
import org.hush.android.data.AppHostsPage
import org.hush.android.data.DomainRulesPage
import org.hush.android.data.RulesForDomain
import org.hush.android.data.ScreenOffActivity
import org.hush.android.data.AppModeRule
import org.hush.android.data.BlockedHost
import org.hush.android.data.DayCount
import org.hush.android.data.DomainAction
import org.hush.android.data.DomainRule
import org.hush.android.data.EventQuery
import org.hush.android.data.ExportFormat
import org.hush.android.data.Gap
import org.hush.android.data.HushStore
import org.hush.android.data.ListSource
import org.hush.android.data.Retention
import org.hush.android.policy.AppMode

/**
 * A store that cannot be used, saying [why] on every call: what the screens use until
 * the app hands them the real store ([HushUi.deps]), or when the core cannot load.
 * [why] reaches the screen (after "Could not read …: "), so it comes from res/
 * ([notConnected], AppWiring.coreProblem), never written here.
 */
open class UnavailableStore(private val why: String) : HushStore {
    private fun no(): Nothing = throw IllegalStateException(why)
    override fun recentEvents(query: EventQuery): List<ActivityEvent> = no()
    override fun appActivity(sinceMs: Long, untilMs: Long): List<AppActivity> = no()
    override fun screenOffApps(sinceMs: Long, untilMs: Long): List<ScreenOffActivity> = no()
    override fun topBlockedHosts(sinceMs: Long, untilMs: Long, uid: Int?, limit: Int): List<BlockedHost> = no()
    override fun dailyTimeline(sinceMs: Long, untilMs: Long, uid: Int?, utcOffsetMinutes: Int): List<DayCount> = no()
    override fun appModes(): List<AppModeRule> = no()
    override fun setAppMode(uid: Int, network: Network, mode: AppMode) = no()
    override fun clearAppMode(uid: Int, network: Network): Boolean = no()
    override fun domainRules(): List<DomainRule> = no()
    override fun addDomainRule(uid: Int?, domain: String, action: DomainAction): String = no()
    override fun removeDomainRule(uid: Int?, domain: String): Boolean = no()
    override fun appHosts(uid: Int?, sinceMs: Long?, untilMs: Long?, limit: Int, offset: Int): AppHostsPage = no()
    override fun addDomainRuleForPackage(uid: Int, packageName: String, domain: String, action: DomainAction): String = no()
    override fun domainRulesMatching(text: String, limit: Int, offset: Int): DomainRulesPage = no()
    override fun domainRulesFor(domain: String): RulesForDomain = no()
    override fun listSources(): List<ListSource> = no()
    override fun retention(): Retention = no()
    override fun setRetention(retention: Retention) = no()
    override fun clearActivity(): Long = no()
    override fun gaps(sinceMs: Long?, limit: Int): List<Gap> = no()
    override fun export(fd: Int, format: ExportFormat, sinceMs: Long?, untilMs: Long?): Long = no()
    override fun setAppModeForPackage(uid: Int, packageName: String, network: Network, mode: AppMode) = no()
    override fun forgetApp(uid: Int, packageName: String?): Long = no()
    override fun reconcileApps(installed: List<org.hush.android.data.InstalledPackage>): Long = no()
    override fun setApps(apps: List<org.hush.android.data.StoredApp>) = no()
    override fun storedApps(): List<org.hush.android.data.StoredApp> = no()
    override fun appOption(option: org.hush.android.data.AppOption): org.hush.android.data.AppOptionChoices = no()
    override fun setAppOption(option: org.hush.android.data.AppOption, uid: Int, packageName: String?, on: Boolean) = no()
    override fun trustedApps(): List<org.hush.android.data.TrustedApp> = no()
    override fun setTrusted(uid: Int, packageName: String?, trusted: Boolean): Boolean = no()
    override fun clearAppOption(option: org.hush.android.data.AppOption, uid: Int): Boolean = no()
    override fun setAppOptionDefault(option: org.hush.android.data.AppOption, on: Boolean) = no()

    companion object {
        /** Before the app wired the real store, in [context]'s words. */
        fun notConnected(context: android.content.Context): UnavailableStore =
            UnavailableStore(context.getString(org.hush.android.R.string.store_not_connected))
    }
}

object StoppedFirewall : FirewallControl {
    override fun state(): FirewallState = FirewallState.Off
    override fun addListener(listener: FirewallControl.Listener) {}
    override fun removeListener(listener: FirewallControl.Listener) {}
    override fun setEnabled(enabled: Boolean) {}
    override fun liveStats(): LiveStats? = null
}

object NoActions : HushActions {
    override fun rulesChanged() {}
    override fun updateLists() {}
    override fun addListUrl(url: String) {}
}
