package org.hush.android.ui

import android.app.AlertDialog
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
import org.hush.android.data.Action
import org.hush.android.data.ActivityEvent

class ActivityScreen(host: ScreenHost) : Screen(host) {
    val presenter = ActivityPresenter(host.deps)
    private val p = ui.palette
    private val handler = Handler(Looper.getMainLooper())
    private var live = false

    val hostFilter = ui.searchField("Filter by host")
    val appChip = ui.chip("App: all ▾") { chooseApp() }
    val actionChip = ui.chip("Action: all ▾") { chooseAction() }
    val error = ui.errorBanner()
    val footer = ui.text("", Ui.Type.CAPTION, p.onSurfaceVariant).apply { setPadding(ui.dp(16), ui.dp(12), ui.dp(16), ui.dp(12)) }
    val adapter = EventsAdapter()
    val list = ListView(host.context).apply {
        divider = null
        addFooterView(footer, null, false)
        adapter = this@ActivityScreen.adapter
        setOnItemClickListener { _, _, position, _ ->
            this@ActivityScreen.adapter.events.getOrNull(position)?.let { openActions(it) }
        }
        setOnScrollListener(object : AbsListView.OnScrollListener {
            override fun onScrollStateChanged(view: AbsListView?, scrollState: Int) {}
            override fun onScroll(view: AbsListView?, first: Int, visible: Int, total: Int) {
                // Near the end of what is loaded: the next page.
                if (total > 0 && visible > 0 && first + visible >= total - PREFETCH) presenter.loadMore()
            }
        })
    }

    override val view: View = ui.vertical().apply {
        addView(ui.screenTitle("Activity"))
        addView(hostFilter, Ui.matchWrap().apply { setMargins(ui.dp(16), 0, ui.dp(16), ui.dp(8)) })
        addView(ui.horizontal().apply {
            setPadding(ui.dp(16), 0, ui.dp(16), ui.dp(4))
            addView(appChip)
            addView(actionChip, LinearLayout.LayoutParams(ViewGroup.LayoutParams.WRAP_CONTENT, ViewGroup.LayoutParams.WRAP_CONTENT).apply { leftMargin = ui.dp(8) })
        })
        addView(error)
        addView(list, LinearLayout.LayoutParams(ViewGroup.LayoutParams.MATCH_PARENT, 0, 1f))
    }

    private val applyHostFilter = Runnable {
        presenter.setFilter(presenter.state.filter.copy(host = hostFilter.text.toString()))
    }

    private val tick = object : Runnable {
        override fun run() {
            if (!live) return
            if (list.firstVisiblePosition == 0) presenter.refreshHead()
            handler.postDelayed(this, LIVE_MS)
        }
    }

    init {
        hostFilter.addTextChangedListener(object : TextWatcher {
            override fun beforeTextChanged(s: CharSequence?, start: Int, count: Int, after: Int) {}
            override fun onTextChanged(s: CharSequence?, start: Int, before: Int, count: Int) {}
            override fun afterTextChanged(s: Editable?) {
                // One query once the typing pauses, not one per key.
                handler.removeCallbacks(applyHostFilter)
                handler.postDelayed(applyHostFilter, TYPING_MS)
            }
        })
        presenter.attach(::render)
        presenter.load()
        startLive()
    }

    fun render(s: ActivityState) {
        adapter.events = s.events
        adapter.notifyDataSetChanged()
        appChip.text = "App: " + (s.filter.uid?.let { presenter.label(it) } ?: "all") + " ▾"
        actionChip.text = "Action: " + (s.filter.action?.let { actionWord(it) } ?: "all") + " ▾"
        footer.text = when {
            s.loading -> "Loading…"
            s.events.isEmpty() -> "No attempts logged" + if (s.filter != ActivityFilter()) " for this filter" else ""
            s.endReached -> "End of the log · ${Format.count(s.events.size.toLong())} attempts"
            else -> "Loading older attempts…"
        }
        error.showError(s.error)
    }

    /** The actions on [e]'s host, for the app that made the attempt. */
    fun openActions(e: ActivityEvent) {
        host.openHostActions(HostTarget(e.host, AppRef(e.uid, presenter.label(e.uid))))
    }

    fun chooseApp() {
        val choices = listOf(AppChoice(null, "All apps")) + presenter.state.apps
        AlertDialog.Builder(host.context)
            .setTitle("Show attempts of")
            .setItems(choices.map { it.label }.toTypedArray()) { _, which ->
                presenter.setFilter(presenter.state.filter.copy(uid = choices[which].uid))
            }
            .show()
    }

    fun chooseAction() {
        val choices = listOf<Action?>(null) + Action.values().toList()
        AlertDialog.Builder(host.context)
            .setTitle("Show")
            .setItems(choices.map { it?.let { a -> actionWord(a) } ?: "All" }.toTypedArray()) { _, which ->
                presenter.setFilter(presenter.state.filter.copy(action = choices[which]))
            }
            .show()
    }

    private fun actionWord(a: Action) = when (a) { Action.BLOCKED -> "Blocked"; Action.ALLOWED -> "Allowed"; Action.FAILED -> "Failed" }

    private fun startLive() {
        if (live) return
        live = true
        handler.postDelayed(tick, LIVE_MS)
    }

    private fun stopLive() {
        live = false
        handler.removeCallbacks(tick)
    }

    class Holder(val host: TextView, val detail: TextView, val action: TextView)

    inner class EventsAdapter : RowsAdapter<ActivityEvent, Holder>() {
        var events: List<ActivityEvent> by this::items

        override fun bind(holder: Holder, item: ActivityEvent) {
            val h = holder
            val e = item
            h.host.text = e.host.ifEmpty { e.ip }
            h.detail.text = "${Format.time(e.timeMs, host.deps.timeZone)} · ${presenter.label(e.uid)} · " +
                "${e.protocol.uppercase()} ${e.port} · ${Format.reason(e.reason)}"
            h.action.text = actionWord(e.action)
            (h.host.parent.parent as View).contentDescription =
                "${h.host.text}, ${actionWord(e.action)}, ${presenter.label(e.uid)}. Opens block and allow actions."
            h.action.setTextColor(when (e.action) { Action.BLOCKED -> p.blocked; Action.ALLOWED -> p.allowed; Action.FAILED -> p.error })
        }

        override fun newRow(): View {
            val hostText = ui.text("", Ui.Type.BODY).apply { setSingleLine(); ellipsize = android.text.TextUtils.TruncateAt.MIDDLE }
            val detail = ui.text("", Ui.Type.CAPTION, p.onSurfaceVariant).apply { setSingleLine(); ellipsize = android.text.TextUtils.TruncateAt.END }
            val action = ui.text("", Ui.Type.LABEL)
            return ui.horizontal().apply {
                minimumHeight = ui.dp(48)
                setPadding(ui.dp(16), ui.dp(8), ui.dp(16), ui.dp(8))
                addView(ui.vertical().apply { addView(hostText); addView(detail) }, Ui.weight(1f))
                addView(action, LinearLayout.LayoutParams(ViewGroup.LayoutParams.WRAP_CONTENT, ViewGroup.LayoutParams.WRAP_CONTENT).apply { leftMargin = ui.dp(8) })
                tag = Holder(hostText, detail, action)
            }
        }
    }

    override fun onShow() {
        presenter.refreshHead()
        startLive()
    }

    override fun onHide() = stopLive()

    override fun dispose() {
        stopLive()
        handler.removeCallbacks(applyHostFilter)
        presenter.detach()
    }

    companion object {
        const val PREFETCH = 20
        const val LIVE_MS = 3_000L
        const val TYPING_MS = 300L
    }
}
