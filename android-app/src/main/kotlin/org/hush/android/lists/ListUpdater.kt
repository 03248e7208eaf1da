package org.hush.android.lists

/**
 * Downloads every enabled list the owner added, records how each went (the time of a
 * good download, or why it failed: the copy in use then stays), and then asks a
 * running session to reload its lists. Used by "Update now" and [ListUpdateJobService].
 * Blocking: call it off the main thread.
 */
class ListUpdater(
    private val subscriptions: ListSubscriptions,
    private val downloader: ListDownloader,
    private val reload: () -> Unit,
    private val clock: () -> Long = { System.currentTimeMillis() },
) {
    /** What one update round did. */
    data class Outcome(val updated: Int, val failed: Int)

    fun updateAll(): Outcome {
        var updated = 0
        var failed = 0
        for (list in subscriptions.all().filter { it.enabled }) {
            if (update(list.url, list.kind)) updated++ else failed++
        }
        if (updated > 0) {
            try {
                reload()
            } catch (e: RuntimeException) {
                // The lists in force stay; a stopped session reads the new files at start.
            }
        }
        return Outcome(updated, failed)
    }

    /** Returns whether the new copy is in place. */
    fun update(url: String, kind: String): Boolean = try {
        val load = downloader.download(url, kind)
        subscriptions.recordUpdate(url, load.entries, clock())
        true
    } catch (e: ListDownloadException) {
        subscriptions.recordFailure(url, e.problem.encode(), clock())
        false
    } catch (e: RuntimeException) { // never let a worker take the app (and the VPN) down
        subscriptions.recordFailure(url, ListProblem(ListProblem.Kind.FAILED_DETAIL, listOf(e.message ?: e.javaClass.simpleName)).encode(), clock())
        false
    }
}
