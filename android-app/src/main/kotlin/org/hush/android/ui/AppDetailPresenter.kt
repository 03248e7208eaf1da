package org.hush.android.ui

import org.hush.android.R
import org.hush.android.data.AppHost
import org.hush.android.data.AppOption
import org.hush.android.data.DayCount
import org.hush.android.data.HostOwner
import org.hush.android.data.ReportOutcome
import java.io.File

data class AppDetailState(
    val uid: Int?,
    val label: String,
    val note: String? = null,
    /** The package whose icon to show (the first of a shared UID), or null. */
    val packageName: String? = null,
    /** Every app on the UID, "Label (package)", in order of label: several for a shared UID. */
    val packages: List<String> = emptyList(),
    val loading: Boolean = true,
    val blocked: Long = 0,
    val allowed: Long = 0,
    /**
     * The hosts it contacted over the last [AppDetailPresenter.DAYS] days, counted
     * exactly by the store: most recent first, the pages loaded so far.
     */
    val hosts: List<AppHost> = emptyList(),
    /** How many hosts there are over every page. */
    val hostTotal: Long = 0,
    /** The last page came back short: no more hosts to load. */
    val endReached: Boolean = false,
    /** Where the next page starts in the store's order. */
    val nextOffset: Int = 0,
    /** One entry per day over the last [AppDetailPresenter.DAYS] days, oldest first. */
    val days: List<DayCount> = emptyList(),
    /** Its own "only addresses Hush resolved" and "strict" choices, and the defaults: one each. */
    val options: Map<AppOption, OptionState> = AppOption.values().associateWith { OptionState() },
    /** Trusted with "allow all, not inspected" (left out of the VPN); null until read, and for the unknown owner. */
    val trusted: Boolean? = null,
    /** The outcome of the last change of [trusted]. */
    val trustedMessage: String? = null,
    val error: String? = null,
    /** Who is behind the hosts shown, for those the core's table names. */
    val owners: Map<String, HostOwner> = emptyMap(),
    /** "Share report" is building the report. */
    val reportBuilding: Boolean = false,
    /** Why the last report was not shared (no activity, a failure); null when it was, or none was asked. */
    val reportMessage: String? = null,
) {
    fun option(option: AppOption): OptionState = options[option] ?: OptionState()

    fun withOption(option: AppOption, change: (OptionState) -> OptionState) =
        copy(options = options + (option to change(option(option))))
}

/** One of the app's own on/off options ([AppOption]) as App detail shows it. */
data class OptionState(
    /** The app's own choice (null: it follows [default]). */
    val choice: Boolean? = null,
    /** The default for every app; null until read (or for the unknown owner, which has no choice). */
    val default: Boolean? = null,
    /** The last change of [choice] saved, and what it was before: Undo puts that back. */
    val undo: OptionChange? = null,
    /** The outcome of the last change of [choice], shown with its Undo. */
    val message: String? = null,
)

/** A saved change of an app's own on/off choice (null: the default). */
data class OptionChange(val before: Boolean?, val after: Boolean?)

/** The words App detail shows for an [AppOption]: its card, its choices, and what a change says. */
class OptionTexts(
    val title: Int, val note: Int, val on: Int, val off: Int,
    val defaultOn: Int, val defaultOff: Int, val defaultShort: Int,
    val saved: Int, val undone: Int, val error: Int,
) {
    companion object {
        fun of(option: AppOption) = when (option) {
            AppOption.RESOLVED_ONLY -> OptionTexts(
                R.string.detail_resolved_only_title, R.string.detail_resolved_only_note,
                R.string.detail_resolved_only_on, R.string.detail_resolved_only_off,
                R.string.detail_resolved_only_default_on, R.string.detail_resolved_only_default_off,
                R.string.detail_resolved_only_default_short,
                R.string.detail_resolved_only_saved, R.string.detail_resolved_only_undone, R.string.detail_resolved_only_error,
            )
            AppOption.STRICT -> OptionTexts(
                R.string.detail_strict_title, R.string.detail_strict_note,
                R.string.detail_strict_on, R.string.detail_strict_off,
                R.string.detail_strict_default_on, R.string.detail_strict_default_off,
                R.string.detail_strict_default_short,
                R.string.detail_strict_saved, R.string.detail_strict_undone, R.string.detail_strict_error,
            )
        }
    }
}

/**
 * App detail: one app's counts, its days, and its hosts a page of [PAGE] at a time
 * (more as the list scrolls), each with its counts, first and last attempt, and what
 * Hush did last and why; and its own "only addresses Hush resolved" and "strict" choices
 * (Default, On, Off), stored with its package and put in force at once.
 */
class AppDetailPresenter(private val deps: UiDeps, uid: Int?, label: String, private val strings: Strings) :
    Presenter<AppDetailState>(AppDetailState(uid, label), deps.io, deps.main) {
    private var generation = 0
    private var pageInFlight = false

    /** The range shown: from local midnight [DAYS] - 1 days ago, open at the end. */
    private fun since(now: Long) = Format.startOfDay(now, deps.timeZone) - (DAYS - 1) * 86_400_000L

    /** Reads everything again, from the first page of hosts. */
    fun load() {
        val uid = state.uid
        val now = deps.clock.nowMs()
        val since = since(now)
        val gen = ++generation
        pageInFlight = true
        val start = state
        background({
            val names = AppNames(deps.apps.apps(), strings)
            val page = deps.store.appHosts(uid, since, null, PAGE, 0)
            val offset = Format.offsetMinutes(now, deps.timeZone)
            // The store's timeline for "no uid" is every app's: the unknown owner's days
            // are read day by day from the per-owner activity instead.
            val timeline = if (uid == null) unknownOwnerDays(since, now) else deps.store.dailyTimeline(since, now + 1, uid, offset)
            val activity = deps.store.appActivity(since, now + 1).firstOrNull { it.uid == uid }
            val options = if (uid == null) emptyMap() else AppOption.values().associateWith { deps.store.appOption(it) }
            val trusted = if (uid == null) null else deps.store.trustedApps().any { it.uid == uid }
            val apps = names.packagesOf(uid).sortedBy { it.label.lowercase() }
            val owners = Owners.of(deps.evidence, page.hosts.map { it.host })
            start.copy(
                label = when {
                    uid == null -> AppsPresenter.unknownOwnerLabel(strings)
                    apps.isNotEmpty() -> org.hush.android.apps.AppNamesOfUid.label(strings, uid, apps)
                    else -> start.label
                },
                note = when {
                    uid == null -> AppsPresenter.unknownOwnerNote(strings)
                    apps.size > 1 -> AppsPresenter.sharedNote(strings, apps)
                    apps.isNotEmpty() -> null
                    else -> Format.uidNote(strings, uid)
                },
                packageName = apps.firstOrNull()?.packageName,
                packages = apps.map { strings.get(R.string.detail_package, Format.visible(it.label), it.packageName) },
                loading = false,
                blocked = activity?.blocked ?: page.hosts.sumOf { it.blocked },
                allowed = activity?.allowed ?: page.hosts.sumOf { it.allowed },
                hosts = page.hosts,
                hostTotal = page.total,
                endReached = page.hosts.size < PAGE,
                nextOffset = page.hosts.size,
                days = fillDays(timeline, since, deps),
                options = AppOption.values().associateWith { o ->
                    start.option(o).copy(choice = options[o]?.apps?.get(uid), default = options[o]?.default)
                },
                trusted = trusted,
                error = null,
                owners = start.owners + owners,
            )
        }, failed = { e ->
            if (gen == generation) {
                pageInFlight = false
                set(state.copy(loading = false, error = strings.get(R.string.detail_error_read, Format.error(e))))
            }
        }) {
            if (gen == generation) {
                pageInFlight = false
                // A report building meanwhile goes on: its state is not the load's.
                set(it.copy(reportBuilding = state.reportBuilding, reportMessage = state.reportMessage))
            }
        }
    }

    /** The next page of hosts, unless one is loading, none is left, or the last read failed. */
    fun loadMore() {
        val s = state
        if (pageInFlight || s.loading || s.endReached || s.error != null) return
        pageInFlight = true
        val gen = generation
        val since = since(deps.clock.nowMs())
        background({
            val page = deps.store.appHosts(s.uid, since, null, PAGE, s.nextOffset)
            page to Owners.of(deps.evidence, page.hosts.map { it.host })
        }, failed = { e ->
            if (gen == generation) {
                pageInFlight = false
                set(state.copy(error = strings.get(R.string.detail_error_more, Format.error(e))))
            }
        }) { (page, owners) ->
            if (gen != generation) return@background
            pageInFlight = false
            // A host seen again since the first page moved up, pushing the others
            // down: the overlap is dropped, as the Activity log does.
            val shown = state.hosts.mapTo(HashSet()) { it.host }
            set(state.copy(
                hosts = state.hosts + page.hosts.filter { it.host !in shown },
                hostTotal = page.total,
                endReached = page.hosts.size < PAGE,
                nextOffset = state.nextOffset + page.hosts.size,
                owners = state.owners + owners,
            ))
        }
    }

    /**
     * "Share report": writes the app's evidence report (the file `hush report` writes) into
     * [directory] off the main thread, then hands it to [share] on the main thread. An app
     * with no stored activity, or a report that cannot be written, is said in
     * [AppDetailState.reportMessage] instead, and leaves no file (the core writes the
     * report whole or not at all). Reports older than a day left in [directory] go first:
     * a share may still be reading the latest one.
     */
    fun shareReport(directory: File, share: (File) -> Unit) {
        val uid = state.uid ?: return
        if (state.reportBuilding) return
        val packageName = state.packageName
        val now = deps.clock.nowMs()
        set(state.copy(reportBuilding = true, reportMessage = null))
        background({
            if (!directory.isDirectory && !directory.mkdirs()) {
                throw IllegalStateException("cannot create ${directory.path}")
            }
            directory.listFiles()?.filter { it.isFile && now - it.lastModified() > REPORT_KEPT_MS }?.forEach { it.delete() }
            val out = File(directory, reportName(uid, packageName, now))
            val version = packageName?.let { deps.apps.version(it) }
            out to deps.evidence.writeReport(uid, out, version)
        }, failed = { e ->
            set(state.copy(reportBuilding = false, reportMessage = strings.get(R.string.detail_report_failed, Format.error(e))))
        }) { (out, outcome) ->
            when (outcome) {
                is ReportOutcome.Written -> {
                    set(state.copy(reportBuilding = false, reportMessage = null))
                    share(out)
                }
                ReportOutcome.NoEvents -> set(state.copy(reportBuilding = false, reportMessage = strings.get(R.string.detail_report_no_events)))
            }
        }
    }

    /**
     * The app's own choice of [option]: true or false, stored with its package (it goes
     * when the app does), or null to follow the default again; the running session reloads
     * its rules. A store that fails changes nothing, and says so.
     */
    fun setOption(option: AppOption, choice: Boolean?) = changeOption(option, choice, undoing = false)

    /** Puts back the choice of [option] the last change replaced. */
    fun undoOption(option: AppOption) {
        val change = state.option(option).undo ?: return
        changeOption(option, change.before, undoing = true)
    }

    private fun changeOption(option: AppOption, choice: Boolean?, undoing: Boolean) {
        val uid = state.uid ?: return
        val before = state.option(option).choice
        if (choice == before && !undoing) return
        val texts = OptionTexts.of(option)
        // A shared UID's choice is the UID's (one per UID): stored with no package, it stays
        // when the first of its apps leaves, as the Apps screen stores a shared UID's mode.
        val packageName = state.packageName.takeIf { state.packages.size == 1 }
        set(state.withOption(option) { it.copy(choice = choice) })
        background({
            if (choice == null) deps.store.clearAppOption(option, uid) else deps.store.setAppOption(option, uid, packageName, choice)
        }, failed = { e ->
            set(state.withOption(option) { it.copy(choice = before, message = null) }
                .copy(error = strings.get(texts.error, Format.error(e))))
        }) {
            deps.actions.rulesChanged()
            val word = strings.get(
                when (choice) {
                    null -> texts.defaultShort
                    true -> texts.on
                    false -> texts.off
                },
            )
            val said = strings.get(if (undoing) texts.undone else texts.saved, word)
            // One message at a time: the other option's (and its Undo) goes.
            set(state.copy(
                error = null,
                options = state.options.mapValues { (o, shown) ->
                    if (o != option) shown.copy(message = null)
                    else shown.copy(undo = if (undoing) null else OptionChange(before, choice), message = said)
                },
            ))
        }
    }

    /**
     * Trusts the app with "allow all, not inspected" ([trusted] true: left out of the VPN,
     * its traffic neither filtered nor logged) or has Hush filter it again; stored with its
     * package (a shared UID's for the UID). The running VPN is set up again with the new set
     * (HushActions.rulesChanged). A store that fails changes nothing, and says so.
     */
    fun setTrusted(trusted: Boolean) {
        val uid = state.uid ?: return
        val before = state.trusted
        if (before == null || trusted == before) return
        val packageName = state.packageName.takeIf { state.packages.size == 1 }
        set(state.copy(trusted = trusted, trustedMessage = null))
        background({ deps.store.setTrusted(uid, packageName, trusted) }, failed = { e ->
            set(state.copy(trusted = before, error = strings.get(R.string.detail_trusted_error, Format.error(e))))
        }) {
            deps.actions.rulesChanged()
            set(state.copy(
                error = null,
                trustedMessage = strings.get(if (trusted) R.string.detail_trusted_saved_on else R.string.detail_trusted_saved_off),
            ))
        }
    }

    /** The unknown owner's counts per local day, from [since] (a local midnight) to [now]. */
    private fun unknownOwnerDays(since: Long, now: Long): List<DayCount> {
        val fmt = java.text.SimpleDateFormat("yyyy-MM-dd", java.util.Locale.US).apply { timeZone = deps.timeZone }
        val out = ArrayList<DayCount>(DAYS)
        var start = since
        for (i in 0 until DAYS) {
            val end = if (i == DAYS - 1) now + 1 else Format.startOfDay(start + 36 * 3_600_000L, deps.timeZone)
            val a = deps.store.appActivity(start, end).firstOrNull { it.uid == null }
            if (a != null) out.add(DayCount(fmt.format(java.util.Date(start + 12 * 3_600_000L)), a.blocked, a.allowed, a.failed))
            start = end
        }
        return out
    }

    /** The report was written but could not be handed to the share sheet: says why. */
    fun shareFailed(e: RuntimeException) {
        set(state.copy(reportBuilding = false, reportMessage = strings.get(R.string.detail_report_failed, Format.error(e))))
    }

    companion object {
        /** How long a shared report stays in the cache for the app it went to. */
        const val REPORT_KEPT_MS = 86_400_000L

        /** "hush-report-com.example.app-20261128-143000.html": the app and the time (UTC), in the file name the receiver shows. */
        fun reportName(uid: Int, packageName: String?, nowMs: Long): String {
            val app = (packageName ?: "uid-$uid").replace(Regex("[^A-Za-z0-9._-]"), "_")
            val time = java.text.SimpleDateFormat("yyyyMMdd-HHmmss", java.util.Locale.ROOT)
                .apply { timeZone = java.util.TimeZone.getTimeZone("UTC") }.format(java.util.Date(nowMs))
            return "hush-report-$app-$time.html"
        }

        const val DAYS = 14
        /** Hosts read a page at a time (the core refuses pages over HushStore.MAX_PAGE). */
        const val PAGE = 100

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
