package org.hush.android.ui

import android.graphics.drawable.Drawable
import android.graphics.drawable.GradientDrawable
import org.hush.android.apps.InstalledApp
import org.hush.android.apps.InstalledApps
import org.hush.android.core.LiveStats
import org.hush.android.core.Network
import org.hush.android.data.Action
import org.hush.android.data.ActivityEvent
import org.hush.android.data.AppActivity
import org.hush.android.data.AppHost
import org.hush.android.data.AppHostsPage
import org.hush.android.data.DomainRulesPage
import org.hush.android.data.RulesForDomain
import org.hush.android.data.ScreenOffActivity
import org.hush.android.data.AppModeRule
import org.hush.android.data.AppOption
import org.hush.android.data.AppOptionChoices
import org.hush.android.data.BlockedHost
import org.hush.android.data.DayCount
import org.hush.android.data.DomainAction
import org.hush.android.data.DomainRule
import org.hush.android.data.EventQuery
import org.hush.android.data.ExportFormat
import org.hush.android.data.Gap
import org.hush.android.data.HostCount
import org.hush.android.data.HushStore
import org.hush.android.data.ListSource
import org.hush.android.data.Retention
import org.hush.android.policy.AppMode
import java.text.SimpleDateFormat
import java.util.Date
import java.util.Locale
import java.util.TimeZone

/**
 * An in-memory [HushStore] that answers as the real one does (newest first, paging by
 * limit/offset, ranges [since, until), aggregates by whole hours, rules normalised,
 * addresses refused as domains) and refuses what the core refuses (a page over
 * [HushStore.MAX_PAGE], with the core's words), records the calls the screens make,
 * and fails every call with IllegalStateException when [failure] is set.
 */
class FakeStore(events: List<ActivityEvent> = emptyList()) : HushStore {
    /** Newest first, as the store reads them. */
    private var events: List<ActivityEvent> = events.sortedByDescending { it.timeMs }
    val modes = LinkedHashMap<Pair<Int, Network>, AppMode>()
    val rules = ArrayList<DomainRule>()
    var sources: List<ListSource> = emptyList()
    var storedRetention = Retention(30, 1_000_000)
    var failure: String? = null

    val queries = ArrayList<EventQuery>()
    val setModeCalls = ArrayList<AppModeRule>()
    val addRuleCalls = ArrayList<Triple<Int?, String, DomainAction>>()
    val removeRuleCalls = ArrayList<Pair<Int?, String>>()
    val exportCalls = ArrayList<Pair<Int, ExportFormat>>()
    var clearCalls = 0
    /** Threads the store was called on. */
    val threads = HashSet<String>()

    private fun call(what: String) {
        threads.add(Thread.currentThread().name)
        failure?.let { throw IllegalStateException(it) }
    }

    fun eventCount() = events.size

    /** A new attempt, as the core would log it. */
    fun log(event: ActivityEvent) {
        events = (listOf(event) + events).sortedByDescending { it.timeMs }
    }

    /** Every event, newest first (for assertions: no page cap). */
    fun allEvents(): List<ActivityEvent> = ArrayList(events)

    private fun page(limit: Int, what: String) {
        if (limit > HushStore.MAX_PAGE) throw IllegalArgumentException("a page holds at most ${HushStore.MAX_PAGE} $what, not $limit")
        if (limit < 0) throw IllegalArgumentException("a limit of $limit is negative")
    }

    override fun recentEvents(query: EventQuery): List<ActivityEvent> {
        call("recentEvents")
        queries.add(query)
        page(query.limit, "events")
        val unfiltered = query.uid == null && query.action == null && query.hostContains == null &&
            query.sinceMs == null && query.untilMs == null
        if (unfiltered) {
            val from = minOf(query.offset, events.size)
            return ArrayList(events.subList(from, minOf(events.size, from + query.limit)))
        }
        val needle = query.hostContains?.lowercase()
        return events.asSequence().filter { e ->
            (query.uid == null || e.uid == query.uid) &&
                (query.action == null || e.action == query.action) &&
                (needle == null || e.host.lowercase().contains(needle)) &&
                (query.sinceMs == null || e.timeMs >= query.sinceMs) &&
                (query.untilMs == null || e.timeMs < query.untilMs)
        }.drop(query.offset).take(query.limit).toList()
    }

    private fun inRange(since: Long, until: Long) = events.filter { it.timeMs >= since && it.timeMs < until }

    override fun appActivity(sinceMs: Long, untilMs: Long): List<AppActivity> {
        call("appActivity")
        return inRange(sinceMs, untilMs).groupBy { it.uid }.map { (uid, list) ->
            AppActivity(
                uid = uid,
                blocked = list.count { it.action == Action.BLOCKED }.toLong(),
                allowed = list.count { it.action == Action.ALLOWED }.toLong(),
                failed = list.count { it.action == Action.FAILED }.toLong(),
                firstMs = list.minOf { it.timeMs }, lastMs = list.maxOf { it.timeMs },
                topBlocked = list.filter { it.action == Action.BLOCKED }.groupingBy { it.host }.eachCount()
                    .entries.sortedByDescending { it.value }.take(5).map { HostCount(it.key, it.value.toLong()) },
            )
        }.sortedByDescending { it.blocked }
    }

    override fun screenOffApps(sinceMs: Long, untilMs: Long): List<ScreenOffActivity> {
        call("screenOffApps")
        return inRange(sinceMs, untilMs).filter { it.screenOff }.groupBy { it.uid }.map { (uid, list) ->
            ScreenOffActivity(
                uid = uid,
                blocked = list.filter { it.action == Action.BLOCKED }.sumOf { it.repeats },
                allowed = list.filter { it.action == Action.ALLOWED }.sumOf { it.repeats },
                failed = list.filter { it.action == Action.FAILED }.sumOf { it.repeats },
                firstMs = list.minOf { it.timeMs }, lastMs = list.maxOf { it.timeMs },
            )
        }.sortedByDescending { it.total }
    }

    override fun topBlockedHosts(sinceMs: Long, untilMs: Long, uid: Int?, limit: Int): List<BlockedHost> {
        call("topBlockedHosts")
        return inRange(sinceMs, untilMs).filter { it.action == Action.BLOCKED && (uid == null || it.uid == uid) }
            .groupBy { it.host }
            .map { (host, list) -> BlockedHost(host, list.size.toLong(), list.map { it.uid }.distinct().size) }
            .sortedWith(compareByDescending<BlockedHost> { it.blocked }.thenBy { it.host })
            .take(limit)
    }

    override fun dailyTimeline(sinceMs: Long, untilMs: Long, uid: Int?, utcOffsetMinutes: Int): List<DayCount> {
        call("dailyTimeline")
        val fmt = SimpleDateFormat("yyyy-MM-dd", Locale.US).apply { timeZone = TimeZone.getTimeZone("UTC") }
        return inRange(sinceMs, untilMs).filter { uid == null || it.uid == uid }
            .groupBy { fmt.format(Date(it.timeMs + utcOffsetMinutes * 60_000L)) }
            .map { (day, list) ->
                DayCount(day, list.count { it.action == Action.BLOCKED }.toLong(),
                    list.count { it.action == Action.ALLOWED }.toLong(), list.count { it.action == Action.FAILED }.toLong())
            }.sortedBy { it.day }
    }

    val appHostsCalls = ArrayList<Pair<Int?, Int>>()

    override fun appHosts(uid: Int?, sinceMs: Long?, untilMs: Long?, limit: Int, offset: Int): AppHostsPage {
        call("appHosts")
        page(limit, "hosts")
        appHostsCalls.add(uid to offset)
        if (sinceMs != null && untilMs != null && sinceMs > untilMs) throw IllegalArgumentException("the range starts ($sinceMs) after it ends ($untilMs)")
        // As the aggregates: the hours overlapping the range count whole.
        val first = sinceMs?.let { Math.floorDiv(it, HOUR) * HOUR } ?: Long.MIN_VALUE
        val end = untilMs?.let { Math.floorDiv(it + HOUR - 1, HOUR) * HOUR } ?: Long.MAX_VALUE
        val hosts = events.filter { it.uid == uid && it.timeMs >= first && it.timeMs < end }.groupBy { it.host }.map { (host, list) ->
            val lastMs = list.maxOf { it.timeMs }
            val last = list.filter { it.timeMs == lastMs }.maxWith(compareBy<ActivityEvent>({ it.action.wire }, { it.reason }))
            AppHost(
                host = host,
                allowed = list.count { it.action == Action.ALLOWED }.toLong(),
                blocked = list.count { it.action == Action.BLOCKED }.toLong(),
                failed = list.count { it.action == Action.FAILED }.toLong(),
                firstMs = list.minOf { it.timeMs }, lastMs = lastMs,
                lastAction = last.action, lastReason = last.reason,
            )
        }.sortedWith(compareByDescending<AppHost> { it.lastMs }.thenBy { it.host })
        return AppHostsPage(hosts.size.toLong(), hosts.drop(offset).take(limit))
    }

    override fun appModes(): List<AppModeRule> {
        call("appModes")
        return modes.map { (k, v) -> AppModeRule(k.first, k.second, v) }
    }

    override fun setAppMode(uid: Int, network: Network, mode: AppMode) {
        call("setAppMode")
        setModeCalls.add(AppModeRule(uid, network, mode))
        modes[uid to network] = mode
        modePackages.remove(uid to network)
    }

    override fun clearAppMode(uid: Int, network: Network): Boolean {
        call("clearAppMode")
        return modes.remove(uid to network) != null
    }

    /** In the core's order: rules for every app first, then by app, then by domain. */
    private fun ordered(): List<DomainRule> =
        rules.sortedWith(compareBy<DomainRule>({ it.uid != null }, { it.uid ?: 0 }, { it.domain }))

    override fun domainRules(): List<DomainRule> {
        call("domainRules")
        return ordered()
    }

    override fun domainRulesMatching(text: String, limit: Int, offset: Int): DomainRulesPage {
        call("domainRulesMatching")
        page(limit, "rules")
        val needle = text.trim().lowercase()
        val found = ordered().filter { it.domain.contains(needle) }
        return DomainRulesPage(found.size.toLong(), found.drop(offset).take(limit))
    }

    override fun domainRulesFor(domain: String): RulesForDomain {
        call("domainRulesFor")
        val d = normalize(domain)
        return RulesForDomain(d, ordered().filter { it.domain == d })
    }

    override fun addDomainRule(uid: Int?, domain: String, action: DomainAction): String {
        call("addDomainRule")
        addRuleCalls.add(Triple(uid, domain, action))
        return put(DomainRule(uid, normalize(domain), action))
    }

    override fun addDomainRuleForPackage(uid: Int, packageName: String, domain: String, action: DomainAction): String {
        call("addDomainRuleForPackage")
        if (uid < 0) throw IllegalArgumentException("$uid is not an app's uid")
        if (packageName.isEmpty() || packageName.any { it.isWhitespace() }) throw IllegalArgumentException("'$packageName' is not a package name")
        addRuleCalls.add(Triple(uid, domain, action))
        return put(DomainRule(uid, normalize(domain), action, packageName))
    }

    private fun put(rule: DomainRule): String {
        rules.removeAll { it.uid == rule.uid && it.domain == rule.domain }
        rules.add(rule)
        return rule.domain
    }

    override fun removeDomainRule(uid: Int?, domain: String): Boolean {
        call("removeDomainRule")
        removeRuleCalls.add(uid to domain)
        val d = normalize(domain)
        return rules.removeAll { it.uid == uid && it.domain == d }
    }

    override fun listSources(): List<ListSource> {
        call("listSources")
        return sources
    }

    override fun retention(): Retention {
        call("retention")
        return storedRetention
    }

    override fun setRetention(retention: Retention) {
        call("setRetention")
        storedRetention = retention
    }

    override fun clearActivity(): Long {
        call("clearActivity")
        clearCalls++
        val n = events.size.toLong()
        events = emptyList()
        return n
    }

    var gaps: List<Gap> = emptyList()

    override fun gaps(sinceMs: Long?, limit: Int): List<Gap> {
        call("gaps")
        return gaps.filter { sinceMs == null || (it.endMs ?: Long.MAX_VALUE) >= sinceMs }.sortedByDescending { it.startMs }.take(limit)
    }

    override fun export(fd: Int, format: ExportFormat, sinceMs: Long?, untilMs: Long?): Long {
        call("export")
        exportCalls.add(fd to format)
        // Into the caller's fd, which stays open, as the core writes it.
        val descriptor = java.io.FileDescriptor()
        java.io.FileDescriptor::class.java.getDeclaredField("fd").apply { isAccessible = true }.setInt(descriptor, fd)
        val out = java.io.FileOutputStream(descriptor)
        val lines = events.asReversed().filter { (sinceMs == null || it.timeMs >= sinceMs) && (untilMs == null || it.timeMs < untilMs) }
        val text = StringBuilder()
        if (format == ExportFormat.CSV) text.append("time_ms,uid,host,ip,port,protocol,action,reason\n")
        for (e in lines) {
            if (format == ExportFormat.CSV) {
                text.append("${e.timeMs},${e.uid ?: ""},${e.host},${e.ip},${e.port},${e.protocol},${e.action.wire},${e.reason}\n")
            } else {
                text.append("{\"time_ms\":${e.timeMs},\"uid\":${e.uid},\"host\":\"${e.host}\",\"action\":\"${e.action.wire}\",\"reason\":\"${e.reason}\"}\n")
            }
        }
        out.write(text.toString().toByteArray())
        out.flush()
        return lines.size.toLong()
    }

    /** The package each mode set by [setAppModeForPackage] was made for. */
    val modePackages = HashMap<Pair<Int, Network>, String>()
    val forgetCalls = ArrayList<Pair<Int, String?>>()
    val reconcileCalls = ArrayList<List<org.hush.android.data.InstalledPackage>>()
    val storedAppsByUid = LinkedHashMap<Int, org.hush.android.data.StoredApp>()

    override fun setAppModeForPackage(uid: Int, packageName: String, network: Network, mode: AppMode) {
        call("setAppModeForPackage")
        if (packageName.isEmpty() || packageName.any { it.isWhitespace() }) throw IllegalArgumentException("'$packageName' is not a package name")
        setModeCalls.add(AppModeRule(uid, network, mode))
        modes[uid to network] = mode
        modePackages[uid to network] = packageName
    }

    override fun forgetApp(uid: Int, packageName: String?): Long {
        call("forgetApp")
        forgetCalls.add(uid to packageName)
        val gone = modes.keys.filter { it.first == uid && (packageName == null || modePackages[it] == packageName) }
        gone.forEach { modes.remove(it); modePackages.remove(it) }
        val before = rules.size
        rules.removeAll { it.uid == uid && (packageName == null || it.packageName == packageName) }
        return (gone.size + before - rules.size).toLong()
    }

    override fun reconcileApps(installed: List<org.hush.android.data.InstalledPackage>): Long {
        call("reconcileApps")
        if (installed.isEmpty()) throw IllegalArgumentException("the list of installed apps is empty: refusing to drop every app's rules")
        reconcileCalls.add(installed)
        val present = installed.map { it.uid to it.packageName }.toSet()
        val gone = modePackages.filter { (k, pkg) -> (k.first to pkg) !in present }.keys
        gone.forEach { modes.remove(it); modePackages.remove(it) }
        val before = rules.size
        rules.removeAll { r -> r.uid != null && r.packageName != null && (r.uid to r.packageName) !in present }
        return (gone.size + before - rules.size).toLong()
    }

    override fun setApps(apps: List<org.hush.android.data.StoredApp>) {
        call("setApps")
        for (app in apps) storedAppsByUid[app.uid] = app
    }

    override fun storedApps(): List<org.hush.android.data.StoredApp> {
        call("storedApps")
        return storedAppsByUid.values.sortedBy { it.uid }
    }

    /** Each [AppOption]'s default for every app (off when absent). */
    val optionDefaults = HashMap<AppOption, Boolean>()
    /** Each [AppOption]'s apps' own choices, and the package each was made for. */
    val optionApps: Map<AppOption, LinkedHashMap<Int, Pair<Boolean, String?>>> =
        AppOption.values().associateWith { LinkedHashMap<Int, Pair<Boolean, String?>>() }

    override fun appOption(option: AppOption): AppOptionChoices {
        call("appOption")
        return AppOptionChoices(optionDefaults[option] ?: false, optionApps.getValue(option).mapValues { it.value.first })
    }

    override fun setAppOption(option: AppOption, uid: Int, packageName: String?, on: Boolean) {
        call("setAppOption")
        if (uid < 0) throw IllegalArgumentException("$uid is not an app's uid")
        optionApps.getValue(option)[uid] = on to packageName
    }

    override fun clearAppOption(option: AppOption, uid: Int): Boolean {
        call("clearAppOption")
        return optionApps.getValue(option).remove(uid) != null
    }

    override fun setAppOptionDefault(option: AppOption, on: Boolean) {
        call("setAppOptionDefault")
        optionDefaults[option] = on
    }

    /** The apps trusted with "allow all, not inspected", and the package each was trusted for. */
    val trusted = LinkedHashMap<Int, String?>()

    override fun trustedApps(): List<org.hush.android.data.TrustedApp> {
        call("trustedApps")
        return trusted.map { (uid, p) -> org.hush.android.data.TrustedApp(uid, p) }
    }

    override fun setTrusted(uid: Int, packageName: String?, trusted: Boolean): Boolean {
        call("setTrusted")
        if (uid < 0) throw IllegalArgumentException("$uid is not an app's uid")
        if (!trusted) return this.trusted.remove(uid) != null
        val changed = !this.trusted.containsKey(uid) || this.trusted[uid] != packageName
        this.trusted[uid] = packageName
        return changed
    }

    companion object {
        const val HOUR = 3_600_000L

        /** As the core's normalizeDomain: lower case, no trailing dot, valid labels, not an address. */
        fun normalize(name: String): String {
            val d = name.trim().lowercase().removeSuffix(".")
            if (d.isEmpty()) throw IllegalArgumentException("the host has no name: a domain rule needs one")
            if (d.contains(':') || d.split('.').let { l -> l.size == 4 && l.all { it.isNotEmpty() && it.all(Char::isDigit) } }) {
                throw IllegalArgumentException("\"$name\": an address, not a domain (address rules are separate)")
            }
            val labels = d.split('.')
            val ok = d.isNotEmpty() && d.length <= 253 && labels.size >= 2 && labels.all { l ->
                l.isNotEmpty() && l.length <= 63 && !l.startsWith('-') && !l.endsWith('-') &&
                    l.all { it in 'a'..'z' || it in '0'..'9' || it == '-' || it == '_' }
            }
            if (!ok) throw IllegalArgumentException("'$name' is not a valid domain name")
            return d
        }
    }
}

/** Installed apps from a list (which a test may change: an app removed); counts the icons asked for. */
class FakeApps(var list: List<InstalledApp>) : InstalledApps {
    val iconRequests = ArrayList<String>()
    var appsCalls = 0
    /** Versions by package; a package not here has none known. */
    val versions = HashMap<String, String>()

    override fun version(packageName: String): String? = versions[packageName]

    override fun apps(): List<InstalledApp> {
        appsCalls++
        return list
    }

    override fun icon(packageName: String): Drawable? {
        iconRequests.add(packageName)
        val app = list.firstOrNull { it.packageName == packageName } ?: return null
        val hue = (app.packageName.hashCode() and 0xFFFF) % 360
        return GradientDrawable().apply {
            shape = GradientDrawable.RECTANGLE
            cornerRadius = 24f
            setColor(android.graphics.Color.HSVToColor(floatArrayOf(hue.toFloat(), 0.55f, 0.85f)))
        }
    }
}

class FakeFirewall(var current: FirewallState = FirewallState.Off) : FirewallControl {
    val listeners = ArrayList<FirewallControl.Listener>()
    val enableCalls = ArrayList<Boolean>()
    var live: LiveStats? = null
    var problems: List<String> = emptyList()

    override fun state() = current
    override fun problems(): List<String> = problems
    override fun addListener(listener: FirewallControl.Listener) { listeners.add(listener) }
    override fun removeListener(listener: FirewallControl.Listener) { listeners.remove(listener) }
    override fun setEnabled(enabled: Boolean) { enableCalls.add(enabled) }
    override fun liveStats() = if (current == FirewallState.On) live else null
    /** What Android says of always-on and lockdown (null: not known, as when the VPN is not running). */
    var alwaysOn: org.hush.android.vpn.AlwaysOn? = null
    override fun alwaysOn() = alwaysOn

    /** As the service would: the new state to every listener, on the main thread. */
    fun publish(state: FirewallState) {
        current = state
        for (l in ArrayList(listeners)) l.onFirewallState(state)
    }
}

class FakeActions : HushActions {
    var rulesChanged = 0
    var updates = 0
    val addedUrls = ArrayList<String>()
    override fun rulesChanged() { rulesChanged++ }
    override fun updateLists() { updates++ }
    override fun addListUrl(url: String) { addedUrls.add(url) }
}

/** Settings in memory; [refuse] says why a DNS value is refused, as HushSettings' own check would. */
class FakeSettings(dns: String = "9.9.9.9:53", override var startOnBoot: Boolean = false) : UiSettings {
    var refuse: (String) -> String? = { null }
    override var upstreamDns: String = dns
        set(value) {
            refuse(value)?.let { throw IllegalArgumentException(it) }
            field = value
        }
    override var newAppMode: AppMode? = null
    override var upstreamChoice: org.hush.android.settings.UpstreamChoice = org.hush.android.settings.UpstreamChoice.ADDRESS
        set(value) {
            require(!value.encrypted || encryptedDns(value == org.hush.android.settings.UpstreamChoice.HTTPS) != null) { "no server saved" }
            field = value
        }
    /** The encrypted servers saved, by kind (true: HTTPS). */
    val encrypted = HashMap<Boolean, org.hush.android.settings.EncryptedDns>()
    override fun encryptedDns(https: Boolean) = encrypted[https]
    override fun setEncryptedDns(server: org.hush.android.settings.EncryptedDns) { encrypted[server.https] = server }
    val followNetworkDns: Boolean get() = upstreamChoice == org.hush.android.settings.UpstreamChoice.NETWORK
    override var allowEncryptedDns: Boolean = false
    override var stripEch: Boolean = true
}

/**
 * The lists in memory: [SampleData.builtins] with switches, the subscriptions; records
 * each change and each [applyChanges], and fails every call with IllegalStateException
 * when [failure] is set.
 */
class FakeListCatalogue(
    var catalogue: List<org.hush.android.lists.BuiltinList> = SampleData.builtins,
    subscriptions: List<org.hush.android.lists.ListSubscription> = SampleData.subscriptions,
) : org.hush.android.lists.ListCatalogue {
    val switches = LinkedHashMap<String, Boolean>()
    val subs = ArrayList(subscriptions)
    val removed = ArrayList<String>()
    var applied = 0
    var failure: String? = null

    private fun call() { failure?.let { throw IllegalStateException(it) } }

    override fun builtins() = catalogue.also { call() }.map { org.hush.android.lists.BuiltinChoice(it, switches[it.name] ?: true) }
    override fun setBuiltinEnabled(name: String, enabled: Boolean) { call(); switches[name] = enabled }
    override fun subscriptions(): List<org.hush.android.lists.ListSubscription> { call(); return ArrayList(subs) }
    override fun setSubscriptionEnabled(url: String, enabled: Boolean) {
        call()
        subs.replaceAll { if (it.url == url) it.copy(enabled = enabled) else it }
    }
    override fun removeSubscription(url: String): Boolean { call(); removed.add(url); return subs.removeAll { it.url == url } }
    override fun applyChanges() { call(); applied++ }
    var anytime = false
    override fun updatesAnytime(): Boolean { call(); return anytime }
    override fun setUpdatesAnytime(anytime: Boolean) { call(); this.anytime = anytime }
}
