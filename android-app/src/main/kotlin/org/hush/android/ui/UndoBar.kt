package org.hush.android.ui

import android.os.Handler
import android.os.Looper
import android.view.View
import android.view.ViewGroup
import android.widget.LinearLayout
import org.hush.android.R

/**
 * A snackbar-like bar at the bottom of the screen: what a rule change did, and Undo,
 * which puts the rule that was there back. Goes away after [SHOW_MS]. [undone] runs once a change is undone, to refresh what is shown.
 */
class UndoBar(private val host: ScreenHost, private val undone: () -> Unit) {
    private val ui = host.ui
    val presenter = UndoPresenter(host.deps, ui.strings)
    private val p = ui.palette
    private val handler = Handler(Looper.getMainLooper())
    private val hide = Runnable { presenter.dismiss() }

    val message = ui.text("", Ui.Type.BODY, p.background).apply { maxLines = 3 }
    val undo = ui.text(ui.str(R.string.undo), Ui.Type.LABEL, p.primaryContainer).apply {
        ui.leadingIcon(this, ui.icon(R.drawable.ic_action_undo, p.primaryContainer, 18), 4)
        minHeight = ui.dp(48); minWidth = ui.dp(64)
        gravity = android.view.Gravity.CENTER
        setPadding(ui.dp(12), 0, ui.dp(12), 0)
        isClickable = true
        isFocusable = true
        setOnClickListener { presenter.undo(undone) }
    }

    val view: View = ui.horizontal().apply {
        background = ui.rounded(p.onSurface, 8)
        elevation = ui.dpf(6f)
        setPadding(ui.dp(16), ui.dp(4), ui.dp(4), ui.dp(4))
        minimumHeight = ui.dp(48)
        addView(message, Ui.weight(1f))
        addView(undo, LinearLayout.LayoutParams(ViewGroup.LayoutParams.WRAP_CONTENT, ViewGroup.LayoutParams.WRAP_CONTENT))
        layoutParams = LinearLayout.LayoutParams(ViewGroup.LayoutParams.MATCH_PARENT, ViewGroup.LayoutParams.WRAP_CONTENT)
        visibility = View.GONE
        // Said by TalkBack as it appears.
        accessibilityLiveRegion = View.ACCESSIBILITY_LIVE_REGION_POLITE
    }

    init {
        (view.layoutParams as? ViewGroup.MarginLayoutParams)?.setMargins(ui.dp(8), 0, ui.dp(8), ui.dp(8))
        presenter.attach(::render)
    }

    fun offer(change: RuleChange) = presenter.offer(change)

    fun render(s: UndoState) {
        val text = s.error ?: s.message
        view.visibility = if (text == null) View.GONE else View.VISIBLE
        message.text = text ?: ""
        val change = s.change
        undo.visibility = if (change != null && !s.busy) View.VISIBLE else View.GONE
        undo.contentDescription = change?.let { ui.str(R.string.undo_description, it.message) }
        handler.removeCallbacks(hide)
        if (text != null && !s.busy) handler.postDelayed(hide, SHOW_MS)
    }

    fun dispose() {
        handler.removeCallbacks(hide)
        presenter.detach()
    }

    companion object {
        const val SHOW_MS = 8_000L
    }
}
