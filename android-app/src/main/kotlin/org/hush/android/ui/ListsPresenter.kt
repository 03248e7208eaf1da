package org.hush.android.ui

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

/** The Lists screen: the built-in catalogue and the lists added by URL, switched, removed, updated. */
class ListsPresenter(private val deps: UiDeps) : Presenter<ListsState>(ListsState(), deps.io, deps.main) {
    private val lists: ListCatalogue get() = deps.lists

    fun load() {
        background({ Triple(lists.builtins(), lists.subscriptions(), lists.updatesAnytime()) }, failed = { e ->
            set(state.copy(loading = false, error = Words.READ_FAILED + Format.error(e)))
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
        change({ lists.setBuiltinEnabled(name, enabled) }, Words.switched(title, enabled, running()))
    }

    fun setSubscriptionEnabled(url: String, enabled: Boolean) {
        val name = state.subscriptions.firstOrNull { it.url == url }?.name ?: url
        change({ lists.setSubscriptionEnabled(url, enabled) }, Words.switched(name, enabled, running()))
    }

    fun remove(url: String) {
        val name = state.subscriptions.firstOrNull { it.url == url }?.name ?: url
        change({ lists.removeSubscription(url) }, Words.removed(name))
    }

    fun setUpdatesAnytime(anytime: Boolean) {
        background({ lists.setUpdatesAnytime(anytime) }, failed = { e ->
            set(state.copy(error = Words.CHANGE_FAILED + Format.error(e)))
        }) {
            set(state.copy(updatesAnytime = anytime, message = if (anytime) Words.ANYTIME else Words.UNMETERED, error = null))
        }
    }

    /** Stores the change, puts it in force in a running session, then shows the lists as they are now. */
    private fun change(work: () -> Unit, said: String) {
        background({
            work()
            lists.applyChanges()
            lists.builtins() to lists.subscriptions()
        }, failed = { e ->
            set(state.copy(error = Words.CHANGE_FAILED + Format.error(e)))
        }) { (builtins, subscriptions) ->
            set(state.copy(builtins = builtins, subscriptions = subscriptions, message = said, error = null))
        }
    }

    private fun running() = deps.firewall.state() == FirewallState.On

    fun updateNow() {
        deps.actions.updateLists()
        set(state.copy(message = Words.UPDATE_REQUESTED))
    }

    fun addUrl(text: String) {
        val url = text.trim()
        val problem = urlProblem(url)
        if (problem != null) {
            set(state.copy(urlError = problem, message = null))
            return
        }
        if (state.subscriptions.any { it.url == url } || url in state.pendingUrls) {
            set(state.copy(urlError = Words.ALREADY_ADDED))
            return
        }
        deps.actions.addListUrl(url)
        set(state.copy(urlError = null, pendingUrls = state.pendingUrls + url,
            message = Words.ADDED, urlAdded = state.urlAdded + 1))
    }

    /** User-visible words of the Lists screen, kept together for the move to strings.xml. */
    internal object Words {
        const val READ_FAILED = "Could not read the lists: "
        const val CHANGE_FAILED = "Could not change the lists: "
        const val UPDATE_REQUESTED = "Update requested: lists are downloaded in the background"
        const val ALREADY_ADDED = "This list is already added"
        const val ADDED = "List added: it is downloaded now, then kept up to date"
        fun switched(name: String, on: Boolean, running: Boolean) =
            "$name is ${if (on) "on" else "off"}" + if (running) " from now on" else " from the next start"
        const val ANYTIME = "Lists are updated daily on any network, charging or not"
        const val UNMETERED = "Lists are updated daily on Wi-Fi (unmetered) while charging"
        fun removed(name: String) = "$name removed, with its downloaded copy"
    }

    companion object {
        /**
         * Home's line on what is blocked ([ListSummary]), or null when the catalogue is not
         * known (no core) or cannot be read: Home then says only "On". Blocking: call it
         * off the main thread.
         */
        fun blockingSummary(lists: ListCatalogue): String? = try {
            val builtins = lists.builtins()
            if (builtins.isEmpty()) null else ListSummary.text(builtins, lists.subscriptions())
        } catch (e: RuntimeException) {
            null
        }

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
