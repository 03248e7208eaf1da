package org.hush.android.ui

import org.hush.android.R
import org.hush.android.lists.BuiltinChoice
import org.hush.android.lists.ListCatalogue
import org.hush.android.lists.ListSubscription
import org.hush.android.lists.ListSummary
import java.net.MalformedURLException
import java.net.URL

data class ListsState(
    val loading: Boolean = true,
    /** The lists built into Hush, each with its switch. */
    val builtins: List<BuiltinChoice> = emptyList(),
    /** The lists added by URL, in the order they were added. */
    val subscriptions: List<ListSubscription> = emptyList(),
    /** Inline, under the URL field. */
    val urlError: String? = null,
    /** A short confirmation ("Update requested", "AdAway is off from now on", ...). */
    val message: String? = null,
    /** URLs added here that the catalogue has not listed yet. */
    val pendingUrls: List<String> = emptyList(),
    val error: String? = null,
    /** Bumped when an add went through, so the view clears its field. */
    val urlAdded: Int = 0,
    /** Automatic updates on any network and without charging. */
    val updatesAnytime: Boolean = false,
)

/** The Lists screen: the built-in catalogue and the lists added by URL, switched, removed, updated. Its words come from [strings]. */
class ListsPresenter(private val deps: UiDeps, private val strings: Strings) : Presenter<ListsState>(ListsState(), deps.io, deps.main) {
    private val lists: ListCatalogue get() = deps.lists

    fun load() {
        background({ Triple(lists.builtins(), lists.subscriptions(), lists.updatesAnytime()) }, failed = { e ->
            set(state.copy(loading = false, error = strings.get(R.string.lists_error_read, Format.error(e))))
        }) { (builtins, subscriptions, anytime) ->
            val urls = subscriptions.map { it.url }.toSet()
            set(state.copy(
                loading = false, builtins = builtins, subscriptions = subscriptions, updatesAnytime = anytime,
                pendingUrls = state.pendingUrls.filter { it !in urls }, error = null,
            ))
        }
    }

    fun setBuiltinEnabled(name: String, enabled: Boolean) {
        val title = state.builtins.firstOrNull { it.list.name == name }?.list?.title ?: name
        change({ lists.setBuiltinEnabled(name, enabled) }, switched(title, enabled))
    }

    fun setSubscriptionEnabled(url: String, enabled: Boolean) {
        val name = state.subscriptions.firstOrNull { it.url == url }?.name ?: url
        change({ lists.setSubscriptionEnabled(url, enabled) }, switched(name, enabled))
    }

    fun remove(url: String) {
        val name = state.subscriptions.firstOrNull { it.url == url }?.name ?: url
        change({ lists.removeSubscription(url) }, strings.get(R.string.lists_removed, name))
    }

    fun setUpdatesAnytime(anytime: Boolean) {
        background({ lists.setUpdatesAnytime(anytime) }, failed = { e ->
            set(state.copy(error = strings.get(R.string.lists_error_change, Format.error(e))))
        }) {
            set(state.copy(updatesAnytime = anytime, message = strings.get(if (anytime) R.string.lists_updates_anytime else R.string.lists_updates_unmetered), error = null))
        }
    }

    /** Stores the change, puts it in force in a running session, then shows the lists as they are now. */
    private fun change(work: () -> Unit, said: String) {
        background({
            work()
            lists.applyChanges()
            lists.builtins() to lists.subscriptions()
        }, failed = { e ->
            set(state.copy(error = strings.get(R.string.lists_error_change, Format.error(e))))
        }) { (builtins, subscriptions) ->
            set(state.copy(builtins = builtins, subscriptions = subscriptions, message = said, error = null))
        }
    }

    /** "X is on from now on" in a running session, "... from the next start" otherwise. */
    private fun switched(name: String, on: Boolean): String {
        val running = deps.firewall.state() == FirewallState.On
        return strings.get(
            when {
                on && running -> R.string.lists_on_now
                on -> R.string.lists_on_next_start
                running -> R.string.lists_off_now
                else -> R.string.lists_off_next_start
            },
            name,
        )
    }

    fun updateNow() {
        deps.actions.updateLists()
        set(state.copy(message = strings.get(R.string.lists_update_requested)))
    }

    fun addUrl(text: String) {
        val url = text.trim()
        val problem = urlProblem(strings, url)
        if (problem != null) {
            set(state.copy(urlError = problem, message = null))
            return
        }
        if (state.subscriptions.any { it.url == url } || url in state.pendingUrls) {
            set(state.copy(urlError = strings.get(R.string.lists_already_added)))
            return
        }
        deps.actions.addListUrl(url)
        set(state.copy(urlError = null, pendingUrls = state.pendingUrls + url,
            message = strings.get(R.string.lists_url_added), urlAdded = state.urlAdded + 1))
    }

    companion object {
        /**
         * Home's line on what is blocked ([ListSummary]), or null when the catalogue is not
         * known (no core) or cannot be read: Home then says only "On". Blocking: call it
         * off the main thread.
         */
        fun blockingSummary(strings: Strings, lists: ListCatalogue): String? = try {
            val builtins = lists.builtins()
            if (builtins.isEmpty()) null else ListSummary.text(strings, builtins, lists.subscriptions())
        } catch (e: RuntimeException) {
            null
        }

        /** Why [url] is not a list URL, or null when it is one. */
        fun urlProblem(s: Strings, url: String): String? {
            if (url.isEmpty()) return s.get(R.string.lists_url_empty)
            val parsed = try {
                URL(url)
            } catch (e: MalformedURLException) {
                return s.get(R.string.lists_url_not_https)
            }
            if (parsed.protocol == "http") {
                // Android (target SDK 28+) refuses cleartext downloads, and a list fetched in
                // the clear could be swapped on the way.
                return s.get(R.string.lists_url_cleartext)
            }
            if (parsed.protocol != "https") {
                return s.get(R.string.lists_url_not_https)
            }
            val host = parsed.host.orEmpty()
            if (host.isEmpty()) return s.get(R.string.lists_url_no_host)
            if ((!host.contains('.') && host != "localhost" && !host.startsWith("["))) {
                return s.get(R.string.lists_url_bad_host, host)
            }
            if (url.any { it.isWhitespace() }) return s.get(R.string.lists_url_spaces)
            if (parsed.port > 65535) return s.get(R.string.lists_url_port, parsed.port)
            return null
        }
    }
}
