package org.hush.android.ui

import android.content.ActivityNotFoundException
import android.view.View
import android.widget.ScrollView
import org.hush.android.R

/**
 * How to keep Android from stopping Hush: battery optimisation, the phone maker's own
 * autostart and battery screens, always-on VPN and "Block connections without VPN".
 * Each step says whether it is done where Android tells, and opens its system screen
 * where one resolves on this phone. Pushed over Home or Settings.
 */
class GuidanceScreen(host: ScreenHost, phone: Phone = AndroidPhone(host.context)) : Screen(host) {
    val presenter = GuidancePresenter(host.deps, phone, ui.strings)
    private val p = ui.palette

    val back = ui.button(ui.str(R.string.back), filled = false) { host.back() }.apply {
        minHeight = ui.dp(48); contentDescription = ui.str(R.string.back)
        ui.leadingIcon(this, ui.icon(R.drawable.ic_action_back, p.primary, 18), 4)
    }
    val error = ui.errorBanner()
    val stepsList = ui.vertical()
    /** The step keys whose screen could not be opened, with why (shown under the step). */
    private val openFailures = HashMap<String, String>()
    private var shown = GuidanceState()

    override val view: View = ScrollView(host.context).apply {
        isFillViewport = true
        val column = ui.vertical()
        column.addView(ui.horizontal().apply {
            setPadding(ui.dp(16), ui.dp(12), ui.dp(16), 0)
            addView(back)
        })
        column.addView(ui.screenTitle(ui.str(R.string.guidance_title)))
        column.addView(ui.text(ui.str(R.string.guidance_intro), Ui.Type.BODY, p.onSurfaceVariant).apply { setPadding(ui.dp(16), 0, ui.dp(16), ui.dp(8)) })
        column.addView(error)
        column.addView(stepsList)
        addView(column)
    }

    init {
        presenter.attach(::render)
        presenter.load()
    }

    fun render(s: GuidanceState) {
        shown = s
        error.showError(s.error)
        stepsList.removeAllViews()
        if (s.loading) return
        for (step in s.steps) stepsList.addView(card(step))
    }

    private fun card(step: GuidanceStep): View = ui.card().apply {
        tag = step.key
        addView(ui.text(step.title, Ui.Type.TITLE_SMALL))
        val mark = when (step.done) { true -> "✓ "; false -> "✗ "; null -> "? " }
        val colour = when (step.done) { true -> p.allowed; false -> p.error; null -> p.onSurfaceVariant }
        addView(ui.text(mark + step.doneNote, Ui.Type.LABEL, colour).apply { setPadding(0, ui.dp(4), 0, ui.dp(4)) })
        addView(ui.text(step.instructions, Ui.Type.BODY, p.onSurfaceVariant))
        val intent = step.open
        if (intent != null) {
            addView(ui.button(ui.str(R.string.guidance_open), filled = step.done != true) { open(step) }.apply {
                minHeight = ui.dp(48)
                contentDescription = ui.str(R.string.guidance_open_description, step.title)
            }, Ui.matchWrap().apply { topMargin = ui.dp(8) })
        } else {
            addView(ui.text(ui.str(R.string.guidance_no_screen), Ui.Type.CAPTION, p.onSurfaceVariant).apply { setPadding(0, ui.dp(8), 0, 0) })
        }
        openFailures[step.key]?.let { addView(ui.text(it, Ui.Type.BODY, p.error)) }
        // ui.card()'s own layout (16 dp at the sides, 8 dp between), as every screen's cards.
    }

    /** Opens the step's system screen; one that resolved but will not open says so under the step. */
    fun open(step: GuidanceStep) {
        val intent = step.open ?: return
        try {
            host.context.startActivity(intent)
            openFailures.remove(step.key)
        } catch (e: ActivityNotFoundException) {
            openFailures[step.key] = ui.str(R.string.guidance_cannot_open)
            render(shown)
        } catch (e: SecurityException) { // a maker's screen not exported to apps on this firmware
            openFailures[step.key] = ui.str(R.string.guidance_cannot_open)
            render(shown)
        }
    }

    /** Back from a system screen: a step may be done now. */
    override fun onShow() = presenter.load()

    override fun dispose() = presenter.detach()

    /** The card for the step [key], if shown. */
    fun stepView(key: String): View? = (0 until stepsList.childCount).map { stepsList.getChildAt(it) }.firstOrNull { it.tag == key }
}
