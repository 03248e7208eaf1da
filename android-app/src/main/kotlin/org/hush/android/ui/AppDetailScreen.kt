package org.hush.android.ui

import android.view.View
import android.view.ViewGroup
import android.widget.AbsListView
import android.widget.ImageView
import android.widget.LinearLayout
import android.widget.ListView
import android.widget.TextView
import org.hush.android.data.Action
import org.hush.android.data.AppHost

/**
 * One app: its counts and days, then every host it contacted (a page at a time, more
 * as the list scrolls), each opening the host's actions when tapped.
 */
class AppDetailScreen(host: ScreenHost, uid: Int?, label: String) : Screen(host) {
    val presenter = AppDetailPresenter(host.deps, uid, label)
    private val p = ui.palette
    private val icons = IconLoader(host.deps, p)

    val icon = ImageView(host.context)
    val title = ui.text(label, Ui.Type.HEADLINE)
    val subtitle = ui.text("", Ui.Type.CAPTION, p.onSurfaceVariant)
    /** Every app on a shared UID, one a line. */
    val packages = ui.text("", Ui.Type.CAPTION, p.onSurfaceVariant).apply { setPadding(ui.dp(16), 0, ui.dp(16), ui.dp(8)) }
    val counts = ui.text("", Ui.Type.TITLE_SMALL)
    val chart = TimelineChart(host.context, p)
    val hostsTitle = ui.text("Hosts contacted", Ui.Type.TITLE_SMALL).apply { setPadding(ui.dp(16), ui.dp(16), ui.dp(16), ui.dp(4)) }
    val error = ui.errorBanner()
    val back = ui.button("‹ Back", filled = false) { host.back() }.apply { minHeight = ui.dp(48); contentDescription = "Back" }
    val footer = ui.text("", Ui.Type.CAPTION, p.onSurfaceVariant).apply { setPadding(ui.dp(16), ui.dp(12), ui.dp(16), ui.dp(12)) }
    val adapter = HostsAdapter()

    private val header: View = ui.vertical().apply {
        addView(ui.horizontal().apply {
            setPadding(ui.dp(16), ui.dp(12), ui.dp(16), 0)
            addView(back)
        })
        addView(ui.horizontal().apply {
            setPadding(ui.dp(16), ui.dp(12), ui.dp(16), ui.dp(8))
            addView(icon, LinearLayout.LayoutParams(ui.dp(48), ui.dp(48)).apply { rightMargin = ui.dp(16) })
            addView(ui.vertical().apply { addView(title); addView(subtitle) }, Ui.weight(1f))
        })
        addView(packages)
        addView(error)
        addView(ui.card().apply {
            addView(ui.text("Last ${AppDetailPresenter.DAYS} days", Ui.Type.TITLE_SMALL))
            addView(counts)
            addView(chart, Ui.matchWrap().apply { topMargin = ui.dp(8) })
            addView(ui.horizontal().apply {
                addView(legend(p.blocked, "Blocked"))
                addView(legend(p.allowed, "Allowed"))
            })
        })
        addView(hostsTitle)
        layoutParams = AbsListView.LayoutParams(ViewGroup.LayoutParams.MATCH_PARENT, ViewGroup.LayoutParams.WRAP_CONTENT)
    }

    /** The hosts, recycled; the header above them scrolls with them. */
    val hostList = ListView(host.context).apply {
        divider = null
        addHeaderView(header, null, false)
        addFooterView(footer, null, false)
        adapter = this@AppDetailScreen.adapter
        setOnItemClickListener { _, _, position, _ ->
            val h = this@AppDetailScreen.adapter.items.getOrNull(position - headerViewsCount) ?: return@setOnItemClickListener
            openActions(h)
        }
        setOnScrollListener(object : AbsListView.OnScrollListener {
            override fun onScrollStateChanged(view: AbsListView?, scrollState: Int) {}
            override fun onScroll(view: AbsListView?, first: Int, visible: Int, total: Int) {
                if (total > 0 && visible > 0 && first + visible >= total - PREFETCH) presenter.loadMore()
            }
        })
    }

    override val view: View = hostList

    init {
        presenter.attach(::render)
        presenter.load()
    }

    /** The actions on [h], for this app. */
    fun openActions(h: AppHost) {
        val s = presenter.state
        host.openHostActions(HostTarget(h.host, AppRef(s.uid, s.label)))
    }

    private fun legend(color: Int, label: String) = ui.horizontal().apply {
        setPadding(0, ui.dp(4), ui.dp(16), 0)
        addView(View(host.context).apply { background = ui.rounded(color, 2) }, LinearLayout.LayoutParams(ui.dp(10), ui.dp(10)).apply { rightMargin = ui.dp(6) })
        addView(ui.text(label, Ui.Type.CAPTION, p.onSurfaceVariant))
    }

    fun render(s: AppDetailState) {
        title.text = s.label
        subtitle.text = listOfNotNull(s.uid?.let { "UID $it" }, s.note).joinToString(" · ")
        icons.bind(icon, s.packageName, s.label)
        packages.text = if (s.packages.size > 1) "Apps on this UID:\n" + s.packages.joinToString("\n") { "• $it" } else ""
        packages.visibility = if (s.packages.size > 1) View.VISIBLE else View.GONE
        counts.text = if (s.loading) "Loading…" else
            "${Format.count(s.blocked)} blocked · ${Format.count(s.allowed)} allowed"
        chart.days = s.days
        error.showError(s.error)
        hostsTitle.text = if (s.loading || s.hostTotal == 0L) "Hosts contacted" else "Hosts contacted · ${Format.count(s.hostTotal)}"
        adapter.items = s.hosts
        adapter.notifyDataSetChanged()
        footer.text = when {
            s.loading -> "Loading…"
            s.hosts.isEmpty() -> "No attempts in the last ${AppDetailPresenter.DAYS} days"
            !s.endReached -> "Loading more hosts…"
            else -> "Tap a host to block or allow it"
        }
    }

    class Holder(val host: TextView, val last: TextView, val counts: TextView)

    inner class HostsAdapter : RowsAdapter<AppHost, Holder>() {
        override fun bind(holder: Holder, item: AppHost) {
            val zone = host.deps.timeZone
            holder.host.text = item.host.ifEmpty { "(an address, no host name)" }
            val word = actionWord(item.lastAction)
            holder.last.text = "Last: $word · ${Format.reason(item.lastReason)}"
            holder.last.setTextColor(when (item.lastAction) { Action.BLOCKED -> p.blocked; Action.ALLOWED -> p.allowed; Action.FAILED -> p.error })
            holder.counts.text = listOfNotNull(
                item.blocked.takeIf { it > 0 }?.let { "${Format.count(it)} blocked" },
                item.allowed.takeIf { it > 0 }?.let { "${Format.count(it)} allowed" },
                item.failed.takeIf { it > 0 }?.let { "${Format.count(it)} failed" },
            ).joinToString(" · ") + " · first ${Format.dateTime(item.firstMs, zone)} · last ${Format.dateTime(item.lastMs, zone)}"
            (holder.host.parent.parent as View).contentDescription =
                "${holder.host.text}: last $word, ${holder.counts.text}. Opens block and allow actions."
        }

        override fun newRow(): View {
            val name = ui.text("", Ui.Type.BODY).apply { setSingleLine(); ellipsize = android.text.TextUtils.TruncateAt.MIDDLE }
            val last = ui.text("", Ui.Type.CAPTION).apply { setSingleLine(); ellipsize = android.text.TextUtils.TruncateAt.END }
            val counts = ui.text("", Ui.Type.CAPTION, p.onSurfaceVariant).apply { setSingleLine(); ellipsize = android.text.TextUtils.TruncateAt.END }
            return ui.horizontal().apply {
                minimumHeight = ui.dp(56)
                setPadding(ui.dp(16), ui.dp(8), ui.dp(16), ui.dp(8))
                addView(ui.vertical().apply { addView(name); addView(last); addView(counts) }, Ui.weight(1f))
                addView(ui.text("›", Ui.Type.TITLE, p.onSurfaceVariant))
                tag = Holder(name, last, counts)
            }
        }
    }

    private fun actionWord(a: Action) = when (a) { Action.BLOCKED -> "Blocked"; Action.ALLOWED -> "Allowed"; Action.FAILED -> "Failed" }

    override fun onShow() = presenter.load()

    override fun dispose() {
        presenter.detach()
        icons.dispose()
    }

    companion object {
        const val PREFETCH = 20
    }
}
