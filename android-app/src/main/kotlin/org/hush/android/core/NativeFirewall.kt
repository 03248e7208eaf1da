package org.hush.android.core

import org.json.JSONArray
import org.json.JSONObject

/** The Rust core as a [FirewallCore]: each session is a handle into `libhush_jni.so`. */
object NativeFirewall : FirewallCore {
    override fun start(tunFd: Int, config: CoreConfig, platform: CorePlatform): FirewallSession =
        NativeSession(NativeCore.startSession(tunFd, configJson(config), platform))

    /** [config] as the core reads it (`hush_session::api::session_config`). */
    fun configJson(config: CoreConfig): String {
        val json = JSONObject().put("databasePath", config.databasePath)
        val upstream = config.upstream
        // One or the other: the core refuses both.
        if (upstream == null) {
            json.put("upstreamDns", config.upstreamDns)
        } else {
            json.put("upstream", JSONObject().put("url", upstream.url).put("addresses", JSONArray(upstream.addresses)))
        }
        // Only when there are some, so that a core without exemptions still starts every other session.
        if (!config.exemptResolvers.isEmpty) json.put("exemptResolvers", exemptionsJson(config.exemptResolvers))
        return json
            .put("mtu", config.mtu)
            .put("network", config.network.wire)
            .put("defaultList", config.defaultList)
            .put("adawayList", config.adawayList)
            .put("encryptedDnsList", config.encryptedDnsList)
            .put("allowEncryptedDns", config.allowEncryptedDns)
            .put("stripEch", config.stripEch)
            .put("blockLists", JSONArray(config.blockLists))
            .put("allowLists", JSONArray(config.allowLists))
            .put("ownAddresses", JSONArray(config.ownAddresses))
            .put("selfExcluded", config.selfExcluded)
            .put("screenOff", config.screenOff)
            .toString()
    }

    /** [exemptions] as the core reads them: `{"names": [...], "addresses": [...]}`. */
    fun exemptionsJson(exemptions: ResolverExemptions): JSONObject =
        JSONObject().put("names", JSONArray(exemptions.names)).put("addresses", JSONArray(exemptions.addresses))

    /** One list load from the core's JSON. */
    fun listLoad(json: JSONObject): ListLoad {
        val rejected = json.getJSONArray("firstRejected")
        return ListLoad(
            name = json.getString("name"),
            origin = json.getString("origin"),
            entries = json.getLong("entries"),
            duplicates = json.getLong("duplicates"),
            rejected = json.getLong("rejected"),
            firstRejected = (0 until rejected.length()).map {
                val line = rejected.getJSONObject(it)
                "line ${line.getInt("line")}: ${line.getString("reason")}"
            },
        )
    }

    /** A session's health from the core's JSON (`hush_session::api::health_json`). */
    fun health(json: JSONObject): CoreHealth {
        val filtering = json.getJSONObject("filtering")
        val state = filtering.getString("state")
        val problems = json.getJSONArray("problems")
        return CoreHealth(
            filtering = Filtering.fromWire(state) ?: throw IllegalStateException("the core sent an unknown filtering state '$state'"),
            reason = if (filtering.isNull("reason")) null else filtering.getString("reason"),
            restarts = json.getInt("restarts"),
            problems = (0 until problems.length()).map {
                val problem = problems.getJSONObject(it)
                CoreProblem(problem.getString("kind"), problem.getString("message"))
            },
        )
    }

    /** Live counts from the core's JSON. */
    fun liveStats(json: JSONObject): LiveStats =
        LiveStats(
            packetsIn = json.getLong("packetsIn"),
            dnsQueries = json.getLong("dnsQueries"),
            blocked = json.getLong("blocked"),
            allowed = json.getLong("allowed"),
            eventsDropped = json.getLong("eventsDropped"),
        )
}

/** A running core session. After [stop], every call throws [IllegalStateException]. */
class NativeSession internal constructor(internal val handle: Long) : FirewallSession {
    override fun stats(): LiveStats = NativeFirewall.liveStats(JSONObject(NativeCore.sessionStats(handle)))

    override fun setNetwork(network: Network) = NativeCore.setNetwork(handle, network.wire)

    override fun setScreenOff(off: Boolean) = NativeCore.setScreenOff(handle, off)

    override fun networkChanged() = NativeCore.networkChanged(handle)

    override fun replaceTun(tunFd: Int) = NativeCore.replaceTun(handle, tunFd)

    override fun networkChangedTo(resolver: String) = NativeCore.networkChangedTo(handle, resolver)

    override fun setResolverExemptions(exemptions: ResolverExemptions) =
        NativeCore.setResolverExemptions(handle, NativeFirewall.exemptionsJson(exemptions).toString())

    override fun health(): CoreHealth = NativeFirewall.health(JSONObject(NativeCore.sessionHealth(handle)))

    override fun reloadRules() = NativeCore.reloadRules(handle)

    override fun startCapture(spec: CaptureSpec) = NativeCore.startCapture(handle, spec.toJson())

    override fun stopCapture(): CaptureState = CaptureState.parse(NativeCore.stopCapture(handle))

    override fun captureStatus(): CaptureState = CaptureState.parse(NativeCore.captureStatus(handle))

    override fun reloadLists(config: CoreConfig): List<ListLoad> {
        val loads = JSONArray(NativeCore.reloadLists(handle, NativeFirewall.configJson(config)))
        return (0 until loads.length()).map { NativeFirewall.listLoad(loads.getJSONObject(it)) }
    }

    override fun stop(reason: String): SessionEnd {
        val end = JSONObject(NativeCore.stopSession(handle, reason))
        val error = if (end.isNull("error")) null else end.getString("error")
        return SessionEnd(NativeFirewall.liveStats(end.getJSONObject("stats")), error)
    }
}
