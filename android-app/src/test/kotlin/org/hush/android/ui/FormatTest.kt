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
        assertEquals("List: easyprivacy", Format.reason("list:easyprivacy"))
        assertEquals("Your rule: block", Format.reason("rule:block"))
        assertEquals("App mode: Block all", Format.reason("app:block-all"))
        assertEquals("App mode: Allow all", Format.reason("app:allow-all"))
        assertEquals("App rule: allow", Format.reason("app-rule:allow"))
        assertEquals("No rule", Format.reason(""))
        assertEquals("future:thing", Format.reason("future:thing"))
    }

    @Test
    fun daysAreLocal() {
        val berlinMidnight = Format.startOfDay(SampleData.NOW, SampleData.ZONE)
        assertEquals(SampleData.NOW - 15 * SampleData.HOUR - 30 * 60_000L, berlinMidnight)
        assertEquals(60, Format.offsetMinutes(SampleData.NOW, SampleData.ZONE))
        assertEquals("15:30:00", Format.time(SampleData.NOW, SampleData.ZONE))
        assertEquals("1,000,000", Format.count(1_000_000))
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
        val rows = AppsPresenter.rows(installed, mapOf(10111 to 40L, 10123 to 7L, 1000 to 2L), rules)
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
        assertNull(SettingsPresenter.dnsProblem("9.9.9.9:53"))
        assertNull(SettingsPresenter.dnsProblem("[2620:fe::fe]:53"))
        assertEquals("Use address:port, e.g. 9.9.9.9:53 or [2620:fe::fe]:53", SettingsPresenter.dnsProblem("[]:53"))
        assertEquals("The port must be between 1 and 65535", SettingsPresenter.dnsProblem("9.9.9.9:0"))
        assertNull(ListsPresenter.urlProblem("https://raw.githubusercontent.com/StevenBlack/hosts/master/hosts"))
        assertNull(ListsPresenter.urlProblem("https://192.168.1.10:8443/hosts.txt"))
        assertEquals("Use https://: lists are only downloaded over an encrypted connection", ListsPresenter.urlProblem("http://192.168.1.10:8080/hosts.txt"))
        assertEquals("Not a valid URL: it must start with https://", ListsPresenter.urlProblem("ftp://example.org/hosts"))
        assertEquals("Not a valid URL: \"intranet\" is not a host name", ListsPresenter.urlProblem("https://intranet/hosts"))
    }
}
