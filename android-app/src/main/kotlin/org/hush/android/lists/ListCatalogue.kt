package org.hush.android.lists

/**
 * The lists the owner chooses from: the built-in ones (each on or off) and the ones
 * added by URL (enabled, disabled or removed). Every call may block (the core's
 * parse, SharedPreferences, files): call it off the main thread.
 */
interface ListCatalogue {
    fun builtins(): List<BuiltinChoice>
    fun setBuiltinEnabled(name: String, enabled: Boolean)
    fun subscriptions(): List<ListSubscription>
    /** A disabled list stays on disk but is not handed to the core at the next start or reload. */
    fun setSubscriptionEnabled(url: String, enabled: Boolean)
    /** Forgets [url] and deletes its downloaded copy. Returns whether it was there. */
    fun removeSubscription(url: String): Boolean
    /** The choices changed: a running session reloads its lists (a stopped one reads them at start). */
    fun applyChanges()
    /** Automatic updates on any network and without charging (off: unmetered and charging only). */
    fun updatesAnytime(): Boolean
    fun setUpdatesAnytime(anytime: Boolean)

    companion object {
        /** No lists known (a core that did not load): every screen still opens. */
        val NONE: ListCatalogue = object : ListCatalogue {
            override fun builtins() = emptyList<BuiltinChoice>()
            override fun setBuiltinEnabled(name: String, enabled: Boolean) = Unit
            override fun subscriptions() = emptyList<ListSubscription>()
            override fun setSubscriptionEnabled(url: String, enabled: Boolean) = Unit
            override fun removeSubscription(url: String) = false
            override fun applyChanges() = Unit
            override fun updatesAnytime() = false
            override fun setUpdatesAnytime(anytime: Boolean) = Unit
        }

        /**
         * A catalogue that cannot be read, saying [why] on every call: the lists come from
         * the core, and an app whose core is not there has none to show, which the Lists
         * screen must say rather than show empty sections.
         */
        fun unavailable(why: String): ListCatalogue = object : ListCatalogue {
            private fun no(): Nothing = throw IllegalStateException(why)
            override fun builtins(): List<BuiltinChoice> = no()
            override fun setBuiltinEnabled(name: String, enabled: Boolean) = no()
            override fun subscriptions(): List<ListSubscription> = no()
            override fun setSubscriptionEnabled(url: String, enabled: Boolean) = no()
            override fun removeSubscription(url: String): Boolean = no()
            override fun applyChanges() = no()
            override fun updatesAnytime(): Boolean = no()
            override fun setUpdatesAnytime(anytime: Boolean) = no()
        }
    }
}

/**
 * The app's [ListCatalogue]: the core's catalogue, the switches in [BuiltinSwitches],
 * the subscriptions in [ListSubscriptions], their files in [ListDownloader]'s folder.
 */
class AppListCatalogue(
    private val catalogue: () -> List<BuiltinList>,
    private val switches: BuiltinSwitches,
    private val subscriptionsStore: ListSubscriptions,
    private val downloader: ListDownloader,
    private val reload: () -> Unit,
    private val scheduleUpdates: () -> Unit = {},
    private val readAnytime: () -> Boolean = { false },
    private val writeAnytime: (Boolean) -> Unit = {},
) : ListCatalogue {
    override fun builtins(): List<BuiltinChoice> = catalogue().map { BuiltinChoice(it, switches.isEnabled(it.name)) }

    override fun setBuiltinEnabled(name: String, enabled: Boolean) = switches.setEnabled(name, enabled)

    override fun subscriptions(): List<ListSubscription> = subscriptionsStore.all()

    override fun setSubscriptionEnabled(url: String, enabled: Boolean) {
        subscriptionsStore.setEnabled(url, enabled)
        scheduleUpdates()
    }

    override fun removeSubscription(url: String): Boolean {
        val had = subscriptionsStore.remove(url)
        downloader.fileFor(url).delete()
        scheduleUpdates()
        return had
    }

    override fun applyChanges() = reload()

    override fun updatesAnytime(): Boolean = readAnytime()

    /** Stored, then the job is scheduled again with the new constraints. */
    override fun setUpdatesAnytime(anytime: Boolean) {
        writeAnytime(anytime)
        scheduleUpdates()
    }
}

/** Whether each built-in list is on: all are unless the owner turned one off. */
interface BuiltinSwitches {
    fun isEnabled(name: String): Boolean
    fun setEnabled(name: String, enabled: Boolean)
}
