package org.hush.android.ui

import android.text.InputType
import android.view.View
import android.view.ViewGroup
import android.widget.LinearLayout
import android.widget.ScrollView
import android.widget.Switch
import org.hush.android.R
import org.hush.android.lists.BuiltinChoice
import org.hush.android.lists.ListProblem
import org.hush.android.lists.ListSubscription

/**
 * The lists Hush blocks with: the built-in ones (each with its licence, source, entry
 * count and switch) and the ones added by URL (switch, remove, last update or why it
 * failed). Domain rules have their own screen ([manageRules]).
 */
class ListsScreen(host: ScreenHost) : Screen(host) {
    val presenter = ListsPresenter(host.deps, ui.strings)
    private val p = ui.palette

    val builtinList = ui.vertical()
    val subscriptionList = ui.vertical()
    val updateNow = ui.button(ui.str(R.string.lists_update_now)) { presenter.updateNow() }
    val message = ui.text("", Ui.Type.CAPTION, p.primary)
    val urlField = ui.field(ui.str(R.string.lists_url_hint), InputType.TYPE_CLASS_TEXT or InputType.TYPE_TEXT_VARIATION_URI)
    val urlError = ui.text("", Ui.Type.CAPTION, p.error)
    val addUrl = ui.button(ui.str(R.string.lists_add), filled = false) { presenter.addUrl(urlField.text.toString()) }
    /** Every rule, for every app and each app, searched: the Rules screen. */
    val manageRules = ui.button(ui.str(R.string.lists_rules), filled = false) { host.openRules() }.apply {
        minHeight = ui.dp(48); contentDescription = ui.str(R.string.lists_rules_description)
    }
    val error = ui.errorBanner()
    /** Automatic updates on any network and without charging. */
    val anytime = switch(ui.str(R.string.lists_anytime), false) { on -> presenter.setUpdatesAnytime(on) }
    private var urlAdded = 0

    override val view: View = ScrollView(host.context).apply {
        isFillViewport = true
        val column = ui.vertical()
        column.addView(ui.screenTitle(ui.str(R.string.lists_title)))
        column.addView(error)
        column.addView(ui.card().apply {
            addView(ui.text(ui.str(R.string.lists_built_in), Ui.Type.TITLE_SMALL))
            addView(ui.text(ui.str(R.string.lists_built_in_note), Ui.Type.CAPTION, p.onSurfaceVariant))
            addView(builtinList)
        })
        column.addView(ui.card().apply {
            addView(ui.horizontal().apply {
                addView(ui.text(ui.str(R.string.lists_added), Ui.Type.TITLE_SMALL), Ui.weight(1f))
                addView(updateNow)
            })
            addView(ui.text(ui.str(R.string.lists_added_note), Ui.Type.CAPTION, p.onSurfaceVariant))
            addView(message)
            addView(subscriptionList)
            addView(ui.text(ui.str(R.string.lists_add_by_url), Ui.Type.LABEL, p.onSurfaceVariant).apply { setPadding(0, ui.dp(12), 0, ui.dp(4)) })
            addView(ui.horizontal().apply {
                addView(urlField, Ui.weight(1f))
                addView(addUrl, LinearLayout.LayoutParams(ViewGroup.LayoutParams.WRAP_CONTENT, ViewGroup.LayoutParams.WRAP_CONTENT).apply { leftMargin = ui.dp(8) })
            })
            addView(urlError)
            addView(ui.horizontal().apply {
                setPadding(0, ui.dp(8), 0, 0)
                addView(ui.text(ui.str(R.string.lists_anytime), Ui.Type.BODY), Ui.weight(1f))
                addView(anytime)
            })
        })
        column.addView(ui.card().apply {
            addView(ui.horizontal().apply {
                addView(ui.text(ui.str(R.string.lists_rules_note), Ui.Type.CAPTION, p.onSurfaceVariant), Ui.weight(1f))
                addView(manageRules)
            })
        })
        addView(column)
    }

    init {
        presenter.attach(::render)
        presenter.load()
    }

    fun render(s: ListsState) {
        error.showError(s.error)
        message.text = s.message ?: ""
        message.visibility = if (s.message == null) View.GONE else View.VISIBLE
        urlError.text = s.urlError ?: ""
        urlError.visibility = if (s.urlError == null) View.GONE else View.VISIBLE
        if (s.urlAdded != urlAdded) { urlAdded = s.urlAdded; urlField.setText("") }
        anytime.setOnCheckedChangeListener(null)
        anytime.isChecked = s.updatesAnytime
        anytime.setOnCheckedChangeListener { _, on -> presenter.setUpdatesAnytime(on) }

        builtinList.removeAllViews()
        for (choice in s.builtins) builtinList.addView(builtinRow(choice))

        subscriptionList.removeAllViews()
        if (!s.loading && s.subscriptions.isEmpty() && s.pendingUrls.isEmpty()) {
            subscriptionList.addView(ui.text(ui.str(R.string.lists_none_added), Ui.Type.BODY, p.onSurfaceVariant).apply { setPadding(0, ui.dp(8), 0, 0) })
        }
        for (sub in s.subscriptions) subscriptionList.addView(subscriptionRow(sub))
        for (url in s.pendingUrls) subscriptionList.addView(row(url, listOf(ui.str(R.string.lists_waiting)), null, null))
    }

    private fun builtinRow(choice: BuiltinChoice): View {
        val list = choice.list
        val toggle = switch(list.title, choice.enabled) { on -> presenter.setBuiltinEnabled(list.name, on) }
        return row(list.title, listOf(
            ui.strings.plural(R.plurals.lists_builtin_detail, quantity(list.entries), Format.count(ui.strings, list.entries), list.licence, list.name),
            ui.str(R.string.lists_source, list.source),
        ), null, toggle)
    }

    private fun subscriptionRow(sub: ListSubscription): View {
        val zone = host.deps.timeZone
        val downloaded = when {
            sub.updatedMs != null -> (sub.entries ?: 0).let { n ->
                ui.strings.plural(R.plurals.lists_updated, quantity(n), Format.count(ui.strings, n), Format.dateTime(ui.strings, sub.updatedMs, zone))
            }
            else -> ui.str(R.string.lists_not_downloaded)
        }
        val status = if (sub.enabled) downloaded else ui.str(R.string.lists_status_off, downloaded)
        val problem = sub.lastError?.let { ListProblem.text(ui.strings, it) }?.let { why ->
            val failed = sub.failedMs?.let { ui.str(R.string.lists_failed_at, Format.dateTime(ui.strings, it, zone), why) } ?: ui.str(R.string.lists_failed, why)
            failed + " " + ui.str(if (sub.updatedMs != null) R.string.lists_copy_stays else R.string.lists_nothing_in_use)
        }
        // A list's name is the list's own (from its header) or the user's: shown escaped.
        val name = Format.visible(sub.name)
        val toggle = switch(name, sub.enabled) { on -> presenter.setSubscriptionEnabled(sub.url, on) }
        val remove = ui.button(ui.str(R.string.lists_remove), filled = false) { presenter.remove(sub.url) }.apply {
            minHeight = ui.dp(48); contentDescription = ui.str(R.string.lists_remove_description, name)
        }
        return row(name, listOf(Format.visible(sub.url), status), problem, toggle, remove)
    }

    private fun switch(label: String, on: Boolean, changed: (Boolean) -> Unit) = Switch(host.context).apply {
        isChecked = on
        minimumHeight = ui.dp(48)
        minimumWidth = ui.dp(48)
        contentDescription = label
        setOnCheckedChangeListener { _, checked -> changed(checked) }
    }

    private fun row(title: String, captions: List<String>, problem: String?, vararg actions: View?): View = ui.horizontal().apply {
        setPadding(0, ui.dp(8), 0, ui.dp(8))
        addView(ui.vertical().apply {
            addView(ui.text(title, Ui.Type.BODY).apply { setSingleLine(); ellipsize = android.text.TextUtils.TruncateAt.MIDDLE })
            for (caption in captions) addView(ui.text(caption, Ui.Type.CAPTION, p.onSurfaceVariant))
            if (problem != null) addView(ui.text(problem, Ui.Type.CAPTION, p.error))
        }, Ui.weight(1f))
        for (action in actions) if (action != null) addView(action)
    }

    override fun onShow() = presenter.load()

    override fun dispose() = presenter.detach()

    /** A count as a plural's quantity. */
    private fun quantity(n: Long): Int = n.coerceAtMost(Int.MAX_VALUE.toLong()).toInt()
}
