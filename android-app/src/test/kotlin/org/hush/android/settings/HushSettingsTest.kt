package org.hush.android.settings

import android.content.Context
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.annotation.Config
import java.io.File

@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35])
class HushSettingsTest {
    private val context: Context get() = RuntimeEnvironment.getApplication()

    @Test
    fun defaultsAreQuad9OffAndTheDatabaseInFilesDir() {
        val s = HushSettings(context)
        assertEquals("9.9.9.9:53", s.upstreamDns)
        assertFalse(s.startOnBoot)
        assertFalse(s.enabled)
        assertEquals(File(context.filesDir, "hush.db").path, s.databasePath)
    }

    @Test
    fun valuesPersistAcrossInstances() {
        val s = HushSettings(context)
        s.upstreamDns = " 1.1.1.1:5353 "
        s.startOnBoot = true
        s.enabled = true
        s.databasePath = "/data/data/org.hush.android/files/other.db"
        val again = HushSettings(context)
        assertEquals("1.1.1.1:5353", again.upstreamDns)
        assertTrue(again.startOnBoot)
        assertTrue(again.enabled)
        assertEquals("/data/data/org.hush.android/files/other.db", again.databasePath)
        again.resetToDefaults()
        assertEquals("9.9.9.9:53", HushSettings(context).upstreamDns)
        assertTrue("reset leaves the switches alone", HushSettings(context).startOnBoot)
    }

    @Test
    fun ipv6ServersAreWrittenInBracketsAndNormalised() {
        val s = HushSettings(context)
        s.upstreamDns = "[2620:FE:0::FE]:53"
        assertEquals("[2620:fe:0:0:0:0:0:fe]:53", s.upstreamDns)
        assertEquals(53, DnsServer.parse("[2620:fe::fe]:53").port)
    }

    @Test
    fun malformedUpstreamDnsIsRefusedWithAMessageThatNamesTheProblem() {
        val cases = mapOf(
            "" to "Enter a DNS server",
            "9.9.9.9" to "needs a port: write it as 9.9.9.9:53",
            "dns.quad9.net:53" to "not an IP address",
            "9.9.9.300:53" to "each part must be 0 to 255",
            "9.9.9.9:0" to "out of range",
            "9.9.9.9:65536" to "out of range",
            "9.9.9.9:dns" to "not a port number",
            "9.9.9.9:+53" to "not a port number",
            "2620:fe::fe" to "in brackets",
            "[2620:fe::fe]" to "needs a port",
            "[2620:fe::fe:53" to "closing ]",
            "[2620:zz::1]:53" to "not an IPv6 address",
            "0.0.0.0:53" to "any address",
            "224.0.0.1:53" to "multicast",
        )
        val s = HushSettings(context)
        s.upstreamDns = "1.1.1.1:53"
        for ((input, expected) in cases) {
            try {
                s.upstreamDns = input
                fail("accepted \"$input\"")
            } catch (e: IllegalArgumentException) {
                val message = e.message.orEmpty()
                assertTrue("\"$input\": $message", message.contains(expected))
            }
            assertEquals("a refused value changes nothing", "1.1.1.1:53", s.upstreamDns)
            assertEquals(HushSettings.upstreamDnsProblem(input), try {
                DnsServer.parse(input); null
            } catch (e: SettingRefused) { e.problem })
        }
        assertNull(HushSettings.upstreamDnsProblem("9.9.9.9:53"))
    }

    @Test
    fun anUnreadableStoredValueReadsAsTheDefault() {
        context.getSharedPreferences(HushSettings.PREFS_NAME, Context.MODE_PRIVATE).edit()
            .putString("upstream_dns", "not a server")
            .putString("database_path", "relative.db")
            .commit()
        val s = HushSettings(context)
        assertEquals("9.9.9.9:53", s.upstreamDns)
        assertEquals(File(context.filesDir, "hush.db").path, s.databasePath)
    }

    @Test
    fun malformedDatabasePathsAreRefused() {
        val s = HushSettings(context)
        val cases = mapOf(
            "" to "Enter where",
            "hush.db" to "full path",
            "/data/x/ " to "space",
            "/data/files/" to "add a file name",
            context.filesDir.path to "is a folder",
        )
        for ((input, expected) in cases) {
            try {
                s.databasePath = input
                fail("accepted \"$input\"")
            } catch (e: IllegalArgumentException) {
                assertTrue("\"$input\": ${e.message}", e.message.orEmpty().contains(expected))
            }
        }
        assertEquals(File(context.filesDir, "hush.db").path, s.databasePath)
    }
}
