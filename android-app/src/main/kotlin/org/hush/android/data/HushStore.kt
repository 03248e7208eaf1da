package org.hush.android.data

import org.hush.android.core.Network
import org.hush.android.policy.AppMode

/** What Hush did with an attempt. [wire] is the core's word. */
enum class Action(val wire: String) {
    BLOCKED("blocked"),
    ALLOWED("allowed"),
    /** Allowed, but the connection or the upstream failed. */
    FAILED("failed");

    companion object {
        fun fromWire(word: String): Action? = values().firstOrNull { it.wire == word }
    }
}

/** One attempt in the activity log. */
data class ActivityEvent(
    val timeMs: Long,
    /** The owner app's UID; null when the owner was not known. */
    val uid: Int?,
    /** The name asked for or seen (DNS, TLS SNI, HTTP Host, QUIC); may be empty for a bare address. */
    val host: String,
    val ip: String,
    val port: Int,
    /** `dns`, `tcp`, `udp`, `quic`, ... */
    val protocol: String,
    val action: Action,
    /** Why: `list:NAME`, `rule:block`, `app:block-all`, `app-rule:allow`, ... */
    val reason: String,
    /**
     * What else the core noted: a lookup's record type (`A`, `HTTPS/tcp`), or why the
     * flow's name could not be read (`unread:timeout`, `strict:malformed`, ...).
     */
    val detail: String = "",
    /** Attempts this row stands for: an app retrying a blocked host in a loop is one row with a count. */
    val repeats: Long = 1,
    /** The screen was off at the attempt (at each of them, for a row of [repeats]). */
    val screenOff: Boolean = false,
)

/** Which events to read; null fields match everything. */
data class EventQuery(
    val uid: Int? = null,
    val action: Action? = null,
    /** Hosts containing this text, case ignored. */
    val hostContains: String? = null,
    val sinceMs: Long? = null,
    val untilMs: Long? = null,
    /** Newest first: a page of at most [limit] (up to [HushStore.MAX_PAGE]) events after skipping [offset]. */
    val limit: Int = 100,
    val offset: Int = 0,
)

/** One app's activity over a time range. */
data class AppActivity(
    /** Null for attempts whose owner was not known. */
    val uid: Int?,
    val blocked: Long,
    val allowed: Long,
    val failed: Long,
    val firstMs: Long,
    val lastMs: Long,
    /** Its most blocked hosts, most first. */
    val topBlocked: List<HostCount>,
)

data class HostCount(val host: String, val count: Long)

/** One app's attempts made with the screen off over a time range (the core counts whole hours). */
data class ScreenOffActivity(
    /** Null for attempts whose owner was not known. */
    val uid: Int?,
    val blocked: Long,
    val allowed: Long,
    val failed: Long,
    val firstMs: Long,
    val lastMs: Long,
) {
    val total: Long get() = blocked + allowed + failed
}

/** A host blocked across apps. */
data class BlockedHost(val host: String, val blocked: Long, val apps: Int)

/** One local day of activity; `day` is `YYYY-MM-DD`. */
data class DayCount(val day: String, val blocked: Long, val allowed: Long, val failed: Long)

/** A list the core loaded, as recorded in the store. */
data class ListSource(
    val name: String,
    /** `built-in`, a file path, or a URL. */
    val origin: String,
    val enabled: Boolean,
    val entries: Long,
    /** When it was last loaded or updated, ms since the epoch; null if never. */
    val updatedMs: Long?,
    /** Why its last update failed (the copy in use, if any, stays); null when it did not. */
    val problem: String? = null,
)

/** What a domain rule does. [wire] is the core's word. */
enum class DomainAction(val wire: String) {
    ALLOW("allow"),
    BLOCK("block");

    companion object {
        fun fromWire(word: String): DomainAction? = values().firstOrNull { it.wire == word }
    }
}

/**
 * A user's domain rule: for every app ([uid] null) or one. Covers subdomains.
 * [packageName]: the app it was made for (it goes when that app is removed); null for
 * a rule made without one, and always for a rule for every app.
 */
data class DomainRule(val uid: Int?, val domain: String, val action: DomainAction, val packageName: String? = null)

/** A page of domain rules and how many there are over all pages. */
data class DomainRulesPage(val total: Long, val rules: List<DomainRule>)

/** The rules for exactly one domain (as stored: normalised), for every app and for each app. */
data class RulesForDomain(val domain: String, val rules: List<DomainRule>) {
    /** The rule for [uid] (null: the rule for every app), if any. */
    fun ruleFor(uid: Int?): DomainRule? = rules.firstOrNull { it.uid == uid }
}

/**
 * A host one app contacted over a range, counted exactly: its attempts by what Hush
 * did, the first and the last, and what Hush did at the last one and why.
 */
data class AppHost(
    val host: String,
    val allowed: Long,
    val blocked: Long,
    val failed: Long,
    val firstMs: Long,
    val lastMs: Long,
    val lastAction: Action,
    /** The core's reason code, as [ActivityEvent.reason]. */
    val lastReason: String,
) {
    val total: Long get() = allowed + blocked + failed
}

/** A page of an app's hosts (most recent first) and how many there are over all pages. */
data class AppHostsPage(val total: Long, val hosts: List<AppHost>)

/** An app's mode on one network (`Network.ANY` for both). */
data class AppModeRule(val uid: Int, val network: Network, val mode: AppMode)

/**
 * A period when Hush was not filtering: from [startMs] to [endMs] (null: it has not
 * ended, or its end is not known yet). [reason] is the core's: `stopped` (by the
 * owner), `revoked` (another VPN took over), a restart of the engine, a kill by the
 * system (found at the next start), or the platform's own words.
 */
data class Gap(val startMs: Long, val endMs: Long?, val reason: String)

/** An installed package and the UID it runs as. */
data class InstalledPackage(val uid: Int, val packageName: String)

/** An app as recorded in the store: one per UID, with every package sharing it. */
data class StoredApp(val uid: Int, val label: String, val packages: List<String>, val system: Boolean)

/** How long the activity log is kept. Null: no limit. */
/**
 * A per-app on/off option over a default for every app, stored and read the same way for
 * each; [word] is how the core names it.
 */
enum class AppOption(val word: String) {
    /**
     * "Only addresses Hush resolved": flows to addresses no DNS answer through Hush gave the
     * app are refused (local ranges and the upstream exempt); reason `not-resolved`.
     */
    RESOLVED_ONLY("resolvedOnly"),

    /**
     * "Strict": the app's TLS, HTTP and QUIC flows whose name cannot be read (a ClientHello
     * that stalls, is garbled or names nothing) are refused, not judged by address; reason `strict`.
     */
    STRICT("strict"),
}

/** An [AppOption]: [default] for every app, [apps] each app's own choice by UID. */
data class AppOptionChoices(val default: Boolean, val apps: Map<Int, Boolean>) {
    /** Whether it is in force for [uid]. */
    fun isOn(uid: Int): Boolean = apps[uid] ?: default
}

/**
 * An app trusted with "allow all, not inspected": left out of the VPN, so its traffic is
 * neither filtered nor logged. [packageName] is the one it was trusted for (null: the UID).
 */
data class TrustedApp(val uid: Int, val packageName: String?)

data class Retention(val maxAgeDays: Int?, val maxEvents: Long?)

/**
 * The activity log and the rules, as stored by the core (one SQLite file).
 * Reading needs no running firewall. A rule change takes effect in a running
 * session after [org.hush.android.core.FirewallSession.reloadRules].
 *
 * Calls touch the disk: make them off the main thread. Failures throw
 * [IllegalStateException] (the store) or [IllegalArgumentException] (the input),
 * with a message to show.
 */
interface HushStore {
    fun recentEvents(query: EventQuery): List<ActivityEvent>
    fun appActivity(sinceMs: Long, untilMs: Long): List<AppActivity>
    /** The apps that made attempts with the screen off in [sinceMs, untilMs), most such attempts first. */
    fun screenOffApps(sinceMs: Long, untilMs: Long): List<ScreenOffActivity>
    /** [uid]: one app, or every app when null. */
    fun topBlockedHosts(sinceMs: Long, untilMs: Long, uid: Int?, limit: Int): List<BlockedHost>
    fun dailyTimeline(sinceMs: Long, untilMs: Long, uid: Int?, utcOffsetMinutes: Int): List<DayCount>

    /**
     * A page of the hosts app [uid] (null: attempts whose owner was not known) contacted
     * in [sinceMs, untilMs) (null leaves that end open), most recent first: at most
     * [limit] (up to [MAX_PAGE]) after skipping [offset].
     */
    fun appHosts(uid: Int?, sinceMs: Long?, untilMs: Long?, limit: Int, offset: Int): AppHostsPage

    fun appModes(): List<AppModeRule>
    fun setAppMode(uid: Int, network: Network, mode: AppMode)
    /** Returns whether there was one. */
    fun clearAppMode(uid: Int, network: Network): Boolean

    fun domainRules(): List<DomainRule>
    /** Returns the domain as stored (normalised). */
    fun addDomainRule(uid: Int?, domain: String, action: DomainAction): String
    fun removeDomainRule(uid: Int?, domain: String): Boolean
    /** A rule for the app [packageName] at [uid]: it goes with the app. Returns the domain as stored. */
    fun addDomainRuleForPackage(uid: Int, packageName: String, domain: String, action: DomainAction): String
    /** A page (at most [limit], up to [MAX_PAGE]) of the rules whose domain contains [text] (blank: every rule). */
    fun domainRulesMatching(text: String, limit: Int, offset: Int): DomainRulesPage
    /** The rules for exactly [domain]; IllegalArgumentException saying why when it cannot be a rule's (an address, no name). */
    fun domainRulesFor(domain: String): RulesForDomain

    fun listSources(): List<ListSource>

    fun retention(): Retention
    fun setRetention(retention: Retention)
    /** Deletes every stored event and aggregate; rules stay. Returns the events deleted. */
    fun clearActivity(): Long

    /** The periods Hush was not filtering that end after [sinceMs] (all when null), newest first, at most [limit]. */
    fun gaps(sinceMs: Long?, limit: Int): List<Gap>

    /** Writes every event in [sinceMs, untilMs) to [fd] (not closed) as CSV or JSON Lines; returns the count. */
    fun export(fd: Int, format: ExportFormat, sinceMs: Long?, untilMs: Long?): Long

    // Apps as the platform reports them: rules keyed by package as well as UID, so a
    // UID Android hands to a later install never inherits a removed app's rules.
    /** The mode of the app [packageName] at [uid]: it goes when that package leaves the UID. */
    fun setAppModeForPackage(uid: Int, packageName: String, network: Network, mode: AppMode)
    /**
     * [packageName] left [uid] (null: no package is left on it, so every rule of the UID
     * goes). Rules for every app stay. Returns how many rules went.
     */
    fun forgetApp(uid: Int, packageName: String?): Long
    /**
     * Drops the rules made for apps no longer installed where they were, against
     * [installed] (every installed app); IllegalArgumentException for an empty list,
     * and nothing is dropped. Returns how many rules went.
     */
    fun reconcileApps(installed: List<InstalledPackage>): Long
    /** Records the apps' labels and packages (one entry per UID; its packages replace those stored). */
    fun setApps(apps: List<StoredApp>)
    /** The apps recorded by [setApps], by UID. */
    fun storedApps(): List<StoredApp>

    /** The default of [option] for every app and each app's own choice. */
    fun appOption(option: AppOption): AppOptionChoices
    /** [uid]'s own choice of [option], made for [packageName] (it goes when that package leaves; null: for the UID). */
    fun setAppOption(option: AppOption, uid: Int, packageName: String?, on: Boolean)
    /** [uid] follows the default of [option] again; false when it had no choice of its own. */
    fun clearAppOption(option: AppOption, uid: Int): Boolean
    fun setAppOptionDefault(option: AppOption, on: Boolean)

    /** The apps trusted with "allow all, not inspected" (left out of the VPN), by UID. */
    fun trustedApps(): List<TrustedApp>
    /**
     * Trusts [uid] with "allow all, not inspected" for [packageName] (it goes when that
     * package leaves; null: for the UID), or with [trusted] false stops; whether anything changed.
     */
    fun setTrusted(uid: Int, packageName: String?, trusted: Boolean): Boolean

    companion object {
        /** The most rows one page of a paged query may hold (the core refuses more). */
        const val MAX_PAGE = 1_000
    }
}

enum class ExportFormat(val wire: String) {
    CSV("csv"),
    JSON("json"),
}
