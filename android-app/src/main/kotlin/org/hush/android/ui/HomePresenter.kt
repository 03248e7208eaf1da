package org.hush.android.ui

import org.hush.android.core.LiveStats
import org.hush.android.data.BlockedHost

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
)

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
            set(loaded.copy(firewall = state.firewall, live = deps.firewall.liveStats(), problems = state.problems))
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
    }
}
