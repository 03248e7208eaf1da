package org.hush.android.ui

import org.hush.android.data.Evidence
import org.hush.android.data.HostOwner
import org.hush.android.data.ReportOutcome
import java.io.File
import java.util.Collections

/**
 * An [Evidence] over a small table matched as the core matches (the host or a parent
 * domain, longest first), that records the calls the screens make and the threads they
 * come from. A report is a small file written whole; [reportFailure] throws as the core
 * does when it cannot write, [noEvents] answers as it does for an app with no activity.
 */
open class FakeEvidence(val table: Map<String, HostOwner> = SAMPLE) : Evidence {
    val batches: MutableList<Set<String>> = Collections.synchronizedList(ArrayList())
    val threads: MutableSet<String> = Collections.synchronizedSet(HashSet())
    val reports: MutableList<Triple<Int, File, String?>> = Collections.synchronizedList(ArrayList())
    @Volatile var reportFailure: String? = null
    @Volatile var noEvents = false

    override fun owners(hosts: Collection<String>): Map<String, HostOwner> {
        threads.add(Thread.currentThread().name)
        batches.add(hosts.toSet())
        val out = HashMap<String, HostOwner>()
        for (host in hosts) {
            var name = host.lowercase()
            while (true) {
                table[name]?.let { out[host] = it }
                if (host in out) break
                val dot = name.indexOf('.')
                if (dot < 0) break
                name = name.substring(dot + 1)
            }
        }
        return out
    }

    override fun writeReport(uid: Int, out: File, appVersion: String?): ReportOutcome {
        threads.add(Thread.currentThread().name)
        reports.add(Triple(uid, out, appVersion))
        reportFailure?.let { throw IllegalStateException(it) }
        if (noEvents) return ReportOutcome.NoEvents
        out.writeText("<!DOCTYPE html><title>report of $uid</title>")
        return ReportOutcome.Written(hosts = 3, attempts = 30, sha256 = "0".repeat(64))
    }

    companion object {
        val GOOGLE_ANALYTICS = HostOwner("Google", "Alphabet", "US", "analytics")
        val GOOGLE_ADS = HostOwner("Google", "Alphabet", "US", "advertising")
        val XIAOMI = HostOwner("Xiaomi", null, "CN", "vendor telemetry")
        val ADJUST = HostOwner("Adjust", "AppLovin", "DE", "analytics")

        val SAMPLE = mapOf(
            "app-measurement.com" to GOOGLE_ANALYTICS,
            "doubleclick.net" to GOOGLE_ADS,
            "tracking.miui.com" to XIAOMI,
            "mistat.xiaomi.com" to XIAOMI,
            "adjust.com" to ADJUST,
        )
    }
}
