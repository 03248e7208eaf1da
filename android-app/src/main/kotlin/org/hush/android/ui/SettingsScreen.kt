package org.hush.android.ui

import android.app.AlertDialog
import android.content.ActivityNotFoundException
import android.content.Context
import android.content.Intent
import android.content.res.ColorStateList
import android.net.Uri
import android.provider.Settings
import android.text.InputType
import android.view.View
import android.view.ViewGroup
import android.widget.EditText
import android.widget.LinearLayout
import android.widget.ScrollView
import android.widget.Switch
import org.hush.android.data.ExportFormat

class SettingsScreen(host: ScreenHost) : Screen(host) {
    val presenter = SettingsPresenter(host.deps)
    private val p = ui.palette

    val dnsField = field("9.9.9.9:53", InputType.TYPE_CLASS_TEXT)
    val dnsError = ui.text("", Ui.Type.CAPTION, p.error)
    val saveDns = ui.button("Save", filled = false) { presenter.setUpstreamDns(dnsField.text.toString()) }
    val bootSwitch = Switch(host.context).apply {
        text = "Start on boot"
        setTextColor(p.onSurface)
        thumbTintList = ColorStateList(arrayOf(intArrayOf(android.R.attr.state_checked), intArrayOf()), intArrayOf(p.primary, p.outline))
        trackTintList = ColorStateList(arrayOf(intArrayOf(android.R.attr.state_checked), intArrayOf()), intArrayOf(p.primaryContainer, p.surfaceVariant))
    }
    /** "New apps start as": Hush's default, Block all or Allow all; stored at each install. */
    val newAppModes = android.widget.RadioGroup(host.context).apply {
        orientation = android.widget.RadioGroup.VERTICAL
        contentDescription = NEW_APPS_TITLE
        for ((mode, label) in NEW_APP_CHOICES) {
            addView(android.widget.RadioButton(host.context).apply {
                id = View.generateViewId()
                text = label
                tag = mode ?: NEW_APP_DEFAULT_TAG
                minHeight = ui.dp(48)
                setTextColor(p.onSurface)
                buttonTintList = ColorStateList.valueOf(p.primary)
            })
        }
    }
    val daysField = field("no limit", InputType.TYPE_CLASS_NUMBER)
    val eventsField = field("no limit", InputType.TYPE_CLASS_NUMBER)
    val retentionError = ui.text("", Ui.Type.CAPTION, p.error)
    val saveRetention = ui.button("Save retention", filled = false) {
        presenter.setRetention(daysField.text.toString(), eventsField.text.toString())
    }
    val exportCsv = ui.button("Export CSV") { export(ExportFormat.CSV) }
    val exportJson = ui.button("Export JSON") { export(ExportFormat.JSON) }
    val clearActivity = ui.button("Clear activity…", filled = false) { confirmClear() }
    /** Android's VPN settings (always-on, "Block connections without VPN"), when this phone has that screen. */
    private val vpnSettings: Intent? = vpnSettingsIntent(host.context)
    val alwaysOnText = ui.text(ALWAYS_ON_EXPLAINED, Ui.Type.BODY, p.onSurfaceVariant)
    val openVpnSettings = ui.button("Open VPN settings", filled = false) { openVpnSettings() }.apply {
        visibility = if (vpnSettings == null) View.GONE else View.VISIBLE
    }
    /** The guidance screen: battery optimisation, autostart, always-on. */
    val guidanceLink = ui.button(HomeScreen.KEEP_RUNNING, filled = false) { host.openGuidance() }.apply {
        minHeight = ui.dp(48); contentDescription = HomeScreen.KEEP_RUNNING_DESCRIPTION
    }
    val message = ui.text("", Ui.Type.BODY, p.primary)
    val about = ui.text("", Ui.Type.BODY, p.onSurfaceVariant)
    val error = ui.errorBanner()
    private var shownDns: String? = null
    private var shownRetention: Any? = null

    override val view: View = ScrollView(host.context).apply {
        isFillViewport = true
        val column = ui.vertical()
        column.addView(ui.screenTitle("Settings"))
        column.addView(error)
        column.addView(ui.card().apply {
            addView(ui.text("Firewall", Ui.Type.TITLE_SMALL))
            addView(ui.text("Upstream DNS (address:port)", Ui.Type.LABEL, p.onSurfaceVariant).apply { setPadding(0, ui.dp(8), 0, ui.dp(4)) })
            addView(ui.horizontal().apply {
                addView(dnsField, Ui.weight(1f))
                addView(saveDns, LinearLayout.LayoutParams(ViewGroup.LayoutParams.WRAP_CONTENT, ViewGroup.LayoutParams.WRAP_CONTENT).apply { leftMargin = ui.dp(8) })
            })
            addView(dnsError)
            addView(bootSwitch, Ui.matchWrap().apply { topMargin = ui.dp(12) })
            addView(ui.text(NEW_APPS_TITLE, Ui.Type.LABEL, p.onSurfaceVariant).apply { setPadding(0, ui.dp(12), 0, 0) })
            addView(newAppModes, Ui.matchWrap())
        })
        column.addView(ui.card().apply {
            addView(ui.text("Always-on VPN", Ui.Type.TITLE_SMALL))
            addView(alwaysOnText, Ui.matchWrap().apply { topMargin = ui.dp(8) })
            addView(openVpnSettings, Ui.matchWrap().apply { topMargin = ui.dp(8) })
            addView(guidanceLink, Ui.matchWrap().apply { topMargin = ui.dp(8) })
        })
        column.addView(ui.card().apply {
            addView(ui.text("Log retention", Ui.Type.TITLE_SMALL))
            addView(ui.horizontal().apply {
                setPadding(0, ui.dp(8), 0, 0)
                addView(labelled("Days", daysField), Ui.weight(1f))
                addView(labelled("Max events", eventsField), Ui.weight(1f).apply { leftMargin = ui.dp(8) })
            })
            addView(retentionError)
            addView(saveRetention, Ui.matchWrap().apply { topMargin = ui.dp(8) })
        })
        column.addView(ui.card().apply {
            addView(ui.text("Activity data", Ui.Type.TITLE_SMALL))
            addView(ui.horizontal().apply {
                setPadding(0, ui.dp(8), 0, ui.dp(8))
                addView(exportCsv)
                addView(exportJson, LinearLayout.LayoutParams(ViewGroup.LayoutParams.WRAP_CONTENT, ViewGroup.LayoutParams.WRAP_CONTENT).apply { leftMargin = ui.dp(8) })
            })
            addView(clearActivity)
            addView(message, Ui.matchWrap().apply { topMargin = ui.dp(8) })
        })
        column.addView(ui.card().apply {
            addView(ui.text("About", Ui.Type.TITLE_SMALL))
            addView(about)
        })
        addView(column)
    }

    init {
        bootSwitch.setOnCheckedChangeListener { _, on -> if (on != presenter.state.startOnBoot) presenter.setStartOnBoot(on) }
        newAppModes.setOnCheckedChangeListener { group, id ->
            val tag = group.findViewById<View>(id)?.tag ?: return@setOnCheckedChangeListener
            val mode = tag as? org.hush.android.policy.AppMode
            if (mode != presenter.state.newAppMode) presenter.setNewAppMode(mode)
        }
        presenter.attach(::render)
        presenter.load()
    }

    private fun field(hint: String, type: Int) = ui.field(hint, type)

    private fun labelled(label: String, field: View) = ui.vertical().apply {
        addView(ui.text(label, Ui.Type.LABEL, p.onSurfaceVariant))
        addView(field, Ui.matchWrap())
    }

    fun render(s: SettingsState) {
        if (s.upstreamDns != shownDns) { shownDns = s.upstreamDns; dnsField.setText(s.upstreamDns) }
        dnsError.text = s.dnsError ?: ""
        dnsError.visibility = if (s.dnsError == null) View.GONE else View.VISIBLE
        if (bootSwitch.isChecked != s.startOnBoot) bootSwitch.isChecked = s.startOnBoot
        val wanted = newAppModes.findViewWithTag<android.widget.RadioButton>(s.newAppMode ?: NEW_APP_DEFAULT_TAG)
        if (wanted != null && !wanted.isChecked) wanted.isChecked = true
        val r = s.retention
        if (r != null && r != shownRetention) {
            shownRetention = r
            daysField.setText(r.maxAgeDays?.toString() ?: "")
            eventsField.setText(r.maxEvents?.toString() ?: "")
        }
        retentionError.text = s.retentionError ?: ""
        retentionError.visibility = if (s.retentionError == null) View.GONE else View.VISIBLE
        message.text = s.message ?: ""
        message.visibility = if (s.message == null) View.GONE else View.VISIBLE
        error.showError(s.error)
        val lists = if (s.sources.isEmpty()) "  (none loaded yet)"
        else s.sources.joinToString("\n") { "  • ${it.name}: ${if (it.origin == "built-in") "built in" else it.origin}" }
        about.text = "Hush: an on-device privacy firewall.\n" +
            "Licence: $LICENCE (free software: you may share and change it).\n" +
            "Block lists in use:\n$lists"
    }

    fun export(format: ExportFormat) {
        val (mime, ext) = when (format) {
            ExportFormat.CSV -> "text/csv" to "csv"
            ExportFormat.JSON -> "application/json" to "jsonl"
        }
        host.createDocument(mime, "hush-activity.$ext") { uri -> if (uri != null) writeTo(uri, format) }
    }

    /** Opens the picked document and has the store write into its fd. */
    fun writeTo(uri: Uri, format: ExportFormat) {
        val pfd = try {
            host.context.contentResolver.openFileDescriptor(uri, "w")
        } catch (e: Exception) { // FileNotFoundException, SecurityException
            presenter.exportFailed("Could not open the file: " + Format.error(e))
            return
        }
        if (pfd == null) {
            presenter.exportFailed("Could not open the file")
            return
        }
        presenter.export(pfd.fd, format) { try { pfd.close() } catch (e: java.io.IOException) { } }
    }

    fun openVpnSettings() {
        val intent = vpnSettings ?: return
        try {
            host.context.startActivity(intent)
        } catch (e: ActivityNotFoundException) {
            presenter.showError("This phone has no VPN settings screen to open")
        }
    }

    fun confirmClear() {
        AlertDialog.Builder(host.context)
            .setTitle("Clear activity?")
            .setMessage("Every logged attempt and count is deleted. Your rules and app modes stay.")
            .setPositiveButton("Clear") { _, _ -> presenter.clearActivity() }
            .setNegativeButton("Cancel", null)
            .show()
    }

    override fun onShow() = presenter.load()

    override fun dispose() = presenter.detach()

    companion object {
        const val LICENCE = "GPL-3.0-or-later"

        const val NEW_APPS_TITLE = "New apps start as"
        /** The radio button's tag for "no mode of its own". */
        const val NEW_APP_DEFAULT_TAG = "default"
        /** The choices, in order: null is Hush's default for every app (block trackers). */
        val NEW_APP_CHOICES: List<Pair<org.hush.android.policy.AppMode?, String>> = listOf(
            null to "Default (block trackers)",
            org.hush.android.policy.AppMode.BLOCK_ALL to "Block all",
            org.hush.android.policy.AppMode.ALLOW_ALL to "Allow all",
        )

        const val ALWAYS_ON_EXPLAINED =
            "In Android's VPN settings, turn on \"Always-on VPN\" for Hush so that Android starts it " +
                "by itself, and \"Block connections without VPN\" so that no app connects while Hush " +
                "is starting or stopped."

        /** Android's VPN settings screen, or null when nothing on this phone opens it. */
        fun vpnSettingsIntent(context: Context): Intent? {
            val intent = Intent(Settings.ACTION_VPN_SETTINGS)
            return if (intent.resolveActivity(context.packageManager) != null) intent else null
        }
    }
}
