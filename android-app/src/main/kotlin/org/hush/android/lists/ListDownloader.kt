package org.hush.android.lists

import org.hush.android.core.ListLoad
import org.hush.android.core.NativeCore
import org.hush.android.core.NativeFirewall
import org.json.JSONObject
import java.io.File
import java.io.IOException
import java.net.ConnectException
import java.net.HttpURLConnection
import java.net.MalformedURLException
import java.net.SocketTimeoutException
import java.net.URL
import java.net.UnknownHostException
import java.security.MessageDigest
import javax.net.ssl.HttpsURLConnection
import javax.net.ssl.SSLSocketFactory

/**
 * Why a list could not be added or updated: [problem], put in the owner's words where it
 * is shown (its message is the stored form, [ListProblem.encode]).
 */
class ListDownloadException(val problem: ListProblem, cause: Throwable? = null) : Exception(problem.encode(), cause) {
    constructor(kind: ListProblem.Kind, vararg args: Any?, cause: Throwable? = null) :
        this(ListProblem(kind, args.map { it.toString() }), cause)
}

/** Reads a downloaded file as a list: the core in the app ([NativeListCheck]), a fake in tests. */
interface ListCheck {
    /** @throws IllegalArgumentException naming the problem when [file] is not a usable list. */
    fun check(file: File, kind: String): ListLoad
}

object NativeListCheck : ListCheck {
    override fun check(file: File, kind: String): ListLoad =
        NativeFirewall.listLoad(JSONObject(NativeCore.checkList(file.path, kind)))
}

/**
 * Downloads the block lists the user added by URL into [directory], one file per URL.
 *
 * Hush sends nothing on its own: this runs only for lists the user added, when the
 * user asks or turned on automatic updates. Blocking: call it off the main thread.
 *
 * Over https only: an http:// URL is refused before any connection (one stored by an
 * older version included), and so is a redirect to anything but https://; redirects
 * are followed here, at most [MAX_REDIRECTS], each checked. A list read in the clear
 * could be changed on the way, and a list can unblock (its own `@@` exceptions) as
 * well as block. At most [maxBytes] are read, announced or not: the core's own cap.
 *
 * A download replaces the list in use only once it is whole and the core has read
 * it as a list; any failure (a malformed or unreachable URL, an HTTP error, a file
 * over [maxBytes], a web page (served as text/html, or starting `<!doctype`/`<html`),
 * a file with no entry) leaves the copy in use as it was. The download goes to a
 * temporary file renamed over the copy in use only when whole and checked.
 *
 * [tls]: the TLS sockets to use; null for the platform's (tests pass one that trusts
 * their own certificate).
 */
class ListDownloader(
    private val directory: File,
    private val check: ListCheck = NativeListCheck,
    private val maxBytes: Long = MAX_BYTES,
    private val timeoutMs: Int = TIMEOUT_MS,
    private val tls: SSLSocketFactory? = null,
) {
    /** The file the list from [url] is kept in. */
    fun fileFor(url: String): File {
        val digest = MessageDigest.getInstance("SHA-256").digest(url.toByteArray(Charsets.UTF_8))
        val hex = StringBuilder()
        for (i in 0 until 8) hex.append(String.format("%02x", digest[i]))
        return File(directory, "list-$hex.txt")
    }

    /**
     * Fetches [url], checks it as a `block` or `allow` list ([kind]) and puts it in place.
     * @throws ListDownloadException saying what went wrong; nothing in use changed.
     */
    fun download(url: String, kind: String = "block"): ListLoad {
        val address = parse(url)
        if (!directory.isDirectory && !directory.mkdirs()) {
            throw ListDownloadException(ListProblem.Kind.NO_FOLDER, directory)
        }
        val part = try {
            File.createTempFile("download-", ".part", directory)
        } catch (e: IOException) {
            throw ListDownloadException(ListProblem.Kind.STORAGE, e.message, cause = e)
        }
        try {
            fetch(address, part)
            if (looksLikeHtml(part)) {
                throw ListDownloadException(ListProblem.Kind.WEB_PAGE, address.host)
            }
            val load = try {
                check.check(part, kind)
            } catch (e: IllegalArgumentException) {
                throw ListDownloadException(ListProblem.Kind.NOT_A_LIST, address.host, e.message, cause = e)
            } catch (e: RuntimeException) { // the core failed to read it (a panic, an unreadable answer)
                throw ListDownloadException(ListProblem.Kind.UNREADABLE, address.host, e.message, cause = e)
            }
            if (load.entries == 0L) {
                throw if (load.rejected > 0) {
                    ListDownloadException(ListProblem.Kind.EMPTY_REJECTED, address.host, load.rejected, load.firstRejected.firstOrNull() ?: "?")
                } else {
                    ListDownloadException(ListProblem.Kind.EMPTY, address.host)
                }
            }
            val target = fileFor(url)
            if (!part.renameTo(target)) throw ListDownloadException(ListProblem.Kind.NO_PLACE, target)
            return load.copy(name = target.name, origin = target.path)
        } finally {
            part.delete()
        }
    }

    private fun parse(url: String): URL {
        val address = try {
            URL(url.trim())
        } catch (e: MalformedURLException) {
            throw ListDownloadException(ListProblem.Kind.NOT_AN_ADDRESS, url, cause = e)
        }
        if (address.protocol == "http") throw ListDownloadException(ListProblem.Kind.CLEARTEXT, url)
        if (address.protocol != "https") throw ListDownloadException(ListProblem.Kind.NOT_WEB, url)
        if (address.host.isNullOrEmpty()) throw ListDownloadException(ListProblem.Kind.NO_SERVER, url)
        return address
    }

    private fun fetch(address: URL, into: File) {
        var host = address.host
        var connection: HttpURLConnection? = null
        try {
            connection = open(address) { host = it }
            val status = connection.responseCode
            if (status != HttpURLConnection.HTTP_OK) {
                throw ListDownloadException(ListProblem.Kind.HTTP, host, "$status${connection.responseMessage?.let { " $it" } ?: ""}")
            }
            if (connection.contentType?.trim()?.lowercase()?.startsWith("text/html") == true) {
                throw ListDownloadException(ListProblem.Kind.WEB_PAGE_HTML, host)
            }
            if (connection.contentLengthLong > maxBytes) throw tooLarge()
            var total = 0L
            connection.inputStream.use { input ->
                into.outputStream().use { output ->
                    val buffer = ByteArray(64 * 1024)
                    while (true) {
                        val read = input.read(buffer)
                        if (read < 0) break
                        total += read
                        if (total > maxBytes) throw tooLarge()
                        output.write(buffer, 0, read)
                    }
                }
            }
        } catch (e: ListDownloadException) {
            throw e
        } catch (e: UnknownHostException) {
            throw ListDownloadException(ListProblem.Kind.UNKNOWN_HOST, host, cause = e)
        } catch (e: ConnectException) {
            throw ListDownloadException(ListProblem.Kind.CONNECT, host, e.message, cause = e)
        } catch (e: SocketTimeoutException) {
            throw ListDownloadException(ListProblem.Kind.TIMEOUT, host, timeoutMs / 1000, cause = e)
        } catch (e: IOException) {
            throw ListDownloadException(ListProblem.Kind.DOWNLOAD, host, e.message, cause = e)
        } catch (e: SecurityException) { // e.g. the INTERNET permission taken away
            throw ListDownloadException(ListProblem.Kind.REFUSED, host, e.message, cause = e)
        } finally {
            connection?.disconnect()
        }
    }

    /**
     * Connects to [start], following redirects itself (the platform's own following
     * would not say where it went, and may cross to http://): each target must be
     * https://. Returns the first connection that is not a redirect; [at] hears each
     * host connected to, for the words of a failure.
     */
    private fun open(start: URL, at: (String) -> Unit): HttpURLConnection {
        var address = start
        repeat(MAX_REDIRECTS + 1) {
            at(address.host)
            val connection = address.openConnection() as HttpURLConnection
            connection.connectTimeout = timeoutMs
            connection.readTimeout = timeoutMs
            connection.instanceFollowRedirects = false
            connection.useCaches = false
            connection.setRequestProperty("User-Agent", "Hush")
            if (tls != null && connection is HttpsURLConnection) connection.sslSocketFactory = tls
            val status = try {
                connection.responseCode
            } catch (e: IOException) {
                connection.disconnect()
                throw e
            }
            if (status !in REDIRECT_STATUSES) return connection
            val location = connection.getHeaderField("Location")
            connection.disconnect()
            if (location.isNullOrBlank()) {
                throw ListDownloadException(ListProblem.Kind.HTTP, address.host, "$status (no Location)")
            }
            val next = try {
                URL(address, location.trim())
            } catch (e: MalformedURLException) {
                throw ListDownloadException(ListProblem.Kind.HTTP, address.host, "$status (Location: ${location.take(80)})", cause = e)
            }
            if (next.protocol != "https" || next.host.isNullOrEmpty()) {
                throw ListDownloadException(ListProblem.Kind.REDIRECT_CLEARTEXT, address.host, next)
            }
            address = next
        }
        throw ListDownloadException(ListProblem.Kind.REDIRECTS, start.host, MAX_REDIRECTS)
    }

    /** A page served as text/plain (or with no type) is still a page: its first non-blank bytes tell. */
    private fun looksLikeHtml(file: File): Boolean {
        val head = ByteArray(512)
        val read = file.inputStream().use { it.read(head) }
        if (read <= 0) return false
        val text = String(head, 0, read, Charsets.ISO_8859_1).trimStart { it.isWhitespace() || it in BYTE_ORDER_MARK }.lowercase()
        return text.startsWith("<!doctype") || text.startsWith("<html") || text.startsWith("<?xml") || text.startsWith("<head")
    }

    /** The cap travels as a number of bytes: the screen says it in the owner's units ([ListProblem.text]). */
    private fun tooLarge() = ListDownloadException(ListProblem.Kind.TOO_LARGE, maxBytes)

    companion object {
        /**
         * The most a list may hold: the core's own cap (hush_session::api::MAX_LIST_BYTES),
         * which refuses a larger file at load; ListDownloaderTest checks the two agree.
         */
        const val MAX_BYTES: Long = 64L shl 20
        /** Redirects followed before giving up (browsers allow about 20; lists need few). */
        const val MAX_REDIRECTS = 5
        private val REDIRECT_STATUSES = setOf(301, 302, 303, 307, 308)
        const val TIMEOUT_MS = 15_000
        /** A UTF-8 byte-order mark, as its bytes read one a character, and as a character. */
        private const val BYTE_ORDER_MARK = "\u00EF\u00BB\u00BF\uFEFF"
    }
}
