package org.hush.android.vpn

import android.view.View
import org.hush.android.R
import org.hush.android.core.CoreConfig
import org.hush.android.ui.AppDetailScreen
import org.hush.android.ui.HushUi
import org.hush.android.ui.MainActivity
import org.hush.android.ui.SampleData
import org.hush.android.ui.UiTest
import org.hush.android.ui.XmlStrings
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.annotation.Config

/**
 * Apps trusted with "allow all, not inspected" (issue 15): left out of the tun beside
 * Hush, the VPN established again when the set changes and the new tun handed to the
 * running core before the old one closes; App detail's choice and its words. With the
 * real core and the gap measured: NativeTunSwapTest.
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35], qualifiers = "w360dp-h780dp-xhdpi")
class TrustedAppsTest {
    private val core = FakeCore()
    private val tun = FakeTunBuilder()
    private var trusted: Collection<String> = listOf("com.example.game")
    private var trustedFailure: RuntimeException? = null
    private val controller = VpnController(
        tunBuilder = tun,
        platform = NoPlatform,
        core = { core },
        config = { CoreConfig(databasePath = "/data/hush.db", upstreamDns = "9.9.9.9:53") },
        spec = TunSpec.forApp(OWN),
        strings = XmlStrings,
        trustedPackages = { trustedFailure?.let { throw it } ?: trusted },
    )

    @After
    fun reset() {
        HushUi.deps = null
    }

    @Test
    fun theSpecLeavesOutHushAndTheTrustedAppsInAStableOrder() {
        val spec = TunSpec.forApp(OWN).withTrusted(listOf("org.b", OWN, "org.a", "org.b"))
        assertEquals(listOf(OWN, "org.a", "org.b"), spec.disallowedApplications)
        assertTrue(spec.excludesItself)
        assertEquals(spec, TunSpec.forApp(OWN).withTrusted(listOf("org.a", "org.b")))
        assertEquals(TunSpec.forApp(OWN), TunSpec.forApp(OWN).withTrusted(emptyList()))
        val calls = ArrayList<String>()
        spec.applyTo(object : BuilderCalls {
            override fun setSession(session: String) {}
            override fun addAddress(address: String, prefixLength: Int) {}
            override fun addRoute(address: String, prefixLength: Int) {}
            override fun addDnsServer(address: String) {}
            override fun setMtu(mtu: Int) {}
            override fun addDisallowedApplication(packageName: String) { calls.add(packageName) }
            override fun setMetered(metered: Boolean) {}
            override fun setUnderlyingNetworks(networks: Array<android.net.Network>?) {}
            override fun setConfigureIntent(intent: android.app.PendingIntent) {}
        }, null, null, 35)
        assertEquals(listOf(OWN, "org.a", "org.b"), calls)
    }

    @Test
    fun aStartLeavesTheTrustedAppsOutAndAChangeHandsANewTunToTheRunningCore() {
        controller.start()
        assertEquals(listOf(OWN, "com.example.game"), tun.specs.single().disallowedApplications)
        assertTrue("still no protect for Hush's own sockets", core.starts.single().second.selfExcluded)
        assertEquals(listOf(OWN, "com.example.game"), controller.excludedPackages)

        // The same set: nothing is established again.
        assertFalse(controller.trustedChanged())
        assertEquals(1, tun.specs.size)

        trusted = listOf("com.example.game", "com.example.bank")
        tun.fd = 43
        assertTrue(controller.trustedChanged())
        assertEquals(listOf(OWN, "com.example.bank", "com.example.game"), tun.specs.last().disallowedApplications)
        assertTrue(tun.tuns.last().detached)
        val session = core.session
        assertEquals(listOf(43), session.replacedBy)
        assertEquals("the old tun is closed by the core, after the new one is in", listOf(42), core.closedFds)
        assertEquals(1, core.starts.size)
        assertFalse(session.stopped)

        // Android refuses the new tun: the old one stays.
        trusted = emptyList()
        tun.returnNull = true
        assertFalse(controller.trustedChanged())
        assertEquals(listOf(43), session.replacedBy)
        assertEquals(listOf(OWN, "com.example.bank", "com.example.game"), controller.excludedPackages)
        // The core cannot take it: the old one stays, and the new fd is the core's to close.
        tun.returnNull = false
        tun.fd = 44
        session.replaceFailure = IllegalStateException("ended")
        assertFalse(controller.trustedChanged())
        assertEquals(listOf(42, 44), core.closedFds)
        session.replaceFailure = null
        tun.fd = 45
        assertTrue(controller.trustedChanged())
        assertEquals(listOf(OWN), controller.excludedPackages)

        controller.stop()
        assertEquals(listOf(42, 44, 43, 45), core.closedFds)
        assertFalse("nothing runs: nothing to set up", controller.trustedChanged())
        assertTrue(controller.excludedPackages.isEmpty())
    }

    @Test
    fun aStoreThatCannotBeReadLeavesEveryAppFiltered() {
        trustedFailure = IllegalStateException("database is locked")
        controller.start()
        assertEquals(listOf(OWN), tun.specs.single().disallowedApplications)
    }

    @Test
    fun appDetailTrustsTheAppWithItsPackageAndSaysWhatItMeans() {
        val world = SampleData.World()
        val activity = UiTest.launch(world, MainActivity.Tab.APPS).get()
        val app = world.apps.list.first()
        activity.openAppDetail(app.uid, app.label)
        UiTest.idle()
        val detail = activity.pushed as AppDetailScreen
        assertEquals(View.VISIBLE, detail.trustedCard.visibility)
        UiTest.assertShows(detail.trustedCard, XmlStrings.get(R.string.detail_trusted_note))
        assertTrue(detail.filtered.isChecked)

        detail.trusted.performClick()
        assertEquals(mapOf(app.uid to app.packageName), world.store.trusted)
        assertEquals(1, world.actions.rulesChanged)
        assertEquals(XmlStrings.get(R.string.detail_trusted_saved_on), detail.trustedMessage.text.toString())

        world.store.failure = "database is locked"
        detail.filtered.performClick()
        UiTest.idle()
        assertTrue("the store failed: still trusted", detail.trusted.isChecked)
        assertEquals(mapOf(app.uid to app.packageName), world.store.trusted)
        assertEquals(1, world.actions.rulesChanged)
        assertEquals(XmlStrings.get(R.string.detail_trusted_error, "database is locked"), detail.presenter.state.error)

        world.store.failure = null
        detail.filtered.performClick()
        assertTrue(world.store.trusted.isEmpty())
        assertEquals(2, world.actions.rulesChanged)
        assertEquals(XmlStrings.get(R.string.detail_trusted_saved_off), detail.trustedMessage.text.toString())
    }

    companion object {
        const val OWN = "org.hush.android"
    }
}
