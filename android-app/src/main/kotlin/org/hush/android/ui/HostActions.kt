package org.hush.android.ui

import org.hush.android.R
import org.hush.android.data.DomainAction
import org.hush.android.data.DomainRule
import org.hush.android.data.HushStore

/** The app a host was seen for; [uid] null: the owner of the attempts was not known. */
data class AppRef(val uid: Int?, val label: String)

/** A host to act on, and the app it was seen for (null: across apps, as Home's top hosts). */
data class HostTarget(val host: String, val app: AppRef?)

/** Whom a rule is for: the app the host was seen for, or every app. */
enum class RuleScope { APP, ALL }

/**
 * A rule change that went through: the rule for ([uid], [domain]) was [before] (null:
 * none) and is [after] (null: removed). Undo puts [before] back.
 */
data class RuleChange(val uid: Int?, val domain: String, val before: DomainRule?, val after: DomainRule?, val message: String)

/** Rule edits the sheet, the Rules screen and undo share. */
object RuleEdits {
    /**
     * Makes the rule for ([uid], [domain]) be [rule] (null: none): one store call, so
     * a failure leaves it as it was. A rule made for a package is made again for it.
     */
    fun put(store: HushStore, uid: Int?, domain: String, rule: DomainRule?) {
        when {
            rule == null -> store.removeDomainRule(uid, domain)
            uid != null && rule.packageName != null -> store.addDomainRuleForPackage(uid, rule.packageName, domain, rule.action)
            else -> store.addDomainRule(uid, domain, rule.action)
        }
    }

    /** Why a host cannot have a domain rule, worked out without the store; null when it may. */
    fun notADomain(s: Strings, host: String): String? {
        val h = host.trim()
        return when {
            h.isEmpty() -> s.get(R.string.sheet_bare_address)
            isAddress(h) -> s.get(R.string.sheet_address, h)
            else -> null
        }
    }

    private fun isAddress(h: String): Boolean {
        if (h.contains(':')) return true // IPv6 (a domain name has no colon)
        val parts = h.split('.')
        return parts.size == 4 && parts.all { p -> p.isNotEmpty() && p.length <= 3 && p.all { it in '0'..'9' } }
    }
}

data class HostSheetState(
    val target: HostTarget,
    val loading: Boolean = true,
    /** The domain as a rule stores it; null until read, or when the host cannot have one. */
    val domain: String? = null,
    /** Why no domain rule can be made for this host (an address, no name). */
    val notADomain: String? = null,
    /** The installed package a rule for this app is made for (null: made without one). */
    val packageName: String? = null,
    /** Why no rule can be made for this app (owner not known, app removed); null when one can. */
    val appProblem: String? = null,
    val appRule: DomainRule? = null,
    val allRule: DomainRule? = null,
    /** A change is being written. */
    val busy: Boolean = false,
    /** What went wrong, shown in the sheet; nothing was changed. */
    val error: String? = null,
    /** The change that went through: the sheet closes and offers to undo it. */
    val done: RuleChange? = null,
) {
    /** Rules for the app can be offered: there is an app, and a rule for it would stay with it. */
    val appActions: Boolean get() = target.app != null && appProblem == null
    val ready: Boolean get() = !loading && domain != null && done == null
}

/**
 * The actions on one host: block or allow it for the app it was seen for or for every
 * app, or remove the rule there is. Each is one store call, then the running session
 * reloads its rules ([HushActions.rulesChanged]). Its words come from [strings].
 */
class HostSheetPresenter(private val deps: UiDeps, target: HostTarget, private val strings: Strings) :
    Presenter<HostSheetState>(HostSheetState(target), deps.io, deps.main) {

    /** Reads the rules there are for this host, and whether a rule can be made for the app. */
    fun load() {
        val target = state.target
        RuleEdits.notADomain(strings, target.host)?.let {
            set(state.copy(loading = false, notADomain = it, error = null))
            return
        }
        set(state.copy(loading = true, error = null))
        background({
            val (packageName, appProblem) = appRuleOwner(target.app)
            val rules = try {
                deps.store.domainRulesFor(target.host)
            } catch (e: IllegalArgumentException) {
                return@background state.copy(loading = false, notADomain = strings.get(R.string.sheet_not_a_domain, Format.error(e)))
            }
            state.copy(
                loading = false, domain = rules.domain, packageName = packageName, appProblem = appProblem,
                appRule = target.app?.let { rules.ruleFor(it.uid ?: return@let null) }, allRule = rules.ruleFor(null),
                error = null,
            )
        }, failed = { e ->
            set(state.copy(loading = false, error = strings.get(R.string.sheet_error_read, Format.error(e))))
        }) { set(it) }
    }

    /** The package a rule for [app] is made for, and why none can be (null when one can). */
    private fun appRuleOwner(app: AppRef?): Pair<String?, String?> {
        if (app == null) return null to null
        val uid = app.uid ?: return null to strings.get(R.string.sheet_owner_unknown)
        val packages = AppNames(deps.apps.apps(), strings).packagesOf(uid).map { it.packageName }.sorted()
        return when {
            packages.isNotEmpty() -> packages[0] to null
            // A system UID has no package and keeps its number: a rule for it stays its own.
            uid < FIRST_APP_UID -> null to null
            else -> null to strings.get(R.string.sheet_app_removed, app.label, uid)
        }
    }

    /** Makes the rule for [scope] be [action] (null: remove it). */
    fun apply(scope: RuleScope, action: DomainAction?) {
        val s = state
        val domain = s.domain
        if (!s.ready || s.busy || domain == null) return
        if (scope == RuleScope.APP && !s.appActions && !(action == null && s.appRule != null)) return
        val app = s.target.app
        val uid = if (scope == RuleScope.APP) app?.uid else null
        val before = if (scope == RuleScope.APP) s.appRule else s.allRule
        if (before?.action == action) return // already so (or no rule to remove)
        set(s.copy(busy = true, error = null))
        background({
            var pkg = s.packageName
            if (scope == RuleScope.APP && action != null && uid != null && uid >= FIRST_APP_UID) {
                // Removed while the sheet was open: no rule for a UID its next app would inherit.
                pkg = appRuleOwner(app).let { (p, problem) -> if (problem != null) throw IllegalStateException(problem) else p }
            }
            val after = action?.let { DomainRule(uid, domain, it, if (scope == RuleScope.APP) pkg else null) }
            RuleEdits.put(deps.store, uid, domain, after)
            after
        }, failed = { e ->
            set(state.copy(busy = false, error = strings.get(R.string.sheet_error_write, Format.error(e))))
        }) { after ->
            deps.actions.rulesChanged()
            val label = app?.label
            val message = when {
                scope == RuleScope.APP && label != null -> strings.get(when (after?.action) {
                    DomainAction.BLOCK -> R.string.sheet_done_blocked_app
                    DomainAction.ALLOW -> R.string.sheet_done_allowed_app
                    null -> R.string.sheet_done_removed_app
                }, domain, label)
                else -> strings.get(when (after?.action) {
                    DomainAction.BLOCK -> R.string.sheet_done_blocked_all
                    DomainAction.ALLOW -> R.string.sheet_done_allowed_all
                    null -> R.string.sheet_done_removed_all
                }, domain)
            }
            val change = RuleChange(uid, domain, before, after, message)
            set(state.copy(
                busy = false, done = change,
                appRule = if (scope == RuleScope.APP) after else state.appRule,
                allRule = if (scope == RuleScope.ALL) after else state.allRule,
            ))
        }
    }

    companion object {
        /** Android's first app UID (Process.FIRST_APPLICATION_UID): below it, system UIDs. */
        const val FIRST_APP_UID = 10_000
    }
}

data class UndoState(val change: RuleChange? = null, val busy: Boolean = false, val message: String? = null, val error: String? = null)

/** The bar offering to undo the last rule change: putting the rule that was there back. */
class UndoPresenter(private val deps: UiDeps, private val strings: Strings) : Presenter<UndoState>(UndoState(), deps.io, deps.main) {
    fun offer(change: RuleChange) = set(UndoState(change = change, message = change.message))

    fun dismiss() = set(UndoState())

    /** Puts the rule back; [done] runs once it is back (to refresh what is shown). */
    fun undo(done: () -> Unit) {
        val change = state.change ?: return
        if (state.busy) return
        set(state.copy(busy = true, error = null))
        background({ RuleEdits.put(deps.store, change.uid, change.domain, change.before) }, failed = { e ->
            set(state.copy(busy = false, error = strings.get(R.string.undo_failed, Format.error(e))))
        }) {
            deps.actions.rulesChanged()
            set(UndoState(message = strings.get(R.string.undo_done)))
            done()
        }
    }
}
