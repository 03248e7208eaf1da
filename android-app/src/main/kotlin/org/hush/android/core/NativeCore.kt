package org.hush.android.core

import java.io.File

/**
 * The Rust core, through `libhush_jni.so` (`rust/hush-jni`).
 *
 * Every function here is one native entry point. Errors come back as exceptions:
 * a refused argument as [IllegalArgumentException], a call the core cannot serve
 * now as [IllegalStateException], and a panic in the native code as a
 * [RuntimeException] carrying its message; the JVM carries on after each.
 *
 * The library is loaded when this object is first used: by name (from the app's
 * native libraries) on Android, or from the absolute path in the system property
 * [LIBRARY_PATH_PROPERTY] when it is set (the host JVM tests, tests/android/jvm.sh).
 */
object NativeCore {
    /** System property: absolute path of the library to load instead of `hush_jni`. */
    const val LIBRARY_PATH_PROPERTY = "hush.jni.path"

    init {
        val path = System.getProperty(LIBRARY_PATH_PROPERTY)
        if (path.isNullOrEmpty()) {
            System.loadLibrary("hush_jni")
        } else {
            if (!File(path).isAbsolute) {
                throw UnsatisfiedLinkError("$LIBRARY_PATH_PROPERTY must be an absolute path, not '$path'")
            }
            System.load(path)
        }
    }

    /** The core's version (the Rust workspace's, e.g. `0.1.0`). */
    @JvmStatic external fun version(): String

    /**
     * [name] as the core matches it: lower case, no trailing dot, IDN in punycode.
     * @throws IllegalArgumentException naming the problem when [name] is not a valid domain name.
     */
    @JvmStatic external fun normalizeDomain(name: String): String

    // ---- test-only entries: in the host library the JVM tests load (hush-jni's
    // `fault-injection` feature), never in a shipped build, where each throws
    // UnsatisfiedLinkError (tools/android/check-native.sh fails a library that has them) ----

    /** Panics in the native code, on purpose: throws [RuntimeException]. For tests only. */
    @JvmStatic external fun panicForTest()

    /**
     * Makes the fault [what] (`packet`, `dns`, `writer` or `follower`: a panic there)
     * happen in the running session [handle], to test that it is contained. For tests only.
     */
    @JvmStatic external fun injectFaultForTest(handle: Long, what: String)

    // ---- sessions (see NativeFirewall) ----

    /**
     * Starts the firewall on [tunFd], which the native side then owns (it is closed
     * when the session stops, and at once when the start fails). [configJson]: see
     * NativeFirewall.configJson. Returns the session's handle.
     */
    @JvmStatic external fun startSession(tunFd: Int, configJson: String, platform: CorePlatform): Long

    /**
     * Stops a session, recording why filtering ends ([StopReason]); JSON
     * `{"stats": {...}, "error": null or "why"}`.
     */
    @JvmStatic external fun stopSession(handle: Long, reason: String): String

    /** The platform's network changed (another network, or new addresses on the same one). */
    @JvmStatic external fun networkChanged(handle: Long)

    /**
     * Hands the running session a new tun (the VPN established again with another set of
     * apps left out), which it then owns (closed on failure too); it closes the old one
     * once it has read what was waiting there.
     */
    @JvmStatic external fun replaceTun(handle: Long, tunFd: Int)

    /**
     * JSON `{"filtering": {"state": "on"|"restarting"|"holding"|"stopped", "reason"},
     * "restarts": N, "problems": [{"kind", "message"}]}`.
     */
    @JvmStatic external fun sessionHealth(handle: Long): String

    /** JSON `{"packetsIn", "dnsQueries", "blocked", "allowed", "eventsDropped", ...}`. */
    @JvmStatic external fun sessionStats(handle: Long): String

    /** [network]: `any`, `wifi` or `mobile`. */
    @JvmStatic external fun setNetwork(handle: Long, network: String)

    /** The screen went off ([off] true) or on: each attempt from now on records it. */
    @JvmStatic external fun setScreenOff(handle: Long, off: Boolean)

    @JvmStatic external fun reloadRules(handle: Long)

    /** Captures one app's packets (spec JSON: `{"uid", "app", "path", "fileBytes", "files", "seconds"}`); ends any capture under way. */
    @JvmStatic external fun startCapture(handle: Long, specJson: String)
    /** Ends the capture under way: `{"uid", "running", "packets", "dropped", "flowsMissed", "files": [newest first], "error"}`. */
    @JvmStatic external fun stopCapture(handle: Long): String
    /** The capture under way, as [stopCapture] says it with no files; `uid` null: none. */
    @JvmStatic external fun captureStatus(handle: Long): String

    /** Reads the lists [configJson] names again and puts them in force; JSON: what each load found. */
    @JvmStatic external fun reloadLists(handle: Long, configJson: String): String

    /**
     * What the list file at [path] holds, read as a `block` or `allow` list (JSON, one load).
     * @throws IllegalArgumentException when it is unreadable, larger than 64 MB, or not a list.
     */
    @JvmStatic external fun checkList(path: String, kind: String): String

    /**
     * The lists built into the core, in load order: JSON `[{"name", "title", "licence",
     * "source", "entries", "rejected"}]`, counted by the core's parser (once).
     */
    @JvmStatic external fun builtinLists(): String

    // ---- the store, by database path (see NativeStore); a uid below 0 means none ----

    @JvmStatic external fun recentEvents(database: String, queryJson: String): String
    @JvmStatic external fun appActivity(database: String, sinceMs: Long, untilMs: Long): String
    /** The apps active with the screen off: JSON `[{"uid", "blocked", "allowed", "failed", "firstMs", "lastMs"}]`. */
    @JvmStatic external fun screenOffApps(database: String, sinceMs: Long, untilMs: Long): String
    @JvmStatic external fun topBlockedHosts(database: String, sinceMs: Long, untilMs: Long, uid: Int, limit: Int): String
    @JvmStatic external fun dailyTimeline(database: String, sinceMs: Long, untilMs: Long, uid: Int, utcOffsetMinutes: Int): String
    @JvmStatic external fun appModes(database: String): String
    @JvmStatic external fun setAppMode(database: String, uid: Int, network: String, mode: String)
    @JvmStatic external fun clearAppMode(database: String, uid: Int, network: String): Boolean
    @JvmStatic external fun domainRules(database: String): String
    @JvmStatic external fun addDomainRule(database: String, uid: Int, domain: String, action: String): String
    @JvmStatic external fun removeDomainRule(database: String, uid: Int, domain: String): Boolean
    @JvmStatic external fun addDomainRuleForPackage(database: String, uid: Int, packageName: String, domain: String, action: String): String
    @JvmStatic external fun domainRulesMatching(database: String, text: String, limit: Int, offset: Int): String
    @JvmStatic external fun domainRulesFor(database: String, domain: String): String
    /** uid < 0: the owner not known; `Long.MIN_VALUE` leaves an end open. */
    @JvmStatic external fun appHosts(database: String, uid: Int, sinceMs: Long, untilMs: Long, limit: Int, offset: Int): String
    @JvmStatic external fun listSources(database: String): String
    @JvmStatic external fun retention(database: String): String
    /** A negative [maxAgeDays] or [maxEvents] is no limit. */
    @JvmStatic external fun setRetention(database: String, maxAgeDays: Int, maxEvents: Long)
    @JvmStatic external fun clearActivity(database: String): Long
    /** The periods Hush was not filtering, newest first (JSON); `Long.MIN_VALUE` [sinceMs] for all. */
    @JvmStatic external fun gaps(database: String, sinceMs: Long, limit: Int): String
    /** Writes CSV or JSON Lines ([format] `csv`/`json`) to [fd], left open; `Long.MIN_VALUE` leaves an end open. */
    @JvmStatic external fun exportEvents(database: String, fd: Int, format: String, sinceMs: Long, untilMs: Long): Long

    // Apps as the platform reports them (installs, removals): rules that go with the app.
    @JvmStatic external fun setAppModeForPackage(database: String, uid: Int, packageName: String, network: String, mode: String)
    /** An empty [packageName]: no package is left on [uid], and every rule of it goes. Returns the rules that went. */
    @JvmStatic external fun forgetApp(database: String, uid: Int, packageName: String): Long
    /** [installedJson]: `[{"uid", "package"}]`, never empty. Returns the rules that went. */
    @JvmStatic external fun reconcileApps(database: String, installedJson: String): Long
    /** [appsJson]: `[{"uid", "label", "packages": [...], "system"}]`. Returns the apps recorded. */
    @JvmStatic external fun setApps(database: String, appsJson: String): Long
    @JvmStatic external fun apps(database: String): String

    // The apps' own on/off options over a default for every app: [option] is the option's
    // word (`resolvedOnly`, `strict`: AppOption.word); any other is an IllegalArgumentException.
    /** JSON `{"default": bool, "apps": [{"uid", "on"}]}`. */
    @JvmStatic external fun appOption(database: String, option: String): String
    /** An empty [packageName] makes the choice for the UID, not for one package (which forgets it with the app). */
    @JvmStatic external fun setAppOption(database: String, option: String, uid: Int, packageName: String, on: Boolean)
    /** Whether the app had a choice of its own (it now follows the default). */
    @JvmStatic external fun clearAppOption(database: String, option: String, uid: Int): Boolean
    @JvmStatic external fun setAppOptionDefault(database: String, option: String, on: Boolean)

    /** The apps trusted with "allow all, not inspected": JSON `[{"uid", "package"?}]`. */
    @JvmStatic external fun trustedApps(database: String): String
    /** Whether anything changed; an empty [packageName] trusts the UID, not one package. */
    @JvmStatic external fun setTrusted(database: String, uid: Int, packageName: String, trusted: Boolean): Boolean

    /** The network changed and allowed DNS goes to [resolver] (`IP` or `IP:PORT`, port 53 by default) from now on. */
    @JvmStatic external fun networkChangedTo(handle: Long, resolver: String)

    // ---- evidence (see NativeEvidence) ----

    /**
     * Writes the evidence report of [uid] from [database] to the file [out], whole or not at
     * all; [appVersion] empty when not known. JSON `{"written": true, "hosts", "attempts",
     * "sha256"}`, or `{"written": false, "noEvents": true}` (no file written).
     * @throws IllegalStateException when it cannot be written or the database read.
     */
    @JvmStatic external fun writeReport(database: String, uid: Int, out: String, appVersion: String): String

    /**
     * Who is behind each host of [hostsJson] (a JSON array of at most 1,000 strings): a JSON
     * array in the same order of `{"company", "parent", "country", "category"}` or `null`.
     */
    @JvmStatic external fun hostOwners(hostsJson: String): String

    /**
     * The resolvers the system must reach past the session's refusals from now on (strict
     * Private DNS): [json] `{"names": [...], "addresses": [...]}`, empty lists for none.
     */
    @JvmStatic external fun setResolverExemptions(handle: Long, json: String)
}
