package org.hush.android.ui

import org.hush.android.core.LiveStats
import org.hush.android.data.BlockedHost
import org.hush.android.data.Gap
import java.text.SimpleDateFormat
import java.util.Date
import java.util.Locale
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
)

/**
 * A period Hush was off, in words for the phone's owner: [time] ("Off 02:14–06:30 (4 h 16 min)"),
 * [why] ("you turned it off"), and whether the guidance screen (battery optimisation,
 * autostart, always-on) is what helps ([guidance]).
 */
data class OffPeriod(val time: String, val why: String, val guidance: Boolean)

class HomePresenter(private val deps: UiDeps) : Presenter<HomeState>(HomeState(), deps.io, deps.main) {
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
            val names = AppNames(deps.apps.apps())
            val top = activity.filter { it.blocked > 0 }
                .sortedByDescending { it.blocked }
                .take(TOP)
                .map { TopApp(it.uid, names.label(it.uid), it.blocked) }
            HomeState(
                loading = false,
                blockedToday = activity.sumOf { it.blocked },
                allowedToday = activity.sumOf { it.allowed },
                topApps = top, topHosts = hosts, error = null,
                blocking = ListsPresenter.blockingSummary(deps.lists),
            )
        }, failed = { e ->
            set(state.copy(loading = false, error = "Could not read today's activity: " + Format.error(e)))
        }) { loaded ->
            set(loaded.copy(
                firewall = state.firewall, live = deps.firewall.liveStats(), problems = state.problems,
                offPeriods = state.offPeriods, offPeriodsError = state.offPeriodsError,
            ))
        }
        refreshGaps(now)
    }

    /** The store's gaps of the last [GAP_DAYS] days (a read of its own: a failure here hides nothing else). */
    private fun refreshGaps(now: Long) {
        background({
            deps.store.gaps(now - GAP_DAYS * DAY_MS, GAPS).map { OffPeriods.describe(it, now, deps.timeZone) }
        }, failed = { e ->
            set(state.copy(offPeriods = state.offPeriods ?: emptyList(), offPeriodsError = "Could not read when Hush was off: " + Format.error(e)))
        }) { periods ->
            set(state.copy(offPeriods = periods, offPeriodsError = null))
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
    // The words, in one place.
    const val YOU = "you turned it off"
    const val REVOKED = "another VPN took over"
    const val KILLED = "Android stopped Hush (battery saving?)"
    const val SERVICE_DESTROYED = "Android closed Hush's VPN service (battery saving?)"
    const val ENGINE = "Hush restarted its engine; traffic waited meanwhile"
    const val HOLDING = "Hush held all traffic (nothing got through) while its engine kept failing"
    const val OTHER = "stopped by the system"
    const val YESTERDAY = "yesterday"
    const val TODAY = "today"

    /** [gap] as Home shows it, at [nowMs] in [zone]. */
    fun describe(gap: Gap, nowMs: Long, zone: TimeZone): OffPeriod {
        val end = gap.endMs
        val time = if (end == null) {
            "Off since " + at(gap.startMs, nowMs, zone)
        } else {
            val sameDay = Format.startOfDay(gap.startMs, zone) == Format.startOfDay(end, zone)
            val span = if (sameDay) {
                at(gap.startMs, nowMs, zone) + "–" + clock(end, zone)
            } else {
                at(gap.startMs, nowMs, zone) + " – " + at(end, nowMs, zone, sayToday = true)
            }
            "Off $span (${duration(end - gap.startMs)})"
        }
        return OffPeriod(time, why(gap.reason), guidance(gap.reason))
    }

    fun why(reason: String): String {
        val (kind, detail) = reason.indexOf(':').let { if (it < 0) reason.trim() to "" else reason.substring(0, it).trim() to reason.substring(it + 1).trim() }
        return when (kind) {
            "stopped" -> YOU
            "revoked" -> REVOKED
            "killed" -> KILLED
            "service-destroyed" -> SERVICE_DESTROYED
            "engine-restart" -> if (detail.isEmpty()) ENGINE else "$ENGINE ($detail)"
            "holding" -> if (detail.isEmpty()) HOLDING else "$HOLDING ($detail)"
            else -> if (reason.isBlank()) OTHER else "$OTHER ($reason)"
        }
    }

    /** Whether the guidance screen helps against this: Android ending Hush on its own. */
    fun guidance(reason: String): Boolean = reason == "killed" || reason == "service-destroyed"

    /** "02:14", "yesterday 23:10", "24 Nov 23:10" ([sayToday]: "today 06:30"). */
    fun at(ms: Long, nowMs: Long, zone: TimeZone, sayToday: Boolean = false): String {
        val today = Format.startOfDay(nowMs, zone)
        val day = Format.startOfDay(ms, zone)
        val yesterday = Format.startOfDay(today - 1, zone)
        val prefix = when (day) {
            today -> if (sayToday) "$TODAY " else ""
            yesterday -> "$YESTERDAY "
            else -> SimpleDateFormat("d MMM", Locale.US).apply { timeZone = zone }.format(Date(ms)) + " "
        }
        return prefix + clock(ms, zone)
    }

    private fun clock(ms: Long, zone: TimeZone) = SimpleDateFormat("HH:mm", Locale.US).apply { timeZone = zone }.format(Date(ms))

    /** "45 s", "12 min", "4 h 16 min", "2 d 3 h". */
    fun duration(ms: Long): String {
        val s = maxOf(0L, ms) / 1000
        return when {
            s < 60 -> "$s s"
            s < 3600 -> "${s / 60} min"
            s < 86_400 -> if (s / 60 % 60 == 0L) "${s / 3600} h" else "${s / 3600} h ${s / 60 % 60} min"
            else -> if (s / 3600 % 24 == 0L) "${s / 86_400} d" else "${s / 86_400} d ${s / 3600 % 24} h"
        }
    }
}
