package org.hush.android.core

import org.hush.android.data.CachedEvidence
import org.hush.android.data.HostOwner
import org.hush.android.data.ReportOutcome
import org.hush.android.data.StoredApp
import org.json.JSONArray
import org.json.JSONObject
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test
import java.io.File
import java.nio.file.Files

/**
 * The evidence report and the attribution through the real host JNI library: the same
 * report `hush report` writes (hush-report), built from a store the JNI wrote to.
 */
class NativeEvidenceTest {
    private val dir = Files.createTempDirectory("hush-evidence").toFile()
    private val database = File(dir, "hush.db").path
    private val evidence = NativeEvidence(database)

    @After
    fun cleanUp() {
        dir.deleteRecursively()
    }

    private fun event(timeMs: Long, uid: Int, host: String, action: String, list: String? = null) = JSONObject()
        .put("timeMs", timeMs).put("uid", uid).put("host", host).put("action", action).put("list", list ?: JSONObject.NULL)

    /** The app's events: 3 attempts at a Sentry host (2 blocked), 1 at a shop; another app's 1 at a secret host. */
    private fun record() {
        val t = 1_795_876_200_000L
        val events = listOf(
            event(t, APP, "o42.ingest.sentry.io", "blocked", "hush-default"),
            event(t + 90_000, APP, "o42.ingest.sentry.io", "blocked", "hush-default"),
            event(t + 200_000, APP, "o42.ingest.sentry.io", "allowed"),
            event(t + 86_400_000, APP, "shop.example", "allowed"),
            event(t + 300_000, OTHER, "secret-other-app.example", "allowed"),
        )
        assertEquals(events.size.toLong(), HostStore.recordEvents(database, JSONArray(events).toString()))
        NativeStore(database).setApps(listOf(StoredApp(APP, "Shop <b>app</b>", listOf("com.example.shop"), false)))
    }

    /** `<tr class="host" data-host=.. data-allowed=.. data-blocked=.. data-failed=..>` rows, by host. */
    private fun hostRows(html: String): Map<String, List<Int>> =
        Regex("<tr class=\"host\" data-host=\"([^\"]*)\" data-allowed=\"(\\d+)\" data-blocked=\"(\\d+)\" data-failed=\"(\\d+)\">")
            .findAll(html).associate { m -> m.groupValues[1] to m.groupValues.drop(2).map { it.toInt() } }

    @Test
    fun theReportHoldsTheAppsHostsCountsOwnersAndVersionAndNothingFromOutside() {
        record()
        val out = File(dir, "reports/report.html").apply { parentFile.mkdirs() }
        val outcome = evidence.writeReport(APP, out, "2.4.1 (241)")
        assertTrue(outcome.toString(), outcome is ReportOutcome.Written)
        outcome as ReportOutcome.Written
        assertEquals(2, outcome.hosts)
        assertEquals(4L, outcome.attempts)
        assertTrue(outcome.sha256, Regex("[0-9a-f]{64}").matches(outcome.sha256))

        val html = out.readText()
        assertEquals(mapOf("o42.ingest.sentry.io" to listOf(1, 2, 0), "shop.example" to listOf(1, 0, 0)), hostRows(html))
        assertFalse("another app's host", html.contains("secret-other-app"))
        assertTrue(html.contains("<td id=\"version\">2.4.1 (241)</td>"))
        assertTrue("the label, escaped", html.contains("Shop &lt;b&gt;app&lt;/b&gt;"))
        assertTrue(html.contains("<code>com.example.shop</code>"))
        assertTrue("the owner of the Sentry host", Regex("data-host=\"o42.ingest.sentry.io\"[^\\n]*<td>Sentry, US</td><td>crash reporting</td>").containsMatchIn(html))
        assertTrue(html.contains(outcome.sha256))
        // Self-contained: no script, nothing fetched, and a policy that forbids both.
        for (reference in listOf("<script", "src=", "href=", "<link", "<img", "<iframe", "<object", "<embed", "@import", "url(")) {
            assertFalse("the report holds $reference", html.contains(reference, ignoreCase = true))
        }
        assertTrue(html.contains("content=\"default-src 'none'; style-src 'unsafe-inline'\""))
        assertEquals("nothing left beside the report", listOf("report.html"), out.parentFile.list()!!.toList())
    }

    @Test
    fun anAppWithoutEventsGetsNoReportAndNoFile() {
        record()
        val out = File(dir, "none.html")
        assertEquals(ReportOutcome.NoEvents, evidence.writeReport(4242, out, null))
        assertFalse(out.exists())
    }

    @Test
    fun aReportThatCannotBeWrittenThrowsNamingThePathAndLeavesNoFile() {
        record()
        // The database's own files (-wal, -shm) come and go with its connections.
        fun left() = dir.list()!!.filterNot { it.startsWith("hush.db") }.toSet()
        val before = left()
        for (out in listOf(File(dir, "no-such-directory/report.html"), File("/proc/hush-report.html"), dir)) {
            val e = expect<IllegalStateException> { evidence.writeReport(APP, out, "1") }
            assertTrue(e.message, e.message.orEmpty().contains(out.path))
            if (out != dir) assertFalse(out.path, out.exists())
        }
        assertEquals(before, left())
        // A missing database is not created by a report.
        val missing = File(dir, "missing.db")
        expect<IllegalStateException> { NativeEvidence(missing.path).writeReport(APP, File(dir, "r.html"), null) }
        assertFalse(missing.exists())
        expect<IllegalArgumentException> { evidence.writeReport(-1, File(dir, "r.html"), null) }
    }

    @Test
    fun ownersComeFromTheCoresTableByParentDomainInOneCall() {
        val owners = evidence.owners(listOf("o42.ingest.sentry.io", "shop.example", "NOTIFY.bugsnag.com.", "moc.\u202Eevil.example", ""))
        assertEquals(
            mapOf(
                "o42.ingest.sentry.io" to HostOwner("Sentry", null, "US", "crash reporting"),
                "NOTIFY.bugsnag.com." to HostOwner("BugSnag", "SmartBear", "US", "crash reporting"),
            ),
            owners,
        )
        assertEquals(emptyMap<String, HostOwner>(), evidence.owners(emptyList()))
        // The core takes at most 1,000 hosts a call; the cache the app uses asks in batches.
        val many = (0 until 2500).map { "h$it.ingest.sentry.io" }
        expect<IllegalArgumentException> { evidence.owners(many) }
        assertEquals(2500, CachedEvidence(evidence).owners(many).size)
    }

    private companion object {
        const val APP = 10_123
        const val OTHER = 10_200
    }
}
