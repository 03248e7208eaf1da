package org.hush.android.ui

import org.hush.android.apps.InstalledApp
import org.hush.android.core.Network
import org.hush.android.data.AppModeRule
import org.hush.android.policy.AppMode
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Test

/** The presenters' plain rules (no Android involved). */
class FormatTest {
    @Test
    fun reasonsInWords() {
        val s = XmlStrings
        assertEquals("List: easyprivacy", Format.reason(s, "list:easyprivacy"))
        assertEquals("Your rule: block", Format.reason(s, "rule:block"))
        assertEquals("App mode: Block all", Format.reason(s, "app:block-all"))
        assertEquals("App mode: Allow all", Format.reason(s, "app:allow-all"))
        assertEquals("App rule: allow", Format.reason(s, "app-rule:allow"))
        assertEquals("No rule", Format.reason(s, ""))
        assertEquals("future:thing", Format.reason(s, "future:thing"))
        assertEquals("app:no-such-mode", Format.reason(s, "app:no-such-mode"))
        assertEquals("UID 10123", Format.uidLabel(s, 10_123))
        assertEquals("Unknown app", Format.uidLabel(s, null))
        assertEquals("System UID, no app package", Format.uidNote(s, 1000))
    }

    @Test
    fun aNameHushCouldNotReadSaysWhy() {
        val s = XmlStrings
        assertEquals("No rule · name not read: it came too slowly", Format.eventReason(s, "", "unread:timeout"))
        assertEquals("No rule · name not read: QUIC that could not be decrypted", Format.eventReason(s, "", "unread:quic-undecryptable"))
        assertEquals(
            "Name Hush could not read, and the app is set to strict (no name sent)",
            Format.eventReason(s, "strict", "strict:no-name"),
        )
        // A reason a newer core writes is shown as it is; other details add nothing.
        assertEquals("List: easyprivacy · name not read: cosmic-rays", Format.eventReason(s, "list:easyprivacy", "unread:cosmic-rays"))
        assertEquals("List: easyprivacy", Format.eventReason(s, "list:easyprivacy", "HTTPS/tcp"))
        assertEquals("No rule", Format.eventReason(s, "", ""))
    }

    @Test
    fun daysAreLocal() {
        val berlinMidnight = Format.startOfDay(SampleData.NOW, SampleData.ZONE)
        assertEquals(SampleData.NOW - 15 * SampleData.HOUR - 30 * 60_000L, berlinMidnight)
        assertEquals(60, Format.offsetMinutes(SampleData.NOW, SampleData.ZONE))
        assertEquals("15:30:00", Format.clockTime(XmlStrings, SampleData.NOW, SampleData.ZONE))
        assertEquals("1,000,000", Format.count(XmlStrings, 1_000_000))
        // Grouped as the owner's locale groups digits, not always as in the US.
        val german = object : Strings by XmlStrings { override val locale: java.util.Locale = java.util.Locale.GERMANY }
        assertEquals("12.345", Format.count(german, 12_345))
        assertEquals("1.000.000", Format.count(german, 1_000_000))
        assertEquals("the health words frame the core's own reason", "Hush stopped filtering: the engine ended",
            Format.notFiltering(XmlStrings, org.hush.android.core.Filtering.HOLDING, "the engine ended"))
        assertEquals("Hush stopped filtering: no reason given", Format.notFiltering(XmlStrings, org.hush.android.core.Filtering.STOPPED, null))
        assertEquals("Hush is restarting its engine", Format.notFiltering(XmlStrings, org.hush.android.core.Filtering.RESTARTING, "a fault"))
        assertEquals(null, Format.notFiltering(XmlStrings, org.hush.android.core.Filtering.ON, null))
    }

    @Test
    fun theLogSaysTodayYesterdayOrTheDate() {
        val s = XmlStrings
        val now = SampleData.NOW // Saturday 28 November 2026, 15:30 in Berlin
        val zone = SampleData.ZONE
        val midnight = Format.startOfDay(now, zone)
        assertEquals("Today", Format.day(s, now, now, zone))
        assertEquals("Today", Format.day(s, midnight, now, zone))
        assertEquals("Yesterday", Format.day(s, midnight - 1, now, zone))
        assertEquals("Yesterday", Format.day(s, midnight - 24 * SampleData.HOUR, now, zone))
        assertEquals("Thu, Nov 26", Format.day(s, midnight - 24 * SampleData.HOUR - 1, now, zone))
        assertEquals("Wed, Nov 26, 2025", Format.day(s, now - 367 * SampleData.DAY, now, zone))
        // The day is the phone's zone's: just after midnight in Berlin is still yesterday in New York.
        assertEquals("Today", Format.day(s, midnight + 1, now, zone))
        assertEquals("Yesterday", Format.day(s, midnight + 1, now, java.util.TimeZone.getTimeZone("America/New_York")))
        // Calendar days across a DST change (Berlin, 29 March 2026: a 23-hour day).
        val afterDst = 1_774_882_800_000L // 2026-03-30 17:00 Berlin (CEST)
        assertEquals(1, Format.daysAgo(afterDst - 24 * SampleData.HOUR, afterDst, zone))
        assertEquals("29 March, 00:00 CET", 1, Format.daysAgo(afterDst - 40 * SampleData.HOUR, afterDst, zone))
        assertEquals("28 March, 23:00 CET", 2, Format.daysAgo(afterDst - 41 * SampleData.HOUR, afterDst, zone))
        assertEquals("12-hour clock", "3:30:00 PM", Format.clockTime(object : Strings by s {
            override val clock24 = false
        }, now, zone))
    }

    @Test
    fun datesTimesAndSizesFollowTheLocaleAndTheClock() {
        val now = SampleData.NOW // Saturday 28 November 2026, 15:30 in Berlin
        val zone = SampleData.ZONE
        assertEquals("Nov 28, 2026, 15:30", Format.dateTime(XmlStrings, now, zone))
        assertEquals("12-hour clock", "Nov 28, 2026, 3:30 PM", Format.dateTime(object : Strings by XmlStrings {
            override val clock24 = false
        }, now, zone))
        // Another locale's own pattern and words (what DateFormat.getBestDateTimePattern gives for German).
        val german = object : Strings by XmlStrings {
            override val locale: java.util.Locale = java.util.Locale.GERMANY
            override fun pattern(skeleton: String) =
                if (skeleton == "yMMMdHm") "d. MMM y, HH:mm" else throw AssertionError(skeleton)
        }
        assertEquals("28. Nov. 2026, 15:30", Format.dateTime(german, now, zone))

        // The chart's days: the store's keys in the locale's words, whatever the zone.
        assertEquals("Fri, Nov 27", Format.dayKey(XmlStrings, "2026-11-27", "MMMEd"))
        assertEquals("11/27", Format.dayKey(XmlStrings, "2026-11-27", "Md"))
        val germanDays = object : Strings by XmlStrings {
            override val locale: java.util.Locale = java.util.Locale.GERMANY
            override fun pattern(skeleton: String) =
                if (skeleton == "MMMEd") "EEE, d. MMM" else throw AssertionError(skeleton)
        }
        assertEquals("Fr., 27. Nov.", Format.dayKey(germanDays, "2026-11-27", "MMMEd"))
        assertEquals("not a date: as it is", "someday", Format.dayKey(XmlStrings, "someday", "Md"))

        assertEquals("64 MB", Format.size(XmlStrings, 64L shl 20))
        assertEquals("whole units, rounded down", "1 MB", Format.size(XmlStrings, (2L shl 20) - 1))
        assertEquals("4 KB", Format.size(XmlStrings, 4096))
        assertEquals("1 byte", Format.size(XmlStrings, 1))
        assertEquals("1,000 bytes", Format.size(XmlStrings, 1000))
        assertEquals("0 bytes", Format.size(XmlStrings, 0))
        assertEquals("8,192 MB", Format.size(XmlStrings, 8192L shl 20))
    }

    @Test
    fun rowsNameEveryUidAndTakeTheModePerNetwork() {
        val installed = listOf(
            InstalledApp("com.google.android.gms", "Google Play services", 10109, true),
            InstalledApp("com.google.android.gsf", "Google Services Framework", 10109, true),
            InstalledApp("com.duolingo", "Duolingo", 10111, false),
        )
        val rules = listOf(
            AppModeRule(10111, Network.ANY, AppMode.BLOCK_ALL),
            AppModeRule(10111, Network.WIFI, AppMode.ALLOW_ALL),
            AppModeRule(10777, Network.MOBILE, AppMode.BLOCK_ALL),
        )
        val rows = AppsPresenter.rows(XmlStrings, installed, mapOf(10111 to 40L, 10123 to 7L, 1000 to 2L), rules)
        // A shared UID is one row, named by its packages and listing them.
        assertEquals(listOf("Duolingo", "UID 10123", "UID 1000", "Google Play services and 1 more", "UID 10777"),
            rows.map { it.label })
        val duo = rows[0]
        assertEquals(AppMode.ALLOW_ALL, duo.wifi)
        assertEquals(AppMode.BLOCK_ALL, duo.mobile)
        assertEquals("2 apps: Google Play services, Google Services Framework", rows[3].note)
        assertEquals(listOf("com.google.android.gms", "com.google.android.gsf"), rows[3].packages)
        assertNull(rows[1].packageName)
        assertEquals(AppMode.BLOCK_ALL, rows[4].mobile)
        assertEquals(AppMode.BLOCK_TRACKERS, rows[4].wifi)
    }

    @Test
    fun upstreamDnsAndListUrls() {
        assertNull(SettingsPresenter.dnsProblem(XmlStrings, "9.9.9.9:53"))
        assertNull(SettingsPresenter.dnsProblem(XmlStrings, "[2620:fe::fe]:53"))
        assertEquals("Use address:port, e.g. 9.9.9.9:53 or [2620:fe::fe]:53", SettingsPresenter.dnsProblem(XmlStrings, "[]:53"))
        assertEquals("The port must be between 1 and 65535", SettingsPresenter.dnsProblem(XmlStrings, "9.9.9.9:0"))
        assertNull(ListsPresenter.urlProblem(XmlStrings, "https://raw.githubusercontent.com/StevenBlack/hosts/master/hosts"))
        assertNull(ListsPresenter.urlProblem(XmlStrings, "https://192.168.1.10:8443/hosts.txt"))
        assertEquals("Use https://: lists are only downloaded over an encrypted connection", ListsPresenter.urlProblem(XmlStrings, "http://192.168.1.10:8080/hosts.txt"))
        assertEquals("Not a valid URL: it must start with https://", ListsPresenter.urlProblem(XmlStrings, "ftp://example.org/hosts"))
        assertEquals("Not a valid URL: \"intranet\" is not a host name", ListsPresenter.urlProblem(XmlStrings, "https://intranet/hosts"))
    }
}
