package org.hush.android.lists

import com.sun.net.httpserver.HttpExchange
import com.sun.net.httpserver.HttpServer
import com.sun.net.httpserver.HttpsConfigurator
import com.sun.net.httpserver.HttpsServer
import java.io.IOException
import org.hush.android.core.expect
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test
import java.io.File
import java.net.InetSocketAddress
import java.net.ServerSocket
import java.nio.file.Files
import java.util.concurrent.atomic.AtomicInteger

/**
 * Downloads from a real HTTPS server on loopback (in jvm.sh's namespace when root),
 * with a certificate made for the run that only this test's downloader trusts, and
 * checked by the real core: what a user-added list URL can do wrong. A plain HTTP
 * server beside it serves a good list, which must never be fetched.
 */
class ListDownloaderTest {
    private val dir = Files.createTempDirectory("hush-lists").toFile()
    private val server = HttpsServer.create(InetSocketAddress("127.0.0.1", 0), 0)
    private val base = "https://127.0.0.1:${server.address.port}"
    private val clear = HttpServer.create(InetSocketAddress("127.0.0.1", 0), 0)
    private val clearBase = "http://127.0.0.1:${clear.address.port}"
    private val clearRequests = AtomicInteger()
    private val loops = AtomicInteger()
    private val downloader = ListDownloader(dir, maxBytes = 4096, timeoutMs = 2_000, tls = TestTls.client.socketFactory)
    @Volatile private var changing = "0.0.0.0 app.adjust.com\n0.0.0.0 graph.facebook.com\n"

    init {
        server.httpsConfigurator = HttpsConfigurator(TestTls.server)
        clear.createContext("/") { exchange ->
            clearRequests.incrementAndGet()
            respond(exchange, 200, "0.0.0.0 app.adjust.com\n".toByteArray())
        }
        clear.start()
        redirect("/to-clear.txt", "$clearBase/trackers.txt")
        redirect("/moved.txt", "/trackers.txt")
        redirect("/moved-far.txt", "$base/moved.txt", status = 308)
        redirect("/no-location.txt", null)
        server.createContext("/loop.txt") { exchange ->
            loops.incrementAndGet()
            exchange.responseHeaders.add("Location", "/loop.txt")
            respond(exchange, 302, ByteArray(0))
        }
        serve("/trackers.txt", 200, "# a hosts file\n0.0.0.0 app.adjust.com\n0.0.0.0 graph.facebook.com\n0.0.0.0 bad..name\n")
        server.createContext("/changing.txt") { exchange -> respond(exchange, 200, changing.toByteArray()) }
        serve("/page.html", 200, "<!DOCTYPE html>\n<html><body>Moved to a new site</body></html>\n")
        serve("/gone.txt", 404, "not found")
        serve("/broken.txt", 500, "internal error")
        serve("/comments.txt", 200, "# this list is empty for now\n# come back later\n")
        server.createContext("/typed.txt") { exchange ->
            exchange.responseHeaders.add("Content-Type", "text/html; charset=utf-8")
            respond(exchange, 200, "0.0.0.0 app.adjust.com\n".toByteArray())
        }
        serve("/plain-page.txt", 200, "\n  \uFEFF<!doctype HTML>\n<title>Sign in</title>\n")
        serve("/huge.txt", 200, "0.0.0.0 a.example\n".repeat(1000))
        // Chunked: no length given.
        server.createContext("/huge-unannounced.txt") { exchange ->
            respond(exchange, 200, "0.0.0.0 b.example\n".repeat(1000).toByteArray(), announceLength = false)
        }
        server.start()
    }

    private fun serve(path: String, status: Int, body: String) {
        server.createContext(path) { exchange -> respond(exchange, status, body.toByteArray()) }
    }

    private fun redirect(path: String, to: String?, status: Int = 302) {
        server.createContext(path) { exchange ->
            if (to != null) exchange.responseHeaders.add("Location", to)
            respond(exchange, status, ByteArray(0))
        }
    }

    /**
     * Sends [bytes]. The downloader hangs up on a list too large, so writing may fail:
     * that is expected, and caught here without Kotlin's `use`, which on an exception
     * asks android.os.Build (on this classpath, outside Robolectric's sandbox) for the
     * SDK level; that class's failed static init would then break every later
     * Robolectric test in this JVM.
     */
    private fun respond(exchange: HttpExchange, status: Int, bytes: ByteArray, announceLength: Boolean = true) {
        val body = exchange.responseBody
        try {
            exchange.sendResponseHeaders(status, if (announceLength) bytes.size.toLong() else 0L)
            body.write(bytes)
        } catch (e: IOException) {
            // the client stopped reading
        } finally {
            try {
                body.close()
            } catch (e: IOException) {
                // the client is gone
            }
        }
    }

    @After
    fun stop() {
        server.stop(0)
        clear.stop(0)
        dir.deleteRecursively()
    }

    @Test
    fun aListIsCheckedByTheCoreAndPutInPlace() {
        val url = "$base/trackers.txt"
        val load = downloader.download(url)
        assertEquals(2L, load.entries)
        assertEquals(1L, load.rejected)
        assertEquals(listOf("line 4: not a valid domain name"), load.firstRejected)
        val file = downloader.fileFor(url)
        assertEquals(file.path, load.origin)
        assertTrue(file.readText().contains("graph.facebook.com"))
        assertEquals("no partial file is left behind", listOf(file.name), dir.list()!!.toList())
    }

    @Test
    fun everyFailureSaysWhatWentWrongAndKeepsTheListInUse() {
        val url = "$base/trackers.txt"
        downloader.download(url)
        val inUse = downloader.fileFor(url).readText()
        val closedPort = ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1")).use { it.localPort }
        val cases = listOf(
            "$base/gone.txt" to "answered HTTP 404",
            "$base/page.html" to "127.0.0.1 sent a web page, not a list",
            "$base/typed.txt" to "127.0.0.1 sent a web page (text/html), not a list",
            "$base/plain-page.txt" to "127.0.0.1 sent a web page, not a list",
            "$base/broken.txt" to "answered HTTP 500",
            "$base/comments.txt" to "the list from 127.0.0.1 holds no entries",
            "$base/huge.txt" to "larger than 4 KB",
            "$base/huge-unannounced.txt" to "larger than 4 KB",
            "https://127.0.0.1:$closedPort/list.txt" to "cannot connect to 127.0.0.1",
            "$base/no-location.txt" to "answered HTTP 302 (no Location)",
            "htp:/nowhere" to "is not a web address",
            "ftp://lists.example/list.txt" to "is not an https:// address",
            "not a url at all" to "is not a web address",
        )
        for ((bad, says) in cases) {
            val e = expect<ListDownloadException> { downloader.download(bad) }
            // In the shipped English words (strings.xml), as the Lists screen shows it.
            val shown = e.problem.text(org.hush.android.ui.XmlStrings)
            assertTrue("$bad: $shown", shown.contains(says))
        }
        assertEquals(inUse, downloader.fileFor(url).readText())
        assertEquals(listOf(downloader.fileFor(url).name), dir.list()!!.toList())
    }

    @Test
    fun anUpdateReplacesTheOldCopyWholeAndABrokenOneLeavesItAlone() {
        val url = "$base/changing.txt"
        assertEquals(2L, downloader.download(url).entries)
        changing = "0.0.0.0 app.adjust.com\n"
        assertEquals(1L, downloader.download(url).entries)
        assertEquals("0.0.0.0 app.adjust.com\n", downloader.fileFor(url).readText())
        changing = "<html>maintenance</html>\n"
        expect<ListDownloadException> { downloader.download(url) }
        assertEquals("0.0.0.0 app.adjust.com\n", downloader.fileFor(url).readText())
        assertFalse(downloader.fileFor(url) == downloader.fileFor("$base/trackers.txt"))
    }

    @Test
    fun anHttpAddressIsRefusedBeforeAnyConnection() {
        for (url in listOf("$clearBase/trackers.txt", "HTTP://127.0.0.1:${clear.address.port}/trackers.txt")) {
            val e = expect<ListDownloadException> { downloader.download(url) }
            assertEquals(ListProblem.Kind.CLEARTEXT, e.problem.kind)
            val shown = e.problem.text(org.hush.android.ui.XmlStrings)
            assertTrue(shown, shown.contains("is an http:// address: lists are only downloaded over https://"))
        }
        assertEquals("the http server was never asked", 0, clearRequests.get())
        assertEquals(emptyList<String>(), dir.list()!!.toList())
    }

    @Test
    fun aRedirectToHttpIsRefusedAndTheListInUseStays() {
        val url = "$base/to-clear.txt"
        val e = expect<ListDownloadException> { downloader.download(url) }
        assertEquals(ListProblem.Kind.REDIRECT_CLEARTEXT, e.problem.kind)
        val shown = e.problem.text(org.hush.android.ui.XmlStrings)
        assertTrue(shown, shown.contains("127.0.0.1 redirected to $clearBase/trackers.txt, which is not https://"))
        assertEquals("the http server was never asked", 0, clearRequests.get())
        assertFalse(downloader.fileFor(url).exists())
    }

    @Test
    fun httpsRedirectsAreFollowedAndEndlessOnesStop() {
        for (path in listOf("/moved.txt", "/moved-far.txt")) {
            val load = downloader.download("$base$path")
            assertEquals(path, 2L, load.entries)
        }
        val e = expect<ListDownloadException> { downloader.download("$base/loop.txt") }
        assertEquals(ListProblem.Kind.REDIRECTS, e.problem.kind)
        assertTrue(e.problem.text(org.hush.android.ui.XmlStrings).contains("redirected more than 5 times"))
        assertEquals(ListDownloader.MAX_REDIRECTS + 1, loops.get())
    }

    @Test
    fun theDefaultCapIsTheCoresOwn() {
        // One byte over the cap: the core refuses the file at load, as the downloader
        // refuses the download; at the cap, both take it.
        val file = File(dir, "at-cap.txt")
        val head = "0.0.0.0 a.example\n#".toByteArray()
        file.outputStream().buffered().use { out ->
            out.write(head)
            val filler = ByteArray(1 shl 16) { 'x'.code.toByte() }
            var left = ListDownloader.MAX_BYTES - head.size - 1
            while (left > 0) {
                val n = minOf(left, filler.size.toLong()).toInt()
                out.write(filler, 0, n)
                left -= n
            }
            out.write('\n'.code)
        }
        assertEquals(ListDownloader.MAX_BYTES, file.length())
        assertEquals(1L, NativeListCheck.check(file, "block").entries)
        file.appendBytes(byteArrayOf('#'.code.toByte()))
        val e = expect<IllegalArgumentException> { NativeListCheck.check(file, "block") }
        assertTrue(e.message, e.message.orEmpty().contains("larger than ${ListDownloader.MAX_BYTES shr 20} MB"))
        file.delete()
    }
}
