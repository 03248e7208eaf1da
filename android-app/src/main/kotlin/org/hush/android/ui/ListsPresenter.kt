package org.hush.android.ui

import org.hush.android.data.DomainAction
import org.hush.android.data.DomainRule
import org.hush.android.data.ListSource
import java.net.MalformedURLException
import java.net.URL

data class ListsState(
    val loading: Boolean = true,
    val sources: List<ListSource> = emptyList(),
    val rules: List<DomainRule> = emptyList(),
    /** Inline, under the URL field. */
    val urlError: String? = null,
    /** Inline, under the domain field (the store's IllegalArgumentException message). */
    val ruleError: String? = null,
    /** A short confirmation ("Update requested", ...). */
    val message: String? = null,
    /** URLs added here that the store has not listed yet. */
    val pendingUrls: List<String> = emptyList(),
    val error: String? = null,
    /** Bumped when an add went through, so the view clears its field. */
    val urlAdded: Int = 0,
    val ruleAdded: Int = 0,
)

class ListsPresenter(private val deps: UiDeps) : Presenter<ListsState>(ListsState(), deps.io, deps.main) {

    fun load() {
        background({ deps.store.listSources() to deps.store.domainRules() }, failed = { e ->
            set(state.copy(loading = false, error = "Could not read the lists: " + Format.error(e)))
        }) { (sources, rules) ->
            val origins = sources.map { it.origin }.toSet()
            set(state.copy(
                loading = false, sources = sources, rules = rules.sortedBy { it.domain },
                pendingUrls = state.pendingUrls.filter { it !in origins }, error = null,
            ))
        }
    }

    fun updateNow() {
        deps.actions.updateLists()
        set(state.copy(message = "Update requested: lists are downloaded in the background"))
    }

    fun addUrl(text: String) {
        val url = text.trim()
        val problem = urlProblem(url)
        if (problem != null) {
            set(state.copy(urlError = problem, message = null))
            return
        }
        if (state.sources.any { it.origin == url } || url in state.pendingUrls) {
            set(state.copy(urlError = "This list is already added"))
            return
        }
        deps.actions.addListUrl(url)
        set(state.copy(urlError = null, pendingUrls = state.pendingUrls + url,
            message = "List added: it is downloaded on the next update", urlAdded = state.urlAdded + 1))
    }

    fun addRule(domain: String, action: DomainAction) {
        val text = domain.trim()
        if (text.isEmpty()) {
            set(state.copy(ruleError = "Enter a domain, e.g. tracking.miui.com"))
            return
        }
        background({ deps.store.addDomainRule(null, text, action) }, failed = { e ->
            if (e is IllegalArgumentException) set(state.copy(ruleError = Format.error(e)))
            else set(state.copy(error = "Could not add the rule: " + Format.error(e)))
        }) { stored ->
            deps.actions.rulesChanged()
            val rules = (state.rules.filterNot { it.uid == null && it.domain == stored } + DomainRule(null, stored, action))
                .sortedBy { it.domain }
            set(state.copy(rules = rules, ruleError = null, error = null, ruleAdded = state.ruleAdded + 1))
        }
    }

    fun removeRule(rule: DomainRule) {
        background({ deps.store.removeDomainRule(rule.uid, rule.domain) }, failed = { e ->
            set(state.copy(error = "Could not remove the rule: " + Format.error(e)))
        }) {
            deps.actions.rulesChanged()
            set(state.copy(rules = state.rules - rule, error = null))
        }
    }

    companion object {
        /** Why [url] is not a list URL, or null when it is one. */
        fun urlProblem(url: String): String? {
            if (url.isEmpty()) return "Enter the list's URL, e.g. https://example.org/hosts.txt"
            val parsed = try {
                URL(url)
            } catch (e: MalformedURLException) {
                return "Not a valid URL: it must start with https://"
            }
            if (parsed.protocol == "http") {
                // Android (target SDK 28+) refuses cleartext downloads, and a list fetched in
                // the clear could be swapped on the way.
                return "Use https://: lists are only downloaded over an encrypted connection"
            }
            if (parsed.protocol != "https") {
                return "Not a valid URL: it must start with https://"
            }
            val host = parsed.host.orEmpty()
            if (host.isEmpty()) return "Not a valid URL: it has no host name"
            if ((!host.contains('.') && host != "localhost" && !host.startsWith("["))) {
                return "Not a valid URL: \"$host\" is not a host name"
            }
            if (url.any { it.isWhitespace() }) return "Not a valid URL: it contains spaces"
            if (parsed.port > 65535) return "Not a valid URL: port ${parsed.port} is out of range"
            return null
        }
    }
}
