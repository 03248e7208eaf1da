package org.hush.android.lists

import android.content.Context
import android.content.SharedPreferences
import org.json.JSONArray
import org.json.JSONException
import org.json.JSONObject

/** A list the user added by URL, and how its last download went. */
data class ListSubscription(
    val url: String,
    /** `block` or `allow`. */
    val kind: String = "block",
    val enabled: Boolean = true,
    /** Entries in the copy in use; null before the first good download. */
    val entries: Long? = null,
    /** When the copy in use was downloaded, ms since the epoch. */
    val updatedMs: Long? = null,
    /** Why the last attempt failed, if it did (the copy in use, if any, stays). */
    val lastError: String? = null,
    /** When that failed attempt was, ms since the epoch. */
    val failedMs: Long? = null,
) {
    /** What the owner knows it by: the file name in its URL. */
    val name: String get() = url.substringBefore('?').trimEnd('/').substringAfterLast('/').ifEmpty { url }
}

/**
 * The lists the user added by URL, kept in the app's SharedPreferences (the files
 * themselves are [ListDownloader]'s). The order is the order they were added.
 */
class ListSubscriptions(context: Context) {
    private val prefs: SharedPreferences = context.getSharedPreferences(PREFS_NAME, Context.MODE_PRIVATE)

    @Synchronized
    fun all(): List<ListSubscription> {
        val text = prefs.getString(KEY, null) ?: return emptyList()
        return try {
            val array = JSONArray(text)
            (0 until array.length()).mapNotNull { read(array.optJSONObject(it)) }
        } catch (e: JSONException) {
            // Unreadable (written by a future version?): show none rather than crash;
            // the files stay, and adding a list writes a fresh record.
            emptyList()
        }
    }

    /**
     * Adds [url] (trimmed), not yet downloaded.
     * @throws IllegalArgumentException when it is not an http(s) address or is there already.
     */
    @Synchronized
    fun add(url: String, kind: String = "block"): ListSubscription {
        val clean = url.trim()
        require(clean.startsWith("https://")) {
            "'$url' is not an https:// address (lists are only downloaded over an encrypted connection)"
        }
        require(kind == "block" || kind == "allow") { "a list is a block or an allow list, not '$kind'" }
        val current = all()
        require(current.none { it.url == clean }) { "$clean is in your lists already" }
        val added = ListSubscription(clean, kind)
        save(current + added)
        return added
    }

    /** Returns whether it was there. */
    @Synchronized
    fun remove(url: String): Boolean {
        val current = all()
        val kept = current.filter { it.url != url }
        save(kept)
        return kept.size != current.size
    }

    @Synchronized
    fun setEnabled(url: String, enabled: Boolean) = update(url) { it.copy(enabled = enabled) }

    /** A download of [url] succeeded with [entries] entries at [nowMs]. */
    @Synchronized
    fun recordUpdate(url: String, entries: Long, nowMs: Long) =
        update(url) { it.copy(entries = entries, updatedMs = nowMs, lastError = null, failedMs = null) }

    /** A download of [url] failed (at [nowMs], when known); the copy in use, if any, stays. */
    @Synchronized
    fun recordFailure(url: String, message: String, nowMs: Long? = null) =
        update(url) { it.copy(lastError = message, failedMs = nowMs) }

    private fun update(url: String, change: (ListSubscription) -> ListSubscription) {
        save(all().map { if (it.url == url) change(it) else it })
    }

    private fun save(subscriptions: List<ListSubscription>) {
        val array = JSONArray()
        for (s in subscriptions) {
            array.put(
                JSONObject()
                    .put("url", s.url)
                    .put("kind", s.kind)
                    .put("enabled", s.enabled)
                    .putOpt("entries", s.entries)
                    .putOpt("updatedMs", s.updatedMs)
                    .putOpt("lastError", s.lastError)
                    .putOpt("failedMs", s.failedMs),
            )
        }
        prefs.edit().putString(KEY, array.toString()).apply()
    }

    private fun read(json: JSONObject?): ListSubscription? {
        val url = json?.optString("url").orEmpty()
        if (url.isEmpty()) return null
        return ListSubscription(
            url = url,
            kind = json!!.optString("kind", "block"),
            enabled = json.optBoolean("enabled", true),
            entries = if (json.has("entries")) json.getLong("entries") else null,
            updatedMs = if (json.has("updatedMs")) json.getLong("updatedMs") else null,
            lastError = if (json.has("lastError")) json.getString("lastError") else null,
            failedMs = if (json.has("failedMs")) json.getLong("failedMs") else null,
        )
    }

    companion object {
        const val PREFS_NAME = "lists"
        private const val KEY = "subscriptions"
    }
}
