package org.hush.android.vpn

import android.app.Notification
import android.app.NotificationManager
import android.content.Context
import android.content.Intent
import android.os.Looper
import android.os.PowerManager
import org.hush.android.app.VpnPermissionActivity
import org.hush.android.core.LiveStats
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
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
import java.time.Duration
import java.util.concurrent.Executor

/**
 * Battery: the service's notification counts are not polled while the screen is off,
 * and come back at once when it is on. And the takeover alert's button.
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35])
class ScreenOffTest {
    private val context: Context get() = RuntimeEnvironment.getApplication()
    private val core = FakeCore()
    private val tun = FakeTunBuilder()
    private lateinit var controller: ServiceController<HushVpnService>
    private val service: HushVpnService get() = controller.get()
    private val looper get() = shadowOf(Looper.getMainLooper())

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

    private fun create() {
        controller = Robolectric.buildService(HushVpnService::class.java).create()
        service.onStartCommand(HushVpnService.startIntent(context), 0, 1)
        looper.idle()
    }

    private fun shownText(): String {
        val nm = context.getSystemService(NotificationManager::class.java)!!
        return shadowOf(nm).getNotification(VpnNotifications.NOTIFICATION_ID).extras.getCharSequence(Notification.EXTRA_TEXT).toString()
    }

    private fun screen(on: Boolean) {
        context.sendBroadcast(Intent(if (on) Intent.ACTION_SCREEN_ON else Intent.ACTION_SCREEN_OFF))
        looper.idle()
    }

    @Test
    fun noStatsPollingWhileTheScreenIsOffAndAnUpdateAtOnceWhenItComesOn() {
        create()
        assertTrue(service.screenOn)
        core.session.stats = LiveStats(100, 10, 5, 5, 0)
        looper.idleFor(Duration.ofMillis(HushVpnService.STATS_INTERVAL_MS))
        assertEquals("5 blocked · 5 allowed", shownText())

        screen(false)
        assertFalse(service.screenOn)
        core.session.stats = LiveStats(200, 20, 9, 9, 0)
        looper.idleFor(Duration.ofMinutes(10))
        assertEquals("not polled with the screen off", "5 blocked · 5 allowed", shownText())

        screen(true)
        assertEquals("read as soon as the screen is on", "9 blocked · 9 allowed", shownText())
        core.session.stats = LiveStats(300, 30, 12, 9, 0)
        looper.idleFor(Duration.ofMillis(HushVpnService.STATS_INTERVAL_MS))
        assertEquals("and every few seconds again", "12 blocked · 9 allowed", shownText())
    }

    @Test
    fun startedWithTheScreenOffItDoesNotPollUntilItComesOn() {
        shadowOf(context.getSystemService(PowerManager::class.java)).setIsInteractive(false)
        create()
        assertFalse(service.screenOn)
        assertTrue(VpnStatus.state.value is VpnState.On)
        core.session.stats = LiveStats(100, 10, 7, 1, 0)
        looper.idleFor(Duration.ofMinutes(5))
        assertEquals("0 blocked · 0 allowed", shownText())
        screen(true)
        assertEquals("7 blocked · 1 allowed", shownText())
    }

    @Test
    fun theCoreStartsWithTheScreenStateAndIsToldEachChange() {
        shadowOf(context.getSystemService(PowerManager::class.java)).setIsInteractive(false)
        create()
        assertTrue("started with the screen off", core.starts.single().second.screenOff)
        assertEquals(emptyList<Boolean>(), core.session.screenOff)
        screen(true)
        screen(false)
        screen(true)
        assertEquals(listOf(false, true, false), core.session.screenOff)
        // A new session (after a stop) starts with the state last told, screen on.
        service.onStartCommand(HushVpnService.stopIntent(context), 0, 2)
        looper.idle()
        service.onStartCommand(HushVpnService.startIntent(context), 0, 3)
        looper.idle()
        assertEquals(2, core.starts.size)
        assertFalse(core.starts.last().second.screenOff)
        screen(false)
        assertEquals(listOf(true), core.session.screenOff)
    }

    @Test
    fun aCoreThatCannotTakeTheScreenStateLeavesTheFirewallOn() {
        create()
        assertFalse(core.starts.single().second.screenOff)
        core.session.screenOffFailure = IllegalStateException("no running session 1")
        screen(false)
        assertTrue(VpnStatus.state.value is VpnState.On)
        core.session.screenOffFailure = null
        screen(true)
        // The refused call is not retried; the next change is told.
        assertEquals(listOf(false), core.session.screenOff)
    }

    @Test
    fun theScreenReceiverGoesWithTheService() {
        create()
        controller.destroy()
        looper.idle()
        assertTrue(shadowOf(RuntimeEnvironment.getApplication()).registeredReceivers.none {
            it.intentFilter.hasAction(Intent.ACTION_SCREEN_OFF)
        })
    }

    @Test
    fun theTakeoverAlertOffersToTurnHushBackOnWithAButton() {
        create()
        service.onRevoke()
        looper.idle()
        val nm = context.getSystemService(NotificationManager::class.java)!!
        val alert = shadowOf(nm).getNotification(VpnNotifications.ALERT_ID)!!
        assertEquals(context.getString(VpnNotifications.TAKEOVER_TEXT), alert.extras.getCharSequence(Notification.EXTRA_TEXT).toString())
        val button = alert.actions.single()
        assertEquals(context.getString(org.hush.android.R.string.vpn_turn_on), button.title.toString())
        val turnOn = shadowOf(button.actionIntent)
        assertTrue(turnOn.isActivity)
        assertEquals(VpnPermissionActivity::class.java.name, turnOn.savedIntent.component!!.className)
        assertTrue((turnOn.savedIntent.flags and Intent.FLAG_ACTIVITY_NEW_TASK) != 0)
    }
}
