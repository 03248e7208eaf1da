package org.hush.android.ui

import android.app.Activity
import android.app.AlertDialog
import android.content.Intent
import android.net.Uri
import android.view.View
import org.hush.android.data.ExportFormat
import org.hush.android.data.Retention
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config
import org.robolectric.shadows.ShadowAlertDialog
import java.io.File

@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35], qualifiers = "w360dp-h780dp-xhdpi")
class SettingsScreenTest {
    @After
    fun reset() { HushUi.deps = null }

    private fun settings(world: SampleData.World): Pair<MainActivity, SettingsScreen> {
        val activity = UiTest.launch(world, MainActivity.Tab.SETTINGS).get()
        return activity to activity.screen(MainActivity.Tab.SETTINGS) as SettingsScreen
    }

    @Test
    fun showsTheSettingsAndAbout() {
        val world = SampleData.World(settings = FakeSettings("[2620:fe::fe]:53", startOnBoot = true))
        val (_, screen) = settings(world)
        assertEquals("[2620:fe::fe]:53", screen.dnsField.text.toString())
        assertTrue(screen.bootSwitch.isChecked)
        assertEquals("30", screen.daysField.text.toString())
        assertEquals("1000000", screen.eventsField.text.toString())
        assertTrue(screen.retentionNote.text.toString(), screen.retentionNote.text.toString().contains("kept 30 days"))
        val about = screen.about.text.toString()
        assertTrue(about, about.contains("Licence: GPL-3.0-or-later"))
        assertTrue(about, about.contains("• easyprivacy: https://v.firebog.net/hosts/Easyprivacy.txt"))
        assertTrue(about, about.contains("• hush-default: built in"))
    }

    @Test
    fun theVpnSettingsButtonShowsOnlyWhenThePhoneHasThatScreenAndOpensIt() {
        val (_, without) = settings(SampleData.World())
        assertEquals(View.GONE, without.openVpnSettings.visibility)
        assertTrue(without.alwaysOnText.text.toString().contains("Block connections without VPN"))

        val pm = shadowOf(org.robolectric.RuntimeEnvironment.getApplication().packageManager)
        val vpnSettings = android.content.ComponentName("com.android.settings", "com.android.settings.VpnSettings")
        pm.addActivityIfNotPresent(vpnSettings)
        pm.addIntentFilterForActivity(vpnSettings, android.content.IntentFilter(android.provider.Settings.ACTION_VPN_SETTINGS).apply {
            addCategory(Intent.CATEGORY_DEFAULT)
        })
        val (activity, with) = settings(SampleData.World())
        assertEquals(View.VISIBLE, with.openVpnSettings.visibility)
        with.openVpnSettings.performClick()
        assertEquals(android.provider.Settings.ACTION_VPN_SETTINGS, shadowOf(activity).nextStartedActivity.action)
    }

    @Test
    fun aDnsServerTheSettingsRefuseIsShownInlineNotACrash() {
        val world = SampleData.World()
        world.settings.refuse = { v -> if (v.startsWith("0.0.0.0")) "0.0.0.0 is not a DNS server's address" else null }
        val (_, screen) = settings(world)
        screen.dnsField.setText("0.0.0.0:53")
        screen.saveDns.performClick()
        assertEquals("0.0.0.0 is not a DNS server's address", screen.dnsError.text.toString())
        assertEquals("9.9.9.9:53", world.settings.upstreamDns)
    }

    @Test
    fun upstreamDnsIsCheckedThenSaved() {
        val world = SampleData.World()
        val (_, screen) = settings(world)
        for (bad in listOf("9.9.9.9", "dns.quad9.net:53", "9.9.9.999:53", "2620:fe::fe:53")) {
            screen.dnsField.setText(bad)
            screen.saveDns.performClick()
            assertEquals(bad, "Use address:port, e.g. 9.9.9.9:53 or [2620:fe::fe]:53", screen.dnsError.text.toString())
        }
        screen.dnsField.setText("1.1.1.1:70000")
        screen.saveDns.performClick()
        assertEquals("The port must be between 1 and 65535", screen.dnsError.text.toString())
        assertEquals("9.9.9.9:53", world.settings.upstreamDns)

        screen.dnsField.setText(" 149.112.112.112:53 ")
        screen.saveDns.performClick()
        assertEquals("149.112.112.112:53", world.settings.upstreamDns)
        assertEquals(View.GONE, screen.dnsError.visibility)
        screen.dnsField.setText("[2620:fe::9]:53")
        screen.saveDns.performClick()
        assertEquals("[2620:fe::9]:53", world.settings.upstreamDns)
    }

    @Test
    fun startOnBootIsKept() {
        val world = SampleData.World()
        val (_, screen) = settings(world)
        assertFalse(screen.bootSwitch.isChecked)
        screen.bootSwitch.performClick()
        assertTrue(world.settings.startOnBoot)
        screen.bootSwitch.performClick()
        assertFalse(world.settings.startOnBoot)
    }

    @Test
    fun retentionIsCheckedThenStored() {
        val world = SampleData.World()
        val (_, screen) = settings(world)
        screen.daysField.setText("0")
        screen.saveRetention.performClick()
        assertEquals("Days must be a whole number above 0, or empty for no limit", screen.retentionError.text.toString())
        assertEquals(Retention(30, 1_000_000), world.store.storedRetention)

        screen.daysField.setText("14")
        screen.eventsField.setText("500000")
        screen.saveRetention.performClick()
        assertEquals(Retention(14, 500_000), world.store.storedRetention)
        assertEquals(View.GONE, screen.retentionError.visibility)
        screen.daysField.setText("")
        screen.saveRetention.performClick()
        assertEquals(Retention(null, 500_000), world.store.storedRetention)
    }

    @Test
    fun exportGoesThroughTheFilePickerToTheStore() {
        val world = SampleData.World()
        val (activity, screen) = settings(world)
        screen.exportCsv.performClick()
        val request = shadowOf(activity).nextStartedActivityForResult
        assertNotNull(request)
        assertEquals(Intent.ACTION_CREATE_DOCUMENT, request.intent.action)
        assertEquals("text/csv", request.intent.type)
        assertEquals("hush-activity.csv", request.intent.getStringExtra(Intent.EXTRA_TITLE))
        assertTrue(request.intent.hasCategory(Intent.CATEGORY_OPENABLE))

        val file = File.createTempFile("hush-export", ".csv")
        shadowOf(activity).receiveResult(request.intent, Activity.RESULT_OK, Intent().setData(Uri.fromFile(file)))
        UiTest.idle()
        assertEquals(1, world.store.exportCalls.size)
        assertEquals(ExportFormat.CSV, world.store.exportCalls[0].second)
        assertTrue(world.store.exportCalls[0].first >= 0)
        assertEquals("Exported ${Format.count(XmlStrings, world.store.eventCount().toLong())} events as CSV", screen.message.text.toString())
        val written = file.readLines()
        assertEquals("time_ms,uid,host,ip,port,protocol,action,reason", written[0])
        assertEquals(world.store.eventCount() + 1, written.size)
        assertTrue(written.any { it.contains(",app.adjust.com,") && it.endsWith(",blocked,list:easyprivacy") })

        screen.exportJson.performClick()
        val json = shadowOf(activity).nextStartedActivityForResult
        assertEquals("application/json", json.intent.type)
        shadowOf(activity).receiveResult(json.intent, Activity.RESULT_CANCELED, null)
        UiTest.idle()
        assertEquals("a cancelled picker exports nothing", 1, world.store.exportCalls.size)
    }

    @Test
    fun clearingActivityAsksFirst() {
        val world = SampleData.World()
        val (_, screen) = settings(world)
        val n = world.store.eventCount()
        screen.clearActivity.performClick()
        ShadowAlertDialog.getLatestAlertDialog().getButton(AlertDialog.BUTTON_NEGATIVE).performClick()
        UiTest.idle()
        assertEquals(0, world.store.clearCalls)
        screen.clearActivity.performClick()
        val dialog = ShadowAlertDialog.getLatestAlertDialog()
        assertEquals("Clear activity?", shadowOf(dialog).title.toString())
        dialog.getButton(AlertDialog.BUTTON_POSITIVE).performClick()
        UiTest.idle()
        assertEquals(1, world.store.clearCalls)
        assertEquals("Deleted ${Format.count(XmlStrings, n.toLong())} events; rules are kept", screen.message.text.toString())
    }

    @Test
    fun aFailingStoreShowsTheMessage() {
        val world = SampleData.World()
        world.store.failure = "database is locked"
        val (_, screen) = settings(world)
        assertEquals(View.VISIBLE, screen.error.visibility)
        assertEquals("Could not read the settings: database is locked", screen.error.text.toString())
        screen.clearActivity.performClick()
        ShadowAlertDialog.getLatestAlertDialog().getButton(AlertDialog.BUTTON_POSITIVE).performClick()
        UiTest.idle()
        assertEquals("Could not clear the activity: database is locked", screen.error.text.toString())
    }
}
