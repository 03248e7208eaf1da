package org.hush.android.vpn

import android.content.Context
import android.os.Looper
import org.hush.android.app.VpnCaptureControl
import org.hush.android.core.CaptureSpec
import org.hush.android.core.CaptureState
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Before
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.android.controller.ServiceController
import org.robolectric.annotation.Config
import org.robolectric.shadows.ShadowVpnService
import java.util.concurrent.Executor

/**
 * App detail's capture calls reach the running session: VpnCaptureControl → the service's
 * VpnController → FirewallSession, and say "not running" when no session runs.
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35])
class CapturePlumbingTest {
    private val context: Context get() = RuntimeEnvironment.getApplication()
    private val core = FakeCore()
    private val tun = FakeTunBuilder()
    private lateinit var controller: ServiceController<HushVpnService>
    private val spec = CaptureSpec(10_123, "Game", "/data/captures/hush-10123.pcapng", 16L * 1024 * 1024, 4, 300)

    @Before
    fun setUp() {
        VpnDependencies.core = core
        VpnDependencies.tunBuilder = { _: HushVpnService -> tun }
        VpnDependencies.executor = { Executor { it.run() } }
        VpnStatus.publish(VpnState.Off(OffReason.NOT_STARTED))
        ShadowVpnService.setPrepareResult(null)
    }

    @After
    fun tearDown() {
        VpnDependencies.reset()
        ShadowVpnService.reset()
    }

    private fun startService() {
        controller = Robolectric.buildService(HushVpnService::class.java).create()
        controller.get().onStartCommand(HushVpnService.startIntent(context), 0, 1)
        shadowOf(Looper.getMainLooper()).idle()
    }

    @Test
    fun withNoSessionTheCaptureSaysTheVpnIsNotRunning() {
        assertFalse(VpnCaptureControl.start(spec))
        assertNull(VpnCaptureControl.status())
        assertNull(VpnCaptureControl.stop())
    }

    @Test
    fun startStatusAndStopReachTheRunningSession() {
        startService()
        assertTrue(VpnStatus.state.value is VpnState.On)
        assertEquals(CaptureState.NONE, VpnCaptureControl.status())
        assertTrue(VpnCaptureControl.start(spec))
        assertEquals(listOf(spec), core.session.captures)
        core.session.capture = core.session.capture.copy(packets = 9)
        assertEquals(9L, VpnCaptureControl.status()!!.packets)
        val stopped = VpnCaptureControl.stop()!!
        assertEquals(10_123, stopped.uid)
        assertFalse(stopped.running)
        assertEquals(CaptureState.NONE, VpnCaptureControl.status())

        // The core's refusal (a full disk) reaches the card with its words.
        core.session.captureFailure = IllegalStateException("capture not started: /data has 10 bytes free")
        val e = runCatching { VpnCaptureControl.start(spec) }.exceptionOrNull()
        assertTrue(e.toString(), e is IllegalStateException && e.message!!.contains("10 bytes free"))

        // A session that ended underneath: the status is "not running", not a crash.
        controller.get().onStartCommand(HushVpnService.stopIntent(context), 0, 2)
        shadowOf(Looper.getMainLooper()).idle()
        assertNull(VpnCaptureControl.status())
        assertFalse(VpnCaptureControl.start(spec))
    }
}
