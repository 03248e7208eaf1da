package org.hush.android.vpn

import android.content.Context
import android.content.Intent
import org.hush.android.settings.HushSettings
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config
import org.robolectric.shadows.ShadowVpnService

@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35])
class BootReceiverTest {
    private val context: Context get() = RuntimeEnvironment.getApplication()

    @After
    fun tearDown() {
        ShadowVpnService.reset()
    }

    private fun boot(action: String = Intent.ACTION_BOOT_COMPLETED): Intent? {
        BootReceiver().onReceive(context, Intent(action))
        return shadowOf(RuntimeEnvironment.getApplication()).nextStartedService
    }

    @Test
    fun startsTheServiceAtBootWhenEnabledAndPermitted() {
        HushSettings(context).startOnBoot = true
        ShadowVpnService.setPrepareResult(null)
        val started = boot()!!
        assertEquals(HushVpnService.ACTION_START, started.action)
        assertEquals(HushVpnService::class.java.name, started.component!!.className)
    }

    @Test
    fun doesNothingWhenStartOnBootIsOff() {
        HushSettings(context).startOnBoot = false
        ShadowVpnService.setPrepareResult(null)
        assertNull(boot())
    }

    @Test
    fun doesNothingWithoutTheVpnPermission() {
        HushSettings(context).startOnBoot = true
        ShadowVpnService.setPrepareResult(Intent("com.android.vpndialogs.ConfirmDialog"))
        assertNull(boot())
    }

    @Test
    fun anUpdateIsNotItsBusiness() {
        // UpdateReceiver turns Hush back on after an update, whatever "start on boot" says.
        val settings = HushSettings(context)
        settings.startOnBoot = true
        settings.enabled = true
        ShadowVpnService.setPrepareResult(null)
        assertNull(boot(Intent.ACTION_MY_PACKAGE_REPLACED))
    }

    @Test
    fun otherBroadcastsStartNothing() {
        assertFalse(BootReceiver.shouldStart(Intent.ACTION_SCREEN_ON, true, true))
        assertFalse(BootReceiver.shouldStart(null, true, true))
        assertTrue(BootReceiver.shouldStart(Intent.ACTION_BOOT_COMPLETED, true, true))
        assertFalse(BootReceiver.shouldStart(Intent.ACTION_BOOT_COMPLETED, true, false))
    }
}
