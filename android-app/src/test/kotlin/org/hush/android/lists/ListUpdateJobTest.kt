package org.hush.android.lists

import android.app.job.JobInfo
import android.app.job.JobParameters
import android.app.job.JobScheduler
import android.content.Context
import com.sun.net.httpserver.HttpExchange
import com.sun.net.httpserver.HttpsConfigurator
import com.sun.net.httpserver.HttpsServer
import org.hush.android.core.ListLoad
import org.hush.android.ui.SampleData
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config
import java.io.File
import java.io.IOException
import java.net.InetSocketAddress
import java.nio.file.Files

/**
 * The daily update: scheduled with its constraints (JobScheduler's shadow), run by the
 * JobService against a real HTTPS server on loopback (TestTls), and what each failure leaves: the
 * copy in use, and the error on the subscription for the Lists screen.
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35])
class ListUpdateJobTest {
    private val context: Context = RuntimeEnvironment.getApplication()
    private val scheduler = context.getSystemService(JobScheduler::class.java)
    private val subscriptions = ListSubscriptions(context)
    private val dir: File = Files.createTempDirectory("hush-job-lists").toFile()
    private val server = HttpsServer.create(InetSocketAddress("127.0.0.1", 0), 0)
    private val base = "https://127.0.0.1:${server.address.port}"
    @Volatile private var body = "0.0.0.0 app.adjust.com\n0.0.0.0 graph.facebook.com\n"
    @Volatile private var status = 200
    @Volatile private var type: String? = "text/plain"
    private var reloads = 0
    private var now = SampleData.NOW

    /** As the core counts a hosts file: lines that name a host; none, and junk, is not a list. */
    private val check = object : ListCheck {
        override fun check(file: File, kind: String): ListLoad {
            val lines = file.readLines().map { it.trim() }.filter { it.isNotEmpty() && !it.startsWith("#") }
            val entries = lines.count { Regex("""0\.0\.0\.0 [a-z0-9.-]+""").matches(it) }.toLong()
            val rejected = lines.size - entries
            if (entries == 0L && rejected > 0) throw IllegalArgumentException("none of its ${lines.size} lines names a host")
            return ListLoad(file.name, file.path, entries, 0, rejected, emptyList())
        }
    }
    private val downloader = ListDownloader(dir, check, maxBytes = 1 shl 20, timeoutMs = 2_000, tls = TestTls.client.socketFactory)
    private val updater = ListUpdater(subscriptions, downloader, reload = { reloads++ }, clock = { now })

    init {
        server.httpsConfigurator = HttpsConfigurator(TestTls.server)
        server.createContext("/list.txt") { exchange -> respond(exchange) }
        server.start()
    }

    /** Without Kotlin's `use`: see ListDownloaderTest.respond. */
    private fun respond(exchange: HttpExchange) {
        val bytes = body.toByteArray()
        type?.let { exchange.responseHeaders.add("Content-Type", it) }
        val out = exchange.responseBody
        try {
            exchange.sendResponseHeaders(status, bytes.size.toLong())
            out.write(bytes)
        } catch (e: IOException) {
            // the client stopped reading
        } finally {
            try { out.close() } catch (e: IOException) { /* gone */ }
        }
    }

    @After
    fun stop() {
        server.stop(0)
        dir.deleteRecursively()
        ListUpdateJobService.updaterFor = null
    }

    /** Lists on the loopback server, stored as ListSubscriptions stores them, each on or off. */
    private fun seed(vararg lists: Pair<String, Boolean>) {
        val array = org.json.JSONArray()
        for ((url, enabled) in lists) array.put(org.json.JSONObject().put("url", url).put("kind", "block").put("enabled", enabled))
        context.getSharedPreferences(ListSubscriptions.PREFS_NAME, Context.MODE_PRIVATE).edit()
            .putString("subscriptions", array.toString()).commit()
    }

    private fun pending(): JobInfo? = shadowOf(scheduler).getPendingJob(ListUpdateJobService.JOB_ID)

    @Test
    fun theJobIsDailyOnUnmeteredNetworksWhileChargingUnlessRelaxedAndOnlyWhileAListIsOn() {
        ListUpdateJobService.sync(context, subscriptions, anytime = false)
        assertNull("no list added: nothing to fetch, no job", pending())

        subscriptions.add("https://lists.example.org/a.txt")
        ListUpdateJobService.sync(context, subscriptions, anytime = false)
        val job = pending()!!
        assertTrue(job.isPeriodic)
        assertEquals(24 * 3_600_000L, job.intervalMillis)
        assertEquals(JobInfo.NETWORK_TYPE_UNMETERED, job.networkType)
        assertTrue(job.isRequireCharging)
        assertTrue(job.isPersisted)
        assertEquals(ListUpdateJobService::class.java.name, job.service.className)

        ListUpdateJobService.sync(context, subscriptions, anytime = true)
        val relaxed = pending()!!
        assertEquals(JobInfo.NETWORK_TYPE_ANY, relaxed.networkType)
        assertFalse(relaxed.isRequireCharging)

        subscriptions.setEnabled("https://lists.example.org/a.txt", false)
        ListUpdateJobService.sync(context, subscriptions, anytime = true)
        assertNull("every added list off: the job goes", pending())
    }

    @Test
    fun theManifestDeclaresTheJobServiceForJobSchedulerOnly() {
        val info = context.packageManager.getServiceInfo(
            android.content.ComponentName(context, ListUpdateJobService::class.java), 0,
        )
        assertEquals("android.permission.BIND_JOB_SERVICE", info.permission)
        assertFalse(info.exported)
    }

    /** JobParameters has no public constructor: its widest one, every argument empty. */
    private fun jobParameters(): JobParameters {
        val constructor = JobParameters::class.java.declaredConstructors.maxByOrNull { it.parameterCount }!!
        constructor.isAccessible = true
        val args = constructor.parameterTypes.map<Class<*>, Any?> {
            when (it) {
                Int::class.javaPrimitiveType -> 0
                Long::class.javaPrimitiveType -> 0L
                Boolean::class.javaPrimitiveType -> false
                else -> null
            }
        }
        return constructor.newInstance(*args.toTypedArray()) as JobParameters
    }

    /** Runs the job as JobScheduler would, and waits for its worker. */
    private fun runJob(): Boolean {
        ListUpdateJobService.updaterFor = { updater }
        val controller = Robolectric.buildService(ListUpdateJobService::class.java).create()
        controller.get().onBind(android.content.Intent()) // JobScheduler binds before it starts a job
        val started = controller.get().onStartJob(jobParameters())
        controller.get().worker?.join(10_000)
        return started
    }

    @Test
    fun aGoodDownloadIsPutInForceWithItsTimeAndTheSessionReloads() {
        val url = "$base/list.txt"
        seed(url to true, "$base/off.txt" to false)
        assertTrue(runJob())
        val sub = subscriptions.all().first()
        assertEquals(2L, sub.entries)
        assertEquals(SampleData.NOW, sub.updatedMs)
        assertNull(sub.lastError)
        assertEquals(1, reloads)
        assertTrue(downloader.fileFor(url).readText().contains("graph.facebook.com"))
        assertFalse("a disabled list is not fetched", downloader.fileFor("$base/off.txt").exists())
        assertEquals("no temporary file left", listOf(downloader.fileFor(url).name), dir.list()!!.toList())
    }

    @Test
    fun eachFailureKeepsTheCopyInUseAndRecordsWhy() {
        val url = "$base/list.txt"
        seed(url to true)
        runJob()
        val inUse = downloader.fileFor(url).readText()
        val cases = listOf(
            Triple(200, "text/html; charset=UTF-8", "<p>moved</p>") to "127.0.0.1 sent a web page (text/html), not a list",
            Triple(200, "text/plain", "\n\n   <!DOCTYPE html><html><body>Log in</body></html>") to "127.0.0.1 sent a web page, not a list",
            Triple(200, null, "<html><head></head></html>") to "127.0.0.1 sent a web page, not a list",
            Triple(503, "text/plain", "try later") to "127.0.0.1 answered HTTP 503",
            Triple(404, "text/html", "<html>not found</html>") to "127.0.0.1 answered HTTP 404",
            Triple(200, "text/plain", "# nothing listed this week\n") to "the list from 127.0.0.1 holds no entries",
            Triple(200, "text/plain", "this is not\na hosts file\n") to "127.0.0.1 did not send a list",
        )
        for ((served, says) in cases) {
            status = served.first; type = served.second; body = served.third
            now += 1000
            reloads = 0
            runJob()
            val sub = subscriptions.all().single()
            val shown = ListProblem.text(org.hush.android.ui.XmlStrings, sub.lastError.orEmpty())
            assertTrue("${served.third}: $shown", shown.contains(says))
            assertEquals(now, sub.failedMs)
            assertEquals("the good update's time stays", SampleData.NOW, sub.updatedMs)
            assertEquals(2L, sub.entries)
            assertEquals(inUse, downloader.fileFor(url).readText())
            assertEquals(listOf(downloader.fileFor(url).name), dir.list()!!.toList())
            assertEquals("nothing new: no reload", 0, reloads)
        }
        // The server mends: the error goes.
        status = 200; type = "text/plain"; body = "0.0.0.0 app.adjust.com\n"
        runJob()
        val mended = subscriptions.all().single()
        assertNull(mended.lastError)
        assertNull(mended.failedMs)
        assertEquals(1L, mended.entries)
    }

    @Test
    fun anHttpListStoredByAnOlderVersionIsRefusedAndSaysWhy() {
        val clear = "http://127.0.0.1:${server.address.port}/list.txt"
        seed(clear to true, "$base/list.txt" to true)
        runJob()
        val (old, good) = subscriptions.all()
        val shown = ListProblem.text(org.hush.android.ui.XmlStrings, old.lastError.orEmpty())
        assertTrue(shown, shown.contains("is an http:// address: lists are only downloaded over https://"))
        assertNull(old.entries)
        assertFalse(downloader.fileFor(clear).exists())
        assertEquals(2L, good.entries)
        assertEquals("the good list still reloads", 1, reloads)
    }

    @Test
    fun aJobWithNoUpdaterWiredDoesNothingAndSaysItIsDone() {
        ListUpdateJobService.updaterFor = null
        val service = Robolectric.buildService(ListUpdateJobService::class.java).create().get()
        assertFalse(service.onStartJob(jobParameters()))
        assertNotNull(service)
    }
}
