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
import org.hush.android.R
import org.hush.android.data.ExportFormat
import org.hush.android.settings.UpstreamChoice

class SettingsScreen(host: ScreenHost) : Screen(host) {
    val presenter = SettingsPresenter(host.deps, ui.strings)
    private val p = ui.palette

    /** Upstream DNS: the network's own resolvers, the address in [dnsField], or an encrypted server ([encryptedPanel]). */
    val upstreamChoice = android.widget.RadioGroup(host.context).apply {
        orientation = android.widget.RadioGroup.VERTICAL
        contentDescription = ui.str(R.string.settings_upstream_title)
    }
    val upstreamNetwork = radio(R.string.settings_upstream_network).also { upstreamChoice.addView(it) }
    val upstreamAddress = radio(R.string.settings_upstream_address).also { upstreamChoice.addView(it) }
    val upstreamTls = radio(R.string.settings_upstream_tls).also { upstreamChoice.addView(it) }
    val upstreamHttps = radio(R.string.settings_upstream_https).also { upstreamChoice.addView(it) }
    /** The network's note and the address row: shown for the plain choices (the address is the network's fallback). */
    private val networkNote = note(R.string.settings_upstream_network_note)
    val dnsField = field(ui.str(R.string.settings_dns_hint), InputType.TYPE_CLASS_TEXT)
    val dnsError = ui.text("", Ui.Type.CAPTION, p.error)
    val saveDns = ui.button(ui.str(R.string.settings_save), filled = false) { presenter.setUpstreamDns(dnsField.text.toString()) }
    private val addressRow = ui.horizontal().apply {
        addView(dnsField, Ui.weight(1f))
        addView(saveDns, LinearLayout.LayoutParams(ViewGroup.LayoutParams.WRAP_CONTENT, ViewGroup.LayoutParams.WRAP_CONTENT).apply { leftMargin = ui.dp(8) })
    }
    /** DNS over TLS or HTTPS: the server's name (or URL) and its addresses, which the name is never looked up for. */
    private val serverLabel = ui.text(ui.str(R.string.settings_enc_server_tls), Ui.Type.LABEL, p.onSurfaceVariant)
    val serverField = field(ui.str(R.string.settings_enc_server_tls_hint), InputType.TYPE_CLASS_TEXT or InputType.TYPE_TEXT_VARIATION_URI)
    val addressesField = field(ui.str(R.string.settings_enc_addresses_hint), InputType.TYPE_CLASS_TEXT)
    val encryptedError = ui.text("", Ui.Type.CAPTION, p.error)
    val saveEncrypted = ui.button(ui.str(R.string.settings_save), filled = false) {
        presenter.saveEncrypted(serverField.text.toString(), addressesField.text.toString())
    }
    /** One button per well-known server, in [SettingsPresenter.PRESETS]' order. */
    val presetButtons: List<View> = SettingsPresenter.PRESETS.map { preset ->
        ui.button(preset.name, filled = false) { presenter.usePreset(preset) }.apply { minHeight = ui.dp(48) }
    }
    val encryptedPanel = ui.vertical().apply {
        addView(note(R.string.settings_upstream_encrypted_note))
        addView(serverLabel, Ui.matchWrap().apply { topMargin = ui.dp(8) })
        addView(serverField, Ui.matchWrap())
        addView(ui.text(ui.str(R.string.settings_enc_addresses), Ui.Type.LABEL, p.onSurfaceVariant), Ui.matchWrap().apply { topMargin = ui.dp(8) })
        addView(addressesField, Ui.matchWrap())
        addView(note(R.string.settings_enc_addresses_note))
        addView(encryptedError)
        addView(saveEncrypted, Ui.matchWrap().apply { topMargin = ui.dp(8) })
        addView(note(R.string.settings_enc_presets), Ui.matchWrap().apply { topMargin = ui.dp(8) })
        addView(ui.horizontal().apply {
            presetButtons.forEachIndexed { i, b ->
                addView(b, LinearLayout.LayoutParams(ViewGroup.LayoutParams.WRAP_CONTENT, ViewGroup.LayoutParams.WRAP_CONTENT).apply { if (i > 0) leftMargin = ui.dp(8) })
            }
        })
    }
    val bootSwitch = switch(R.string.settings_boot)
    /** Apps' own DNS over TLS or QUIC (port 853). */
    val encryptedDnsSwitch = switch(R.string.settings_encrypted_dns)
    val echSwitch = switch(R.string.settings_ech)
    /** "Only addresses Hush resolved", the default for every app (stored; in force at once). */
    val resolvedOnlySwitch = switch(R.string.settings_resolved_only)
    /** "Strict", the default for every app (stored; in force at once). */
    val strictSwitch = switch(R.string.settings_strict)
    /** "New apps start as": Hush's default, Block all or Allow all; stored at each install. */
    val newAppModes = android.widget.RadioGroup(host.context).apply {
        orientation = android.widget.RadioGroup.VERTICAL
        contentDescription = ui.str(R.string.settings_new_apps)
        for ((mode, label) in NEW_APP_CHOICES) {
            addView(android.widget.RadioButton(host.context).apply {
                id = View.generateViewId()
                text = ui.str(label)
                tag = mode ?: NEW_APP_DEFAULT_TAG
                minHeight = ui.dp(48)
                setTextColor(p.onSurface)
                buttonTintList = ColorStateList.valueOf(p.primary)
            })
        }
    }
    val daysField = field(ui.str(R.string.settings_no_limit), InputType.TYPE_CLASS_NUMBER)
    val eventsField = field(ui.str(R.string.settings_no_limit), InputType.TYPE_CLASS_NUMBER)
    /** Says the default (30 days, applied by the core when never set) and how to keep everything. */
    val retentionNote = note(R.string.settings_retention_note)
    val retentionError = ui.text("", Ui.Type.CAPTION, p.error)
    val saveRetention = ui.button(ui.str(R.string.settings_save_retention), filled = false) {
        presenter.setRetention(daysField.text.toString(), eventsField.text.toString())
    }
    val exportCsv = ui.button(ui.str(R.string.settings_export_csv)) { export(ExportFormat.CSV) }
    val exportJson = ui.button(ui.str(R.string.settings_export_json)) { export(ExportFormat.JSON) }
    val clearActivity = ui.button(ui.str(R.string.settings_clear), filled = false) { confirmClear() }
    /** Android's VPN settings (always-on, "Block connections without VPN"), when this phone has that screen. */
    private val vpnSettings: Intent? = vpnSettingsIntent(host.context)
    val alwaysOnText = ui.text(ui.str(R.string.settings_always_on_explained), Ui.Type.BODY, p.onSurfaceVariant)
    val openVpnSettings = ui.button(ui.str(R.string.settings_open_vpn_settings), filled = false) { openVpnSettings() }.apply {
        visibility = if (vpnSettings == null) View.GONE else View.VISIBLE
    }
    /** The guidance screen: battery optimisation, autostart, always-on. */
    val guidanceLink = ui.button(ui.str(R.string.home_keep_running), filled = false) { host.openGuidance() }.apply {
        minHeight = ui.dp(48); contentDescription = ui.str(R.string.home_keep_running_description)
    }
    val message = ui.text("", Ui.Type.BODY, p.primary)
    val about = ui.text("", Ui.Type.BODY, p.onSurfaceVariant)
    val error = ui.errorBanner()
    private var shownDns: String? = null
    private var shownEncrypted: Triple<UpstreamChoice, String, String>? = null
    private var shownRetention: Any? = null

    override val view: View = ScrollView(host.context).apply {
        isFillViewport = true
        val column = ui.vertical()
        column.addView(ui.screenTitle(ui.str(R.string.settings_title)))
        column.addView(error)
        column.addView(ui.card().apply {
            addView(ui.text(ui.str(R.string.settings_firewall), Ui.Type.TITLE_SMALL))
            addView(ui.text(ui.str(R.string.settings_upstream_title), Ui.Type.LABEL, p.onSurfaceVariant).apply { setPadding(0, ui.dp(8), 0, ui.dp(4)) })
            addView(upstreamChoice, Ui.matchWrap())
            addView(networkNote)
            addView(addressRow, Ui.matchWrap())
            addView(dnsError)
            addView(encryptedPanel, Ui.matchWrap())
            addView(encryptedDnsSwitch, Ui.matchWrap().apply { topMargin = ui.dp(12) })
            addView(note(R.string.settings_encrypted_dns_note))
            addView(echSwitch, Ui.matchWrap().apply { topMargin = ui.dp(12) })
            addView(note(R.string.settings_ech_note))
            addView(resolvedOnlySwitch, Ui.matchWrap().apply { topMargin = ui.dp(12) })
            addView(note(R.string.settings_resolved_only_note))
            addView(strictSwitch, Ui.matchWrap().apply { topMargin = ui.dp(12) })
            addView(note(R.string.settings_strict_note))
            addView(bootSwitch, Ui.matchWrap().apply { topMargin = ui.dp(12) })
            addView(ui.text(ui.str(R.string.settings_new_apps), Ui.Type.LABEL, p.onSurfaceVariant).apply { setPadding(0, ui.dp(12), 0, 0) })
            addView(newAppModes, Ui.matchWrap())
        })
        column.addView(ui.card().apply {
            addView(ui.text(ui.str(R.string.settings_always_on_title), Ui.Type.TITLE_SMALL))
            addView(alwaysOnText, Ui.matchWrap().apply { topMargin = ui.dp(8) })
            addView(openVpnSettings, Ui.matchWrap().apply { topMargin = ui.dp(8) })
            addView(guidanceLink, Ui.matchWrap().apply { topMargin = ui.dp(8) })
        })
        column.addView(ui.card().apply {
            addView(ui.text(ui.str(R.string.settings_retention_title), Ui.Type.TITLE_SMALL))
            addView(retentionNote)
            addView(ui.horizontal().apply {
                setPadding(0, ui.dp(8), 0, 0)
                addView(labelled(ui.str(R.string.settings_days), daysField), Ui.weight(1f))
                addView(labelled(ui.str(R.string.settings_max_events), eventsField), Ui.weight(1f).apply { leftMargin = ui.dp(8) })
            })
            addView(retentionError)
            addView(saveRetention, Ui.matchWrap().apply { topMargin = ui.dp(8) })
        })
        column.addView(ui.card().apply {
            addView(ui.text(ui.str(R.string.settings_activity_title), Ui.Type.TITLE_SMALL))
            addView(ui.horizontal().apply {
                setPadding(0, ui.dp(8), 0, ui.dp(8))
                addView(exportCsv)
                addView(exportJson, LinearLayout.LayoutParams(ViewGroup.LayoutParams.WRAP_CONTENT, ViewGroup.LayoutParams.WRAP_CONTENT).apply { leftMargin = ui.dp(8) })
            })
            addView(clearActivity)
            addView(message, Ui.matchWrap().apply { topMargin = ui.dp(8) })
        })
        column.addView(ui.card().apply {
            addView(ui.text(ui.str(R.string.settings_about_title), Ui.Type.TITLE_SMALL))
            addView(about)
        })
        addView(column)
    }

    init {
        bootSwitch.setOnCheckedChangeListener { _, on -> if (on != presenter.state.startOnBoot) presenter.setStartOnBoot(on) }
        encryptedDnsSwitch.setOnCheckedChangeListener { _, on -> if (on != presenter.state.allowEncryptedDns) presenter.setAllowEncryptedDns(on) }
        echSwitch.setOnCheckedChangeListener { _, on -> if (on != presenter.state.stripEch) presenter.setStripEch(on) }
        resolvedOnlySwitch.setOnCheckedChangeListener { _, on -> if (on != presenter.state.resolvedOnlyDefault) presenter.setResolvedOnlyDefault(on) }
        strictSwitch.setOnCheckedChangeListener { _, on -> if (on != presenter.state.strictDefault) presenter.setStrictDefault(on) }
        upstreamChoice.setOnCheckedChangeListener { _, id ->
            val choice = when (id) {
                upstreamNetwork.id -> UpstreamChoice.NETWORK
                upstreamAddress.id -> UpstreamChoice.ADDRESS
                upstreamTls.id -> UpstreamChoice.TLS
                upstreamHttps.id -> UpstreamChoice.HTTPS
                else -> return@setOnCheckedChangeListener
            }
            if (choice != presenter.state.upstreamChoice) presenter.chooseUpstream(choice)
        }
        newAppModes.setOnCheckedChangeListener { group, id ->
            val tag = group.findViewById<View>(id)?.tag ?: return@setOnCheckedChangeListener
            val mode = tag as? org.hush.android.policy.AppMode
            if (mode != presenter.state.newAppMode) presenter.setNewAppMode(mode)
        }
        presenter.attach(::render)
        presenter.load()
    }

    private fun field(hint: String, type: Int) = ui.field(hint, type)

    private fun radio(label: Int) = android.widget.RadioButton(host.context).apply {
        id = View.generateViewId()
        text = ui.str(label)
        minHeight = ui.dp(48)
        setTextColor(p.onSurface)
        buttonTintList = ColorStateList.valueOf(p.primary)
    }

    private fun switch(label: Int) = Switch(host.context).apply {
        text = ui.str(label)
        minHeight = ui.dp(48)
        setTextColor(p.onSurface)
        thumbTintList = ColorStateList(arrayOf(intArrayOf(android.R.attr.state_checked), intArrayOf()), intArrayOf(p.primary, p.outline))
        trackTintList = ColorStateList(arrayOf(intArrayOf(android.R.attr.state_checked), intArrayOf()), intArrayOf(p.primaryContainer, p.surfaceVariant))
    }

    /** The one line under a choice: what it costs or means. */
    private fun note(text: Int) = ui.text(ui.str(text), Ui.Type.CAPTION, p.onSurfaceVariant)

    private fun labelled(label: String, field: View) = ui.vertical().apply {
        addView(ui.text(label, Ui.Type.LABEL, p.onSurfaceVariant))
        addView(field, Ui.matchWrap())
    }

    fun render(s: SettingsState) {
        if (s.upstreamDns != shownDns) { shownDns = s.upstreamDns; dnsField.setText(s.upstreamDns) }
        dnsError.text = s.dnsError ?: ""
        dnsError.visibility = if (s.dnsError == null) View.GONE else View.VISIBLE
        if (bootSwitch.isChecked != s.startOnBoot) bootSwitch.isChecked = s.startOnBoot
        val upstream = when (s.upstreamChoice) {
            UpstreamChoice.NETWORK -> upstreamNetwork
            UpstreamChoice.ADDRESS -> upstreamAddress
            UpstreamChoice.TLS -> upstreamTls
            UpstreamChoice.HTTPS -> upstreamHttps
        }
        if (!upstream.isChecked) upstream.isChecked = true
        val encrypted = s.upstreamChoice.encrypted
        val plain = if (encrypted) View.GONE else View.VISIBLE
        networkNote.visibility = plain
        addressRow.visibility = plain
        if (encrypted) dnsError.visibility = View.GONE
        encryptedPanel.visibility = if (encrypted) View.VISIBLE else View.GONE
        val https = s.upstreamChoice == UpstreamChoice.HTTPS
        serverLabel.text = ui.str(if (https) R.string.settings_enc_server_https else R.string.settings_enc_server_tls)
        serverField.hint = ui.str(if (https) R.string.settings_enc_server_https_hint else R.string.settings_enc_server_tls_hint)
        val shown = Triple(s.upstreamChoice, s.encryptedServer, s.encryptedAddresses)
        if (encrypted && shown != shownEncrypted) {
            shownEncrypted = shown
            serverField.setText(s.encryptedServer)
            addressesField.setText(s.encryptedAddresses)
        }
        encryptedError.text = s.encryptedError ?: ""
        encryptedError.visibility = if (s.encryptedError == null) View.GONE else View.VISIBLE
        if (encryptedDnsSwitch.isChecked != s.allowEncryptedDns) encryptedDnsSwitch.isChecked = s.allowEncryptedDns
        if (echSwitch.isChecked != s.stripEch) echSwitch.isChecked = s.stripEch
        resolvedOnlySwitch.isEnabled = s.resolvedOnlyDefault != null
        if (resolvedOnlySwitch.isChecked != (s.resolvedOnlyDefault == true)) resolvedOnlySwitch.isChecked = s.resolvedOnlyDefault == true
        strictSwitch.isEnabled = s.strictDefault != null
        if (strictSwitch.isChecked != (s.strictDefault == true)) strictSwitch.isChecked = s.strictDefault == true
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
        val lists = if (s.sources.isEmpty()) ui.str(R.string.settings_lists_none)
        else s.sources.joinToString("\n") { ui.str(R.string.settings_list_line, it.name, if (it.origin == "built-in") ui.str(R.string.settings_built_in) else it.origin) }
        about.text = ui.str(R.string.settings_about, lists)
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
            presenter.exportFailed(ui.str(R.string.settings_error_open, Format.error(e)))
            return
        }
        if (pfd == null) {
            presenter.exportFailed(ui.str(R.string.settings_error_open_plain))
            return
        }
        presenter.export(pfd.fd, format) { try { pfd.close() } catch (e: java.io.IOException) { } }
    }

    fun openVpnSettings() {
        val intent = vpnSettings ?: return
        try {
            host.context.startActivity(intent)
        } catch (e: ActivityNotFoundException) {
            presenter.showError(ui.str(R.string.settings_no_vpn_settings))
        }
    }

    fun confirmClear() {
        AlertDialog.Builder(host.context)
            .setTitle(ui.str(R.string.settings_clear_title))
            .setMessage(ui.str(R.string.settings_clear_message))
            .setPositiveButton(ui.str(R.string.settings_clear_button)) { _, _ -> presenter.clearActivity() }
            .setNegativeButton(ui.str(R.string.settings_cancel), null)
            .show()
    }

    override fun onShow() = presenter.load()

    override fun dispose() = presenter.detach()

    companion object {
        const val LICENCE = "GPL-3.0-or-later"

        /** The radio button's tag for "no mode of its own". */
        const val NEW_APP_DEFAULT_TAG = "default"
        /** The choices, in order: null is Hush's default for every app (block trackers). */
        val NEW_APP_CHOICES: List<Pair<org.hush.android.policy.AppMode?, Int>> = listOf(
            null to R.string.settings_new_default,
            org.hush.android.policy.AppMode.BLOCK_ALL to R.string.settings_new_block_all,
            org.hush.android.policy.AppMode.ALLOW_ALL to R.string.settings_new_allow_all,
        )

        /** Android's VPN settings screen, or null when nothing on this phone opens it. */
        fun vpnSettingsIntent(context: Context): Intent? {
            val intent = Intent(Settings.ACTION_VPN_SETTINGS)
            return if (intent.resolveActivity(context.packageManager) != null) intent else null
        }
    }
}
