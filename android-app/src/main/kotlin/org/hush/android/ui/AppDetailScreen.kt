package org.hush.android.ui

import android.view.Gravity
import android.view.View
import android.widget.ImageView
import android.widget.LinearLayout
import android.widget.ScrollView
import org.hush.android.data.Action

class AppDetailScreen(host: ScreenHost, uid: Int?, label: String) : Screen(host) {
    val presenter = AppDetailPresenter(host.deps, uid, label)
    private val p = ui.palette
    private val icons = IconLoader(host.deps, p)

    val icon = ImageView(host.context)
    val title = ui.text(label, Ui.Type.HEADLINE)
    val subtitle = ui.text("", Ui.Type.CAPTION, p.onSurfaceVariant)
    val counts = ui.text("", Ui.Type.TITLE_SMALL)
    val chart = TimelineChart(host.context, p)
    val hostList = ui.vertical()
    val error = ui.errorBanner()
    val back = ui.button("‹ Back", filled = false) { host.back() }

    override val view: View = ScrollView(host.context).apply {
        isFillViewport = true
        val column = ui.vertical()
        column.addView(ui.horizontal().apply {
            setPadding(ui.dp(16), ui.dp(12), ui.dp(16), 0)
            addView(back)
        })
        column.addView(ui.horizontal().apply {
            setPadding(ui.dp(16), ui.dp(12), ui.dp(16), ui.dp(8))
            addView(icon, LinearLayout.LayoutParams(ui.dp(48), ui.dp(48)).apply { rightMargin = ui.dp(16) })
            addView(ui.vertical().apply { addView(title); addView(subtitle) }, Ui.weight(1f))
        })
        column.addView(error)
        column.addView(ui.card().apply {
            addView(ui.text("Last ${AppDetailPresenter.DAYS} days", Ui.Type.TITLE_SMALL))
            addView(counts)
            addView(chart, Ui.matchWrap().apply { topMargin = ui.dp(8) })
            addView(ui.horizontal().apply {
                addView(legend(p.blocked, "Blocked"))
                addView(legend(p.allowed, "Allowed"))
            })
        })
        column.addView(ui.card().apply {
            addView(ui.text("Hosts contacted", Ui.Type.TITLE_SMALL))
            addView(hostList)
        })
        addView(column)
    }

    init {
        presenter.attach(::render)
        presenter.load()
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
        counts.text = if (s.loading) "Loading…" else
            "${Format.count(s.blocked)} blocked · ${Format.count(s.allowed)} allowed"
        chart.days = s.days
        error.showError(s.error)
        hostList.removeAllViews()
        if (!s.loading && s.hosts.isEmpty()) {
            hostList.addView(ui.text("No attempts in the last ${AppDetailPresenter.DAYS} days", Ui.Type.BODY, p.onSurfaceVariant))
        }
        for (h in s.hosts.take(MAX_ROWS)) hostList.addView(hostRow(h))
        if (s.hosts.size > MAX_ROWS) {
            hostList.addView(ui.text("and ${s.hosts.size - MAX_ROWS} more", Ui.Type.CAPTION, p.onSurfaceVariant))
        }
    }

    private fun hostRow(h: HostRow): View = ui.horizontal().apply {
        setPadding(0, ui.dp(8), 0, ui.dp(8))
        val color = when (h.action) { Action.BLOCKED -> p.blocked; Action.ALLOWED -> p.allowed; Action.FAILED -> p.error }
        val word = when (h.action) { Action.BLOCKED -> "Blocked"; Action.ALLOWED -> "Allowed"; Action.FAILED -> "Failed" }
        addView(ui.vertical().apply {
            addView(ui.text(h.host.ifEmpty { "(no name)" }, Ui.Type.BODY).apply { setSingleLine(); ellipsize = android.text.TextUtils.TruncateAt.MIDDLE })
            addView(ui.text("$word · ${Format.reason(h.reason)}", Ui.Type.CAPTION, color))
        }, Ui.weight(1f))
        addView(ui.text("×${Format.count(h.count)}", Ui.Type.LABEL, p.onSurfaceVariant).apply { gravity = Gravity.END })
    }

    override fun onShow() = presenter.load()

    override fun dispose() {
        presenter.detach()
        icons.dispose()
    }

    companion object {
        const val MAX_ROWS = 200
    }
}
