package org.hush.android.app

import org.hush.android.data.HushStore
import org.hush.android.data.ListSource
import org.hush.android.lists.ListDownloader
import org.hush.android.lists.ListSubscriptions
import java.io.File

/**
 * The store, with the lists the user added by URL shown as the user knows them: by
 * URL, with how their last download went (the core knows them only as the files
 * they were saved to). The built-in list comes from the store as it is.
 */
class ListAwareStore(
    private val store: HushStore,
    private val subscriptions: ListSubscriptions,
    private val downloader: ListDownloader,
) : HushStore by store {
    override fun listSources(): List<ListSource> {
        val userFiles = HashMap<String, String>()
        val added = subscriptions.all()
        for (list in added) userFiles[downloader.fileFor(list.url).path] = list.url
        val fromCore = store.listSources().filter { it.origin !in userFiles }
        val byUrl = added.map { list ->
            ListSource(
                name = nameOf(list.url),
                origin = list.url,
                enabled = list.enabled,
                entries = list.entries ?: 0,
                updatedMs = list.updatedMs,
                problem = list.lastError,
            )
        }
        return fromCore + byUrl
    }

    private fun nameOf(url: String): String = File(url.substringBefore('?')).name.ifEmpty { url }
}
