package org.hush.android.ui

import android.content.Intent
import android.net.Uri
import org.hush.android.app.ReportProvider
import org.hush.android.data.Action
import org.hush.android.data.ActivityEvent
import org.hush.android.data.HostOwner
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
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config
import java.io.File

/**
 * Issue 16 on the screens: who is behind a host (company, group, category) on Activity,
 * App detail and Home, looked up once per page of rows; and App detail's "Share report",
 * which writes the report into the cache's reports/ directory and hands it to the share
 * sheet as a content:// URI the receiver may only read, or says why it could not.
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35], qualifiers = "w360dp-h780dp-xhdpi")
class EvidenceScreensTest {
    @After
    fun reset() { HushUi.deps = null }

    private fun event(dt: Long, uid: Int, host: String, action: Action = Action.BLOCKED) =
        ActivityEvent(SampleData.NOW + dt, uid, host, "198.18.0.9", 53, "dns", action, "list:easyprivacy")

    private fun detail(world: SampleData.World, uid: Int?, label: String): Pair<MainActivity, AppDetailScreen> {
        val activity = UiTest.launch(world, MainActivity.Tab.APPS).get()
        activity.openAppDetail(uid, label)
        UiTest.idle()
        return activity to activity.detail!!
    }

    private fun reportsDir(activity: MainActivity) = File(activity.cacheDir, AppDetailScreen.REPORTS_DIR)

    @Test
    fun activityRowsSayWhoIsBehindTheirHostAndWhatItIsFor() {
        val world = SampleData.World()
        val screen = UiTest.launch(world, MainActivity.Tab.ACTIVITY).get().screen(MainActivity.Tab.ACTIVITY) as ActivityScreen
        // One lookup for the whole first page, of each host once.
        assertEquals(1, world.evidence.batches.size)
        assertEquals(screen.adapter.events.map { it.host }.toSet(), world.evidence.batches[0])

        world.store.log(event(300, SampleData.SIGNAL, "chat.signal.org", Action.ALLOWED))
        world.store.log(event(400, 10109, "ssl.app-measurement.com"))
        world.store.log(event(500, SampleData.MI_BROWSER, "data.mistat.xiaomi.com"))
        screen.presenter.refreshHead()
        UiTest.idle()
        fun holder(i: Int) = screen.adapter.getView(i, null, screen.list).tag as ActivityScreen.Holder
        fun shown(v: android.widget.TextView) = if (v.visibility == android.view.View.VISIBLE) v.text.toString() else null
        assertEquals("data.mistat.xiaomi.com", holder(0).host.text.toString())
        assertEquals("Xiaomi · phone vendor telemetry", shown(holder(0).owner))
        // A parent domain in the table names its subdomains; the group is shown beside the company.
        assertEquals("ssl.app-measurement.com", holder(1).host.text.toString())
        assertEquals("Google (Alphabet) · analytics", shown(holder(1).owner))
        // A host the table does not name says nothing about a company.
        assertEquals("chat.signal.org", holder(2).host.text.toString())
        assertNull(shown(holder(2).owner))
        // The screen reader hears it too.
        val description = holder(0).row.contentDescription.toString()
        assertTrue(description, description.endsWith("Behind the host: Xiaomi · phone vendor telemetry."))
        assertFalse(holder(2).row.contentDescription.toString().contains("Behind the host"))
    }

    @Test
    fun appDetailRowsSayWhoIsBehindEachHost() {
        val world = SampleData.World()
        val (_, screen) = detail(world, SampleData.MI_BROWSER, "Mi Browser")
        val hosts = screen.presenter.state.hosts.map { it.host }
        assertEquals(setOf("tracking.miui.com", "data.mistat.xiaomi.com", "api.sec.miui.com"), hosts.toSet())
        fun row(host: String) = UiTest.texts(screen.adapter.getView(hosts.indexOf(host), null, screen.hostList))
        assertEquals(listOf("tracking.miui.com", "Xiaomi · phone vendor telemetry"), row("tracking.miui.com").take(2))
        assertEquals("Xiaomi · phone vendor telemetry", row("data.mistat.xiaomi.com")[1])
        assertTrue(row("api.sec.miui.com").toString(), row("api.sec.miui.com")[1].startsWith("Last: "))
        assertTrue(world.evidence.batches.any { it == hosts.toSet() })
    }

    @Test
    fun homeTopHostsSayWhoIsBehindThem() {
        val world = SampleData.World()
        val home = UiTest.launch(world).get().screen(MainActivity.Tab.HOME) as HomeScreen
        val top = home.presenter.state.topHosts.map { it.host }
        assertTrue(top.toString(), "data.mistat.xiaomi.com" in top)
        val texts = UiTest.texts(home.topHostsList)
        val i = texts.indexOf("data.mistat.xiaomi.com")
        assertTrue(texts[i + 1], texts[i + 1].startsWith("Xiaomi · phone vendor telemetry · "))
        assertTrue(texts[i + 1], texts[i + 1].endsWith("apps") || texts[i + 1].endsWith("app"))
        // graph.facebook.com is in no table: its caption is the apps alone.
        val j = texts.indexOf("graph.facebook.com")
        assertTrue(texts[j + 1], Regex("\\d+ apps?").matches(texts[j + 1]))
    }

    @Test
    fun aHostileCompanyNameIsShownEscaped() {
        val hostile = HostOwner("Evil\u202ECorp\nLtd", "\u2066Group", null, "weird\u200Bcategory")
        val world = SampleData.World(evidence = FakeEvidence(mapOf("tracking.miui.com" to hostile)))
        val (_, screen) = detail(world, SampleData.MI_BROWSER, "Mi Browser")
        val i = screen.presenter.state.hosts.indexOfFirst { it.host == "tracking.miui.com" }
        val row = UiTest.texts(screen.adapter.getView(i, null, screen.hostList))
        assertEquals("Evil[U+202E]Corp[U+000A]Ltd ([U+2066]Group) · weird[U+200B]category", row[1])
    }

    @Test
    fun attributionThatFailsLeavesTheRowsShown() {
        val world = SampleData.World(evidence = object : FakeEvidence() {
            override fun owners(hosts: Collection<String>): Map<String, HostOwner> = throw IllegalStateException("attribution table, line 3: bad")
        })
        val (_, screen) = detail(world, SampleData.MI_BROWSER, "Mi Browser")
        assertNull(screen.presenter.state.error)
        assertEquals(3, screen.presenter.state.hosts.size)
        assertTrue(screen.presenter.state.owners.isEmpty())
    }

    @Test
    fun shareReportWritesTheReportAndOffersItAsAReadOnlyContentUri() {
        val world = SampleData.World()
        world.apps.versions["com.mi.globalbrowser"] = "14.2.1 (142100)"
        val (activity, screen) = detail(world, SampleData.MI_BROWSER, "Mi Browser")
        UiTest.click(screen.view, "Share report")
        UiTest.idle()

        val (uid, file, version) = world.evidence.reports.single()
        assertEquals(SampleData.MI_BROWSER, uid)
        assertEquals("14.2.1 (142100)", version)
        assertEquals(reportsDir(activity).canonicalFile, file.parentFile.canonicalFile)
        assertTrue(file.name, file.name.startsWith("hush-report-com.mi.globalbrowser-") && file.name.endsWith(".html"))
        assertTrue(file.isFile)

        val chooser = shadowOf(activity).nextStartedActivity
        assertNotNull("the share sheet opened", chooser)
        assertEquals(Intent.ACTION_CHOOSER, chooser.action)
        @Suppress("DEPRECATION")
        val send = chooser.getParcelableExtra<Intent>(Intent.EXTRA_INTENT)!!
        assertEquals(Intent.ACTION_SEND, send.action)
        assertEquals("text/html", send.type)
        @Suppress("DEPRECATION")
        val uri = send.getParcelableExtra<Uri>(Intent.EXTRA_STREAM)!!
        assertEquals("content", uri.scheme)
        assertEquals("org.hush.android.reports", uri.authority)
        assertEquals(listOf("reports", file.name), uri.pathSegments)
        assertTrue("read permission granted", send.flags and Intent.FLAG_GRANT_READ_URI_PERMISSION != 0)
        assertFalse("never write permission", send.flags and Intent.FLAG_GRANT_WRITE_URI_PERMISSION != 0)
        assertEquals(uri, send.clipData!!.getItemAt(0).uri)
        assertNull(screen.presenter.state.reportMessage)

        // What the receiving app reads through the provider is the file written.
        Robolectric.setupContentProvider(ReportProvider::class.java, uri.authority)
        val read = activity.contentResolver.openInputStream(uri)!!.use { it.readBytes() }
        assertEquals(file.readText(), String(read))
        assertEquals("text/html", activity.contentResolver.getType(uri))
    }

    @Test
    fun theProviderServesNothingOutsideTheReportsDirectory() {
        val world = SampleData.World()
        val (activity, _) = detail(world, SampleData.MI_BROWSER, "Mi Browser")
        Robolectric.setupContentProvider(ReportProvider::class.java, ReportProvider.authority(activity))
        File(activity.cacheDir, "secret.html").writeText("private")
        reportsDir(activity).mkdirs()
        val base = "content://${ReportProvider.authority(activity)}"
        for (uri in listOf("$base/reports/..%2Fsecret.html", "$base/reports/../secret.html", "$base/cache/secret.html", "$base/reports/none.html")) {
            assertNull(uri, ReportProvider.fileFor(activity, Uri.parse(uri))?.takeIf { it.isFile })
            try {
                activity.contentResolver.openInputStream(Uri.parse(uri))!!.close()
                throw AssertionError("$uri was served")
            } catch (e: java.io.FileNotFoundException) {
                // refused
            }
        }
        try {
            ReportProvider.uriFor(activity, File(activity.cacheDir, "secret.html"))
            throw AssertionError("a file outside reports/ got a URI")
        } catch (e: IllegalArgumentException) {
            assertTrue(e.message!!, e.message!!.contains("report_paths.xml"))
        }
    }

    @Test
    fun anAppWithNoActivitySaysSoAndSharesNothing() {
        val world = SampleData.World()
        world.evidence.noEvents = true
        val (activity, screen) = detail(world, SampleData.MI_BROWSER, "Mi Browser")
        UiTest.click(screen.view, "Share report")
        UiTest.idle()
        assertEquals(1, world.evidence.reports.size)
        UiTest.assertShows(screen.view, "Hush has no activity of this app on record: there is nothing to report yet.")
        assertNull(shadowOf(activity).nextStartedActivity)
        assertEquals(emptyList<String>(), reportsDir(activity).list()?.toList() ?: emptyList<String>())
    }

    @Test
    fun aReportThatCannotBeWrittenSaysWhyAndSharesNothing() {
        val world = SampleData.World()
        world.evidence.reportFailure = "cannot write the report to /data/x.html: No space left on device (os error 28)"
        val (activity, screen) = detail(world, SampleData.MI_BROWSER, "Mi Browser")
        UiTest.click(screen.view, "Share report")
        UiTest.idle()
        UiTest.assertShows(screen.view, "The report could not be made: cannot write the report to /data/x.html: No space left on device")
        assertNull(shadowOf(activity).nextStartedActivity)
        assertEquals(emptyList<String>(), reportsDir(activity).list()?.toList() ?: emptyList<String>())
        // The button works again: a second try goes to the core again.
        world.evidence.reportFailure = null
        UiTest.click(screen.view, "Share report")
        UiTest.idle()
        assertEquals(2, world.evidence.reports.size)
        assertNotNull(shadowOf(activity).nextStartedActivity)
        UiTest.assertNotShown(screen.view, "The report could not be made")
    }

    @Test
    fun theUnknownOwnerHasNoReportToShare() {
        val world = SampleData.World()
        val (_, screen) = detail(world, null, "Unknown")
        UiTest.assertNotShown(screen.view, "Share report")
        assertEquals(android.view.View.GONE, screen.reportCard.visibility)
    }
}
