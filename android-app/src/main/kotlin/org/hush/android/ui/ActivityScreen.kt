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
import org.hush.android.R
import org.hush.android.data.Action
import org.hush.android.data.ActivityEvent
import java.util.Locale

/**
 * The log of attempts, newest first, under a heading per day ("Today", "Yesterday", a
 * date); each row says blocked or allowed with an icon and a word, not colour alone.
 */
class ActivityScreen(host: ScreenHost) : Screen(host) {
    private val strings = ui.strings
    val presenter = ActivityPresenter(host.deps, strings)
    private val p = ui.palette
    private val handler = Handler(Looper.getMainLooper())
    private var live = false

    val hostFilter = ui.searchField(ui.str(R.string.activity_filter_hint)).apply {
        ui.leadingIcon(this, ui.icon(R.drawable.ic_action_search, p.onSurfaceVariant, 20), 8)
    }
    val appChip = ui.chip(ui.str(R.string.activity_app_chip, ui.str(R.string.activity_app_all))) { chooseApp() }.apply { minHeight = ui.dp(48); gravity = android.view.Gravity.CENTER_VERTICAL }
    val actionChip = ui.chip(ui.str(R.string.activity_action_chip, ui.str(R.string.activity_action_all))) { chooseAction() }.apply { minHeight = ui.dp(48); gravity = android.view.Gravity.CENTER_VERTICAL }
    val error = ui.errorBanner()
    val footer = ui.text("", Ui.Type.CAPTION, p.onSurfaceVariant).apply { setPadding(ui.dp(16), ui.dp(12), ui.dp(16), ui.dp(12)) }
    /** Under an empty log while Hush is off: the way to turn it on from here. */
    val turnOn = ui.button(ui.str(R.string.activity_turn_on)) { presenter.turnOn() }.apply {
        minHeight = ui.dp(48)
        visibility = View.GONE
    }
    private val footerBox = ui.vertical().apply {
        addView(footer)
        addView(turnOn, Ui.matchWrap().apply { setMargins(ui.dp(16), 0, ui.dp(16), ui.dp(12)) })
    }
    val adapter = EventsAdapter()
    val list = ListView(host.context).apply {
        divider = null
        addFooterView(footerBox, null, false)
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
        addView(ui.screenTitle(ui.str(R.string.activity_title)))
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
        appChip.text = ui.str(R.string.activity_app_chip, s.filter.uid?.let { presenter.label(it) } ?: ui.str(R.string.activity_app_all))
        actionChip.text = ui.str(R.string.activity_action_chip, s.filter.action?.let { actionWord(it) } ?: ui.str(R.string.activity_action_all))
        val running = s.firewall == FirewallState.On || s.firewall == FirewallState.Starting || s.firewall is FirewallState.NotFiltering
        val emptyLog = !s.loading && s.error == null && s.events.isEmpty() && s.filter == ActivityFilter()
        turnOn.visibility = if (emptyLog && !running) View.VISIBLE else View.GONE
        footer.text = when {
            s.loading -> ui.str(R.string.loading)
            emptyLog -> ui.str(if (running) R.string.activity_empty_waiting else R.string.activity_empty_off)
            s.events.isEmpty() -> ui.str(if (s.filter != ActivityFilter()) R.string.activity_empty_filtered else R.string.activity_empty)
            s.endReached -> strings.plural(R.plurals.activity_end, s.events.size, Format.count(strings, s.events.size.toLong()))
            else -> ui.str(R.string.activity_loading_older)
        }
        error.showError(s.error)
    }

    /** The actions on [e]'s host, for the app that made the attempt. */
    fun openActions(e: ActivityEvent) {
        host.openHostActions(HostTarget(e.host, AppRef(e.uid, presenter.label(e.uid))))
    }

    fun chooseApp() {
        val choices = listOf(AppChoice(null, ui.str(R.string.activity_all_apps))) + presenter.state.apps
        AlertDialog.Builder(host.context)
            .setTitle(ui.str(R.string.activity_choose_app))
            .setItems(choices.map { it.label }.toTypedArray()) { _, which ->
                presenter.setFilter(presenter.state.filter.copy(uid = choices[which].uid))
            }
            .show()
    }

    fun chooseAction() {
        val choices = listOf<Action?>(null) + Action.values().toList()
        AlertDialog.Builder(host.context)
            .setTitle(ui.str(R.string.activity_choose_action))
            .setItems(choices.map { it?.let { a -> actionWord(a) } ?: ui.str(R.string.activity_all_actions) }.toTypedArray()) { _, which ->
                presenter.setFilter(presenter.state.filter.copy(action = choices[which]))
            }
            .show()
    }

    private fun actionWord(a: Action) = ui.str(
        when (a) { Action.BLOCKED -> R.string.action_blocked; Action.ALLOWED -> R.string.action_allowed; Action.FAILED -> R.string.action_failed },
    )

    private fun actionIcon(a: Action) = when (a) {
        Action.BLOCKED -> R.drawable.ic_action_block
        Action.ALLOWED -> R.drawable.ic_action_allow
        Action.FAILED -> R.drawable.ic_action_warning
    }

    /** One tinted icon per action, shared by the rows (inflating a vector per bind costs scrolling). */
    private val actionIcons = HashMap<Action, android.graphics.drawable.Drawable>()

    private fun actionColour(a: Action) = when (a) { Action.BLOCKED -> p.blocked; Action.ALLOWED -> p.allowed; Action.FAILED -> p.error }

    private fun startLive() {
        if (live) return
        live = true
        handler.postDelayed(tick, LIVE_MS)
    }

    private fun stopLive() {
        live = false
        handler.removeCallbacks(tick)
    }

    class Holder(val day: TextView, val row: View, val host: TextView, val detail: TextView, val owner: TextView, val action: TextView)

    inner class EventsAdapter : RowsAdapter<ActivityEvent, Holder>() {
        var events: List<ActivityEvent> by this::items
        private var position = 0

        override fun getView(position: Int, convertView: View?, parent: ViewGroup): View {
            this.position = position
            return super.getView(position, convertView, parent)
        }

        override fun bind(holder: Holder, item: ActivityEvent) {
            val h = holder
            val e = item
            val zone = host.deps.timeZone
            val now = host.deps.clock.nowMs()
            val day = Format.day(strings, e.timeMs, now, zone)
            // A heading over the first attempt of each day.
            val previous = events.getOrNull(position - 1)
            val first = previous == null || Format.daysAgo(previous.timeMs, now, zone) != Format.daysAgo(e.timeMs, now, zone)
            h.day.text = day
            h.day.visibility = if (first) View.VISIBLE else View.GONE
            val time = Format.clockTime(strings, e.timeMs, zone)
            val app = presenter.label(e.uid)
            h.host.text = Format.visible(e.host.ifEmpty { e.ip })
            h.detail.text = ui.str(R.string.activity_row_detail, time, app, e.protocol.uppercase(Locale.ROOT), e.port, Format.eventReason(strings, e.reason, e.detail))
            val owner = presenter.state.owners[e.host]?.let { Owners.line(strings, it) }
            h.owner.text = owner ?: ""
            h.owner.visibility = if (owner == null) View.GONE else View.VISIBLE
            val word = actionWord(e.action).let {
                if (e.repeats > 1) ui.str(R.string.activity_action_repeated, it, Format.count(strings, e.repeats)) else it
            }
            val colour = actionColour(e.action)
            h.action.text = word
            h.action.setTextColor(colour)
            ui.leadingIcon(h.action, actionIcons.getOrPut(e.action) { ui.icon(actionIcon(e.action), colour, 18) }, 4)
            val description = ui.str(R.string.activity_row_description, day, time, h.host.text, word, app)
            h.row.contentDescription = if (owner == null) description else ui.str(R.string.owner_row_description, description, owner)
        }

        override fun newRow(): View {
            val day = ui.text("", Ui.Type.LABEL, p.primary).apply {
                setPadding(ui.dp(16), ui.dp(16), ui.dp(16), ui.dp(4))
                if (android.os.Build.VERSION.SDK_INT >= 28) isAccessibilityHeading = true
                // The heading is not part of the row below it: a tap on it does nothing.
                isClickable = true
            }
            val hostText = ui.text("", Ui.Type.BODY).apply { setSingleLine(); ellipsize = android.text.TextUtils.TruncateAt.MIDDLE }
            val detail = ui.text("", Ui.Type.CAPTION, p.onSurfaceVariant).apply { setSingleLine(); ellipsize = android.text.TextUtils.TruncateAt.END }
            // Who is behind the host, when the core's table names it.
            val owner = ui.text("", Ui.Type.CAPTION, p.onSurfaceVariant).apply { setSingleLine(); ellipsize = android.text.TextUtils.TruncateAt.END; visibility = View.GONE }
            val action = ui.text("", Ui.Type.LABEL).apply { gravity = android.view.Gravity.CENTER_VERTICAL }
            val row = ui.horizontal().apply {
                minimumHeight = ui.dp(48)
                setPadding(ui.dp(16), ui.dp(8), ui.dp(16), ui.dp(8))
                addView(ui.vertical().apply { addView(hostText); addView(detail); addView(owner) }, Ui.weight(1f))
                addView(action, LinearLayout.LayoutParams(ViewGroup.LayoutParams.WRAP_CONTENT, ViewGroup.LayoutParams.WRAP_CONTENT).apply { leftMargin = ui.dp(8) })
            }
            return ui.vertical().apply {
                addView(day, Ui.matchWrap())
                addView(row, Ui.matchWrap())
                tag = Holder(day, row, hostText, detail, owner, action)
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
        presenter.stop()
    }

    companion object {
        const val PREFETCH = 20
        const val LIVE_MS = 3_000L
        const val TYPING_MS = 300L
    }
}
