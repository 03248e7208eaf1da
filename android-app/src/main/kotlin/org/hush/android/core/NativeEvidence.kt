package org.hush.android.core

import org.hush.android.data.Evidence
import org.hush.android.data.HostOwner
import org.hush.android.data.ReportOutcome
import org.json.JSONArray
import org.json.JSONObject
import java.io.File

/**
 * [Evidence] from the core, through `libhush_jni.so`: the table of who is behind a host
 * (one JNI call for a whole batch of hosts) and the report `hush report` writes, built
 * from the store at [databasePath].
 */
class NativeEvidence(private val databasePath: String) : Evidence {
    override fun owners(hosts: Collection<String>): Map<String, HostOwner> {
        if (hosts.isEmpty()) return emptyMap()
        val asked = hosts.toList()
        val answer = JSONArray(NativeCore.hostOwners(JSONArray(asked).toString()))
        if (answer.length() != asked.size) {
            throw IllegalStateException("the core named ${answer.length()} owners for ${asked.size} hosts")
        }
        val out = HashMap<String, HostOwner>()
        for (i in asked.indices) {
            if (answer.isNull(i)) continue
            val o = answer.getJSONObject(i)
            out[asked[i]] = HostOwner(o.getString("company"), text(o, "parent"), text(o, "country"), o.getString("category"))
        }
        return out
    }

    override fun writeReport(uid: Int, out: File, appVersion: String?): ReportOutcome {
        val json = JSONObject(NativeCore.writeReport(databasePath, uid, out.path, appVersion ?: ""))
        return if (json.getBoolean("written")) {
            ReportOutcome.Written(json.getInt("hosts"), json.getLong("attempts"), json.getString("sha256"))
        } else {
            ReportOutcome.NoEvents
        }
    }

    private fun text(o: JSONObject, key: String): String? = if (o.isNull(key)) null else o.getString(key)
}
