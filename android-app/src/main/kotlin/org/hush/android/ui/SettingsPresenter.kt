package org.hush.android.ui

import org.hush.android.data.ExportFormat
import org.hush.android.data.ListSource
import org.hush.android.data.Retention

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
    /** The outcome of the last action ("Exported 1,204 events", ...). */
    val message: String? = null,
    val error: String? = null,
)

class SettingsPresenter(private val deps: UiDeps) : Presenter<SettingsState>(SettingsState(), deps.io, deps.main) {

    fun load() {
        set(state.copy(upstreamDns = deps.settings.upstreamDns, startOnBoot = deps.settings.startOnBoot, newAppMode = deps.settings.newAppMode))
        background({ deps.store.retention() to deps.store.listSources() }, failed = { e ->
            set(state.copy(loading = false, error = "Could not read the settings: " + Format.error(e)))
        }) { (retention, sources) ->
            set(state.copy(loading = false, retention = retention, sources = sources, error = null))
        }
    }

    fun setUpstreamDns(text: String) {
        val value = text.trim()
        val problem = dnsProblem(value)
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
        set(state.copy(upstreamDns = value, dnsError = null, message = "Upstream DNS: $value (used from the next start)"))
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
            set(state.copy(retentionError = "Days must be a whole number above 0, or empty for no limit"))
            return
        } }
        val events = eventsText.trim().ifEmpty { null }?.let { it.toLongOrNull()?.takeIf { n -> n > 0 } ?: run {
            set(state.copy(retentionError = "Events must be a whole number above 0, or empty for no limit"))
            return
        } }
        val retention = Retention(days, events)
        background({ deps.store.setRetention(retention) }, failed = { e ->
            if (e is IllegalArgumentException) set(state.copy(retentionError = Format.error(e)))
            else set(state.copy(error = "Could not save the retention: " + Format.error(e)))
        }) {
            set(state.copy(retention = retention, retentionError = null, error = null, message = "Log retention saved"))
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
            set(state.copy(error = "Export failed: " + Format.error(e)))
        }) { n ->
            set(state.copy(error = null, message = "Exported ${Format.count(n)} events as ${format.name}"))
        }
    }

    fun exportFailed(message: String) = set(state.copy(error = message))

    /** Something the screen itself could not do. */
    fun showError(message: String) = set(state.copy(error = message))

    fun clearActivity() {
        background({ deps.store.clearActivity() }, failed = { e ->
            set(state.copy(error = "Could not clear the activity: " + Format.error(e)))
        }) { n ->
            set(state.copy(error = null, message = "Deleted ${Format.count(n)} events; rules are kept"))
        }
    }

    companion object {
        /** Why [value] is not "address:port" (IPv4, or [IPv6]), or null. */
        fun dnsProblem(value: String): String? {
            val bad = "Use address:port, e.g. 9.9.9.9:53 or [2620:fe::fe]:53"
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
            if (p == null || p !in 1..65535) return "The port must be between 1 and 65535"
            return null
        }
    }
}
