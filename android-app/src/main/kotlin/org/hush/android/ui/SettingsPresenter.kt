package org.hush.android.ui

import org.hush.android.R
import org.hush.android.data.AppOption
import org.hush.android.data.ExportFormat
import org.hush.android.data.ListSource
import org.hush.android.data.Retention
import org.hush.android.settings.EncryptedDns
import org.hush.android.settings.SettingRefused
import org.hush.android.settings.UpstreamChoice

data class SettingsState(
    val loading: Boolean = true,
    val upstreamDns: String = "",
    val dnsError: String? = null,
    val startOnBoot: Boolean = false,
    /** "New apps start as": null is Hush's default. */
    val newAppMode: org.hush.android.policy.AppMode? = null,
    val retention: Retention? = null,
    val retentionError: String? = null,
    val sources: List<ListSource> = emptyList(),
    /**
     * Where allowed DNS goes, as the radio buttons show it: the saved choice, or an
     * encrypted kind picked whose server is not saved yet (saved with its server).
     */
    val upstreamChoice: UpstreamChoice = UpstreamChoice.ADDRESS,
    /** The shown encrypted kind's saved server (the name, or the URL for HTTPS) and its addresses; empty when none. */
    val encryptedServer: String = "",
    val encryptedAddresses: String = "",
    /** Why the encrypted server typed was not saved, in the owner's words. */
    val encryptedError: String? = null,
    val allowEncryptedDns: Boolean = false,
    val stripEch: Boolean = true,
    /** "Only addresses Hush resolved" for every app without a choice of its own; null until read. */
    val resolvedOnlyDefault: Boolean? = null,
    /** "Strict" for every app without a choice of its own; null until read. */
    val strictDefault: Boolean? = null,
    /** The outcome of the last action ("Exported 1,204 events", ...). */
    val message: String? = null,
    val error: String? = null,
)

/**
 * Settings: where allowed DNS goes, the ways around Hush it closes (apps' own encrypted
 * DNS, ECH, addresses it did not resolve), start on boot, new apps, the log.
 * DNS and the switches kept in [UiSettings] apply from the next start; "Only addresses
 * Hush resolved" and "strict" for every app are in the store and in force at once
 * (HushActions.rulesChanged).
 */
class SettingsPresenter(private val deps: UiDeps, private val strings: Strings) : Presenter<SettingsState>(SettingsState(), deps.io, deps.main) {

    fun load() {
        val s = deps.settings
        set(state.copy(
            upstreamDns = s.upstreamDns, startOnBoot = s.startOnBoot, newAppMode = s.newAppMode,
            allowEncryptedDns = s.allowEncryptedDns, stripEch = s.stripEch,
        ))
        showChoice(s.upstreamChoice, message = state.message)
        background({
            Loaded(deps.store.retention(), deps.store.listSources(), deps.store.appOption(AppOption.RESOLVED_ONLY).default, deps.store.appOption(AppOption.STRICT).default)
        }, failed = { e ->
            set(state.copy(loading = false, error = strings.get(R.string.settings_error_read, Format.error(e))))
        }) { l ->
            set(state.copy(loading = false, retention = l.retention, sources = l.sources, resolvedOnlyDefault = l.resolvedOnly, strictDefault = l.strict, error = null))
        }
    }

    private class Loaded(val retention: Retention, val sources: List<ListSource>, val resolvedOnly: Boolean, val strict: Boolean)

    /**
     * The upstream radio buttons, from the next start. The network's resolvers and the
     * address are saved at once; DNS over TLS or HTTPS is saved at once when a server of
     * that kind is, else it waits for one ([saveEncrypted]).
     */
    fun chooseUpstream(choice: UpstreamChoice) {
        val saved = if (choice.encrypted) deps.settings.encryptedDns(choice == UpstreamChoice.HTTPS) else null
        if (choice.encrypted && saved == null) {
            showChoice(choice, message = strings.get(R.string.settings_enc_enter))
            return
        }
        try {
            deps.settings.upstreamChoice = choice
        } catch (e: IllegalArgumentException) { // the settings' own check: shown, nothing saved
            set(state.copy(encryptedError = Format.error(e)))
            return
        }
        val message = when {
            saved != null -> savedMessage(saved)
            choice == UpstreamChoice.NETWORK -> strings.get(R.string.settings_upstream_network_saved)
            else -> strings.get(R.string.settings_dns_saved, state.upstreamDns)
        }
        showChoice(choice, message)
    }

    /**
     * Saves the DNS-over-TLS or -HTTPS server typed for the encrypted choice shown, and
     * chooses it; a name or URL or addresses that will not do are said and nothing changes.
     */
    fun saveEncrypted(server: String, addresses: String) {
        val choice = state.upstreamChoice
        if (!choice.encrypted) return
        val parsed = try {
            EncryptedDns.parse(choice == UpstreamChoice.HTTPS, server, addresses)
        } catch (e: SettingRefused) {
            set(state.copy(encryptedError = e.problem.words(strings)))
            return
        }
        try {
            deps.settings.setEncryptedDns(parsed)
            deps.settings.upstreamChoice = choice
        } catch (e: IllegalArgumentException) {
            set(state.copy(encryptedError = Format.error(e)))
            return
        }
        showChoice(choice, savedMessage(parsed))
    }

    /** A well-known server, for the encrypted kind shown: chosen only by this tap (Hush picks none by itself). */
    fun usePreset(preset: DnsPreset) {
        if (!state.upstreamChoice.encrypted) return
        val https = state.upstreamChoice == UpstreamChoice.HTTPS
        saveEncrypted(if (https) preset.httpsUrl else preset.tlsName, preset.addresses.joinToString(", "))
    }

    private fun showChoice(choice: UpstreamChoice, message: String?) {
        val saved = if (choice.encrypted) deps.settings.encryptedDns(choice == UpstreamChoice.HTTPS) else null
        set(state.copy(
            upstreamChoice = choice,
            encryptedServer = saved?.server ?: "",
            encryptedAddresses = saved?.addresses?.joinToString(", ") ?: "",
            encryptedError = null,
            message = message,
        ))
    }

    private fun savedMessage(server: EncryptedDns): String =
        strings.get(if (server.https) R.string.settings_https_saved else R.string.settings_tls_saved, server.host)

    fun setAllowEncryptedDns(on: Boolean) {
        deps.settings.allowEncryptedDns = on
        set(state.copy(allowEncryptedDns = on, message = strings.get(R.string.settings_saved_next_start)))
    }

    fun setStripEch(on: Boolean) {
        deps.settings.stripEch = on
        set(state.copy(stripEch = on, message = strings.get(R.string.settings_saved_next_start)))
    }

    /**
     * "Only addresses Hush resolved" for every app without a choice of its own, stored and
     * put in force at once. A store that fails leaves the switch as it was, saying why.
     */
    fun setResolvedOnlyDefault(on: Boolean) = setOptionDefault(AppOption.RESOLVED_ONLY, on)

    /** "Strict" for every app without a choice of its own, as [setResolvedOnlyDefault]. */
    fun setStrictDefault(on: Boolean) = setOptionDefault(AppOption.STRICT, on)

    private fun optionDefault(s: SettingsState, option: AppOption): Boolean? = when (option) {
        AppOption.RESOLVED_ONLY -> s.resolvedOnlyDefault
        AppOption.STRICT -> s.strictDefault
    }

    private fun withOptionDefault(s: SettingsState, option: AppOption, on: Boolean?): SettingsState = when (option) {
        AppOption.RESOLVED_ONLY -> s.copy(resolvedOnlyDefault = on)
        AppOption.STRICT -> s.copy(strictDefault = on)
    }

    private fun setOptionDefault(option: AppOption, on: Boolean) {
        val before = optionDefault(state, option)
        val (savedOn, savedOff, error) = when (option) {
            AppOption.RESOLVED_ONLY -> Triple(R.string.settings_resolved_only_saved_on, R.string.settings_resolved_only_saved_off, R.string.settings_error_resolved_only)
            AppOption.STRICT -> Triple(R.string.settings_strict_saved_on, R.string.settings_strict_saved_off, R.string.settings_error_strict)
        }
        set(withOptionDefault(state, option, on))
        background({ deps.store.setAppOptionDefault(option, on) }, failed = { e ->
            set(withOptionDefault(state, option, before).copy(error = strings.get(error, Format.error(e))))
        }) {
            deps.actions.rulesChanged()
            set(state.copy(error = null, message = strings.get(if (on) savedOn else savedOff)))
        }
    }

    fun setUpstreamDns(text: String) {
        val value = text.trim()
        val problem = dnsProblem(strings, value)
        if (problem != null) {
            set(state.copy(dnsError = problem))
            return
        }
        try {
            deps.settings.upstreamDns = value
        } catch (e: IllegalArgumentException) { // the settings' own, stricter check (e.g. 0.0.0.0)
            set(state.copy(dnsError = Format.error(e)))
            return
        }
        set(state.copy(upstreamDns = value, dnsError = null, message = strings.get(R.string.settings_dns_saved, value)))
    }

    fun setStartOnBoot(on: Boolean) {
        deps.settings.startOnBoot = on
        set(state.copy(startOnBoot = on))
    }

    /** The mode newly installed apps start with (null: Hush's default); applied at the next install. */
    fun setNewAppMode(mode: org.hush.android.policy.AppMode?) {
        deps.settings.newAppMode = mode
        set(state.copy(newAppMode = mode))
    }

    /** Empty fields mean "no limit". */
    fun setRetention(daysText: String, eventsText: String) {
        val days = daysText.trim().ifEmpty { null }?.let { it.toIntOrNull()?.takeIf { d -> d > 0 } ?: run {
            set(state.copy(retentionError = strings.get(R.string.settings_retention_days_bad)))
            return
        } }
        val events = eventsText.trim().ifEmpty { null }?.let { it.toLongOrNull()?.takeIf { n -> n > 0 } ?: run {
            set(state.copy(retentionError = strings.get(R.string.settings_retention_events_bad)))
            return
        } }
        val retention = Retention(days, events)
        background({ deps.store.setRetention(retention) }, failed = { e ->
            if (e is IllegalArgumentException) set(state.copy(retentionError = Format.error(e)))
            else set(state.copy(error = strings.get(R.string.settings_error_retention, Format.error(e))))
        }) {
            set(state.copy(retention = retention, retentionError = null, error = null, message = strings.get(R.string.settings_retention_saved)))
        }
    }

    /** Writes every event to [fd]; [finished] (closing it) runs on the worker when the write ends, whatever happens to the screen. */
    fun export(fd: Int, format: ExportFormat, finished: () -> Unit) {
        background({
            try {
                deps.store.export(fd, format, null, null)
            } finally {
                finished()
            }
        }, failed = { e ->
            set(state.copy(error = strings.get(R.string.settings_error_export, Format.error(e))))
        }) { n ->
            set(state.copy(error = null, message = strings.plural(R.plurals.settings_exported, n.coerceAtMost(Int.MAX_VALUE.toLong()).toInt(), Format.count(strings, n), format.name)))
        }
    }

    fun exportFailed(message: String) = set(state.copy(error = message))

    /** Something the screen itself could not do. */
    fun showError(message: String) = set(state.copy(error = message))

    fun clearActivity() {
        background({ deps.store.clearActivity() }, failed = { e ->
            set(state.copy(error = strings.get(R.string.settings_error_clear, Format.error(e))))
        }) { n ->
            set(state.copy(error = null, message = strings.plural(R.plurals.settings_cleared, n.coerceAtMost(Int.MAX_VALUE.toLong()).toInt(), Format.count(strings, n))))
        }
    }

    /** A well-known encrypted DNS server, offered as a one-tap choice. */
    class DnsPreset(val name: String, val tlsName: String, val httpsUrl: String, val addresses: List<String>)

    companion object {
        /**
         * Well-known public resolvers that speak both DNS over TLS and over HTTPS, with the
         * IPv4 addresses their operators publish. Offered, never chosen by Hush.
         */
        val PRESETS = listOf(
            DnsPreset("Quad9", "dns.quad9.net", "https://dns.quad9.net/dns-query", listOf("9.9.9.9", "149.112.112.112")),
            DnsPreset("Cloudflare", "one.one.one.one", "https://cloudflare-dns.com/dns-query", listOf("1.1.1.1", "1.0.0.1")),
        )

        /** Why [value] is not "address:port" (IPv4, or [IPv6]), or null; in [s]'s words. */
        fun dnsProblem(s: Strings, value: String): String? = when (dnsProblemKind(value)) {
            null -> null
            DnsProblem.FORM -> s.get(R.string.settings_dns_bad)
            DnsProblem.PORT -> s.get(R.string.settings_dns_port)
        }

        private enum class DnsProblem { FORM, PORT }

        private fun dnsProblemKind(value: String): DnsProblem? {
            val bad = DnsProblem.FORM
            val host: String
            val port: String
            if (value.startsWith("[")) {
                val end = value.indexOf("]:")
                if (end < 0) return bad
                host = value.substring(1, end)
                port = value.substring(end + 2)
                if (host.isEmpty() || !host.all { it.isLetterOrDigit() || it == ':' || it == '.' } || !host.contains(':')) return bad
            } else {
                val colon = value.lastIndexOf(':')
                if (colon < 0) return bad
                host = value.substring(0, colon)
                port = value.substring(colon + 1)
                val parts = host.split('.')
                if (parts.size != 4 || parts.any { p -> p.isEmpty() || p.length > 3 || !p.all { it.isDigit() } || p.toInt() > 255 }) return bad
            }
            val p = port.toIntOrNull()
            if (p == null || p !in 1..65535) return DnsProblem.PORT
            return null
        }
    }
}
