package org.hush.android.ui

import android.content.Context
import android.view.View
import org.hush.android.R
import org.hush.android.app.AppWiring
import org.hush.android.app.SettingsAdapter
import org.hush.android.app.VpnFirewallControl
import org.hush.android.core.CoreProblem
import org.hush.android.core.NativeFirewall
import org.hush.android.settings.EncryptedDns
import org.hush.android.settings.HushSettings
import org.hush.android.settings.SettingProblem
import org.hush.android.settings.SettingRefused
import org.hush.android.settings.UpstreamChoice
import org.json.JSONObject
import org.junit.After
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

/**
 * Issue 13's encrypted upstream on the app's side: Settings' DNS over TLS and DNS over
 * HTTPS (a server name or URL and its addresses, checked in words before anything is
 * saved), kept in the preferences beside the older choices (an install from before
 * reads as it did), sent in the start JSON as `upstream`, and the core's account of a
 * failing server said on Home in the owner's words. The core's reading of the same JSON:
 * NativeFirewallTest.anEncryptedUpstreamFromSettingsStartsTheCoreAndFailsClosed.
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35], qualifiers = "w360dp-h780dp-xhdpi")
class EncryptedUpstreamTest {
    private val context: Context get() = RuntimeEnvironment.getApplication()

    @After
    fun reset() {
        HushUi.deps = null
    }

    private fun presenter(settings: FakeSettings = FakeSettings()): SettingsPresenter =
        SettingsPresenter(SampleData.World(settings = settings).deps, XmlStrings).apply { attach { }; load() }

    private fun problem(kind: SettingProblem.Kind, vararg args: String) = SettingProblem(kind, args.toList()).words(XmlStrings)

    @Test
    fun badServersAndAddressesAreRefusedInWordsAndNothingIsSaved() {
        val settings = FakeSettings()
        val p = presenter(settings)
        p.chooseUpstream(UpstreamChoice.TLS)
        assertEquals("nothing saved yet: the choice waits for a server", UpstreamChoice.ADDRESS, settings.upstreamChoice)
        assertEquals(XmlStrings.get(R.string.settings_enc_enter), p.state.message)
        val tls = listOf(
            Triple("", "9.9.9.9", problem(SettingProblem.Kind.ENC_EMPTY)),
            Triple("dns.quad9.net", "", problem(SettingProblem.Kind.ENC_NO_ADDRESS, "dns.quad9.net")),
            Triple("dns.quad9.net", "9.9.9", problem(SettingProblem.Kind.ENC_BAD_ADDRESS, "9.9.9")),
            Triple("dns.quad9.net", "9.9.9.9, dns.quad9.net", problem(SettingProblem.Kind.ENC_BAD_ADDRESS, "dns.quad9.net")),
            Triple("dns.quad9.net", "0.0.0.0", problem(SettingProblem.Kind.ENC_BAD_ADDRESS, "0.0.0.0")),
            Triple("dns.quad9.net", "224.0.0.251", problem(SettingProblem.Kind.ENC_BAD_ADDRESS, "224.0.0.251")),
            Triple("dns.quad9.net", "300.1.1.1", problem(SettingProblem.Kind.ENC_BAD_ADDRESS, "300.1.1.1")),
            Triple("dns quad9.net", "9.9.9.9", problem(SettingProblem.Kind.ENC_MALFORMED, "dns quad9.net")),
            Triple("bad_name!.net", "9.9.9.9", problem(SettingProblem.Kind.ENC_NAME, "bad_name!.net")),
            Triple("-dns.quad9.net", "9.9.9.9", problem(SettingProblem.Kind.ENC_NAME, "-dns.quad9.net")),
            Triple("dns.quad9.net:0", "9.9.9.9", problem(SettingProblem.Kind.ENC_PORT, "0")),
            Triple("dns.quad9.net:99999", "9.9.9.9", problem(SettingProblem.Kind.ENC_PORT, "99999")),
            Triple("dns.quad9.net/dns-query", "9.9.9.9", problem(SettingProblem.Kind.ENC_TLS_PATH, "/dns-query")),
            Triple("https://dns.quad9.net", "9.9.9.9", problem(SettingProblem.Kind.ENC_SCHEME, "https://", "tls://")),
            Triple("quic://dns.quad9.net", "9.9.9.9", problem(SettingProblem.Kind.ENC_SCHEME, "quic://", "tls://")),
            Triple("2620:fe::fe", "", problem(SettingProblem.Kind.ENC_MALFORMED, "2620:fe::fe")),
            Triple("u@dns.quad9.net", "9.9.9.9", problem(SettingProblem.Kind.ENC_MALFORMED, "u@dns.quad9.net")),
            Triple("dns.quad9.net", (1..9).joinToString(",") { "198.18.0.$it" }, problem(SettingProblem.Kind.ENC_TOO_MANY, "8")),
        )
        for ((server, addresses, says) in tls) {
            p.saveEncrypted(server, addresses)
            assertEquals("tls \"$server\" \"$addresses\"", says, p.state.encryptedError)
        }
        p.chooseUpstream(UpstreamChoice.HTTPS)
        assertNull("a new choice starts without the old error", p.state.encryptedError)
        val https = listOf(
            Triple("http://dns.quad9.net/dns-query", "9.9.9.9", problem(SettingProblem.Kind.ENC_HTTP)),
            Triple("tls://dns.quad9.net", "9.9.9.9", problem(SettingProblem.Kind.ENC_SCHEME, "tls://", "https://")),
            Triple("https://dns.quad9.net/q?x=1", "9.9.9.9", problem(SettingProblem.Kind.ENC_MALFORMED, "https://dns.quad9.net/q?x=1")),
            Triple("https://[fd00::1/q", "", problem(SettingProblem.Kind.ENC_MALFORMED, "https://[fd00::1/q")),
            Triple("https://dns.quad9.net", "", problem(SettingProblem.Kind.ENC_NO_ADDRESS, "dns.quad9.net")),
        )
        for ((server, addresses, says) in https) {
            p.saveEncrypted(server, addresses)
            assertEquals("https \"$server\" \"$addresses\"", says, p.state.encryptedError)
        }
        assertTrue("nothing was saved", settings.encrypted.isEmpty())
        assertEquals(UpstreamChoice.ADDRESS, settings.upstreamChoice)
        // The words say what to do: an example, or why the addresses are needed.
        assertTrue(problem(SettingProblem.Kind.ENC_NO_ADDRESS, "dns.quad9.net").contains("never looks its name up in clear text"))
    }

    @Test
    fun goodServersAreSavedAsTheCoreReadsThemAndChosen() {
        val settings = FakeSettings()
        val p = presenter(settings)
        p.chooseUpstream(UpstreamChoice.TLS)
        p.saveEncrypted(" Dns.Quad9.Net ", "9.9.9.9  149.112.112.112,9.9.9.9; 2620:FE::FE")
        assertNull(p.state.encryptedError)
        val tls = settings.encrypted.getValue(false)
        assertEquals("tls://dns.quad9.net", tls.url)
        assertEquals("spaces, commas and repeats", listOf("9.9.9.9", "149.112.112.112", "2620:fe:0:0:0:0:0:fe"), tls.addresses)
        assertEquals(UpstreamChoice.TLS, settings.upstreamChoice)
        assertEquals(XmlStrings.get(R.string.settings_tls_saved, "dns.quad9.net"), p.state.message)
        assertEquals("dns.quad9.net", p.state.encryptedServer)

        p.chooseUpstream(UpstreamChoice.HTTPS)
        assertEquals("the TLS server is kept; HTTPS has none yet", UpstreamChoice.TLS, settings.upstreamChoice)
        assertEquals("", p.state.encryptedServer)
        p.saveEncrypted("dns.example.net:8443", "198.18.0.2")
        assertEquals("https://dns.example.net:8443/dns-query", settings.encrypted.getValue(true).url)
        assertEquals(UpstreamChoice.HTTPS, settings.upstreamChoice)
        p.saveEncrypted("HTTPS://[fd00::2]:444/resolve", "")
        assertEquals("an address as the name is where it is reached", listOf("fd00:0:0:0:0:0:0:2"), settings.encrypted.getValue(true).addresses)
        assertEquals("https://[fd00::2]:444/resolve", settings.encrypted.getValue(true).url)

        // Back to TLS: its saved server is chosen again at once.
        p.chooseUpstream(UpstreamChoice.TLS)
        assertEquals(UpstreamChoice.TLS, settings.upstreamChoice)
        assertEquals("dns.quad9.net", p.state.encryptedServer)
        assertEquals("9.9.9.9, 149.112.112.112, 2620:fe:0:0:0:0:0:fe", p.state.encryptedAddresses)
        p.chooseUpstream(UpstreamChoice.NETWORK)
        assertEquals(UpstreamChoice.NETWORK, settings.upstreamChoice)
        assertEquals(XmlStrings.get(R.string.settings_upstream_network_saved), p.state.message)
    }

    @Test
    fun aPresetIsChosenOnlyByItsTapForTheKindShown() {
        val settings = FakeSettings()
        val p = presenter(settings)
        val quad9 = SettingsPresenter.PRESETS.first { it.name == "Quad9" }
        p.usePreset(quad9)
        assertTrue("no encrypted kind shown: nothing happens", settings.encrypted.isEmpty())
        p.chooseUpstream(UpstreamChoice.HTTPS)
        p.usePreset(quad9)
        assertEquals("https://dns.quad9.net/dns-query", settings.encrypted.getValue(true).url)
        assertEquals(listOf("9.9.9.9", "149.112.112.112"), settings.encrypted.getValue(true).addresses)
        assertEquals(UpstreamChoice.HTTPS, settings.upstreamChoice)
        // Every preset passes the same check typed text does, for both kinds.
        for (preset in SettingsPresenter.PRESETS) {
            for (https in listOf(false, true)) {
                EncryptedDns.parse(https, if (https) preset.httpsUrl else preset.tlsName, preset.addresses.joinToString(", "))
            }
        }
    }

    @Test
    fun theScreenShowsTheFieldsForTheEncryptedChoicesAndSavesWhatIsTyped() {
        val world = SampleData.World()
        val screen = UiTest.launch(world, MainActivity.Tab.SETTINGS).get().screen(MainActivity.Tab.SETTINGS) as SettingsScreen
        assertTrue(screen.upstreamAddress.isChecked)
        assertEquals(View.GONE, screen.encryptedPanel.visibility)
        assertEquals(View.VISIBLE, (screen.dnsField.parent as View).visibility)

        screen.upstreamTls.performClick()
        assertEquals(View.VISIBLE, screen.encryptedPanel.visibility)
        assertEquals(View.GONE, (screen.dnsField.parent as View).visibility)
        assertEquals(XmlStrings.get(R.string.settings_enc_server_tls_hint), screen.serverField.hint.toString())
        val shown = UiTest.texts(screen.view)
        assertTrue(shown.toString(), shown.contains(XmlStrings.get(R.string.settings_enc_addresses_note)))

        screen.serverField.setText("dns.quad9.net")
        screen.saveEncrypted.performClick()
        assertEquals(problem(SettingProblem.Kind.ENC_NO_ADDRESS, "dns.quad9.net"), screen.encryptedError.text.toString())
        assertEquals(View.VISIBLE, screen.encryptedError.visibility)
        assertEquals("what was typed stays", "dns.quad9.net", screen.serverField.text.toString())
        screen.addressesField.setText("9.9.9.9, 149.112.112.112")
        screen.saveEncrypted.performClick()
        assertEquals(View.GONE, screen.encryptedError.visibility)
        assertEquals(UpstreamChoice.TLS, world.settings.upstreamChoice)
        assertEquals(XmlStrings.get(R.string.settings_tls_saved, "dns.quad9.net"), screen.message.text.toString())

        screen.upstreamHttps.performClick()
        assertEquals(XmlStrings.get(R.string.settings_enc_server_https_hint), screen.serverField.hint.toString())
        assertEquals("", screen.serverField.text.toString())
        screen.presetButtons[1].performClick() // Cloudflare
        assertEquals("https://cloudflare-dns.com/dns-query", screen.serverField.text.toString())
        assertEquals("1.1.1.1, 1.0.0.1", screen.addressesField.text.toString())
        assertEquals(UpstreamChoice.HTTPS, world.settings.upstreamChoice)

        screen.upstreamNetwork.performClick()
        assertEquals(View.GONE, screen.encryptedPanel.visibility)
        assertTrue(world.settings.followNetworkDns)
    }

    @Test
    fun theChoiceIsKeptBesideTheOlderSwitchAndAnOlderInstallReadsAsBefore() {
        val prefs = context.getSharedPreferences(HushSettings.PREFS_NAME, Context.MODE_PRIVATE)
        assertEquals("a new install: the address, as before", UpstreamChoice.ADDRESS, HushSettings(context).upstreamChoice)
        // An install from before the choice: only the old switch.
        prefs.edit().putBoolean("follow_network_dns", true).commit()
        assertEquals(UpstreamChoice.NETWORK, HushSettings(context).upstreamChoice)
        assertTrue(AppWiring.coreConfig(context, HushSettings(context)).followNetworkDns)

        val s = HushSettings(context)
        try {
            s.upstreamChoice = UpstreamChoice.TLS
            fail("no TLS server saved")
        } catch (e: SettingRefused) {
            assertEquals(XmlStrings.get(R.string.refused_enc_none), e.message)
        }
        s.setEncryptedDns(EncryptedDns.parse(false, "dns.quad9.net", "9.9.9.9,149.112.112.112"))
        SettingsAdapter(s).upstreamChoice = UpstreamChoice.TLS
        val again = HushSettings(context)
        assertEquals(UpstreamChoice.TLS, again.upstreamChoice)
        assertFalse("an older version reads the address, not the network's resolvers", prefs.getBoolean("follow_network_dns", true))
        assertEquals("tls://dns.quad9.net", again.encryptedUpstream?.url)
        assertNull("the HTTPS one is not saved", again.encryptedDns(true))

        // A stored server that cannot be read (edited by hand): the start fails saying so, never plain DNS.
        prefs.edit().putString("dot_addresses", "not an address").commit()
        assertNull(HushSettings(context).encryptedDns(false))
        try {
            AppWiring.coreConfig(context, HushSettings(context))
            fail("an unreadable encrypted server must not start as plain DNS")
        } catch (e: IllegalStateException) {
            assertEquals(XmlStrings.get(R.string.refused_enc_unreadable), e.message)
        }
    }

    @Test
    fun theStartJsonCarriesTheUpstreamObjectInsteadOfTheAddress() {
        val s = HushSettings(context)
        val plain = JSONObject(NativeFirewall.configJson(AppWiring.coreConfig(context, s)))
        assertEquals("9.9.9.9:53", plain.getString("upstreamDns"))
        assertFalse(plain.has("upstream"))
        assertFalse("no exemptions: the key is left out", plain.has("exemptResolvers"))

        s.setEncryptedDns(EncryptedDns.parse(true, "https://dns.quad9.net/dns-query", "9.9.9.9 149.112.112.112"))
        s.upstreamChoice = UpstreamChoice.HTTPS
        val config = AppWiring.coreConfig(context, s)
        assertFalse("an encrypted server is not followed away", config.followNetworkDns)
        val json = JSONObject(NativeFirewall.configJson(config))
        assertFalse("one or the other: the core refuses both", json.has("upstreamDns"))
        val upstream = json.getJSONObject("upstream")
        assertEquals("https://dns.quad9.net/dns-query", upstream.getString("url"))
        assertEquals(listOf("9.9.9.9", "149.112.112.112"), (0 until upstream.getJSONArray("addresses").length()).map { upstream.getJSONArray("addresses").getString(it) })
        assertFalse("no CA on Android: the phone's trust store", upstream.has("caPem"))
    }

    @Test
    fun aFailingEncryptedServerIsSaidInTheOwnersWords() {
        // The core's own account (hush_session's upstream_problem), as its health JSON carries it.
        val core = "the encrypted DNS resolver failed 3 lookups (answered SERVFAIL, never sent in clear text); " +
            "since start, unreachable: 2, certificate not trusted: 1"
        val said = VpnFirewallControl.coreProblem(XmlStrings, CoreProblem("upstream", core))
        val why = XmlStrings.get(R.string.upstream_why_unreachable) + ", " + XmlStrings.get(R.string.upstream_why_certificate)
        assertEquals(XmlStrings.get(R.string.problem_upstream_failing_why, why), said)
        assertTrue(said, said.contains("never sent in clear text"))
        assertEquals(
            "reasons not read: the sentence alone",
            XmlStrings.get(R.string.problem_upstream_failing),
            VpnFirewallControl.coreProblem(XmlStrings, CoreProblem("upstream", "something new")),
        )
        assertEquals("other kinds in the core's words", "list x could not be read", VpnFirewallControl.coreProblem(XmlStrings, CoreProblem("list", "list x could not be read")))
    }

    @Test
    @Config(qualifiers = "de-w360dp-h780dp-xhdpi")
    fun inGermanTheChoicesErrorsAndProblemAreGerman() {
        val world = SampleData.World()
        val screen = UiTest.launch(world, MainActivity.Tab.SETTINGS).get().screen(MainActivity.Tab.SETTINGS) as SettingsScreen
        assertEquals("DNS über TLS", screen.upstreamTls.text.toString())
        screen.upstreamTls.performClick()
        screen.serverField.setText("dns.quad9.net")
        screen.saveEncrypted.performClick()
        assertEquals("Gib die Adressen von dns.quad9.net an: Hush schlägt seinen Namen nie unverschlüsselt nach.", screen.encryptedError.text.toString())
        val german = ResourceStrings(context)
        val said = VpnFirewallControl.coreProblem(german, CoreProblem("upstream", "failed 1 lookups; since start, no answer in time: 1"))
        assertTrue(said, said.startsWith("Der verschlüsselte DNS-Server versagt (keine Antwort in der Zeit)"))
    }
}
