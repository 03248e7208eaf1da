package org.hush.android.app

import android.app.Application
import android.content.Intent
import android.os.Looper
import org.hush.android.core.NativeFirewall
import org.hush.android.data.EventQuery
import org.hush.android.lists.ListDownloader
import org.hush.android.lists.ListSubscriptions
import org.hush.android.settings.HushSettings
import org.hush.android.ui.FirewallControl
import org.hush.android.ui.FirewallState
import org.hush.android.ui.HushUi
import org.hush.android.vpn.FailureKind
import org.hush.android.vpn.HushVpnService
import org.hush.android.vpn.OffReason
import org.hush.android.vpn.VpnDependencies
import org.hush.android.vpn.VpnState
import org.hush.android.vpn.VpnStatus
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertSame
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.shadows.ShadowVpnService
import java.io.File

@RunWith(RobolectricTestRunner::class)
class AppWiringTest {
    private val app: Application = RuntimeEnvironment.getApplication()

    @After
    fun reset() {
        HushUi.deps = null
        VpnDependencies.reset()
        VpnStatus.fail("reset")
        VpnStatus.publish(VpnState.Off(OffReason.NOT_STARTED))
    }

    @Test
    fun aLoadedCoreServesTheScreensAndTheService() {
        AppWiring.install(app, loadCore = {})
        assertSame(NativeFirewall, VpnDependencies.core)
        val deps = HushUi.deps!!
        assertTrue(deps.store is ListAwareStore)
        assertTrue(deps.firewall is VpnFirewallControl)
        assertTrue(deps.settings is SettingsAdapter)
    }

    @Test
    fun aCoreThatCannotLoadIsExplainedOnEveryScreenAndTheServiceRefusesToStart() {
        AppWiring.install(app, loadCore = { throw UnsatisfiedLinkError("dlopen failed: library \"libhush_jni.so\" not found") })
        assertNull(VpnDependencies.core)
        val e = org.hush.android.core.expect<IllegalStateException> { HushUi.deps!!.store.recentEvents(EventQuery()) }
        assertTrue(e.message, e.message.orEmpty().contains("could not be loaded on this phone"))
        assertTrue(e.message, e.message.orEmpty().contains("libhush_jni.so"))
        // The Lists screen too: its catalogue says why, rather than showing no lists at all.
        val lists = org.hush.android.core.expect<IllegalStateException> { HushUi.deps!!.lists.builtins() }
        assertEquals(e.message, lists.message)
    }

    @Test
    fun theSessionGetsTheEnabledListsThatWereDownloaded() {
        val settings = HushSettings(app)
        val lists = ListSubscriptions(app)
        val downloader = ListDownloader(AppWiring.listsDirectory(app))
        lists.add("https://lists.example/trackers.txt")
        lists.add("https://lists.example/off.txt")
        lists.add("https://lists.example/never-downloaded.txt")
        lists.add("https://lists.example/allow.txt", kind = "allow")
        lists.setEnabled("https://lists.example/off.txt", false)
        for (url in listOf("https://lists.example/trackers.txt", "https://lists.example/off.txt", "https://lists.example/allow.txt")) {
            downloader.fileFor(url).apply { parentFile!!.mkdirs() }.writeText("0.0.0.0 app.adjust.com\n")
        }
        val config = AppWiring.coreConfig(app, settings)
        assertEquals(listOf(downloader.fileFor("https://lists.example/trackers.txt").path), config.blockLists)
        assertEquals(listOf(downloader.fileFor("https://lists.example/allow.txt").path), config.allowLists)
        assertEquals(settings.databasePath, config.databasePath)
        assertEquals(settings.upstreamDns, config.upstreamDns)
        assertTrue(File(config.databasePath).isAbsolute)
    }

    @Test
    fun userListsAreShownByUrlWithTheirLastDownloadAndTheBuiltInOneFromTheCore() {
        val subscriptions = ListSubscriptions(app)
        val downloader = ListDownloader(AppWiring.listsDirectory(app))
        subscriptions.add("https://lists.example/hosts/trackers.txt")
        subscriptions.recordUpdate("https://lists.example/hosts/trackers.txt", 41_870, nowMs = 1_700_000_000_000)
        subscriptions.add("https://lists.example/gone.txt")
        subscriptions.recordFailure("https://lists.example/gone.txt", "lists.example answered HTTP 404 Not Found")
        val core = object : org.hush.android.ui.UnavailableStore("unused") {
            override fun listSources() = listOf(
                org.hush.android.data.ListSource("hush-default", "built-in", true, 1_240, 1_700_000_000_000),
                org.hush.android.data.ListSource(
                    downloader.fileFor("https://lists.example/hosts/trackers.txt").name,
                    downloader.fileFor("https://lists.example/hosts/trackers.txt").path, true, 41_870, 1_700_000_000_000,
                ),
            )
        }
        val shown = ListAwareStore(core, subscriptions, downloader).listSources()
        assertEquals(listOf("hush-default", "trackers.txt", "gone.txt"), shown.map { it.name })
        assertEquals("https://lists.example/hosts/trackers.txt", shown[1].origin)
        assertEquals(41_870L, shown[1].entries)
        assertNull(shown[1].problem)
        assertEquals("lists.example answered HTTP 404 Not Found", shown[2].problem)
        assertEquals(null, shown[2].updatedMs)
    }

    @Test
    fun theSwitchAsksForConsentFirstThenStartsAndStopsTheService() {
        val control = VpnFirewallControl(app)
        val shadowApp = shadowOf(app)
        // Not yet permitted: the consent screen comes first.
        ShadowVpnService.setPrepareResult(Intent("android.net.vpn.CONSENT"))
        control.setEnabled(true)
        assertEquals(VpnPermissionActivity::class.java.name, shadowApp.nextStartedActivity.component!!.className)
        // VPN permitted, but Android 13+ has not been asked for the notification: ask first.
        ShadowVpnService.setPrepareResult(null)
        control.setEnabled(true)
        assertEquals(VpnPermissionActivity::class.java.name, shadowApp.nextStartedActivity.component!!.className)
        // Everything granted: straight to the service.
        shadowApp.grantPermissions(android.Manifest.permission.POST_NOTIFICATIONS)
        control.setEnabled(true)
        assertEquals(null, shadowApp.nextStartedActivity)
        assertEquals(HushVpnService.ACTION_START, shadowApp.nextStartedService.action)
        control.setEnabled(false)
        assertEquals(HushVpnService.ACTION_STOP, shadowApp.nextStartedService.action)
    }

    @Test
    fun theScreensHearTheServicesStateOnTheMainThread() {
        val control = VpnFirewallControl(app)
        val heard = ArrayList<FirewallState>()
        val listener = object : FirewallControl.Listener {
            override fun onFirewallState(state: FirewallState) {
                assertSame(Looper.getMainLooper(), Looper.myLooper())
                heard.add(state)
            }
        }
        control.addListener(listener)
        val worker = Thread { VpnStatus.fail("Hush needs the VPN permission", FailureKind.PERMISSION) }
        worker.start()
        worker.join()
        shadowOf(Looper.getMainLooper()).idle()
        assertEquals(listOf<FirewallState>(FirewallState.Failed("Hush needs the VPN permission")), heard)
        assertEquals(FirewallState.Failed("Hush needs the VPN permission"), control.state())
        control.removeListener(listener)
        VpnStatus.publish(VpnState.Starting)
        shadowOf(Looper.getMainLooper()).idle()
        assertEquals(1, heard.size)
        assertNull(control.liveStats())
    }
}
