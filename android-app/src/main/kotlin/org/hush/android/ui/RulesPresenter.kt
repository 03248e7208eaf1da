package org.hush.android.ui

import org.hush.android.R
import org.hush.android.data.DomainAction
import org.hush.android.data.DomainRule

data class RulesState(
    /** The search: rules whose domain contains it (blank: every rule). */
    val query: String = "",
    /** The pages loaded so far, in the store's order: rules for every app first, then by app and domain. */
    val rules: List<DomainRule> = emptyList(),
    /** How many rules match over every page. */
    val total: Long = 0,
    val loading: Boolean = true,
    val endReached: Boolean = false,
    /** App names by UID, for the rows. */
    val labels: Map<Int, String> = emptyMap(),
    /** The UIDs of installed apps and their packages, to tell a rule whose app is gone. */
    val installed: Map<Int, Set<String>> = emptyMap(),
    val busy: Boolean = false,
    val error: String? = null,
    /** The last removal that went through, for the undo bar. */
    val removed: RuleChange? = null,
) {
    /** Who a rule is for, in words: an app's name, every app, or an app that is gone. */
    fun whom(s: Strings, rule: DomainRule): String {
        val uid = rule.uid ?: return s.get(R.string.rules_for_every_app)
        val name = labels[uid] ?: Format.uidLabel(s, uid)
        val gone = rule.packageName?.let { it !in installed[uid].orEmpty() } ?: (uid >= HostSheetPresenter.FIRST_APP_UID && uid !in installed)
        return if (gone) s.get(R.string.rules_for_removed_app, name) else name
    }
}

/** The Rules screen: the domain rules, searched, a page of [PAGE] at a time, each removable with undo. */
class RulesPresenter(private val deps: UiDeps, private val strings: Strings) : Presenter<RulesState>(RulesState(), deps.io, deps.main) {
    private var generation = 0
    private var pageInFlight = false

    fun load() {
        background({
            val installed = deps.apps.apps()
            val names = AppNames(installed, strings)
            val byUid = installed.groupBy { it.uid }
            byUid.mapValues { (uid, _) -> names.label(uid) } to byUid.mapValues { (_, apps) -> apps.map { it.packageName }.toSet() }
        }, failed = { }) { (labels, installed) -> set(state.copy(labels = labels, installed = installed)) }
        reload()
    }

    fun search(text: String) {
        if (text == state.query) return
        set(state.copy(query = text))
        reload()
    }

    fun reload() {
        generation++
        pageInFlight = false
        set(state.copy(rules = emptyList(), total = 0, loading = true, endReached = false, error = null))
        loadMore()
    }

    fun loadMore() {
        val s = state
        if (pageInFlight || s.endReached || (s.error != null && s.rules.isNotEmpty())) return
        pageInFlight = true
        val gen = generation
        background({ deps.store.domainRulesMatching(s.query, PAGE, s.rules.size) }, failed = { e ->
            if (gen == generation) {
                pageInFlight = false
                set(state.copy(loading = false, error = strings.get(R.string.rules_error_read, Format.error(e))))
            }
        }) { page ->
            if (gen != generation) return@background
            pageInFlight = false
            set(state.copy(rules = state.rules + page.rules, total = page.total, loading = false,
                endReached = page.rules.size < PAGE, error = null))
        }
    }

    /** Removes [rule]; the change is offered for undo through [RulesState.removed]. */
    fun remove(rule: DomainRule) {
        if (state.busy) return
        set(state.copy(busy = true, error = null))
        background({ RuleEdits.put(deps.store, rule.uid, rule.domain, null) }, failed = { e ->
            set(state.copy(busy = false, error = strings.get(R.string.rules_error_remove, Format.error(e))))
        }) {
            deps.actions.rulesChanged()
            val message = strings.get(
                if (rule.action == DomainAction.BLOCK) R.string.rules_removed_blocked else R.string.rules_removed_allowed,
                rule.domain, whom(rule),
            )
            set(state.copy(busy = false, rules = state.rules - rule, total = maxOf(0, state.total - 1),
                removed = RuleChange(rule.uid, rule.domain, rule, null, message)))
        }
    }

    /** Who [rule] is for, in words (see [RulesState.whom]). */
    fun whom(rule: DomainRule): String = state.whom(strings, rule)

    companion object {
        const val PAGE = 100
    }
}
