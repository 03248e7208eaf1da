package org.hush.android.ui

import org.hush.android.R
import org.hush.android.core.LiveStats
import org.hush.android.data.BlockedHost
import org.hush.android.data.Gap
import org.hush.android.data.HostOwner
import java.text.SimpleDateFormat
import java.util.Date
import java.util.TimeZone

data class TopApp(val uid: Int?, val label: String, val blocked: Long)

/** The Home screen: the switch, today's counts, the most blocked apps and hosts. */
data class HomeState(
    val firewall: FirewallState = FirewallState.Off,
    val loading: Boolean = true,
    val blockedToday: Long = 0,
    val allowedToday: Long = 0,
    val topApps: List<TopApp> = emptyList(),
    val topHosts: List<BlockedHost> = emptyList(),
    /** The running session's counts, when one runs. */
    val live: LiveStats? = null,
    /** What is wrong with the running session without stopping it (FirewallControl.problems). */
    val problems: List<String> = emptyList(),
    val error: String? = null,
    /** What is blocked, from the lists in force ("Blocking: phone-vendor telemetry (1,328 names), ..."); null: not known. */
    val blocking: String? = null,
    /** When Hush was off in the last [HomePresenter.GAP_DAYS] days, newest first (null: not read yet). */
    val offPeriods: List<OffPeriod>? = null,
    /** Why they could not be read. */
    val offPeriodsError: String? = null,
    /**
     * What the core has on record of Hush ever running (null: not read yet): a fresh
     * install has no gap and nothing logged, and Home says Hush has not run yet rather
     * than that it was never off.
     */
    val history: RunHistory? = null,
    /** Who is behind the top hosts, for those the core's table names. */
    val owners: Map<String, HostOwner> = emptyMap(),
)

/** What the store holds of Hush's past runs: any gap in filtering ever, anything logged ever. */
data class RunHistory(val gapsEver: Boolean, val logged: Boolean) {
    /** No record of a run at all: a fresh install (or a cleared log with no gap). */
    val neverRan: Boolean get() = !gapsEver && !logged
}

/**
 * A period Hush was off, in words for the phone's owner: [time] ("Off 02:14–06:30 (4 h 16 min)"),
 * [why] ("you turned it off"), and whether the guidance screen (battery optimisation,
 * autostart, always-on) is what helps ([guidance]).
 */
data class OffPeriod(val time: String, val why: String, val guidance: Boolean)

/** Home's counts and protection state; its words come from [strings]. */
class HomePresenter(private val deps: UiDeps, private val strings: Strings) : Presenter<HomeState>(HomeState(), deps.io, deps.main) {
    private val listener = object : FirewallControl.Listener {
        override fun onFirewallState(state: FirewallState) {
            set(this@HomePresenter.state.copy(firewall = state, live = deps.firewall.liveStats(), problems = deps.firewall.problems()))
        }
    }

    fun start() {
        deps.firewall.addListener(listener)
        set(state.copy(firewall = deps.firewall.state(), problems = deps.firewall.problems()))
        refresh()
    }

    fun stop() {
        deps.firewall.removeListener(listener)
        detach()
    }

    fun refresh() {
        val now = deps.clock.nowMs()
        val since = Format.startOfDay(now, deps.timeZone)
        background({
            val activity = deps.store.appActivity(since, now + 1)
            val hosts = deps.store.topBlockedHosts(since, now + 1, null, TOP)
            val names = AppNames(deps.apps.apps(), strings)
            val top = activity.filter { it.blocked > 0 }
                .sortedByDescending { it.blocked }
                .take(TOP)
                .map { TopApp(it.uid, names.label(it.uid), it.blocked) }
            HomeState(
                loading = false,
                blockedToday = activity.sumOf { it.blocked },
                allowedToday = activity.sumOf { it.allowed },
                topApps = top, topHosts = hosts, error = null,
                blocking = ListsPresenter.blockingSummary(strings, deps.lists),
                owners = Owners.of(deps.evidence, hosts.map { it.host }),
            )
        }, failed = { e ->
            set(state.copy(loading = false, error = strings.get(R.string.home_error_activity, Format.error(e))))
        }) { loaded ->
            set(loaded.copy(
                firewall = state.firewall, live = deps.firewall.liveStats(), problems = state.problems,
                offPeriods = state.offPeriods, offPeriodsError = state.offPeriodsError, history = state.history,
            ))
        }
        refreshGaps(now)
    }

    /** The store's gaps of the last [GAP_DAYS] days (a read of its own: a failure here hides nothing else). */
    private fun refreshGaps(now: Long) {
        background({
            val gaps = deps.store.gaps(now - GAP_DAYS * DAY_MS, GAPS)
            // Only when the week shows none: whether there ever was one, and anything logged.
            val history = if (gaps.isNotEmpty()) RunHistory(gapsEver = true, logged = true) else RunHistory(
                gapsEver = deps.store.gaps(null, 1).isNotEmpty(),
                logged = deps.store.recentEvents(org.hush.android.data.EventQuery(limit = 1)).isNotEmpty(),
            )
            gaps.map { OffPeriods.describe(strings, it, now, deps.timeZone) } to history
        }, failed = { e ->
            set(state.copy(offPeriods = state.offPeriods ?: emptyList(), offPeriodsError = strings.get(R.string.home_error_gaps, Format.error(e))))
        }) { (periods, history) ->
            set(state.copy(offPeriods = periods, offPeriodsError = null, history = history))
        }
    }

    /** The running session's counts again (they change every second while it runs). */
    fun refreshLive() {
        set(state.copy(live = deps.firewall.liveStats()))
    }

    /** The switch. The state comes back through the listener (Starting, On, Failed...). */
    fun setEnabled(enabled: Boolean) {
        deps.firewall.setEnabled(enabled)
    }

    companion object {
        const val TOP = 5
        /** How many gaps Home shows, and over how many days. */
        const val GAPS = 4
        const val GAP_DAYS = 7
        private const val DAY_MS = 24 * 3_600_000L
    }
}

/** The core's gap reasons (rust/hush-store/src/gaps.rs, StopReason) in an owner's words. */
object OffPeriods {
    /** [gap] as Home shows it, at [nowMs] in [zone]. */
    fun describe(s: Strings, gap: Gap, nowMs: Long, zone: TimeZone): OffPeriod {
        val end = gap.endMs
        val time = when {
            end == null -> s.get(R.string.home_off_since, at(s, gap.startMs, nowMs, zone))
            Format.startOfDay(gap.startMs, zone) == Format.startOfDay(end, zone) ->
                s.get(R.string.home_off_span_day, at(s, gap.startMs, nowMs, zone), clock(s, end, zone), duration(s, end - gap.startMs))
            else -> s.get(
                R.string.home_off_span_days,
                at(s, gap.startMs, nowMs, zone), at(s, end, nowMs, zone, sayToday = true), duration(s, end - gap.startMs),
            )
        }
        return OffPeriod(time, why(s, gap.reason), guidance(gap.reason))
    }

    fun why(s: Strings, reason: String): String {
        val (kind, detail) = reason.indexOf(':').let { if (it < 0) reason.trim() to "" else reason.substring(0, it).trim() to reason.substring(it + 1).trim() }
        // The detail is the core's own (English) account: shown as it is, in brackets.
        fun with(plain: Int, detailed: Int, what: String) = if (what.isEmpty()) s.get(plain) else s.get(detailed, what)
        return when (kind) {
            "stopped" -> s.get(R.string.home_why_you)
            "revoked" -> s.get(R.string.home_why_revoked)
            "killed" -> s.get(R.string.home_why_killed)
            "service-destroyed" -> s.get(R.string.home_why_service_destroyed)
            "engine-restart" -> with(R.string.home_why_engine, R.string.home_why_engine_detail, detail)
            "holding" -> with(R.string.home_why_holding, R.string.home_why_holding_detail, detail)
            else -> with(R.string.home_why_other, R.string.home_why_other_detail, reason.trim())
        }
    }

    /** Whether the guidance screen helps against this: Android ending Hush on its own. */
    fun guidance(reason: String): Boolean = reason == "killed" || reason == "service-destroyed"

    /** "02:14", "yesterday 23:10", "Tue, Nov 24 23:10" ([sayToday]: "today 06:30"), in [s]'s words and clock. */
    fun at(s: Strings, ms: Long, nowMs: Long, zone: TimeZone, sayToday: Boolean = false): String {
        val time = clock(s, ms, zone)
        return when (Format.daysAgo(ms, nowMs, zone)) {
            0 -> if (sayToday) s.get(R.string.home_at_today, time) else time
            1 -> s.get(R.string.home_at_yesterday, time)
            else -> s.get(R.string.home_at_date, Format.day(s, ms, nowMs, zone), time)
        }
    }

    /** Hours and minutes, as the locale and the user's 12/24-hour setting write them. */
    private fun clock(s: Strings, ms: Long, zone: TimeZone) =
        SimpleDateFormat(s.pattern(if (s.clock24) "Hm" else "hm"), s.locale).apply { timeZone = zone }.format(Date(ms))

    /** "45 s", "12 min", "4 h 16 min", "2 d 3 h" (in [s]'s units). */
    fun duration(s: Strings, ms: Long): String {
        val sec = maxOf(0L, ms) / 1000
        val h = (sec / 3600 % 24).toInt()
        val min = (sec / 60 % 60).toInt()
        return when {
            sec < 60 -> s.get(R.string.home_duration_s, sec.toInt())
            sec < 3600 -> s.get(R.string.home_duration_min, min)
            sec < 86_400 -> if (min == 0) s.get(R.string.home_duration_h, h) else s.get(R.string.home_duration_h_min, h, min)
            else -> (sec / 86_400).toInt().let { d -> if (h == 0) s.get(R.string.home_duration_d, d) else s.get(R.string.home_duration_d_h, d, h) }
        }
    }
}
