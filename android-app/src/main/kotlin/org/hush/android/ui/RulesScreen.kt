package org.hush.android.ui

import android.os.Handler
import android.os.Looper
import android.text.Editable
import android.text.TextWatcher
import android.view.View
import android.view.ViewGroup
import android.widget.AbsListView
import android.widget.LinearLayout
import android.widget.ListView
import android.widget.TextView
import org.hush.android.R
import org.hush.android.data.DomainAction
import org.hush.android.data.DomainRule

/** Every domain rule (app, domain, action), searched by domain, each with Remove (and undo). */
class RulesScreen(host: ScreenHost) : Screen(host) {
    private val strings = ui.strings
    val presenter = RulesPresenter(host.deps, strings)
    private val p = ui.palette
    private val blockIcon = ui.icon(R.drawable.ic_action_block, p.blocked, 16)
    private val allowIcon = ui.icon(R.drawable.ic_action_allow, p.allowed, 16)
    private val handler = Handler(Looper.getMainLooper())
    private var offered: RuleChange? = null

    val back = ui.button(ui.str(R.string.back), filled = false) { host.back() }.apply {
        minHeight = ui.dp(48); contentDescription = ui.str(R.string.back)
        ui.leadingIcon(this, ui.icon(R.drawable.ic_action_back, p.primary, 18), 4)
    }
    val search = ui.searchField(ui.str(R.string.rules_search_hint)).apply {
        contentDescription = ui.str(R.string.rules_search_hint)
        ui.leadingIcon(this, ui.icon(R.drawable.ic_action_search, p.onSurfaceVariant, 20), 8)
    }
    val error = ui.errorBanner()
    val summary = ui.text("", Ui.Type.CAPTION, p.onSurfaceVariant).apply { setPadding(ui.dp(16), 0, ui.dp(16), ui.dp(4)) }
    val footer = ui.text("", Ui.Type.CAPTION, p.onSurfaceVariant).apply { setPadding(ui.dp(16), ui.dp(12), ui.dp(16), ui.dp(12)) }
    val adapter = RulesAdapter()
    val list = ListView(host.context).apply {
        divider = null
        addFooterView(footer, null, false)
        adapter = this@RulesScreen.adapter
        setOnScrollListener(object : AbsListView.OnScrollListener {
            override fun onScrollStateChanged(view: AbsListView?, scrollState: Int) {}
            override fun onScroll(view: AbsListView?, first: Int, visible: Int, total: Int) {
                if (total > 0 && visible > 0 && first + visible >= total - PREFETCH) presenter.loadMore()
            }
        })
    }

    override val view: View = ui.vertical().apply {
        addView(ui.horizontal().apply {
            setPadding(ui.dp(16), ui.dp(12), ui.dp(16), 0)
            addView(back)
        })
        addView(ui.screenTitle(ui.str(R.string.rules_title)))
        addView(search, Ui.matchWrap().apply { setMargins(ui.dp(16), 0, ui.dp(16), ui.dp(8)) })
        addView(summary)
        addView(error)
        addView(list, LinearLayout.LayoutParams(ViewGroup.LayoutParams.MATCH_PARENT, 0, 1f))
    }

    private val applySearch = Runnable { presenter.search(search.text.toString().trim()) }

    init {
        search.addTextChangedListener(object : TextWatcher {
            override fun beforeTextChanged(s: CharSequence?, start: Int, count: Int, after: Int) {}
            override fun onTextChanged(s: CharSequence?, start: Int, before: Int, count: Int) {}
            override fun afterTextChanged(s: Editable?) {
                handler.removeCallbacks(applySearch)
                handler.postDelayed(applySearch, TYPING_MS)
            }
        })
        presenter.attach(::render)
        presenter.load()
    }

    fun render(s: RulesState) {
        adapter.items = s.rules
        adapter.notifyDataSetChanged()
        summary.text = if (s.loading || s.total == 0L) "" else
            strings.plural(R.plurals.rules_count, s.total.coerceAtMost(Int.MAX_VALUE.toLong()).toInt(), Format.count(strings, s.total))
        footer.text = when {
            s.loading -> ui.str(R.string.loading)
            s.rules.isEmpty() && s.query.isNotBlank() -> ui.str(R.string.rules_none_matching, s.query)
            s.rules.isEmpty() -> ui.str(R.string.rules_none)
            !s.endReached -> ui.str(R.string.rules_loading_more)
            else -> ""
        }
        error.showError(s.error)
        val removed = s.removed
        if (removed != null && removed !== offered) {
            offered = removed
            host.showUndo(removed)
        }
    }

    class Holder(val domain: TextView, val detail: TextView, val remove: TextView, var rule: DomainRule? = null)

    inner class RulesAdapter : RowsAdapter<DomainRule, Holder>() {
        override fun bind(holder: Holder, item: DomainRule) {
            holder.rule = item
            val whom = presenter.whom(item)
            val block = item.action == DomainAction.BLOCK
            holder.domain.text = Format.visible(item.domain)
            // Blocked or allowed: an icon and a word, besides the colour.
            holder.detail.text = ui.str(R.string.rules_row_detail, ui.str(if (block) R.string.action_blocked else R.string.action_allowed), whom)
            holder.detail.setTextColor(if (block) p.blocked else p.allowed)
            ui.leadingIcon(holder.detail, if (block) blockIcon else allowIcon, 4)
            holder.remove.contentDescription = ui.str(
                if (block) R.string.rules_remove_blocked_description else R.string.rules_remove_allowed_description, item.domain, whom,
            )
        }

        override fun newRow(): View {
            val domain = ui.text("", Ui.Type.BODY).apply { setSingleLine(); ellipsize = android.text.TextUtils.TruncateAt.MIDDLE }
            val detail = ui.text("", Ui.Type.CAPTION, p.onSurfaceVariant).apply { setSingleLine(); ellipsize = android.text.TextUtils.TruncateAt.END }
            lateinit var holder: Holder
            val remove = ui.button(ui.str(R.string.rules_remove), filled = false) { holder.rule?.let { presenter.remove(it) } }.apply {
                minHeight = ui.dp(48); minWidth = ui.dp(48)
                ui.leadingIcon(this, ui.icon(R.drawable.ic_action_remove, p.primary, 18), 4)
            }
            holder = Holder(domain, detail, remove)
            return ui.horizontal().apply {
                minimumHeight = ui.dp(56)
                setPadding(ui.dp(16), ui.dp(4), ui.dp(16), ui.dp(4))
                addView(ui.vertical().apply { addView(domain); addView(detail) }, Ui.weight(1f))
                addView(remove, LinearLayout.LayoutParams(ViewGroup.LayoutParams.WRAP_CONTENT, ViewGroup.LayoutParams.WRAP_CONTENT).apply { leftMargin = ui.dp(8) })
                tag = holder
            }
        }
    }

    override fun onShow() = presenter.reload()

    override fun dispose() {
        handler.removeCallbacks(applySearch)
        presenter.detach()
    }

    companion object {
        const val PREFETCH = 20
        const val TYPING_MS = 300L
    }
}
