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
import org.hush.android.data.DomainAction
import org.hush.android.data.DomainRule

/** Every domain rule (app, domain, action), searched by domain, each with Remove (and undo). */
class RulesScreen(host: ScreenHost) : Screen(host) {
    val presenter = RulesPresenter(host.deps)
    private val p = ui.palette
    private val handler = Handler(Looper.getMainLooper())
    private var offered: RuleChange? = null

    val back = ui.button("‹ Back", filled = false) { host.back() }.apply {
        minHeight = ui.dp(48); contentDescription = "Back"
    }
    val search = ui.searchField("Search rules by domain").apply { contentDescription = "Search rules by domain" }
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
        addView(ui.screenTitle("Rules"))
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
        summary.text = if (s.loading) "" else when (s.total) {
            0L -> ""
            1L -> "1 rule"
            else -> "${Format.count(s.total)} rules"
        }
        footer.text = when {
            s.loading -> "Loading…"
            s.rules.isEmpty() && s.query.isNotBlank() -> "No rule's domain contains \"${s.query}\""
            s.rules.isEmpty() -> "No rules yet: tap a host in Activity, App detail or Home to make one"
            !s.endReached -> "Loading more rules…"
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
            val whom = presenter.state.whom(item)
            holder.domain.text = item.domain
            holder.detail.text = "${RuleEdits.glyph(item.action)} ${RuleEdits.word(item.action)} · for $whom"
            holder.detail.setTextColor(if (item.action == DomainAction.BLOCK) p.blocked else p.allowed)
            holder.remove.contentDescription = "Remove the rule: ${RuleEdits.word(item.action).lowercase()} ${item.domain} for $whom"
        }

        override fun newRow(): View {
            val domain = ui.text("", Ui.Type.BODY).apply { setSingleLine(); ellipsize = android.text.TextUtils.TruncateAt.MIDDLE }
            val detail = ui.text("", Ui.Type.CAPTION, p.onSurfaceVariant).apply { setSingleLine(); ellipsize = android.text.TextUtils.TruncateAt.END }
            lateinit var holder: Holder
            val remove = ui.button("Remove", filled = false) { holder.rule?.let { presenter.remove(it) } }.apply {
                minHeight = ui.dp(48); minWidth = ui.dp(48)
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
