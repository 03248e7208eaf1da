package org.hush.android.ui

import org.hush.android.R
import org.hush.android.data.Action
import org.hush.android.data.ActivityEvent
import org.hush.android.data.EventQuery
import org.hush.android.data.HostOwner

/** Who the app filter may pick. */
data class AppChoice(val uid: Int?, val label: String)

data class ActivityFilter(val uid: Int? = null, val action: Action? = null, val host: String = "") {
    fun query(limit: Int, offset: Int) = EventQuery(
        uid = uid, action = action, hostContains = host.trim().ifEmpty { null }, limit = limit, offset = offset,
    )
}

data class ActivityState(
    val filter: ActivityFilter = ActivityFilter(),
    /** Newest first: the pages loaded so far. */
    val events: List<ActivityEvent> = emptyList(),
    /** App labels by UID, for the rows. */
    val labels: Map<Int, String> = emptyMap(),
    val apps: List<AppChoice> = emptyList(),
    val loading: Boolean = true,
    /** The last page came back short: nothing older to load. */
    val endReached: Boolean = false,
    val pagesLoaded: Int = 0,
    /**
     * Where the next page starts in the store's newest-first order. Attempts logged
     * since the first page push older ones down; the overlap is dropped, none skipped.
     */
    val nextOffset: Int = 0,
    val error: String? = null,
    /** Whether Hush runs: an empty log says to turn it on, or that it waits for traffic. */
    val firewall: FirewallState = FirewallState.Off,
    /** Who is behind the hosts shown, for those the core's table names. */
    val owners: Map<String, HostOwner> = emptyMap(),
)

/** The live log, a page of [PAGE] at a time, newest first. Its words come from [strings]. */
class ActivityPresenter(private val deps: UiDeps, private val strings: Strings) : Presenter<ActivityState>(ActivityState(), deps.io, deps.main) {
    private var generation = 0
    private var pageInFlight = false
    private var listening = false
    private val listener = object : FirewallControl.Listener {
        override fun onFirewallState(state: FirewallState) {
            set(this@ActivityPresenter.state.copy(firewall = state))
        }
    }

    fun load() {
        if (!listening) {
            listening = true
            deps.firewall.addListener(listener)
        }
        set(state.copy(firewall = deps.firewall.state()))
        val now = deps.clock.nowMs()
        background({
            val installed = deps.apps.apps()
            val names = AppNames(installed, strings)
            val uids = deps.store.appActivity(now - 30 * 86_400_000L, now + 1).map { it.uid }
            val labels = HashMap<Int, String>()
            for (app in installed) labels.putIfAbsent(app.uid, names.label(app.uid))
            // A UID with no package is named in the user's language (AppNames' own word is English).
            fun name(uid: Int) = if (names.isInstalled(uid)) names.label(uid) else Format.uidLabel(strings, uid)
            val choices = uids.filterNotNull().distinct().map { AppChoice(it, name(it)) }.sortedBy { it.label.lowercase(strings.locale) }
            labels to choices
        }, failed = { e -> set(state.copy(error = strings.get(R.string.activity_error_apps, Format.error(e)))) }) { (labels, choices) ->
            set(state.copy(labels = labels, apps = choices))
        }
        reload()
    }

    fun setFilter(filter: ActivityFilter) {
        if (filter == state.filter) return
        set(state.copy(filter = filter))
        reload()
    }

    /** Drops the loaded pages and reads the first one again. */
    fun reload() {
        generation++
        pageInFlight = false
        set(state.copy(events = emptyList(), pagesLoaded = 0, nextOffset = 0, endReached = false, loading = true, error = null))
        loadMore()
    }

    /** The next (older) page, unless one is loading or there is none. */
    fun loadMore() {
        if (pageInFlight || state.endReached || state.error != null && state.pagesLoaded > 0) return
        pageInFlight = true
        val gen = generation
        val query = state.filter.query(PAGE, state.nextOffset)
        background({
            val page = deps.store.recentEvents(query)
            page to Owners.of(deps.evidence, page.map { it.host })
        }, failed = { e ->
            if (gen == generation) {
                pageInFlight = false
                set(state.copy(loading = false, error = strings.get(R.string.activity_error_log, Format.error(e))))
            }
        }) { (page, owners) ->
            if (gen != generation) return@background
            pageInFlight = false
            val oldest = state.events.lastOrNull()
            val overlap = if (oldest == null || page.isEmpty()) emptySet()
            else state.events.takeLastWhile { it.timeMs <= page[0].timeMs }.toHashSet()
            set(state.copy(
                events = state.events + page.filter { it !in overlap }, loading = false, endReached = page.size < PAGE,
                pagesLoaded = state.pagesLoaded + 1, nextOffset = state.nextOffset + page.size, error = null,
                owners = state.owners + owners,
            ))
        }
    }

    /** Live: prepends what was logged since the newest event shown. */
    fun refreshHead() {
        val newest = state.events.firstOrNull() ?: return reload()
        if (pageInFlight) return
        val gen = generation
        val query = state.filter.query(PAGE, 0).copy(sinceMs = newest.timeMs)
        background({
            val page = deps.store.recentEvents(query)
            page to Owners.of(deps.evidence, page.map { it.host })
        }, failed = { }) { (page, owners) ->
            if (gen != generation) return@background
            val seen = state.events.takeWhile { it.timeMs >= newest.timeMs }.toHashSet()
            val fresh = page.filter { it !in seen }
            if (fresh.isNotEmpty()) {
                set(state.copy(events = fresh + state.events, nextOffset = state.nextOffset + fresh.size, owners = state.owners + owners))
            }
        }
    }

    fun label(uid: Int?): String = uid?.let { state.labels[it] } ?: Format.uidLabel(strings, uid)

    /** The empty log's button: Hush on (the state comes back through the listener). */
    fun turnOn() = deps.firewall.setEnabled(true)

    fun stop() {
        if (listening) deps.firewall.removeListener(listener)
        listening = false
        detach()
    }

    companion object {
        const val PAGE = 100
    }
}
