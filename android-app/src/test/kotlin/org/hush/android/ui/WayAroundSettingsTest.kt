package org.hush.android.ui

import org.hush.android.R
import org.hush.android.app.AppWiring
import org.hush.android.app.SettingsAdapter
import org.hush.android.data.AppOption
import org.hush.android.core.NativeFirewall
import org.hush.android.settings.HushSettings
import org.json.JSONObject
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.annotation.Config
import java.io.File
import java.nio.file.Files

/**
 * Issue 13's choices on the screens: Settings' upstream (the network's own resolvers or
 * an address), apps' own encrypted DNS, ECH and "only addresses Hush resolved" for every
 * app, kept and sent in the session's start JSON, and the reasons in words. App detail's
 * own resolved-only choice (beside "strict"): StrictTest. On the real store: NativeResolvedOnlyTest.
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35], qualifiers = "w360dp-h780dp-xhdpi")
class WayAroundSettingsTest {
    @After
    fun reset() {
        HushUi.deps = null
    }

    private fun settings(world: SampleData.World): SettingsScreen =
        UiTest.launch(world, MainActivity.Tab.SETTINGS).get().screen(MainActivity.Tab.SETTINGS) as SettingsScreen

    @Test
    fun theSettingsAreKeptAndSentInTheStartJson() {
        val app = RuntimeEnvironment.getApplication()
        val settings = HushSettings(app)
        val before = JSONObject(NativeFirewall.configJson(AppWiring.coreConfig(app, settings)))
        assertFalse(before.getBoolean("allowEncryptedDns"))
        assertTrue(before.getBoolean("stripEch"))
        assertFalse(AppWiring.coreConfig(app, settings).followNetworkDns)

        val ui = SettingsAdapter(settings)
        ui.allowEncryptedDns = true
        ui.stripEch = false
        ui.upstreamChoice = org.hush.android.settings.UpstreamChoice.NETWORK
        val again = HushSettings(app) // read back from the preferences
        assertTrue(again.allowEncryptedDns)
        assertFalse(again.stripEch)
        assertTrue(again.followNetworkDns)
        val config = AppWiring.coreConfig(app, again)
        val json = JSONObject(NativeFirewall.configJson(config))
        assertTrue(json.getBoolean("allowEncryptedDns"))
        assertFalse(json.getBoolean("stripEch"))
        assertTrue(config.followNetworkDns)
        assertFalse("the platform's part, not the core's", json.has("followNetworkDns"))
        // The core reads what it is sent: a session config it refuses would fail the start.
        assertEquals(settings.upstreamDns, json.getString("upstreamDns"))
    }

    @Test
    fun theScreensChoicesGoToTheSettings() {
        val world = SampleData.World()
        val screen = settings(world)
        assertTrue(screen.upstreamAddress.isChecked)
        assertFalse(screen.encryptedDnsSwitch.isChecked)
        assertTrue(screen.echSwitch.isChecked)
        assertFalse(screen.resolvedOnlySwitch.isChecked)

        screen.upstreamNetwork.performClick()
        assertTrue(world.settings.followNetworkDns)
        assertEquals(XmlStrings.get(R.string.settings_upstream_network_saved), screen.message.text.toString())
        screen.encryptedDnsSwitch.performClick()
        assertTrue(world.settings.allowEncryptedDns)
        screen.echSwitch.performClick()
        assertFalse(world.settings.stripEch)
        screen.upstreamAddress.performClick()
        assertFalse(world.settings.followNetworkDns)

        // The address is still checked as before.
        screen.dnsField.setText("9.9.9")
        screen.saveDns.performClick()
        assertEquals(XmlStrings.get(R.string.settings_dns_bad), screen.dnsError.text.toString())
        assertEquals("9.9.9.9:53", world.settings.upstreamDns)
    }

    @Test
    fun resolvedOnlyForEveryAppIsStoredAndInForceAtOnce() {
        val world = SampleData.World()
        val screen = settings(world)
        screen.resolvedOnlySwitch.performClick()
        assertTrue(world.store.optionDefaults[AppOption.RESOLVED_ONLY] == true)
        assertEquals(1, world.actions.rulesChanged)
        assertEquals(XmlStrings.get(R.string.settings_resolved_only_saved_on), screen.message.text.toString())

        world.store.failure = "database is locked"
        screen.resolvedOnlySwitch.performClick()
        UiTest.idle()
        assertTrue("the store failed: the switch stays on", screen.resolvedOnlySwitch.isChecked)
        assertTrue(world.store.optionDefaults[AppOption.RESOLVED_ONLY] == true)
        assertEquals(1, world.actions.rulesChanged)
        assertEquals(XmlStrings.get(R.string.settings_error_resolved_only, "database is locked"), screen.presenter.state.error)
    }

    @Test
    fun theReasonsAreInWords() {
        assertEquals(XmlStrings.get(R.string.reason_not_resolved), Format.reason(XmlStrings, "not-resolved"))
        assertEquals(XmlStrings.get(R.string.reason_encrypted_dns), Format.reason(XmlStrings, "encrypted-dns"))
        assertEquals(XmlStrings.get(R.string.reason_cname, "tracker.example"), Format.reason(XmlStrings, "cname:tracker.example:list:hush-default"))
    }
}
