package org.hush.android.data

import java.io.File
import java.util.concurrent.ConcurrentHashMap

/**
 * Who is behind a host, from the core's own table (rust/hush-attribution): the [company],
 * its [parent] group and [country] (ISO 3166-1 alpha-2) when known, and what the host is
 * for ([category]: the core's word, [HostCategory]).
 */
data class HostOwner(val company: String, val parent: String?, val country: String?, val category: String)

/** What a host is for, as the core's table says. [wire] is the core's word. */
enum class HostCategory(val wire: String) {
    ANALYTICS("analytics"),
    ADVERTISING("advertising"),
    CRASH_REPORTING("crash reporting"),
    VENDOR_TELEMETRY("vendor telemetry");

    companion object {
        fun fromWire(word: String): HostCategory? = values().firstOrNull { it.wire == word }
    }
}

/** What [Evidence.writeReport] did. */
sealed class ReportOutcome {
    /** The report is whole at the path asked: [hosts] hosts, [attempts] attempts, the events' [sha256]. */
    data class Written(val hosts: Int, val attempts: Long, val sha256: String) : ReportOutcome()

    /** The app has no stored events: nothing to report, and no file was written. */
    object NoEvents : ReportOutcome() { override fun toString() = "NoEvents" }
}

/**
 * Evidence about the apps (issue 16): who is behind the hosts they reach, and one app's
 * report, a self-contained HTML file. Both may be slow (the first lookup loads the table;
 * a report reads every event of the app): call them off the main thread.
 */
interface Evidence {
    /**
     * The owner of each of [hosts] that the core's table names; a host it does not name
     * is absent. Never throws for a host: attribution that fails leaves the screens working.
     */
    fun owners(hosts: Collection<String>): Map<String, HostOwner>

    /**
     * Writes the evidence report of [uid] to [out], whole or not at all (a failure leaves
     * no file there). [appVersion]: the app's version as the platform gives it, or null.
     * @throws IllegalStateException naming the problem when the report cannot be written
     * (a directory that cannot be written, a database that cannot be read).
     */
    fun writeReport(uid: Int, out: File, appVersion: String?): ReportOutcome

    companion object {
        /** No attribution and no reports (the core is not loaded): every report says [why]. */
        fun unavailable(why: String): Evidence = object : Evidence {
            override fun owners(hosts: Collection<String>): Map<String, HostOwner> = emptyMap()
            override fun writeReport(uid: Int, out: File, appVersion: String?): ReportOutcome = throw IllegalStateException(why)
        }
    }
}

/**
 * [inner]'s owners, kept per host for the life of the process (the table is built into
 * the core and never changes while it runs), hosts it does not name included: a screen
 * refreshed every few seconds asks the core only about hosts it has not seen. A failed
 * lookup is not kept, and answers nothing for its hosts. Thread-safe.
 */
class CachedEvidence(private val inner: Evidence, private val capacity: Int = 4096) : Evidence {
    /** A host the table does not name maps to [NOBODY]. */
    private val known = ConcurrentHashMap<String, HostOwner>()

    override fun owners(hosts: Collection<String>): Map<String, HostOwner> {
        val missing = hosts.filter { it.isNotEmpty() && !known.containsKey(it) }.distinct()
        if (missing.isNotEmpty()) {
            val found = try {
                missing.chunked(BATCH).flatMap { inner.owners(it).entries.map { e -> e.key to e.value } }.toMap()
            } catch (e: RuntimeException) {
                null
            }
            if (found != null) {
                // A bounded cache: an app asking for random names must not grow it for ever.
                if (known.size + missing.size > capacity) known.clear()
                for (host in missing) known[host] = found[host] ?: NOBODY
            }
        }
        val out = HashMap<String, HostOwner>()
        for (host in hosts) known[host]?.takeIf { it !== NOBODY }?.let { out[host] = it }
        return out
    }

    override fun writeReport(uid: Int, out: File, appVersion: String?): ReportOutcome = inner.writeReport(uid, out, appVersion)

    private companion object {
        val NOBODY = HostOwner("", null, null, "")
        /** The most hosts the core takes in one call (hush_report::bridge::MAX_HOSTS). */
        const val BATCH = 1000
    }
}
