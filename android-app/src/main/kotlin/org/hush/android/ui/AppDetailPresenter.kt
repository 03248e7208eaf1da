package org.hush.android.ui

import org.hush.android.data.Action
import org.hush.android.data.DayCount
import org.hush.android.data.EventQuery

/** A host an app contacted, by what Hush did and why. */
data class HostRow(val host: String, val action: Action, val reason: String, val count: Long, val lastMs: Long)

data class AppDetailState(
    val uid: Int?,
    val label: String,
    val note: String? = null,
    /** The package whose icon to show (the first of a shared UID), or null. */
    val packageName: String? = null,
    val loading: Boolean = true,
    val blocked: Long = 0,
    val allowed: Long = 0,
    /** Blocked first, then allowed and failed; most attempts first. */
    val hosts: List<HostRow> = emptyList(),
    /** One entry per day over the last [AppDetailPresenter.DAYS] days, oldest first. */
    val days: List<DayCount> = emptyList(),
    val error: String? = null,
)

class AppDetailPresenter(private val deps: UiDeps, uid: Int?, label: String) :
    Presenter<AppDetailState>(AppDetailState(uid, label), deps.io) {

    fun load() {
        val uid = state.uid
        val now = deps.clock.nowMs()
        val since = Format.startOfDay(now, deps.timeZone) - (DAYS - 1) * 86_400_000L
        val start = state
        background({
            val names = AppNames(deps.apps.apps())
            val events = deps.store.recentEvents(EventQuery(uid = uid, sinceMs = since, limit = MAX_EVENTS))
            val hosts = events.groupBy { Triple(it.host.ifEmpty { it.ip }, it.action, it.reason) }
                .map { (k, list) -> HostRow(k.first, k.second, k.third, list.size.toLong(), list.maxOf { it.timeMs }) }
                .sortedWith(compareBy<HostRow> { it.action.ordinal }.thenByDescending { it.count }.thenBy { it.host })
            val timeline = deps.store.dailyTimeline(since, now + 1, uid, Format.offsetMinutes(now, deps.timeZone))
            val activity = deps.store.appActivity(since, now + 1).firstOrNull { it.uid == uid }
            start.copy(
                label = if (names.isInstalled(uid)) names.label(uid) else start.label,
                note = if (names.isInstalled(uid)) null else Format.uidNote(uid),
                packageName = names.packagesOf(uid).firstOrNull()?.packageName,
                loading = false,
                blocked = activity?.blocked ?: hosts.filter { it.action == Action.BLOCKED }.sumOf { it.count },
                allowed = activity?.allowed ?: hosts.filter { it.action == Action.ALLOWED }.sumOf { it.count },
                hosts = hosts,
                days = fillDays(timeline, since, deps),
                error = null,
            )
        }, failed = { e ->
            set(state.copy(loading = false, error = "Could not read this app's activity: " + Format.error(e)))
        }) { set(it) }
    }

    companion object {
        const val DAYS = 14
        /** The most recent events the host list is built from. */
        const val MAX_EVENTS = 5_000

        /** Every day of the range, with zero counts for days without activity. */
        fun fillDays(timeline: List<DayCount>, since: Long, deps: UiDeps): List<DayCount> {
            val byDay = timeline.associateBy { it.day }
            val fmt = java.text.SimpleDateFormat("yyyy-MM-dd", java.util.Locale.US).apply { timeZone = deps.timeZone }
            return (0 until DAYS).map { i ->
                val day = fmt.format(java.util.Date(since + i * 86_400_000L + 3_600_000L * 12))
                byDay[day] ?: DayCount(day, 0, 0, 0)
            }
        }
    }
}
