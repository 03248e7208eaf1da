package org.hush.android.ui

import android.text.InputType
import android.view.View
import android.view.ViewGroup
import android.widget.EditText
import android.widget.LinearLayout
import android.widget.RadioButton
import android.widget.RadioGroup
import android.widget.ScrollView
import org.hush.android.data.DomainAction
import org.hush.android.data.DomainRule
import org.hush.android.data.ListSource

class ListsScreen(host: ScreenHost) : Screen(host) {
    val presenter = ListsPresenter(host.deps)
    private val p = ui.palette

    val sourcesList = ui.vertical()
    val updateNow = ui.button("Update now") { presenter.updateNow() }
    val message = ui.text("", Ui.Type.CAPTION, p.primary)
    val urlField = field("https://example.org/hosts.txt", InputType.TYPE_CLASS_TEXT or InputType.TYPE_TEXT_VARIATION_URI)
    val urlError = ui.text("", Ui.Type.CAPTION, p.error)
    val addUrl = ui.button("Add", filled = false) { presenter.addUrl(urlField.text.toString()) }
    val domainField = field("tracking.example.com", InputType.TYPE_CLASS_TEXT or InputType.TYPE_TEXT_VARIATION_URI)
    val blockChoice = radio("Block", true)
    val allowChoice = radio("Allow", false)
    val ruleError = ui.text("", Ui.Type.CAPTION, p.error)
    val addRule = ui.button("Add rule", filled = false) {
        presenter.addRule(domainField.text.toString(), if (allowChoice.isChecked) DomainAction.ALLOW else DomainAction.BLOCK)
    }
    val rulesList = ui.vertical()
    /** Every rule, for every app and each app, searched: the Rules screen. */
    val manageRules = ui.button("All rules ›", filled = false) { host.openRules() }.apply {
        minHeight = ui.dp(48); contentDescription = "All rules: search and remove domain rules"
    }
    val error = ui.errorBanner()
    private var urlAdded = 0
    private var ruleAdded = 0

    override val view: View = ScrollView(host.context).apply {
        isFillViewport = true
        val column = ui.vertical()
        column.addView(ui.screenTitle("Lists"))
        column.addView(error)
        column.addView(ui.card().apply {
            addView(ui.horizontal().apply {
                addView(ui.text("Block lists", Ui.Type.TITLE_SMALL), Ui.weight(1f))
                addView(updateNow)
            })
            addView(message)
            addView(sourcesList)
            addView(ui.text("Add a list by URL", Ui.Type.LABEL, p.onSurfaceVariant).apply { setPadding(0, ui.dp(12), 0, ui.dp(4)) })
            addView(ui.horizontal().apply {
                addView(urlField, Ui.weight(1f))
                addView(addUrl, LinearLayout.LayoutParams(ViewGroup.LayoutParams.WRAP_CONTENT, ViewGroup.LayoutParams.WRAP_CONTENT).apply { leftMargin = ui.dp(8) })
            })
            addView(urlError)
        })
        column.addView(ui.card().apply {
            addView(ui.horizontal().apply {
                addView(ui.text("Your domain rules", Ui.Type.TITLE_SMALL), Ui.weight(1f))
                addView(manageRules)
            })
            addView(ui.text("A rule covers the domain and its subdomains, for every app.", Ui.Type.CAPTION, p.onSurfaceVariant))
            addView(domainField, Ui.matchWrap().apply { topMargin = ui.dp(8) })
            addView(ui.horizontal().apply {
                addView(RadioGroup(host.context).apply {
                    orientation = RadioGroup.HORIZONTAL
                    addView(blockChoice)
                    addView(allowChoice)
                }, Ui.weight(1f))
                addView(addRule)
            })
            addView(ruleError)
            addView(rulesList)
        })
        addView(column)
    }

    init {
        presenter.attach(::render)
        presenter.load()
    }

    private fun field(hint: String, type: Int) = ui.field(hint, type)

    private fun radio(label: String, checked: Boolean) = RadioButton(host.context).apply {
        id = View.generateViewId()
        text = label
        setTextColor(p.onSurface)
        buttonTintList = android.content.res.ColorStateList.valueOf(p.primary)
        isChecked = checked
    }

    fun render(s: ListsState) {
        error.showError(s.error)
        message.text = s.message ?: ""
        message.visibility = if (s.message == null) View.GONE else View.VISIBLE
        urlError.text = s.urlError ?: ""
        urlError.visibility = if (s.urlError == null) View.GONE else View.VISIBLE
        ruleError.text = s.ruleError ?: ""
        ruleError.visibility = if (s.ruleError == null) View.GONE else View.VISIBLE
        if (s.urlAdded != urlAdded) { urlAdded = s.urlAdded; urlField.setText("") }
        if (s.ruleAdded != ruleAdded) { ruleAdded = s.ruleAdded; domainField.setText("") }

        sourcesList.removeAllViews()
        if (!s.loading && s.sources.isEmpty() && s.pendingUrls.isEmpty()) {
            sourcesList.addView(ui.text("No list loaded yet", Ui.Type.BODY, p.onSurfaceVariant))
        }
        for (src in s.sources) sourcesList.addView(sourceRow(src))
        for (url in s.pendingUrls) sourcesList.addView(twoLines(url, "Waiting for the next update", null))

        rulesList.removeAllViews()
        if (!s.loading && s.rules.isEmpty()) rulesList.addView(ui.text("No rules yet", Ui.Type.BODY, p.onSurfaceVariant).apply { setPadding(0, ui.dp(8), 0, 0) })
        for (rule in s.rules) rulesList.addView(ruleRow(rule))
    }

    private fun sourceRow(src: ListSource): View {
        val origin = if (src.origin == "built-in") "Built in" else src.origin
        val updated = src.updatedMs?.let { "updated " + Format.dateTime(it, host.deps.timeZone) } ?: "never updated"
        val state = if (src.enabled) "" else " · disabled"
        val row = twoLines(src.name, "$origin · ${Format.count(src.entries)} entries · $updated$state", null)
        val problem = src.problem ?: return row
        return ui.vertical().apply {
            addView(row)
            addView(ui.text(problem, Ui.Type.CAPTION, p.error).apply { setPadding(0, 0, 0, ui.dp(8)) })
        }
    }

    private fun ruleRow(rule: DomainRule): View {
        val word = if (rule.action == DomainAction.BLOCK) "Block" else "Allow"
        val scope = if (rule.uid == null) "every app" else "UID ${rule.uid}"
        return twoLines(rule.domain, "$word · $scope", ui.button("Remove", filled = false) { presenter.removeRule(rule) })
    }

    private fun twoLines(title: String, caption: String, action: View?): View = ui.horizontal().apply {
        setPadding(0, ui.dp(8), 0, ui.dp(8))
        addView(ui.vertical().apply {
            addView(ui.text(title, Ui.Type.BODY).apply { setSingleLine(); ellipsize = android.text.TextUtils.TruncateAt.MIDDLE })
            addView(ui.text(caption, Ui.Type.CAPTION, p.onSurfaceVariant))
        }, Ui.weight(1f))
        if (action != null) addView(action)
    }

    override fun onShow() = presenter.load()

    override fun dispose() = presenter.detach()
}
