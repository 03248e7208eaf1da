package org.hush.android.ui

import android.app.Dialog
import android.graphics.drawable.ColorDrawable
import android.view.Gravity
import android.view.View
import android.view.ViewGroup
import android.view.Window
import android.widget.LinearLayout
import android.widget.ScrollView
import android.widget.TextView
import org.hush.android.R
import org.hush.android.data.DomainAction
import org.hush.android.data.DomainRule

/**
 * The actions on a host, in a framework [Dialog] drawn as a bottom sheet: block or
 * allow it for the app or for every app, or remove the rule there is. A change that
 * goes through closes the sheet and hands the change to [onDone] (the undo bar); one
 * that fails says why in the sheet, and nothing is changed.
 */
class HostSheet(private val host: ScreenHost, target: HostTarget, private val onDone: (RuleChange) -> Unit) {
    private val ui = host.ui
    private val p = ui.palette
    val presenter = HostSheetPresenter(host.deps, target, ui.strings)

    val title = ui.text(target.host.ifEmpty { ui.str(R.string.sheet_no_host) }.let(Format::visible), Ui.Type.TITLE).apply {
        setSingleLine(); ellipsize = android.text.TextUtils.TruncateAt.MIDDLE
    }
    val subtitle = ui.text(target.app?.let { ui.str(R.string.sheet_seen_for, it.label) } ?: ui.str(R.string.sheet_seen_across), Ui.Type.CAPTION, p.onSurfaceVariant)
    val current = ui.text("", Ui.Type.BODY, p.onSurface)
    val problem = ui.text("", Ui.Type.BODY, p.onSurfaceVariant)
    val error = ui.errorBanner()
    val actions = ui.vertical()

    val dialog: Dialog = Dialog(host.context).apply {
        requestWindowFeature(Window.FEATURE_NO_TITLE)
        val sheet = ui.vertical().apply {
            background = android.graphics.drawable.GradientDrawable().apply {
                setColor(p.surface)
                val r = ui.dpf(24f)
                cornerRadii = floatArrayOf(r, r, r, r, 0f, 0f, 0f, 0f)
            }
            setPadding(ui.dp(24), ui.dp(8), ui.dp(24), ui.dp(24))
            // The drag handle, as a bottom sheet has.
            addView(View(host.context).apply { background = ui.rounded(p.outline, 2) },
                LinearLayout.LayoutParams(ui.dp(32), ui.dp(4)).apply { gravity = Gravity.CENTER_HORIZONTAL; bottomMargin = ui.dp(16) })
            addView(title)
            addView(subtitle)
            addView(current, Ui.matchWrap().apply { topMargin = ui.dp(12) })
            addView(problem, Ui.matchWrap().apply { topMargin = ui.dp(8) })
            addView(error)
            addView(actions, Ui.matchWrap().apply { topMargin = ui.dp(8) })
        }
        setContentView(ScrollView(host.context).apply { addView(sheet) })
        window?.apply {
            setBackgroundDrawable(ColorDrawable(0))
            setGravity(Gravity.BOTTOM)
            setLayout(ViewGroup.LayoutParams.MATCH_PARENT, ViewGroup.LayoutParams.WRAP_CONTENT)
        }
        setOnDismissListener { presenter.detach() }
    }

    fun show() {
        dialog.show()
        presenter.attach(::render)
        presenter.load()
    }

    fun render(s: HostSheetState) {
        val done = s.done
        if (done != null) {
            if (dialog.isShowing) dialog.dismiss()
            onDone(done)
            return
        }
        error.showError(s.error)
        val app = s.target.app
        current.text = when {
            s.loading -> ui.str(R.string.sheet_loading)
            s.domain == null -> ""
            else -> {
                val forAll = ui.str(R.string.sheet_rule_for_all, ruleWord(s.allRule))
                ui.str(R.string.sheet_rules, s.domain, app?.let {
                    ui.str(R.string.sheet_rules_both, ui.str(R.string.sheet_rule_for_app, ruleWord(s.appRule), it.label), forAll)
                } ?: forAll)
            }
        }
        current.visibility = if (current.text.isEmpty()) View.GONE else View.VISIBLE
        val why = s.notADomain ?: s.appProblem
        problem.text = why ?: ""
        problem.visibility = if (why == null) View.GONE else View.VISIBLE

        actions.removeAllViews()
        if (!s.ready) return
        val domain = s.domain ?: return
        if (app != null) {
            if (s.appActions) scopeActions(RuleScope.APP, app.label, s.appRule, domain, s.busy)
            else if (s.appRule != null) actions.addView(action(
                R.drawable.ic_action_remove, ui.str(R.string.sheet_remove_for_app, app.label),
                ui.str(R.string.sheet_remove_for_app_description, domain, app.label), s.busy,
            ) { presenter.apply(RuleScope.APP, null) })
        }
        scopeActions(RuleScope.ALL, null, s.allRule, domain, s.busy)
    }

    private fun ruleWord(rule: DomainRule?) = ui.str(
        when (rule?.action) {
            DomainAction.BLOCK -> R.string.sheet_rule_blocked
            DomainAction.ALLOW -> R.string.sheet_rule_allowed
            null -> R.string.sheet_rule_none
        },
    )

    /** Block, allow (whichever the rule is not) and remove, for [app] (null: for every app). */
    private fun scopeActions(scope: RuleScope, app: String?, rule: DomainRule?, domain: String, busy: Boolean) {
        for (a in listOf(DomainAction.BLOCK, DomainAction.ALLOW)) {
            if (rule?.action == a) continue
            val block = a == DomainAction.BLOCK
            val (label, description) = if (app != null) {
                ui.str(if (block) R.string.sheet_block_for_app else R.string.sheet_allow_for_app, app) to
                    ui.str(if (block) R.string.sheet_block_for_app_description else R.string.sheet_allow_for_app_description, domain, app)
            } else {
                ui.str(if (block) R.string.sheet_block_for_all else R.string.sheet_allow_for_all) to
                    ui.str(if (block) R.string.sheet_block_for_all_description else R.string.sheet_allow_for_all_description, domain)
            }
            val icon = if (block) R.drawable.ic_action_block else R.drawable.ic_action_allow
            actions.addView(action(icon, label, description, busy) { presenter.apply(scope, a) })
        }
        if (rule != null) {
            val (label, description) = if (app != null) {
                ui.str(R.string.sheet_remove_for_app, app) to ui.str(R.string.sheet_remove_for_app_description, domain, app)
            } else {
                ui.str(R.string.sheet_remove_for_all) to ui.str(R.string.sheet_remove_for_all_description, domain)
            }
            actions.addView(action(R.drawable.ic_action_remove, label, description, busy) { presenter.apply(scope, null) })
        }
    }

    /**
     * A full-width action row: the action's icon and its words (block and allow are told
     * apart by both, never by colour alone), 48 dp tall at least, described for TalkBack.
     */
    private fun action(icon: Int, label: String, description: String, busy: Boolean, onClick: () -> Unit): TextView =
        ui.text(label, Ui.Type.BODY, if (busy) p.onSurfaceVariant else p.primary).apply {
            ui.leadingIcon(this, ui.icon(icon, if (busy) p.onSurfaceVariant else p.primary, 20), 12)
            minHeight = ui.dp(48)
            gravity = Gravity.CENTER_VERTICAL
            setPadding(ui.dp(8), 0, ui.dp(8), 0)
            contentDescription = description
            background = android.graphics.drawable.RippleDrawable(
                android.content.res.ColorStateList.valueOf(withAlpha(p.primary, 0x33)), null, ColorDrawable(0xFFFFFFFF.toInt()),
            )
            isClickable = !busy
            isEnabled = !busy
            setOnClickListener { onClick() }
            layoutParams = Ui.matchWrap()
        }
}
