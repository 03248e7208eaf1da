package org.hush.android.ui

import org.hush.android.R
import org.hush.android.core.CaptureSpec
import org.hush.android.core.CaptureState
import java.io.File
import java.io.IOException
import java.io.OutputStream

/**
 * The running session's packet capture, seen from App detail: the app's wiring over
 * VpnController; a fake in tests. Each call may block briefly (a stop writes what waits,
 * then renames the last file): never on the main thread.
 */
interface CaptureControl {
    /**
     * Captures one app's packets, ending any capture under way; false when the VPN is
     * not running. Throws IllegalStateException when a file cannot be made or the disk
     * has no room, IllegalArgumentException for a spec the core refuses.
     */
    fun start(spec: CaptureSpec): Boolean

    /** Ends the capture under way: how it went; null when the VPN is not running. */
    fun stop(): CaptureState?

    /** The capture under way ([CaptureState.NONE]: none); null when the VPN is not running. */
    fun status(): CaptureState?

    companion object {
        /** A build without the VPN's side: as if it never ran. */
        val NONE: CaptureControl = object : CaptureControl {
            override fun start(spec: CaptureSpec) = false
            override fun stop(): CaptureState? = null
            override fun status(): CaptureState? = null
        }
    }
}

/** How long a capture runs before it ends by itself: the owner's choice. */
enum class CapturePeriod(val seconds: Long, val label: Int) {
    MINUTES_5(5 * 60, R.string.capture_period_5m),
    MINUTES_30(30 * 60, R.string.capture_period_30m),
    HOURS_2(2 * 3600, R.string.capture_period_2h),
}

data class CaptureCardState(
    val period: CapturePeriod = CapturePeriod.MINUTES_30,
    /** This app is being captured now. */
    val running: Boolean = false,
    val packets: Long = 0,
    val dropped: Long = 0,
    /** A start, stop, export or delete is under way: the controls wait. */
    val busy: Boolean = false,
    /** The app's complete capture files on the phone, oldest first; empty: none to export. */
    val files: List<File> = emptyList(),
    /** Their bytes in all. */
    val bytes: Long = 0,
    /** What the last action did ("Exported..."), or why another app's capture stopped. */
    val message: String? = null,
    /** Why the last action failed, or why the capture ended early. */
    val error: String? = null,
)

/**
 * App detail's packet capture of one app ([uid]): starts it in the running session for the
 * period chosen, follows its counts, collects it once it ended by itself, and exports its
 * files oldest first into a document the owner picked (pcapng sections one after another
 * make one file Wireshark reads). The files are the app's own, in [directory]: at most
 * [FILES] of [FILE_BYTES] for each app captured, a new capture of the app replacing its last.
 */
class CapturePresenter(
    private val deps: UiDeps,
    private val uid: Int,
    private val strings: Strings,
    private val directory: File,
) : Presenter<CaptureCardState>(CaptureCardState(), deps.io, deps.main) {
    /** The app's name for the file's interface description (its label, or package). */
    var appName: String = ""

    /** The newest complete file; the core numbers the older ones beside it. */
    val path: File get() = File(directory, "hush-$uid.pcapng")

    fun choose(period: CapturePeriod) {
        if (!state.running && !state.busy) set(state.copy(period = period))
    }

    /** Reads the capture under way and the files on the phone; one that ended by itself is collected. */
    fun refresh() {
        if (state.busy) return
        background({
            val status = deps.capture.status()
            // Ended by itself (its time was up, or a write failed): stopping it says how.
            val ended = if (status?.uid == uid && !status.running) deps.capture.stop() else null
            Triple(status, ended, kept().let { it to it.sumOf { f -> f.length() } })
        }, failed = { e ->
            set(state.copy(error = strings.get(R.string.capture_error_read, Format.error(e))))
        }) { (status, ended, files) ->
            if (state.busy) return@background
            val mine = status?.uid == uid && status.running
            set(state.copy(
                running = mine,
                packets = if (status?.uid == uid) status.packets else if (ended != null) ended.packets else state.packets,
                dropped = if (status?.uid == uid) status.dropped else if (ended != null) ended.dropped else state.dropped,
                files = files.first, bytes = files.second,
                error = ended?.error?.let { strings.get(R.string.capture_error_ended, it) } ?: state.error,
                message = when {
                    ended != null && ended.error == null -> strings.get(R.string.capture_ended, Format.count(strings, ended.packets))
                    // It was running and is gone without a word: the VPN stopped (its capture with
                    // it), or another capture began elsewhere.
                    state.running && !mine && ended == null -> strings.get(R.string.capture_ended_outside)
                    else -> state.message
                },
            ))
        }
    }

    /**
     * The switch: on starts a capture of the app for the period chosen (another app's
     * capture is stopped first, and said so; this app's last capture is replaced), off
     * stops it and offers its files for export.
     */
    fun setCapturing(on: Boolean) {
        if (state.busy || on == state.running) return
        if (on) start() else stop()
    }

    private fun start() {
        val spec = CaptureSpec(uid, appName, path.path, FILE_BYTES, FILES, state.period.seconds)
        set(state.copy(busy = true, message = null, error = null))
        background({
            try {
                if (!directory.isDirectory && !directory.mkdirs()) throw IllegalStateException("cannot create ${directory.path}")
                val before = deps.capture.status() ?: return@background StartOutcome.NotRunning
                // Stopped here rather than by the start: its last file is complete before ours begins.
                val other = before.uid?.takeIf { it != uid }
                if (other != null) deps.capture.stop()
                // The core would number the last capture's files among the new ones.
                removeFiles()
                if (!deps.capture.start(spec)) StartOutcome.NotRunning else StartOutcome.Started(other?.let { otherName(it) })
            } catch (e: RuntimeException) {
                // The files as they are now: the last capture's may be gone already.
                kept().let { StartOutcome.Failed(Format.error(e), it, it.sumOf { f -> f.length() }) }
            }
        }, failed = { e ->
            set(state.copy(busy = false, running = false, error = strings.get(R.string.capture_error_start, Format.error(e))))
        }) { outcome ->
            when (outcome) {
                StartOutcome.NotRunning -> set(state.copy(busy = false, running = false, error = strings.get(R.string.capture_error_not_running)))
                is StartOutcome.Failed -> set(state.copy(
                    busy = false, running = false, files = outcome.files, bytes = outcome.bytes, error = strings.get(R.string.capture_error_start, outcome.why),
                ))
                is StartOutcome.Started -> set(state.copy(
                    busy = false, running = true, packets = 0, dropped = 0, files = emptyList(), bytes = 0,
                    message = outcome.otherStopped?.let { strings.get(R.string.capture_other_stopped, it) },
                ))
            }
        }
    }

    private fun stop() {
        set(state.copy(busy = true, message = null, error = null))
        background({
            // The VPN stopped meanwhile: its capture ended with it, its files are on the phone.
            val stopped = deps.capture.stop()?.takeIf { it.uid == uid }
            Triple(stopped, kept(), kept().sumOf { it.length() })
        }, failed = { e ->
            set(state.copy(busy = false, error = strings.get(R.string.capture_error_read, Format.error(e))))
        }) { (stopped, files, bytes) ->
            set(state.copy(
                busy = false, running = false, files = files, bytes = bytes,
                packets = stopped?.packets ?: state.packets, dropped = stopped?.dropped ?: state.dropped,
                message = if (stopped?.error == null) strings.get(R.string.capture_stopped, Format.count(strings, stopped?.packets ?: state.packets)) else null,
                error = stopped?.error?.let { strings.get(R.string.capture_error_ended, it) },
            ))
        }
    }

    /**
     * Copies the app's capture files, oldest first, into [open]'s stream (the document the
     * owner picked), off the main thread; says how many bytes, or why it failed.
     */
    fun export(open: () -> OutputStream?) {
        if (state.busy || state.running) return
        set(state.copy(busy = true, message = null, error = null))
        background({
            val files = kept()
            if (files.isEmpty()) throw IllegalStateException(strings.get(R.string.capture_error_no_files))
            val out = try {
                open()
            } catch (e: IOException) {
                throw IllegalStateException(Format.error(e), e)
            } catch (e: SecurityException) {
                throw IllegalStateException(Format.error(e), e)
            } ?: throw IllegalStateException(strings.get(R.string.capture_error_no_document))
            try {
                out.use { stream -> files.sumOf { file -> file.inputStream().use { it.copyTo(stream) } } }
            } catch (e: IOException) {
                throw IllegalStateException(Format.error(e), e)
            }
        }, failed = { e ->
            set(state.copy(busy = false, error = strings.get(R.string.capture_error_export, Format.error(e))))
        }) { bytes ->
            set(state.copy(busy = false, message = strings.get(R.string.capture_exported, Format.size(strings, bytes))))
        }
    }

    /** Removes the app's capture files from the phone. */
    fun delete() {
        if (state.busy || state.running) return
        set(state.copy(busy = true, message = null, error = null))
        background({ removeFiles(); kept().let { it to it.sumOf { f -> f.length() } } }, failed = { e ->
            set(state.copy(busy = false, error = strings.get(R.string.capture_error_delete, Format.error(e))))
        }) { (files, bytes) ->
            set(state.copy(
                busy = false, files = files, bytes = bytes,
                message = if (files.isEmpty()) strings.get(R.string.capture_deleted) else null,
                error = if (files.isEmpty()) null else strings.get(R.string.capture_error_delete, files.first().name),
            ))
        }
    }

    /** The app's complete files, oldest first (`hush-UID.3.pcapng` ... `hush-UID.pcapng`). */
    fun kept(): List<File> = (FILES - 1 downTo 0).map { numbered(it) }.filter { it.isFile }

    private fun numbered(n: Int) = if (n == 0) path else File(directory, "hush-$uid.$n.pcapng")

    private fun removeFiles() {
        for (file in (0 until FILES).map { numbered(it) } + File(path.path + ".partial")) {
            if (file.exists() && !file.delete()) throw IllegalStateException("cannot remove ${file.path}")
        }
    }

    private fun otherName(otherUid: Int): String =
        deps.apps.apps().firstOrNull { it.uid == otherUid }?.label?.let { Format.visible(it) }
            ?: strings.get(R.string.uid_label, otherUid)

    private sealed class StartOutcome {
        object NotRunning : StartOutcome()
        data class Started(val otherStopped: String?) : StartOutcome()
        data class Failed(val why: String, val files: List<File>, val bytes: Long) : StartOutcome()
    }

    companion object {
        /** Bytes per file before it rotates. */
        const val FILE_BYTES = 16L * 1024 * 1024
        /** Files kept per app: at most 64 MiB of one app's packets on the phone. */
        const val FILES = 4
        /** The files' directory under the app's own files. */
        const val DIRECTORY = "captures"
        const val MIME = "application/vnd.tcpdump.pcap"

        /** "hush-com.example.app-20261128-143000.pcapng": the app and the time (UTC). */
        fun exportName(uid: Int, packageName: String?, nowMs: Long): String {
            val app = (packageName ?: "uid-$uid").replace(Regex("[^A-Za-z0-9._-]"), "_")
            val time = java.text.SimpleDateFormat("yyyyMMdd-HHmmss", java.util.Locale.ROOT)
                .apply { timeZone = java.util.TimeZone.getTimeZone("UTC") }.format(java.util.Date(nowMs))
            return "hush-$app-$time.pcapng"
        }
    }
}
