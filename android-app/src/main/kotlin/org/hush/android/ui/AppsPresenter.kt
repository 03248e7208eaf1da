package org.hush.android.ui

import org.hush.android.core.Network
import org.hush.android.data.AppModeRule
import org.hush.android.policy.AppMode

/** One row of the Apps screen: an installed package, or a UID seen in the log with none. */
data class AppRow(
    val uid: Int,
    /** Null for a UID with no installed package. */
    val packageName: String?,
    val label: String,
    val system: Boolean,
    /** Why a row looks odd (no package, shared UID), or null. */
    val note: String?,
    val wifi: AppMode,
    val mobile: AppMode,
    /** Blocked attempts over the last [AppsPresenter.DAYS] days. */
    val blocked: Long,
)

enum class AppFilter(val label: String) { ALL("All apps"), USER("User apps"), SYSTEM("System apps") }

data class AppsState(
    val loading: Boolean = true,
    val all: List<AppRow> = emptyList(),
    val query: String = "",
    val filter: AppFilter = AppFilter.ALL,
    /** [all] after the search and the filter, in display order. */
    val visible: List<AppRow> = emptyList(),
    val error: String? = null,
)

class AppsPresenter(private val deps: UiDeps) : Presenter<AppsState>(AppsState(), deps.io, deps.main) {

    fun load() {
        val now = deps.clock.nowMs()
        val since = now - DAYS * 86_400_000L
        background({
            val installed = deps.apps.apps()
            val activity = deps.store.appActivity(since, now + 1)
            val modes = deps.store.appModes()
            rows(installed, activity.filter { it.uid != null }.associate { it.uid!! to it.blocked }, modes)
        }, failed = { e ->
            set(state.copy(loading = false, error = "Could not load the apps: " + Format.error(e)))
        }) { rows ->
            set(filtered(state.copy(loading = false, all = rows, error = null)))
        }
    }

    fun search(query: String) = set(filtered(state.copy(query = query)))
    fun filter(filter: AppFilter) = set(filtered(state.copy(filter = filter)))

    /** Stores the mode (off the main thread), then tells the running session the rules changed. */
    fun setMode(uid: Int, network: Network, mode: AppMode) {
        background({ deps.store.setAppMode(uid, network, mode) }, failed = { e ->
            set(state.copy(error = "Could not change the mode: " + Format.error(e)))
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

    companion object {
        const val DAYS = 7

        fun modeOn(modes: Map<Pair<Int, Network>, AppMode>, uid: Int, network: Network): AppMode =
            modes[uid to network] ?: modes[uid to Network.ANY] ?: AppMode.DEFAULT

        fun rows(
            installed: List<org.hush.android.apps.InstalledApp>,
            blockedByUid: Map<Int, Long>,
            rules: List<AppModeRule>,
        ): List<AppRow> {
            val modes = rules.associate { (it.uid to it.network) to it.mode }
            val perUid = installed.groupingBy { it.uid }.eachCount()
            val rows = ArrayList<AppRow>(installed.size + 8)
            for (app in installed) {
                val shared = perUid[app.uid] ?: 1
                rows.add(AppRow(
                    uid = app.uid, packageName = app.packageName, label = app.label, system = app.system,
                    note = if (shared > 1) "Shares UID ${app.uid} with ${shared - 1} other app(s)" else null,
                    wifi = modeOn(modes, app.uid, Network.WIFI), mobile = modeOn(modes, app.uid, Network.MOBILE),
                    blocked = blockedByUid[app.uid] ?: 0,
                ))
            }
            val known = perUid.keys
            val orphans = (blockedByUid.keys + modes.keys.map { it.first }).filter { it !in known }.toSortedSet()
            for (uid in orphans) {
                rows.add(AppRow(
                    uid = uid, packageName = null, label = Format.uidLabel(uid), system = uid < 10_000,
                    note = Format.uidNote(uid),
                    wifi = modeOn(modes, uid, Network.WIFI), mobile = modeOn(modes, uid, Network.MOBILE),
                    blocked = blockedByUid[uid] ?: 0,
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
                    (row.packageName?.lowercase()?.contains(q) ?: false) || row.uid.toString() == q)
            }
            return s.copy(visible = visible)
        }
    }
}
