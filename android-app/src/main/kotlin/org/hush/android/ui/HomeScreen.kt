package org.hush.android.ui

import android.content.res.ColorStateList
import android.view.Gravity
import android.view.View
import android.widget.CompoundButton
import android.widget.LinearLayout
import android.widget.ScrollView
import android.widget.Switch
import android.widget.TextView
import org.hush.android.R

class HomeScreen(host: ScreenHost) : Screen(host) {
    val presenter = HomePresenter(host.deps, ui.strings)
    private val handler = android.os.Handler(android.os.Looper.getMainLooper())
    private val tick = object : Runnable {
        override fun run() {
            presenter.refreshLive()
            handler.postDelayed(this, LIVE_MS)
        }
    }

    private val p = ui.palette

    val switch = Switch(host.context)
    val statusText = ui.text("", Ui.Type.BODY, p.onSurfaceVariant)
    val blockedCount = ui.text("–", Ui.Type.NUMBER, p.blocked)
    val allowedCount = ui.text("–", Ui.Type.NUMBER, p.allowed)
    val liveText = ui.text("", Ui.Type.CAPTION, p.onSurfaceVariant)
    val topAppsList = ui.vertical()
    val topHostsList = ui.vertical()
    /** When Hush was off lately, and why. */
    val offList = ui.vertical()
    val guidanceLink = link(ui.str(R.string.home_keep_running), ui.str(R.string.home_keep_running_description))
    val error = ui.errorBanner()

    private val switchListener = CompoundButton.OnCheckedChangeListener { _, checked -> presenter.setEnabled(checked) }

    override val view: View = ScrollView(host.context).apply {
        isFillViewport = true
        val column = ui.vertical()
        column.addView(ui.screenTitle(ui.str(R.string.app_name)))
        column.addView(error)
        column.addView(statusCard())
        column.addView(ui.card().apply {
            addView(ui.text(ui.str(R.string.home_off_title), Ui.Type.TITLE_SMALL))
            addView(offList)
            addView(guidanceLink)
        })
        column.addView(countsCard())
        column.addView(ui.card().apply {
            addView(ui.text(ui.str(R.string.home_top_apps), Ui.Type.TITLE_SMALL))
            addView(topAppsList)
        })
        column.addView(ui.card().apply {
            addView(ui.text(ui.str(R.string.home_top_hosts), Ui.Type.TITLE_SMALL))
            addView(topHostsList)
        })
        addView(column)
    }

    init {
        switch.thumbTintList = ColorStateList(
            arrayOf(intArrayOf(android.R.attr.state_checked), intArrayOf()), intArrayOf(p.primary, p.outline),
        )
        switch.trackTintList = ColorStateList(
            arrayOf(intArrayOf(android.R.attr.state_checked), intArrayOf()), intArrayOf(p.primaryContainer, p.surfaceVariant),
        )
        switch.setOnCheckedChangeListener(switchListener)
        presenter.attach(::render)
        presenter.start()
        handler.postDelayed(tick, LIVE_MS)
    }

    private fun statusCard() = ui.card().apply {
        val row = ui.horizontal()
        val texts = ui.vertical()
        texts.addView(ui.text(ui.str(R.string.home_firewall), Ui.Type.TITLE))
        texts.addView(statusText)
        row.addView(texts, Ui.weight(1f))
        row.addView(switch)
        addView(row)
        addView(liveText)
    }

    private fun countsCard() = ui.card().apply {
        val row = ui.horizontal()
        fun cell(number: TextView, label: String) = ui.vertical().apply {
            addView(number)
            addView(ui.text(label, Ui.Type.CAPTION, p.onSurfaceVariant))
        }
        row.addView(cell(blockedCount, ui.str(R.string.home_blocked_today)), Ui.weight(1f))
        row.addView(cell(allowedCount, ui.str(R.string.home_allowed_today)), Ui.weight(1f))
        addView(row)
    }

    fun render(s: HomeState) {
        switch.setOnCheckedChangeListener(null)
        val running = s.firewall == FirewallState.On || s.firewall is FirewallState.NotFiltering
        switch.isChecked = running || s.firewall == FirewallState.Starting
        switch.isEnabled = s.firewall != FirewallState.Starting
        switch.setOnCheckedChangeListener(switchListener)
        val status = when (val f = s.firewall) {
            FirewallState.Off -> ui.str(R.string.home_status_off)
            FirewallState.Starting -> ui.str(R.string.home_status_starting)
            FirewallState.On -> s.blocking?.let { ui.str(R.string.home_status_on_blocking, it) } ?: ui.str(R.string.home_status_on)
            is FirewallState.Failed -> ui.str(R.string.home_status_failed, f.message)
            is FirewallState.NotFiltering -> Format.notFiltering(ui.strings, f.filtering, f.reason) ?: ui.str(R.string.home_status_on)
        }
        val problems = if (running) s.problems else emptyList()
        statusText.text = if (problems.isEmpty()) status else status + problems.joinToString("") { "\n• $it" }
        val alarming = s.firewall is FirewallState.Failed || s.firewall is FirewallState.NotFiltering || problems.isNotEmpty()
        statusText.setTextColor(if (alarming) p.error else p.onSurfaceVariant)
        val live = s.live
        liveText.text = if (live != null && running) {
            val blocked = Format.count(ui.strings, live.blocked)
            val allowed = Format.count(ui.strings, live.allowed)
            if (live.eventsDropped > 0) {
                ui.strings.plural(R.plurals.home_live_dropped, plural(live.eventsDropped), blocked, allowed, Format.count(ui.strings, live.eventsDropped))
            } else {
                ui.str(R.string.home_live, blocked, allowed)
            }
        } else ""
        liveText.visibility = if (liveText.text.isEmpty()) View.GONE else View.VISIBLE
        blockedCount.text = if (s.loading) "–" else Format.count(ui.strings, s.blockedToday)
        allowedCount.text = if (s.loading) "–" else Format.count(ui.strings, s.allowedToday)
        error.showError(s.error)
        renderOff(s)

        topAppsList.removeAllViews()
        if (!s.loading && s.topApps.isEmpty()) topAppsList.addView(empty(ui.str(R.string.home_nothing_blocked)))
        for (app in s.topApps) {
            // Attempts with no known owner cannot be asked for on their own: no detail for them.
            val open: (() -> Unit)? = if (app.uid == null) null else { { host.openAppDetail(app.uid, app.label) } }
            topAppsList.addView(row(app.label, Format.count(ui.strings, app.blocked), null, open))
        }
        topHostsList.removeAllViews()
        if (!s.loading && s.topHosts.isEmpty()) topHostsList.addView(empty(ui.str(R.string.home_nothing_blocked)))
        for (h in s.topHosts) {
            val apps = ui.strings.plural(R.plurals.home_host_apps, h.apps, Format.count(ui.strings, h.apps.toLong()))
            val shown = Format.visible(h.host)
            // Who is behind it first: what an owner asks of a host before how many apps reach it.
            val owner = s.owners[h.host]?.let { Owners.line(ui.strings, it) }
            val caption = owner?.let { ui.str(R.string.owner_and_apps, it, apps) } ?: apps
            topHostsList.addView(row(shown, Format.count(ui.strings, h.blocked), caption) {
                host.openHostActions(HostTarget(h.host, null))
            }.apply {
                val description = ui.strings.plural(R.plurals.home_host_description, plural(h.blocked), shown, Format.count(ui.strings, h.blocked), apps)
                contentDescription = if (owner == null) description else ui.str(R.string.owner_row_description, description, owner)
            })
        }
    }

    private fun renderOff(s: HomeState) {
        offList.removeAllViews()
        val periods = s.offPeriods ?: return
        s.offPeriodsError?.let { offList.addView(ui.text(it, Ui.Type.BODY, p.error)) }
        if (periods.isEmpty() && s.offPeriodsError == null) offList.addView(empty(ui.str(noGapWords(s))))
        for (o in periods) {
            offList.addView(ui.vertical().apply {
                setPadding(0, ui.dp(8), 0, ui.dp(4))
                addView(ui.text(o.time, Ui.Type.BODY))
                addView(ui.text(o.why, Ui.Type.CAPTION, p.onSurfaceVariant))
                if (o.guidance) addView(link(ui.str(R.string.home_what_to_do), ui.str(R.string.home_off_link_description, o.time, o.why)))
            })
        }
    }

    /**
     * Why no gap is listed: a fresh install that never ran (turn it on), a Hush that has
     * run without a stop since its first start, or one that was not off this week.
     */
    private fun noGapWords(s: HomeState): Int {
        val running = s.firewall == FirewallState.On || s.firewall is FirewallState.NotFiltering || s.firewall == FirewallState.Starting
        val history = s.history ?: return R.string.home_never_off
        return when {
            !running && history.neverRan -> R.string.home_never_ran
            running && !history.gapsEver -> R.string.home_never_off_since_first
            else -> R.string.home_never_off
        }
    }

    /** A text link to the guidance screen, 48 dp tall. */
    private fun link(text: String, description: String) = ui.text(text, Ui.Type.BODY, p.primary).apply {
        minHeight = ui.dp(48)
        gravity = Gravity.CENTER_VERTICAL
        isClickable = true
        contentDescription = description
        setOnClickListener { host.openGuidance() }
    }

    /** A count as a plural's quantity (counts past Int's range read as "many"). */
    private fun plural(n: Long): Int = n.coerceAtMost(Int.MAX_VALUE.toLong()).toInt()

    private fun empty(text: String) = ui.text(text, Ui.Type.BODY, p.onSurfaceVariant).apply {
        setPadding(0, ui.dp(8), 0, 0)
    }

    private fun row(title: String, count: String, caption: String? = null, onClick: (() -> Unit)?): View =
        ui.horizontal().apply {
            setPadding(0, ui.dp(10), 0, ui.dp(10))
            minimumHeight = ui.dp(48)
            val texts = ui.vertical()
            texts.addView(ui.text(title, Ui.Type.BODY).apply { setSingleLine(); ellipsize = android.text.TextUtils.TruncateAt.END })
            if (caption != null) texts.addView(ui.text(caption, Ui.Type.CAPTION, p.onSurfaceVariant))
            addView(texts, Ui.weight(1f))
            addView(ui.text(count, Ui.Type.TITLE_SMALL, p.blocked).apply { gravity = Gravity.END })
            if (onClick != null) {
                isClickable = true
                setOnClickListener { onClick() }
            }
            layoutParams = LinearLayout.LayoutParams(LinearLayout.LayoutParams.MATCH_PARENT, LinearLayout.LayoutParams.WRAP_CONTENT)
        }

    override fun onShow() {
        presenter.refresh()
        handler.removeCallbacks(tick)
        handler.postDelayed(tick, LIVE_MS)
    }

    override fun onHide() = handler.removeCallbacks(tick)

    override fun dispose() {
        handler.removeCallbacks(tick)
        presenter.stop()
    }

    companion object {
        const val LIVE_MS = 2_000L

    }
}
