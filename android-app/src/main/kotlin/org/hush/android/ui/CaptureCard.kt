package org.hush.android.ui

import android.content.res.ColorStateList
import android.os.Handler
import android.os.Looper
import android.view.View
import android.widget.RadioButton
import android.widget.RadioGroup
import android.widget.Switch
import org.hush.android.R
import java.io.File

/**
 * App detail's packet capture card (issue 16): a switch that captures the app's packets
 * for the period chosen, its counts while it runs, and once it stopped (or ended by
 * itself) "Export capture…" through the system file picker. The files stay in the app's
 * own storage until exported or deleted.
 */
class CaptureCard(private val host: ScreenHost, private val uid: Int) {
    private val ui = host.ui
    private val p = ui.palette
    val presenter = CapturePresenter(host.deps, uid, ui.strings, File(host.context.filesDir, CapturePresenter.DIRECTORY))
    private var packageName: String? = null
    private val main = Handler(Looper.getMainLooper())
    private val poll = Runnable { presenter.refresh() }

    val switch = Switch(host.context).apply {
        text = ui.str(R.string.capture_switch)
        minHeight = ui.dp(48)
        setTextColor(p.onSurface)
        thumbTintList = ColorStateList(arrayOf(intArrayOf(android.R.attr.state_checked), intArrayOf()), intArrayOf(p.primary, p.outline))
        trackTintList = ColorStateList(arrayOf(intArrayOf(android.R.attr.state_checked), intArrayOf()), intArrayOf(p.primaryContainer, p.surfaceVariant))
    }
    val periods = RadioGroup(host.context).apply {
        orientation = RadioGroup.HORIZONTAL
        contentDescription = ui.str(R.string.capture_period)
    }
    val periodButtons: Map<CapturePeriod, RadioButton> = CapturePeriod.values().associateWith { period ->
        RadioButton(host.context).apply {
            id = View.generateViewId()
            text = ui.str(period.label)
            minHeight = ui.dp(48)
            setTextColor(p.onSurface)
            buttonTintList = ColorStateList.valueOf(p.primary)
        }.also { periods.addView(it) }
    }
    val status = ui.text("", Ui.Type.BODY)
    val export = ui.button(ui.str(R.string.capture_export)) { pickDocument() }.apply { minHeight = ui.dp(48) }
    val delete = ui.button(ui.str(R.string.capture_delete), filled = false) { presenter.delete() }.apply { minHeight = ui.dp(48) }
    val message = ui.text("", Ui.Type.BODY, p.primary)
    val error = ui.text("", Ui.Type.BODY, p.error)
    val card = ui.card().apply {
        addView(ui.text(ui.str(R.string.capture_title), Ui.Type.TITLE_SMALL))
        addView(ui.text(ui.str(R.string.capture_note), Ui.Type.CAPTION, p.onSurfaceVariant))
        addView(switch, Ui.matchWrap())
        addView(ui.text(ui.str(R.string.capture_period), Ui.Type.LABEL, p.onSurfaceVariant))
        addView(periods, Ui.matchWrap())
        addView(ui.text(ui.str(R.string.capture_one_at_a_time), Ui.Type.CAPTION, p.onSurfaceVariant))
        addView(status)
        addView(ui.horizontal().apply {
            addView(export)
            addView(delete, android.widget.LinearLayout.LayoutParams(
                android.view.ViewGroup.LayoutParams.WRAP_CONTENT, android.view.ViewGroup.LayoutParams.WRAP_CONTENT,
            ).apply { leftMargin = ui.dp(8) })
        }, Ui.matchWrap().apply { topMargin = ui.dp(8) })
        addView(message)
        addView(error)
    }

    init {
        switch.setOnCheckedChangeListener { _, checked -> if (checked != presenter.state.running) presenter.setCapturing(checked) }
        periods.setOnCheckedChangeListener { _, id ->
            val picked = periodButtons.entries.firstOrNull { it.value.id == id }?.key ?: return@setOnCheckedChangeListener
            presenter.choose(picked)
        }
        presenter.attach(::render)
        presenter.refresh()
    }

    /** The app as App detail shows it: named in the file, and in the exported file's name. */
    fun bind(label: String, packageName: String?, visible: Boolean) {
        presenter.appName = packageName?.let { "$label ($it)" } ?: label
        this.packageName = packageName
        card.visibility = if (visible) View.VISIBLE else View.GONE
    }

    fun refresh() = presenter.refresh()

    /** Asks the file picker for a new document, then copies the capture into it. */
    fun pickDocument() {
        val name = CapturePresenter.exportName(uid, packageName, host.deps.clock.nowMs())
        host.createDocument(CapturePresenter.MIME, name) { uri ->
            if (uri != null) presenter.export { host.context.contentResolver.openOutputStream(uri, "wt") }
        }
    }

    fun render(s: CaptureCardState) {
        if (switch.isChecked != s.running) switch.isChecked = s.running
        switch.isEnabled = !s.busy
        periodButtons[s.period]?.let { if (!it.isChecked) it.isChecked = true }
        for (button in periodButtons.values) button.isEnabled = !s.running && !s.busy
        status.text = when {
            s.running -> ui.str(R.string.capture_running, Format.count(ui.strings, s.packets), Format.count(ui.strings, s.dropped))
            s.files.isNotEmpty() -> ui.str(R.string.capture_ready, Format.size(ui.strings, s.bytes))
            else -> ""
        }
        status.visibility = if (status.text.isEmpty()) View.GONE else View.VISIBLE
        val exportable = !s.running && s.files.isNotEmpty()
        export.visibility = if (exportable) View.VISIBLE else View.GONE
        delete.visibility = export.visibility
        export.isEnabled = !s.busy
        delete.isEnabled = !s.busy
        message.text = s.message ?: ""
        message.visibility = if (s.message == null) View.GONE else View.VISIBLE
        error.text = s.error ?: ""
        error.visibility = if (s.error == null) View.GONE else View.VISIBLE
        // While it runs, its counts every few seconds (and its end, when it ends by itself).
        main.removeCallbacks(poll)
        if (s.running) main.postDelayed(poll, POLL_MS)
    }

    fun dispose() {
        main.removeCallbacks(poll)
        presenter.detach()
    }

    companion object {
        const val POLL_MS = 2_000L
    }
}
