package org.hush.android.core

import org.json.JSONObject

/**
 * The packet capture of one app (issue 16), as the core takes it: its packets as the tun
 * saw them, both ways, in pcapng files. [path] is the newest complete file; while a file
 * is written it is `path.partial`, and older files sit beside it as `NAME.1.pcapng`,
 * `NAME.2.pcapng`... (the oldest beyond [files] removed).
 */
data class CaptureSpec(
    val uid: Int,
    /** The app's label or package, for the file's interface description. */
    val app: String,
    val path: String,
    /** Bytes per file before it rotates (the core refuses under 64 KiB). */
    val fileBytes: Long,
    /** Files kept, the one being written included. */
    val files: Int,
    /** The capture ends by itself after this long; null: only when stopped. */
    val seconds: Long?,
) {
    /** The core's spec JSON (hush_session::api::capture_spec). */
    fun toJson(): String = JSONObject()
        .put("uid", uid)
        .put("app", app)
        .put("path", path)
        .put("fileBytes", fileBytes)
        .put("files", files)
        .apply { if (seconds != null) put("seconds", seconds) }
        .toString()
}

/**
 * A capture as the core says it is: under way ([running]), ended by itself (its time was
 * up, or a write failed: [running] false while [uid] is still set, until it is stopped),
 * or stopped ([files], newest first, and [error] when it ended early). [uid] null: none.
 */
data class CaptureState(
    val uid: Int?,
    val running: Boolean,
    val packets: Long,
    val dropped: Long,
    val flowsMissed: Long,
    /** Newest first; only in the answer to a stop. */
    val files: List<String>,
    /** Why it ended early (a full disk), in the core's words. */
    val error: String?,
) {
    companion object {
        val NONE = CaptureState(null, false, 0, 0, 0, emptyList(), null)

        /** The core's status or stop JSON (hush_session::api::capture_status_json). */
        fun parse(json: String): CaptureState {
            val o = JSONObject(json)
            val files = o.optJSONArray("files")
            return CaptureState(
                uid = if (o.isNull("uid")) null else o.getInt("uid"),
                running = o.getBoolean("running"),
                packets = o.getLong("packets"),
                dropped = o.getLong("dropped"),
                flowsMissed = o.optLong("flowsMissed", 0),
                files = if (files == null) emptyList() else (0 until files.length()).map { files.getString(it) },
                error = if (o.isNull("error")) null else o.optString("error").takeIf { it.isNotEmpty() },
            )
        }
    }
}
