package org.hush.android.core

import org.hush.android.data.AppModeRule
import org.hush.android.data.DomainAction
import org.hush.android.data.DomainRule
import org.hush.android.data.EventQuery
import org.hush.android.data.ExportFormat
import org.hush.android.data.Retention
import org.hush.android.policy.AppMode
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test
import java.io.File
import java.io.FileOutputStream
import java.nio.file.Files

/** The store through JNI, with no session: what the UI does while the VPN is off. */
class NativeStoreTest {
    private val dir = Files.createTempDirectory("hush-store").toFile()
    private val store = NativeStore(File(dir, "hush.db").path)

    @After
    fun cleanUp() {
        dir.deleteRecursively()
    }

    @Test
    fun appModesAndDomainRulesRoundTrip() {
        store.setAppMode(10_123, Network.MOBILE, AppMode.BLOCK_ALL)
        store.setAppMode(10_200, Network.ANY, AppMode.ALLOW_ALL)
        assertEquals(
            listOf(AppModeRule(10_123, Network.MOBILE, AppMode.BLOCK_ALL), AppModeRule(10_200, Network.ANY, AppMode.ALLOW_ALL)),
            store.appModes(),
        )
        assertTrue(store.clearAppMode(10_123, Network.MOBILE))
        assertFalse(store.clearAppMode(10_123, Network.MOBILE))

        assertEquals("tracking.miui.com", store.addDomainRule(null, "Tracking.MIUI.com.", DomainAction.BLOCK))
        store.addDomainRule(10_123, "app.adjust.com", DomainAction.ALLOW)
        assertEquals(
            setOf(DomainRule(null, "tracking.miui.com", DomainAction.BLOCK), DomainRule(10_123, "app.adjust.com", DomainAction.ALLOW)),
            store.domainRules().toSet(),
        )
        assertTrue(store.removeDomainRule(null, "tracking.miui.com"))
        assertEquals(listOf(DomainRule(10_123, "app.adjust.com", DomainAction.ALLOW)), store.domainRules())
    }

    @Test
    fun badRulesThrowIllegalArgumentExceptionAndChangeNothing() {
        val badDomain = expect<IllegalArgumentException> { store.addDomainRule(null, "bad..name", DomainAction.BLOCK) }
        assertTrue(badDomain.message, badDomain.message.orEmpty().contains("bad..name"))
        val badUid = expect<IllegalArgumentException> { store.setAppMode(-5, Network.ANY, AppMode.BLOCK_ALL) }
        assertTrue(badUid.message, badUid.message.orEmpty().contains("not an app's uid"))
        val badLimit = expect<IllegalArgumentException> { store.recentEvents(EventQuery(limit = 5000)) }
        assertTrue(badLimit.message, badLimit.message.orEmpty().contains("at most 1000"))
        val badRange = expect<IllegalArgumentException> { store.appActivity(2_000, 1_000) }
        assertTrue(badRange.message, badRange.message.orEmpty().contains("starts"))
        assertTrue(store.domainRules().isEmpty())
        assertTrue(store.appModes().isEmpty())
    }

    @Test
    fun retentionIsStoredAndZeroIsRefused() {
        assertEquals("never set is the core's default", Retention(30, null), store.retention())
        store.setRetention(Retention(null, null))
        assertEquals("no limit is kept as chosen", Retention(null, null), store.retention())
        store.setRetention(Retention(30, 100_000))
        assertEquals(Retention(30, 100_000), store.retention())
        val e = expect<IllegalArgumentException> { store.setRetention(Retention(0, null)) }
        assertTrue(e.message, e.message.orEmpty().contains("keep nothing"))
        assertEquals(Retention(30, 100_000), store.retention())
    }

    @Test
    fun anEmptyStoreAnswersEmptyAndExportsAHeader() {
        assertTrue(store.recentEvents(EventQuery(hostContains = "adjust")).isEmpty())
        assertTrue(store.appActivity(0, Long.MAX_VALUE / 2).isEmpty())
        assertTrue(store.dailyTimeline(0, 86_400_000, null, 60).isEmpty())
        assertEquals(0L, store.clearActivity())
        val out = File(dir, "empty.json")
        assertEquals(0L, FileOutputStream(out).use { store.export(it.fd.number(), ExportFormat.JSON, null, null) })
        assertEquals(0L, out.length())
        val csv = File(dir, "empty.csv")
        FileOutputStream(csv).use { store.export(it.fd.number(), ExportFormat.CSV, 0, 1) }
        assertEquals(1, Files.readAllLines(csv.toPath()).size)
        val closed = expect<IllegalArgumentException> { store.export(987_654, ExportFormat.CSV, null, null) }
        assertTrue(closed.message, closed.message.orEmpty().contains("987654 is not open"))
    }

    @Test
    fun aFileThatIsNotADatabaseIsAnIllegalStateWithTheReason() {
        val broken = File(dir, "broken.db")
        broken.writeText("not a database\n".repeat(500))
        val e = expect<IllegalStateException> { NativeStore(broken.path).recentEvents(EventQuery()) }
        assertTrue(e.message, e.message.orEmpty().contains("not a database"))
        assertEquals("not a database\n".repeat(500), broken.readText())
        val missing = expect<IllegalStateException> { NativeStore("/nonexistent/dir/hush.db").appModes() }
        assertTrue(missing.message, missing.message.orEmpty().contains("/nonexistent/dir/hush.db"))
    }

    @Test
    fun tenThousandQueriesOverflowNoLocalReferenceTable() {
        store.addDomainRule(null, "tracking.miui.com", DomainAction.BLOCK)
        repeat(10_000) {
            assertEquals(1, store.domainRules().size)
        }
    }
}
