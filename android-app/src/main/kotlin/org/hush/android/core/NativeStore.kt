package org.hush.android.core

import org.hush.android.data.Action
import org.hush.android.data.ActivityEvent
import org.hush.android.data.AppActivity
import org.hush.android.data.AppHost
import org.hush.android.data.AppHostsPage
import org.hush.android.data.AppModeRule
import org.hush.android.data.AppOption
import org.hush.android.data.AppOptionChoices
import org.hush.android.data.BlockedHost
import org.hush.android.data.DayCount
import org.hush.android.data.DomainAction
import org.hush.android.data.DomainRule
import org.hush.android.data.DomainRulesPage
import org.hush.android.data.EventQuery
import org.hush.android.data.ExportFormat
import org.hush.android.data.Gap
import org.hush.android.data.HostCount
import org.hush.android.data.HushStore
import org.hush.android.data.InstalledPackage
import org.hush.android.data.StoredApp
import org.hush.android.data.ListSource
import org.hush.android.data.Retention
import org.hush.android.data.RulesForDomain
import org.hush.android.data.ScreenOffActivity
import org.hush.android.policy.AppMode
import org.json.JSONArray
import org.json.JSONObject

/**
 * The core's SQLite store at [databasePath], through `libhush_jni.so`. Works whether
 * or not a session runs; see [HushStore] for threading and errors. A value the core
 * sends that this version cannot read throws [IllegalStateException] naming it.
 */
class NativeStore(private val databasePath: String) : HushStore {
    override fun recentEvents(query: EventQuery): List<ActivityEvent> {
        val json = JSONObject()
            .put("limit", query.limit)
            .put("offset", query.offset)
        query.uid?.let { json.put("uid", it) }
        query.action?.let { json.put("action", it.wire) }
        query.hostContains?.let { json.put("hostContains", it) }
        query.sinceMs?.let { json.put("sinceMs", it) }
        query.untilMs?.let { json.put("untilMs", it) }
        return objects(NativeCore.recentEvents(databasePath, json.toString())) {
            ActivityEvent(
                timeMs = it.getLong("timeMs"),
                uid = optionalInt(it, "uid"),
                host = it.getString("host"),
                ip = it.getString("ip"),
                port = it.getInt("port"),
                protocol = it.getString("protocol"),
                action = action(it.getString("action")),
                reason = it.getString("reason"),
                // A core older than this field sends none.
                detail = it.optString("detail", ""),
                repeats = it.optLong("repeats", 1L),
                screenOff = it.optBoolean("screenOff", false),
            )
        }
    }

    override fun appActivity(sinceMs: Long, untilMs: Long): List<AppActivity> =
        objects(NativeCore.appActivity(databasePath, sinceMs, untilMs)) {
            AppActivity(
                uid = optionalInt(it, "uid"),
                blocked = it.getLong("blocked"),
                allowed = it.getLong("allowed"),
                failed = it.getLong("failed"),
                firstMs = it.getLong("firstMs"),
                lastMs = it.getLong("lastMs"),
                topBlocked = objects(it.getJSONArray("topBlocked")) { h -> HostCount(h.getString("host"), h.getLong("count")) },
            )
        }

    override fun screenOffApps(sinceMs: Long, untilMs: Long): List<ScreenOffActivity> =
        objects(NativeCore.screenOffApps(databasePath, sinceMs, untilMs)) {
            ScreenOffActivity(
                uid = optionalInt(it, "uid"),
                blocked = it.getLong("blocked"),
                allowed = it.getLong("allowed"),
                failed = it.getLong("failed"),
                firstMs = it.getLong("firstMs"),
                lastMs = it.getLong("lastMs"),
            )
        }

    override fun topBlockedHosts(sinceMs: Long, untilMs: Long, uid: Int?, limit: Int): List<BlockedHost> =
        objects(NativeCore.topBlockedHosts(databasePath, sinceMs, untilMs, uid ?: NO_UID, limit)) {
            BlockedHost(it.getString("host"), it.getLong("blocked"), it.getInt("apps"))
        }

    override fun dailyTimeline(sinceMs: Long, untilMs: Long, uid: Int?, utcOffsetMinutes: Int): List<DayCount> =
        objects(NativeCore.dailyTimeline(databasePath, sinceMs, untilMs, uid ?: NO_UID, utcOffsetMinutes)) {
            DayCount(it.getString("day"), it.getLong("blocked"), it.getLong("allowed"), it.getLong("failed"))
        }

    override fun appModes(): List<AppModeRule> =
        objects(NativeCore.appModes(databasePath)) {
            AppModeRule(it.getInt("uid"), network(it.getString("network")), mode(it.getString("mode")))
        }

    override fun setAppMode(uid: Int, network: Network, mode: AppMode) =
        NativeCore.setAppMode(databasePath, uid, network.wire, mode.wire)

    override fun clearAppMode(uid: Int, network: Network): Boolean =
        NativeCore.clearAppMode(databasePath, uid, network.wire)

    override fun domainRules(): List<DomainRule> = objects(NativeCore.domainRules(databasePath), ::domainRule)

    override fun domainRulesMatching(text: String, limit: Int, offset: Int): DomainRulesPage {
        val json = JSONObject(NativeCore.domainRulesMatching(databasePath, text, limit, offset))
        return DomainRulesPage(json.getLong("total"), objects(json.getJSONArray("rules"), ::domainRule))
    }

    override fun domainRulesFor(domain: String): RulesForDomain {
        val json = JSONObject(NativeCore.domainRulesFor(databasePath, domain))
        return RulesForDomain(json.getString("domain"), objects(json.getJSONArray("rules"), ::domainRule))
    }

    override fun addDomainRuleForPackage(uid: Int, packageName: String, domain: String, action: DomainAction): String =
        NativeCore.addDomainRuleForPackage(databasePath, uid, packageName, domain, action.wire)

    override fun appHosts(uid: Int?, sinceMs: Long?, untilMs: Long?, limit: Int, offset: Int): AppHostsPage {
        val json = JSONObject(
            NativeCore.appHosts(databasePath, uid ?: NO_UID, sinceMs ?: Long.MIN_VALUE, untilMs ?: Long.MIN_VALUE, limit, offset),
        )
        return AppHostsPage(json.getLong("total"), objects(json.getJSONArray("hosts")) {
            AppHost(
                host = it.getString("host"),
                allowed = it.getLong("allowed"),
                blocked = it.getLong("blocked"),
                failed = it.getLong("failed"),
                firstMs = it.getLong("firstMs"),
                lastMs = it.getLong("lastMs"),
                lastAction = action(it.getString("lastAction")),
                lastReason = it.getString("lastReason"),
            )
        })
    }

    override fun addDomainRule(uid: Int?, domain: String, action: DomainAction): String =
        NativeCore.addDomainRule(databasePath, uid ?: NO_UID, domain, action.wire)

    override fun removeDomainRule(uid: Int?, domain: String): Boolean =
        NativeCore.removeDomainRule(databasePath, uid ?: NO_UID, domain)

    override fun listSources(): List<ListSource> =
        objects(NativeCore.listSources(databasePath)) {
            ListSource(
                name = it.getString("name"),
                origin = it.getString("origin"),
                enabled = it.getBoolean("enabled"),
                entries = it.getLong("entries"),
                updatedMs = if (it.isNull("updatedMs")) null else it.getLong("updatedMs"),
            )
        }

    override fun retention(): Retention {
        val json = JSONObject(NativeCore.retention(databasePath))
        return Retention(
            maxAgeDays = optionalInt(json, "maxAgeDays"),
            maxEvents = if (json.isNull("maxEvents")) null else json.getLong("maxEvents"),
        )
    }

    override fun setRetention(retention: Retention) =
        NativeCore.setRetention(databasePath, retention.maxAgeDays ?: -1, retention.maxEvents ?: -1L)

    override fun clearActivity(): Long = NativeCore.clearActivity(databasePath)

    override fun gaps(sinceMs: Long?, limit: Int): List<Gap> =
        objects(NativeCore.gaps(databasePath, sinceMs ?: Long.MIN_VALUE, limit)) {
            Gap(it.getLong("startMs"), if (it.isNull("endMs")) null else it.getLong("endMs"), it.getString("reason"))
        }

    override fun export(fd: Int, format: ExportFormat, sinceMs: Long?, untilMs: Long?): Long =
        NativeCore.exportEvents(databasePath, fd, format.wire, sinceMs ?: Long.MIN_VALUE, untilMs ?: Long.MIN_VALUE)

    override fun setAppModeForPackage(uid: Int, packageName: String, network: Network, mode: AppMode) =
        NativeCore.setAppModeForPackage(databasePath, uid, packageName, network.wire, mode.wire)

    override fun forgetApp(uid: Int, packageName: String?): Long =
        NativeCore.forgetApp(databasePath, uid, packageName ?: "")

    override fun reconcileApps(installed: List<InstalledPackage>): Long {
        val json = JSONArray()
        for (app in installed) json.put(JSONObject().put("uid", app.uid).put("package", app.packageName))
        return NativeCore.reconcileApps(databasePath, json.toString())
    }

    override fun setApps(apps: List<StoredApp>) {
        val json = JSONArray()
        for (app in apps) {
            json.put(JSONObject().put("uid", app.uid).put("label", app.label)
                .put("packages", JSONArray(app.packages)).put("system", app.system))
        }
        NativeCore.setApps(databasePath, json.toString())
    }

    override fun storedApps(): List<StoredApp> =
        objects(NativeCore.apps(databasePath)) {
            val packages = it.getJSONArray("packages")
            StoredApp(it.getInt("uid"), it.getString("label"), List(packages.length()) { i -> packages.getString(i) }, it.getBoolean("system"))
        }

    override fun appOption(option: AppOption): AppOptionChoices {
        val json = JSONObject(NativeCore.appOption(databasePath, option.word))
        val apps = json.getJSONArray("apps")
        return AppOptionChoices(
            json.getBoolean("default"),
            (0 until apps.length()).associate { apps.getJSONObject(it).let { a -> a.getInt("uid") to a.getBoolean("on") } },
        )
    }

    override fun setAppOption(option: AppOption, uid: Int, packageName: String?, on: Boolean) =
        NativeCore.setAppOption(databasePath, option.word, uid, packageName ?: "", on)

    override fun clearAppOption(option: AppOption, uid: Int): Boolean = NativeCore.clearAppOption(databasePath, option.word, uid)

    override fun setAppOptionDefault(option: AppOption, on: Boolean) = NativeCore.setAppOptionDefault(databasePath, option.word, on)

    override fun trustedApps(): List<org.hush.android.data.TrustedApp> {
        val json = org.json.JSONArray(NativeCore.trustedApps(databasePath))
        return (0 until json.length()).map { i ->
            val app = json.getJSONObject(i)
            org.hush.android.data.TrustedApp(app.getInt("uid"), if (app.has("package")) app.getString("package") else null)
        }
    }

    override fun setTrusted(uid: Int, packageName: String?, trusted: Boolean): Boolean =
        NativeCore.setTrusted(databasePath, uid, packageName ?: "", trusted)

    private companion object {
        /** "No uid": every app, for the native side. */
        const val NO_UID = -1

        fun <T> objects(json: String, read: (JSONObject) -> T): List<T> = objects(JSONArray(json), read)

        fun <T> objects(array: JSONArray, read: (JSONObject) -> T): List<T> {
            val out = ArrayList<T>(array.length())
            for (i in 0 until array.length()) out.add(read(array.getJSONObject(i)))
            return out
        }

        fun optionalInt(json: JSONObject, key: String): Int? = if (json.isNull(key)) null else json.getInt(key)

        fun domainRule(json: JSONObject) = DomainRule(
            optionalInt(json, "uid"), json.getString("domain"), domainAction(json.getString("action")),
            if (json.isNull("package")) null else json.getString("package"),
        )

        fun action(word: String): Action = Action.fromWire(word) ?: unknown("action", word)
        fun domainAction(word: String): DomainAction = DomainAction.fromWire(word) ?: unknown("domain action", word)
        fun mode(word: String): AppMode = AppMode.fromWire(word) ?: unknown("app mode", word)
        fun network(word: String): Network =
            Network.values().firstOrNull { it.wire == word } ?: unknown("network", word)

        fun unknown(what: String, word: String): Nothing =
            throw IllegalStateException("the core sent an unknown $what '$word'")
    }
}
