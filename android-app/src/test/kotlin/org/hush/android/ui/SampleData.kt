package org.hush.android.ui

import kotlinx.coroutines.Dispatchers
import org.hush.android.apps.InstalledApp
import org.hush.android.core.LiveStats
import org.hush.android.core.Network
import org.hush.android.data.Action
import org.hush.android.data.ActivityEvent
import org.hush.android.data.DomainAction
import org.hush.android.data.DomainRule
import org.hush.android.data.ListSource
import org.hush.android.policy.AppMode
import java.util.Random
import java.util.TimeZone

/** Realistic, deterministic data: a phone with the usual apps and the usual trackers. */
object SampleData {
    val ZONE: TimeZone = TimeZone.getTimeZone("Europe/Berlin")
    /** 2026-11-28 15:30 in Berlin. */
    const val NOW = 1_795_876_200_000L
    const val HOUR = 3_600_000L
    const val DAY = 86_400_000L

    const val FACEBOOK = 10101
    const val INSTAGRAM = 10102
    const val TIKTOK = 10104
    const val MI_BROWSER = 10106
    const val MIUI_ANALYTICS = 10108
    const val DUOLINGO = 10111
    const val SIGNAL = 10114
    /** Seen in the log, no longer installed. */
    const val UNINSTALLED = 10123
    const val SYSTEM_UID = 1000

    val realApps = listOf(
        InstalledApp("com.facebook.katana", "Facebook", FACEBOOK, false),
        InstalledApp("com.instagram.android", "Instagram", INSTAGRAM, false),
        InstalledApp("com.whatsapp", "WhatsApp", 10103, false),
        InstalledApp("com.zhiliaoapp.musically", "TikTok", TIKTOK, false),
        InstalledApp("com.spotify.music", "Spotify", 10105, false),
        InstalledApp("com.mi.globalbrowser", "Mi Browser", MI_BROWSER, true),
        InstalledApp("com.android.thememanager", "Themes", 10107, true),
        InstalledApp("com.miui.analytics", "MIUI Analytics", MIUI_ANALYTICS, true),
        InstalledApp("com.google.android.gms", "Google Play services", 10109, true),
        InstalledApp("com.android.chrome", "Chrome", 10110, true),
        InstalledApp("com.duolingo", "Duolingo", DUOLINGO, false),
        InstalledApp("com.king.candycrushsaga", "Candy Crush Saga", 10112, false),
        InstalledApp("com.shazam.android", "Shazam", 10113, false),
        InstalledApp("org.thoughtcrime.securesms", "Signal", SIGNAL, false),
        InstalledApp("org.mozilla.firefox", "Firefox", 10115, false),
        InstalledApp("com.ubercab", "Uber", 10116, false),
        InstalledApp("com.booking", "Booking.com", 10117, false),
        InstalledApp("com.strava", "Strava", 10118, false),
        InstalledApp("org.telegram.messenger", "Telegram", 10119, false),
        InstalledApp("com.miui.weather2", "Weather", 10120, true),
    )

    /** [n] installed apps: the real ones, then plausible others (every fourth a system app). */
    fun apps(n: Int = 500): List<InstalledApp> {
        val first = listOf("Pocket", "Smart", "Quick", "Daily", "City", "Easy", "Super", "Photo", "Cloud", "Family", "Green", "Tiny")
        val second = listOf("Scanner", "Planner", "Radio", "Maps", "Banking", "Recipes", "Fitness", "Translator",
            "Notes", "Wallpapers", "Calculator", "Podcasts", "Tickets", "Budget", "Parking", "Keyboard")
        val out = ArrayList(realApps.take(minOf(n, realApps.size)))
        var i = 0
        while (out.size < n) {
            val a = first[i % first.size]
            val b = second[(i / first.size) % second.size]
            val round = i / (first.size * second.size)
            val label = "$a $b" + if (round > 0) " ${round + 1}" else ""
            val system = i % 4 == 3
            val pkg = (if (system) "com.android.provider." else "com.") + (a + b).lowercase() + (if (round > 0) "$round" else "") + if (system) "" else ".app"
            out.add(InstalledApp(pkg, label, 10200 + i, system))
            i++
        }
        return out
    }

    private class Host(val host: String, val action: Action, val reason: String, val weight: Int, val protocol: String = "dns", val port: Int = 53)

    private val hostsByUid: Map<Int?, List<Host>> = mapOf(
        FACEBOOK to listOf(
            Host("graph.facebook.com", Action.BLOCKED, "list:easyprivacy", 30),
            Host("app.adjust.com", Action.BLOCKED, "list:easyprivacy", 4),
            Host("scontent-fra5-1.xx.fbcdn.net", Action.ALLOWED, "", 12, "tcp", 443),
            Host("edge-mqtt.facebook.com", Action.ALLOWED, "", 8, "tcp", 443),
        ),
        INSTAGRAM to listOf(
            Host("graph.instagram.com", Action.BLOCKED, "list:easyprivacy", 14),
            Host("app.adjust.com", Action.BLOCKED, "list:easyprivacy", 6),
            Host("i.instagram.com", Action.ALLOWED, "", 16, "quic", 443),
        ),
        TIKTOK to listOf(
            Host("mon.tiktokv.com", Action.BLOCKED, "list:easyprivacy", 14),
            Host("ads.tiktok.com", Action.BLOCKED, "rule:block", 5),
            Host("api16-normal-c-useast1a.tiktokv.com", Action.ALLOWED, "", 10, "tcp", 443),
        ),
        MI_BROWSER to listOf(
            Host("tracking.miui.com", Action.BLOCKED, "rule:block", 16),
            Host("data.mistat.xiaomi.com", Action.BLOCKED, "list:xiaomi", 14),
            Host("api.sec.miui.com", Action.ALLOWED, "", 4, "tcp", 443),
        ),
        MIUI_ANALYTICS to listOf(
            Host("data.mistat.xiaomi.com", Action.BLOCKED, "app:block-all", 18),
            Host("tracking.miui.com", Action.BLOCKED, "app:block-all", 9),
        ),
        10105 to listOf(
            Host("spclient.wg.spotify.com", Action.ALLOWED, "", 10, "tcp", 443),
            Host("api2.branch.io", Action.BLOCKED, "list:easyprivacy", 3),
        ),
        10109 to listOf(
            Host("app-measurement.com", Action.BLOCKED, "list:easyprivacy", 8),
            Host("www.googleadservices.com", Action.BLOCKED, "list:easyprivacy", 3),
            Host("play.googleapis.com", Action.ALLOWED, "", 10, "tcp", 443),
        ),
        10110 to listOf(
            Host("www.google-analytics.com", Action.BLOCKED, "list:easyprivacy", 5),
            Host("securepubads.g.doubleclick.net", Action.BLOCKED, "list:easyprivacy", 4),
            Host("en.wikipedia.org", Action.ALLOWED, "", 6, "tcp", 443),
        ),
        DUOLINGO to listOf(
            Host("app.adjust.com", Action.BLOCKED, "list:easyprivacy", 5),
            Host("firebase-settings.crashlytics.com", Action.BLOCKED, "list:easyprivacy", 3),
            Host("android-api-cf.duolingo.com", Action.ALLOWED, "", 6, "tcp", 443),
        ),
        10112 to listOf(
            Host("app-measurement.com", Action.BLOCKED, "list:easyprivacy", 4),
            Host("config.uca.cloud.unity3d.com", Action.BLOCKED, "list:easyprivacy", 4),
            Host("royal-api.king.com", Action.ALLOWED, "app-rule:allow", 3, "tcp", 443),
        ),
        SIGNAL to listOf(Host("chat.signal.org", Action.ALLOWED, "app:allow-all", 5, "tcp", 443)),
        10116 to listOf(
            Host("sdk.iad-01.braze.com", Action.BLOCKED, "list:easyprivacy", 3),
            Host("cn-geo1.uber.com", Action.ALLOWED, "", 3, "tcp", 443),
            Host("cn-geo1.uber.com", Action.FAILED, "", 1, "tcp", 443),
        ),
        UNINSTALLED to listOf(
            Host("app.adjust.com", Action.BLOCKED, "list:easyprivacy", 3),
            Host("settings.crashlytics.com", Action.BLOCKED, "list:easyprivacy", 2),
        ),
        SYSTEM_UID to listOf(
            Host("connectivitycheck.gstatic.com", Action.ALLOWED, "", 4, "tcp", 443),
            Host("time.android.com", Action.ALLOWED, "", 1),
        ),
        null to listOf(Host("", Action.ALLOWED, "", 1, "udp", 443)),
    )

    /** About [total] events over the last 14 days up to [NOW], newest last. */
    fun events(total: Int = 3_000, seed: Long = 42): List<ActivityEvent> {
        val rnd = Random(seed)
        val entries = hostsByUid.entries.flatMap { (uid, hosts) -> hosts.map { uid to it } }
        val weights = entries.map { it.second.weight }
        val sum = weights.sum()
        val out = ArrayList<ActivityEvent>(total)
        val start = NOW - 14 * DAY
        for (i in 0 until total) {
            var pick = rnd.nextInt(sum)
            var k = 0
            while (pick >= weights[k]) { pick -= weights[k]; k++ }
            val (uid, h) = entries[k]
            // More recent days are busier.
            val t = start + ((1.0 - Math.pow(rnd.nextDouble(), 0.8)) * 14 * DAY).toLong().let { 14 * DAY - 1 - it }
            val ip = if (h.protocol == "dns") "10.111.222.2" else "157.240.${rnd.nextInt(250)}.${1 + rnd.nextInt(250)}"
            out.add(ActivityEvent(t.coerceAtMost(NOW - 1000), uid, h.host, ip, h.port, h.protocol, h.action, h.reason))
        }
        return out.sortedBy { it.timeMs }
    }

    val sources = listOf(
        ListSource("hush-default", "built-in", true, 1_328, NOW - 2 * HOUR),
        ListSource("easyprivacy", "https://v.firebog.net/hosts/Easyprivacy.txt", true, 41_870, NOW - 26 * HOUR),
        ListSource("xiaomi", "https://raw.githubusercontent.com/hagezi/dns-blocklists/main/domains/native.xiaomi.txt", true, 407, NOW - 26 * HOUR),
        ListSource("stevenblack", "https://raw.githubusercontent.com/StevenBlack/hosts/master/hosts", false, 0, null),
    )

    /** The core's catalogue as it is (the counts its parser gives). */
    val builtins = listOf(
        org.hush.android.lists.BuiltinList("hush-default", "Phone-vendor telemetry", "GPL-3.0 (HaGeZi), CC-BY-3.0 (AdAway)",
            "hagezi/dns-blocklists native.* lists and AdAway/adaway.github.io hosts.txt, curated (lists/SOURCES.md)", 1_328),
        org.hush.android.lists.BuiltinList("hush-adaway", "Ads & trackers — AdAway", "CC-BY-3.0",
            "AdAway/adaway.github.io hosts.txt @7b5368f (2023-04-29)", 6_540),
        org.hush.android.lists.BuiltinList("hush-doh", "Encrypted DNS (DoH) endpoints", "GPL-3.0",
            "hagezi/dns-blocklists domains/doh.txt @005e5ae8 (v2024.0714.2238.12)", 1_216),
    )

    /** Lists added by URL: one kept up to date, one never downloaded and off, one whose update failed. */
    val subscriptions = listOf(
        org.hush.android.lists.ListSubscription("https://v.firebog.net/hosts/Easyprivacy.txt", entries = 41_870, updatedMs = NOW - 26 * HOUR),
        org.hush.android.lists.ListSubscription("https://raw.githubusercontent.com/StevenBlack/hosts/master/hosts", enabled = false),
        org.hush.android.lists.ListSubscription("https://raw.githubusercontent.com/hagezi/dns-blocklists/main/domains/native.xiaomi.txt",
            entries = 407, updatedMs = NOW - 50 * HOUR,
            lastError = org.hush.android.lists.ListProblem(org.hush.android.lists.ListProblem.Kind.WEB_PAGE_HTML, listOf("raw.githubusercontent.com")).encode(),
            failedMs = NOW - 2 * HOUR),
    )

    val rules = listOf(
        DomainRule(null, "tracking.miui.com", DomainAction.BLOCK),
        DomainRule(null, "ads.tiktok.com", DomainAction.BLOCK),
        DomainRule(null, "cdn.jsdelivr.net", DomainAction.ALLOW),
    )

    fun store(events: List<ActivityEvent> = events()): FakeStore = FakeStore(events).apply {
        sources = SampleData.sources
        rules.addAll(SampleData.rules)
        modes[MIUI_ANALYTICS to Network.ANY] = AppMode.BLOCK_ALL
        modes[SIGNAL to Network.WIFI] = AppMode.ALLOW_ALL
        modes[TIKTOK to Network.MOBILE] = AppMode.BLOCK_ALL
    }

    class World(
        val store: FakeStore = store(),
        val apps: FakeApps = FakeApps(apps(60)),
        val firewall: FakeFirewall = FakeFirewall(FirewallState.On).apply {
            live = LiveStats(packetsIn = 184_220, dnsQueries = 9_312, blocked = 1_208, allowed = 7_941, eventsDropped = 0)
        },
        val actions: FakeActions = FakeActions(),
        val settings: FakeSettings = FakeSettings(),
        dynamicColor: Boolean = false,
        val lists: FakeListCatalogue = FakeListCatalogue(),
        val evidence: FakeEvidence = FakeEvidence(),
    ) {
        val deps = UiDeps(
            store = store, apps = apps, firewall = firewall, actions = actions, settings = settings,
            io = Dispatchers.Unconfined,
            clock = object : Clock { override fun nowMs() = NOW },
            timeZone = ZONE, dynamicColor = dynamicColor, lists = lists, evidence = evidence,
        )
    }
}
