package org.hush.android.ui

import android.text.InputType
import android.view.View
import android.view.ViewGroup
import android.widget.LinearLayout
import android.widget.ScrollView
import android.widget.Switch
import org.hush.android.lists.BuiltinChoice
import org.hush.android.lists.ListSubscription

/**
 * The lists Hush blocks with: the built-in ones (each with its licence, source, entry
 * count and switch) and the ones added by URL (switch, remove, last update or why it
 * failed). Domain rules have their own screen ([manageRules]).
 */
class ListsScreen(host: ScreenHost) : Screen(host) {
    val presenter = ListsPresenter(host.deps)
    private val p = ui.palette

    val builtinList = ui.vertical()
    val subscriptionList = ui.vertical()
    val updateNow = ui.button(Words.UPDATE_NOW) { presenter.updateNow() }
    val message = ui.text("", Ui.Type.CAPTION, p.primary)
    val urlField = ui.field("https://example.org/hosts.txt", InputType.TYPE_CLASS_TEXT or InputType.TYPE_TEXT_VARIATION_URI)
    val urlError = ui.text("", Ui.Type.CAPTION, p.error)
    val addUrl = ui.button(Words.ADD, filled = false) { presenter.addUrl(urlField.text.toString()) }
    /** Every rule, for every app and each app, searched: the Rules screen. */
    val manageRules = ui.button(Words.RULES, filled = false) { host.openRules() }.apply {
        minHeight = ui.dp(48); contentDescription = Words.RULES_DESCRIPTION
    }
    val error = ui.errorBanner()
    /** Automatic updates on any network and without charging. */
    val anytime = switch(Words.ANYTIME, false) { on -> presenter.setUpdatesAnytime(on) }
    private var urlAdded = 0

    override val view: View = ScrollView(host.context).apply {
        isFillViewport = true
        val column = ui.vertical()
        column.addView(ui.screenTitle(Words.TITLE))
        column.addView(error)
        column.addView(ui.card().apply {
            addView(ui.text(Words.BUILT_IN, Ui.Type.TITLE_SMALL))
            addView(ui.text(Words.BUILT_IN_NOTE, Ui.Type.CAPTION, p.onSurfaceVariant))
            addView(builtinList)
        })
        column.addView(ui.card().apply {
            addView(ui.horizontal().apply {
                addView(ui.text(Words.ADDED, Ui.Type.TITLE_SMALL), Ui.weight(1f))
                addView(updateNow)
            })
            addView(ui.text(Words.ADDED_NOTE, Ui.Type.CAPTION, p.onSurfaceVariant))
            addView(message)
            addView(subscriptionList)
            addView(ui.text(Words.ADD_BY_URL, Ui.Type.LABEL, p.onSurfaceVariant).apply { setPadding(0, ui.dp(12), 0, ui.dp(4)) })
            addView(ui.horizontal().apply {
                addView(urlField, Ui.weight(1f))
                addView(addUrl, LinearLayout.LayoutParams(ViewGroup.LayoutParams.WRAP_CONTENT, ViewGroup.LayoutParams.WRAP_CONTENT).apply { leftMargin = ui.dp(8) })
            })
            addView(urlError)
            addView(ui.horizontal().apply {
                setPadding(0, ui.dp(8), 0, 0)
                addView(ui.text(Words.ANYTIME, Ui.Type.BODY), Ui.weight(1f))
                addView(anytime)
            })
        })
        column.addView(ui.card().apply {
            addView(ui.horizontal().apply {
                addView(ui.text(Words.RULES_NOTE, Ui.Type.CAPTION, p.onSurfaceVariant), Ui.weight(1f))
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
            subscriptionList.addView(ui.text(Words.NONE_ADDED, Ui.Type.BODY, p.onSurfaceVariant).apply { setPadding(0, ui.dp(8), 0, 0) })
        }
        for (sub in s.subscriptions) subscriptionList.addView(subscriptionRow(sub))
        for (url in s.pendingUrls) subscriptionList.addView(row(url, listOf(Words.WAITING), null, null))
    }

    private fun builtinRow(choice: BuiltinChoice): View {
        val list = choice.list
        val toggle = switch(list.title, choice.enabled) { on -> presenter.setBuiltinEnabled(list.name, on) }
        return row(list.title, listOf(
            "${Format.count(list.entries)} ${Words.ENTRIES} · ${list.licence} · ${Words.LIST_NAME} ${list.name}",
            Words.SOURCE + list.source,
        ), null, toggle)
    }

    private fun subscriptionRow(sub: ListSubscription): View {
        val zone = host.deps.timeZone
        val status = when {
            sub.updatedMs != null -> "${Format.count(sub.entries ?: 0)} ${Words.ENTRIES} · ${Words.UPDATED} ${Format.dateTime(sub.updatedMs, zone)}"
            else -> Words.NOT_DOWNLOADED
        } + if (sub.enabled) "" else " · ${Words.DISABLED}"
        val problem = sub.lastError?.let { why ->
            val whenFailed = sub.failedMs?.let { " " + Format.dateTime(it, zone) } ?: ""
            Words.FAILED + whenFailed + ": " + why + ". " + if (sub.updatedMs != null) Words.COPY_STAYS else Words.NOTHING_IN_USE
        }
        val toggle = switch(sub.name, sub.enabled) { on -> presenter.setSubscriptionEnabled(sub.url, on) }
        val remove = ui.button(Words.REMOVE, filled = false) { presenter.remove(sub.url) }.apply {
            minHeight = ui.dp(48); contentDescription = Words.REMOVE + " " + sub.name
        }
        return row(sub.name, listOf(sub.url, status), problem, toggle, remove)
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

    /** User-visible words of the Lists screen, kept together for the move to strings.xml. */
    internal object Words {
        const val TITLE = "Lists"
        const val BUILT_IN = "Built into Hush"
        const val BUILT_IN_NOTE = "Shipped with the app; no download. Each blocks a name and every name under it."
        const val ADDED = "Added by URL"
        const val ADDED_NOTE = "Updated daily on Wi-Fi while charging (unless below); a failed update keeps the copy in use."
        const val ANYTIME = "Also update on mobile data and when not charging"
        const val ADD_BY_URL = "Add a list by URL"
        const val UPDATE_NOW = "Update now"
        const val ADD = "Add"
        const val RULES = "Domain rules ›"
        const val RULES_DESCRIPTION = "Domain rules: search and remove the rules for each host"
        const val RULES_NOTE = "Rules for single hosts, for every app or one app"
        const val NONE_ADDED = "No list added yet"
        const val WAITING = "Waiting for its first download"
        const val ENTRIES = "entries"
        const val LIST_NAME = "as"
        const val SOURCE = "Source: "
        const val UPDATED = "updated"
        const val NOT_DOWNLOADED = "Not downloaded yet"
        const val DISABLED = "off"
        const val FAILED = "Last update failed"
        const val COPY_STAYS = "The copy in use stays."
        const val NOTHING_IN_USE = "Nothing from it is in use yet."
        const val REMOVE = "Remove"
    }
}
