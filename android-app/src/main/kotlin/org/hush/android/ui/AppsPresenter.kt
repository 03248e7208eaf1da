package org.hush.android.ui

import org.hush.android.R
import org.hush.android.apps.AppNamesOfUid
import org.hush.android.apps.InstalledApp
import org.hush.android.core.Network
import org.hush.android.data.AppModeRule
import org.hush.android.policy.AppMode

/**
 * One row of the Apps screen: one UID (every package sharing it, e.g. the dozens on
 * Android System's UID 1000), a UID seen in the log with no package, or ([uid] null)
 * the attempts whose owner Hush could not tell.
 */
data class AppRow(
    /** Null: the unknown owner's row. */
    val uid: Int?,
    /** The package whose icon shows (a single app's package); null for a UID with none. */
    val packageName: String?,
    val label: String,
    val system: Boolean,
    /** Why a row looks odd (no package, shared UID, no owner), or null. */
    val note: String?,
    val wifi: AppMode,
    val mobile: AppMode,
    /** Blocked attempts over the last [AppsPresenter.DAYS] days. */
    val blocked: Long,
    /** Every package on the UID, in order of label. */
    val packages: List<String> = listOfNotNull(packageName),
    /** Attempts made with the screen off over the same days: more than 0 marks the row. */
    val screenOff: Long = 0,
) {
    /** The unknown owner has no mode of its own to choose here. */
    val hasModes: Boolean get() = uid != null
}

enum class AppFilter(val label: Int) { ALL(R.string.apps_filter_all), USER(R.string.apps_filter_user), SYSTEM(R.string.apps_filter_system) }

data class AppsState(
    val loading: Boolean = true,
    val all: List<AppRow> = emptyList(),
    val query: String = "",
    val filter: AppFilter = AppFilter.ALL,
    /** [all] after the search and the filter, in display order. */
    val visible: List<AppRow> = emptyList(),
    val error: String? = null,
)

/** The Apps screen's rows; its words come from [strings]. */
class AppsPresenter(private val deps: UiDeps, private val strings: Strings) : Presenter<AppsState>(AppsState(), deps.io, deps.main) {

    fun load() {
        val now = deps.clock.nowMs()
        val since = now - DAYS * 86_400_000L
        background({
            val installed = deps.apps.apps()
            val activity = deps.store.appActivity(since, now + 1)
            val screenOff = deps.store.screenOffApps(since, now + 1).associate { it.uid to it.total }
            val modes = deps.store.appModes()
            rows(
                strings, installed, activity.filter { it.uid != null }.associate { it.uid!! to it.blocked }, modes,
                unknownOwnerBlocked = activity.firstOrNull { it.uid == null }?.blocked,
                screenOffByUid = screenOff,
            )
        }, failed = { e ->
            set(state.copy(loading = false, error = strings.get(R.string.apps_error_load, Format.error(e))))
        }) { rows ->
            set(filtered(state.copy(loading = false, all = rows, error = null)))
        }
    }

    fun search(query: String) = set(filtered(state.copy(query = query)))
    fun filter(filter: AppFilter) = set(filtered(state.copy(filter = filter)))

    /**
     * Stores the mode (off the main thread), then tells the running session the rules
     * changed. A single app's mode is stored with its package, so it goes when that app
     * is removed and never passes to the UID's next owner; a shared UID's is the UID's.
     */
    fun setMode(uid: Int, network: Network, mode: AppMode) {
        val row = state.all.firstOrNull { it.uid == uid }
        val only = row?.packages?.singleOrNull()
        background({
            // An app removed since the list was read: storing a rule for it would only
            // wait for the UID's next owner. Nothing is stored; its row goes.
            if (only != null && deps.apps.apps().none { it.uid == uid && it.packageName == only }) {
                throw AppGone(strings.get(R.string.apps_removed, row.label))
            }
            if (only != null) deps.store.setAppModeForPackage(uid, only, network, mode)
            else deps.store.setAppMode(uid, network, mode)
        }, failed = { e ->
            if (e is AppGone) {
                set(filtered(state.copy(all = state.all.filter { it.uid != uid }, error = e.message)))
            } else {
                set(state.copy(error = strings.get(R.string.apps_error_mode, Format.error(e))))
            }
        }) {
            deps.actions.rulesChanged()
            val all = state.all.map { row ->
                if (row.uid != uid) row
                else when (network) {
                    Network.WIFI -> row.copy(wifi = mode)
                    Network.MOBILE -> row.copy(mobile = mode)
                    Network.ANY -> row.copy(wifi = mode, mobile = mode)
                }
            }
            set(filtered(state.copy(all = all, error = null)))
        }
    }

    private class AppGone(message: String) : IllegalStateException(message)

    companion object {
        const val DAYS = 7

        fun unknownOwnerLabel(s: Strings): String = s.get(R.string.apps_unknown_owner)
        fun unknownOwnerNote(s: Strings): String = s.get(R.string.apps_unknown_owner_note)
        /** How many names a shared UID's row lists before "…". */
        const val NAMES_SHOWN = 3

        fun modeOn(modes: Map<Pair<Int, Network>, AppMode>, uid: Int, network: Network): AppMode =
            modes[uid to network] ?: modes[uid to Network.ANY] ?: AppMode.DEFAULT

        /** "4 apps: Phone, Settings, SIM Toolkit, …": a shared UID's subtitle, by label. */
        fun sharedNote(s: Strings, apps: List<InstalledApp>): String {
            val names = apps.map { Format.visible(it.label) }.sortedBy { it.lowercase(s.locale) }
            val shown = names.take(NAMES_SHOWN).joinToString(", ")
            return s.plural(R.plurals.apps_shared, apps.size, apps.size, if (names.size > NAMES_SHOWN) s.get(R.string.apps_shared_more, shown) else shown)
        }

        /**
         * One row per UID: its packages, its modes, its blocked count, and its attempts with
         * the screen off ([screenOffByUid], the unknown owner's under null). UIDs the log or
         * the rules name without a package get a row each, and [unknownOwnerBlocked]
         * (non-null when the log holds attempts with no owner) the unknown owner's row.
         */
        fun rows(
            s: Strings,
            installed: List<InstalledApp>,
            blockedByUid: Map<Int, Long>,
            rules: List<AppModeRule>,
            unknownOwnerBlocked: Long? = null,
            screenOffByUid: Map<Int?, Long> = emptyMap(),
        ): List<AppRow> {
            val modes = rules.associate { (it.uid to it.network) to it.mode }
            val byUid = installed.groupBy { it.uid }
            val rows = ArrayList<AppRow>(byUid.size + 8)
            for ((uid, apps) in byUid) {
                val sorted = apps.sortedBy { it.label.lowercase() }
                val shared = sorted.size > 1
                rows.add(AppRow(
                    uid = uid, packageName = sorted[0].packageName,
                    label = AppNamesOfUid.label(s, uid, sorted), system = sorted.all { it.system },
                    note = if (shared) sharedNote(s, sorted) else null,
                    wifi = modeOn(modes, uid, Network.WIFI), mobile = modeOn(modes, uid, Network.MOBILE),
                    blocked = blockedByUid[uid] ?: 0,
                    packages = sorted.map { it.packageName },
                    screenOff = screenOffByUid[uid] ?: 0,
                ))
            }
            val orphans = (blockedByUid.keys + modes.keys.map { it.first }).filter { it !in byUid }.toSortedSet()
            for (uid in orphans) {
                rows.add(AppRow(
                    uid = uid, packageName = null, label = Format.uidLabel(s, uid), system = uid < 10_000,
                    note = Format.uidNote(s, uid),
                    wifi = modeOn(modes, uid, Network.WIFI), mobile = modeOn(modes, uid, Network.MOBILE),
                    blocked = blockedByUid[uid] ?: 0,
                    screenOff = screenOffByUid[uid] ?: 0,
                ))
            }
            if (unknownOwnerBlocked != null) {
                rows.add(AppRow(
                    uid = null, packageName = null, label = unknownOwnerLabel(s), system = true,
                    note = unknownOwnerNote(s), wifi = AppMode.DEFAULT, mobile = AppMode.DEFAULT,
                    blocked = unknownOwnerBlocked,
                    screenOff = screenOffByUid[null] ?: 0,
                ))
            }
            rows.sortWith(compareByDescending<AppRow> { it.blocked }.thenBy { it.label.lowercase() })
            return rows
        }

        fun filtered(s: AppsState): AppsState {
            val q = s.query.trim().lowercase()
            val visible = s.all.filter { row ->
                (when (s.filter) {
                    AppFilter.ALL -> true
                    AppFilter.USER -> !row.system
                    AppFilter.SYSTEM -> row.system
                }) && (q.isEmpty() || row.label.lowercase().contains(q) ||
                    row.packages.any { it.lowercase().contains(q) } || row.uid?.toString() == q)
            }
            return s.copy(visible = visible)
        }
    }
}
