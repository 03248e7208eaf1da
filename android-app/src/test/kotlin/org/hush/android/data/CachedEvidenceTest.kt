package org.hush.android.data

import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import java.io.File

/** The owners' cache every screen shares: one lookup per new host, misses kept, failures not. */
class CachedEvidenceTest {
    private class Counting : Evidence {
        val asked = ArrayList<List<String>>()
        var failure: String? = null
        override fun owners(hosts: Collection<String>): Map<String, HostOwner> {
            asked.add(hosts.toList())
            failure?.let { throw IllegalStateException(it) }
            return hosts.filter { it.endsWith("sentry.io") }.associateWith { SENTRY }
        }
        override fun writeReport(uid: Int, out: File, appVersion: String?): ReportOutcome = ReportOutcome.NoEvents
    }

    @Test
    fun eachHostIsAskedOnceHostsNobodyOwnsIncluded() {
        val inner = Counting()
        val cached = CachedEvidence(inner)
        assertEquals(mapOf("o1.ingest.sentry.io" to SENTRY), cached.owners(listOf("o1.ingest.sentry.io", "shop.example", "shop.example")))
        assertEquals(listOf(listOf("o1.ingest.sentry.io", "shop.example")), inner.asked)
        // Both known now, the owned and the unowned: no call.
        assertEquals(mapOf("o1.ingest.sentry.io" to SENTRY), cached.owners(listOf("shop.example", "o1.ingest.sentry.io")))
        assertEquals(1, inner.asked.size)
        // Only the new host is asked about.
        cached.owners(listOf("shop.example", "o2.ingest.sentry.io"))
        assertEquals(listOf("o2.ingest.sentry.io"), inner.asked[1])
    }

    @Test
    fun aFailedLookupAnswersNothingAndIsAskedAgain() {
        val inner = Counting().apply { failure = "attribution table, line 3: no company" }
        val cached = CachedEvidence(inner)
        assertEquals(emptyMap<String, HostOwner>(), cached.owners(listOf("o1.ingest.sentry.io")))
        inner.failure = null
        assertEquals(mapOf("o1.ingest.sentry.io" to SENTRY), cached.owners(listOf("o1.ingest.sentry.io")))
        assertEquals(2, inner.asked.size)
    }

    @Test
    fun largeScreensAreAskedInBatchesTheCoreTakesAndTheCacheStaysBounded() {
        val inner = Counting()
        val cached = CachedEvidence(inner, capacity = 3000)
        val hosts = (0 until 2500).map { "h$it.ingest.sentry.io" }
        assertEquals(2500, cached.owners(hosts).size)
        assertEquals(listOf(1000, 1000, 500), inner.asked.map { it.size })
        // Past the capacity the cache starts again rather than grow.
        cached.owners((0 until 1000).map { "n$it.example" })
        cached.owners(hosts.take(10))
        assertTrue(inner.asked.last().size == 10)
    }

    private companion object {
        val SENTRY = HostOwner("Sentry", null, "US", "crash reporting")
    }
}
