package org.hush.android.vpn

import android.app.Notification
import android.app.NotificationManager
import android.content.Context
import android.content.Intent
import android.content.pm.ServiceInfo
import android.net.ConnectivityManager
import android.net.LinkAddress
import android.net.LinkProperties
import android.net.NetworkCapabilities
import android.net.VpnService
import android.os.Looper
import org.hush.android.app.VpnFirewallControl
import org.hush.android.app.VpnPermissionActivity
import org.hush.android.core.CoreConfig
import org.hush.android.core.CoreHealth
import org.hush.android.core.CoreProblem
import org.hush.android.core.Filtering
import org.hush.android.core.LiveStats
import org.hush.android.core.Network
import org.hush.android.core.StopReason
import org.hush.android.ui.FirewallState
import org.hush.android.settings.HushSettings
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
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
import org.robolectric.shadows.ShadowNetwork
import org.robolectric.shadows.ShadowNetworkCapabilities
import org.robolectric.shadows.ShadowVpnService
import java.time.Duration
import java.util.concurrent.Executor

@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35])
class HushVpnServiceTest {
    private val context: Context get() = RuntimeEnvironment.getApplication()
    private val core = FakeCore()
    private val tun = FakeTunBuilder()
    private lateinit var controller: ServiceController<HushVpnService>
    private val service: HushVpnService get() = controller.get()

    @Before
    fun setUp() {
        VpnDependencies.core = core
        VpnDependencies.tunBuilder = { _: HushVpnService -> tun }
        VpnDependencies.executor = { Executor { it.run() } }
        VpnStatus.publish(VpnState.Off(OffReason.NOT_STARTED))
        ShadowVpnService.setPrepareResult(null)
        controller = Robolectric.buildService(HushVpnService::class.java).create()
    }

    @After
    fun tearDown() {
        VpnDependencies.reset()
        ShadowVpnService.reset()
    }

    private fun idle() = shadowOf(Looper.getMainLooper()).idle()

    private fun startWith(intent: Intent?, startId: Int = 1): Int {
        val r = service.onStartCommand(intent, 0, startId)
        idle()
        return r
    }

    private fun shownNotification(): Notification {
        val nm = context.getSystemService(NotificationManager::class.java)!!
        return shadowOf(nm).getNotification(VpnNotifications.NOTIFICATION_ID)
    }

    private fun text(n: Notification): String = n.extras.getCharSequence(Notification.EXTRA_TEXT).toString()
    private fun title(n: Notification): String = n.extras.getCharSequence(Notification.EXTRA_TITLE).toString()

    @Test
    fun startGoesForegroundAsSpecialUseAndRunsTheCoreOnTheTun() {
        assertEquals(android.app.Service.START_STICKY, startWith(HushVpnService.startIntent(context)))
        assertTrue(VpnStatus.state.value is VpnState.On)
        assertEquals(ServiceInfo.FOREGROUND_SERVICE_TYPE_SPECIAL_USE, service.foregroundServiceType)
        assertEquals(VpnNotifications.NOTIFICATION_ID, shadowOf(service).lastForegroundNotificationId)
        assertNotNull(shadowOf(service).lastForegroundNotification)
        assertEquals(42, core.starts.single().first)
        val config = core.starts.single().second
        // the tun's virtual DNS servers are the core's own: nothing sent there leaves
        val spec = tun.specs.single()
        assertEquals(
            CoreConfig(HushSettings(context).databasePath, "9.9.9.9:53", ownAddresses = spec.dnsServers, selfExcluded = true),
            config,
        )
        assertEquals(listOf(TunSpec.IPV4_DNS, TunSpec.IPV6_DNS), config.ownAddresses)
        // Hush's own package is left out of its VPN
        assertEquals(listOf(context.packageName), tun.specs.single().disallowedApplications)
        assertTrue("wanted on", HushSettings(context).enabled)
        assertFalse(shadowOf(service).isStoppedBySelf)
    }

    @Test
    fun theNotificationShowsLiveCountsWhileOnWithAStopAction() {
        startWith(HushVpnService.startIntent(context))
        val first = shownNotification()
        assertEquals("Hush is on", title(first))
        assertEquals("0 blocked · 0 allowed", text(first))
        assertTrue((first.flags and Notification.FLAG_ONGOING_EVENT) != 0)
        assertEquals(VpnNotifications.CHANNEL_ID, first.channelId)
        // Hush's mark where the app's resources are linked (the harness links them with aapt2);
        // the framework's lock stands in where they are not.
        val hush = context.resources.getIdentifier(VpnNotifications.STATUS_ICON, "drawable", context.packageName)
        assertEquals(if (hush != 0) hush else android.R.drawable.ic_lock_lock, first.smallIcon.resId)
        val stop = first.actions.single()
        assertEquals("Stop", stop.title.toString())
        assertEquals(HushVpnService.ACTION_STOP, shadowOf(stop.actionIntent).savedIntent.action)

        core.session.stats = LiveStats(packetsIn = 900, dnsQueries = 80, blocked = 17, allowed = 63, eventsDropped = 2)
        shadowOf(Looper.getMainLooper()).idleFor(Duration.ofMillis(HushVpnService.STATS_INTERVAL_MS))
        assertEquals("17 blocked · 63 allowed · 2 not logged", text(shownNotification()))
        core.session.stats = LiveStats(packetsIn = 950, dnsQueries = 85, blocked = 20, allowed = 65, eventsDropped = 2)
        shadowOf(Looper.getMainLooper()).idleFor(Duration.ofMillis(HushVpnService.STATS_INTERVAL_MS))
        assertEquals("20 blocked · 65 allowed · 2 not logged", text(shownNotification()))

        // stopped: no more updates, the notification goes
        startWith(HushVpnService.stopIntent(context), 2)
        core.sessions[0].stats = LiveStats(1, 1, 99, 1, 0)
        shadowOf(Looper.getMainLooper()).idleFor(Duration.ofSeconds(10))
        assertTrue(shadowOf(service).isForegroundStopped)
    }

    @Test
    fun aNullIntentOrTheSystemsVpnActionStartsIt() {
        // the system after the process died (START_STICKY), or always-on VPN
        startWith(null)
        assertTrue(VpnStatus.state.value is VpnState.On)
        startWith(Intent(VpnService.SERVICE_INTERFACE), 2)
        assertEquals("already on: one session", 1, core.starts.size)
        startWith(Intent("something.else"), 3)
        assertEquals(1, core.starts.size)
    }

    @Test
    fun stopStopsTheSessionAndTheService() {
        startWith(HushVpnService.startIntent(context))
        assertEquals(android.app.Service.START_NOT_STICKY, startWith(HushVpnService.stopIntent(context), 2))
        assertEquals(VpnState.Off(OffReason.STOPPED), VpnStatus.state.value)
        assertTrue(core.session.stopped)
        assertEquals(StopReason.STOPPED, core.session.stopReason)
        assertEquals(listOf(42), core.closedFds)
        assertTrue(shadowOf(service).isForegroundStopped)
        assertTrue(shadowOf(service).isStoppedBySelf)
        assertFalse("no longer wanted on", HushSettings(context).enabled)
    }

    @Test
    fun onRevokeStopsCleanlyWithTheReasonAndDoesNotRestart() {
        startWith(HushVpnService.startIntent(context))
        service.onRevoke()
        idle()
        assertEquals(VpnState.Off(OffReason.REVOKED), VpnStatus.state.value)
        assertTrue(core.session.stopped)
        assertTrue(shadowOf(service).isStoppedBySelf)
        assertFalse(HushSettings(context).enabled)
        assertEquals(1, core.starts.size)
        assertTrue("nothing restarts it", shadowOf(RuntimeEnvironment.getApplication()).allStartedServices.isEmpty())
    }

    @Test
    fun aRevokeIsRecordedAsSuchAndAnAlertOffersToTurnHushBackOn() {
        startWith(HushVpnService.startIntent(context))
        service.onRevoke()
        idle()
        assertEquals(StopReason.REVOKED, core.session.stopReason)
        val nm = context.getSystemService(NotificationManager::class.java)!!
        val alert = shadowOf(nm).getNotification(VpnNotifications.ALERT_ID)!!
        assertEquals("Another VPN app took over; Hush is off", title(alert))
        assertEquals(VpnNotifications.ALERT_CHANNEL_ID, alert.channelId)
        val tap = shadowOf(alert.contentIntent)
        assertTrue(tap.isActivity)
        assertEquals(VpnPermissionActivity::class.java.name, tap.savedIntent.component!!.className)
        assertTrue("from a notification: a new task", (tap.savedIntent.flags and Intent.FLAG_ACTIVITY_NEW_TASK) != 0)
        // the revoke's alert goes when Hush is on again
        startWith(HushVpnService.startIntent(context), 2)
        assertNull(shadowOf(nm).getNotification(VpnNotifications.ALERT_ID))
    }

    @Test
    fun destroyedWhileOnWithoutAStopRecordsThatReason() {
        startWith(HushVpnService.startIntent(context))
        service.onDestroy()
        assertEquals(StopReason.SERVICE_DESTROYED, core.session.stopReason)
        assertEquals(VpnState.Off(OffReason.SERVICE_DESTROYED), VpnStatus.state.value)
    }

    @Test
    fun aCoreThatStoppedFilteringIsShownAsSuchInTheNotificationAndToTheScreens() {
        startWith(HushVpnService.startIntent(context))
        core.session.health = CoreHealth(Filtering.HOLDING, "the engine failed 5 times in a minute", restarts = 5)
        shadowOf(Looper.getMainLooper()).idleFor(Duration.ofMillis(HushVpnService.STATS_INTERVAL_MS))
        val n = shownNotification()
        assertEquals("Hush stopped filtering: the engine failed 5 times in a minute", title(n))
        assertTrue("still ongoing, with Stop", (n.flags and Notification.FLAG_ONGOING_EVENT) != 0)
        assertEquals(
            FirewallState.NotFiltering(Filtering.HOLDING, "the engine failed 5 times in a minute"),
            VpnFirewallControl.shown(VpnStatus.state.value),
        )

        core.session.health = CoreHealth(Filtering.RESTARTING, "a fault in the packet path", restarts = 6)
        shadowOf(Looper.getMainLooper()).idleFor(Duration.ofMillis(HushVpnService.STATS_INTERVAL_MS))
        assertEquals("Hush is restarting its engine", title(shownNotification()))

        // filtering again, with a problem that does not stop it: "on", and the problem for the screens
        core.session.health = CoreHealth(Filtering.ON, restarts = 6, problems = listOf(CoreProblem("database", "the database cannot be written: disk full")))
        shadowOf(Looper.getMainLooper()).idleFor(Duration.ofMillis(HushVpnService.STATS_INTERVAL_MS))
        assertEquals("Hush is on", title(shownNotification()))
        assertEquals(FirewallState.On, VpnFirewallControl.shown(VpnStatus.state.value))
        assertEquals(listOf("the database cannot be written: disk full"), VpnFirewallControl(context).problems())
    }

    @Test
    fun aMissingPermissionFailsShowsWhyAndStops() {
        tun.permitted = false
        startWith(HushVpnService.startIntent(context))
        val state = VpnStatus.state.value as VpnState.Failed
        assertEquals(FailureKind.PERMISSION, state.kind)
        assertTrue(core.starts.isEmpty())
        val n = shownNotification()
        assertEquals("Hush could not start", title(n))
        assertEquals(state.message, text(n))
        assertTrue("not ongoing", (n.flags and Notification.FLAG_ONGOING_EVENT) == 0)
        assertTrue(shadowOf(service).isStoppedBySelf)
    }

    @Test
    fun aCoreFailureIsShownWithTheCoresMessage() {
        core.failWith = IllegalStateException("cannot open the database: disk full")
        startWith(HushVpnService.startIntent(context))
        val state = VpnStatus.state.value as VpnState.Failed
        assertTrue(text(shownNotification()), text(shownNotification()).contains("disk full"))
        assertEquals(FailureKind.CORE, state.kind)
    }

    @Test
    fun networkChangesReachTheSessionAndTheUnderlyingNetworks() {
        startWith(HushVpnService.startIntent(context))
        val cm = context.getSystemService(ConnectivityManager::class.java)!!
        val cb = shadowOf(cm).networkCallbacks.single()
        val wifi = ShadowNetwork.newInstance(50)
        val cell = ShadowNetwork.newInstance(51)
        fun caps(t: Int) = ShadowNetworkCapabilities.newInstance().also { shadowOf(it).addTransportType(t) }
        cb.onCapabilitiesChanged(wifi, caps(NetworkCapabilities.TRANSPORT_WIFI))
        cb.onCapabilitiesChanged(cell, caps(NetworkCapabilities.TRANSPORT_CELLULAR))
        cb.onLost(cell)
        idle()
        assertEquals(listOf(Network.ANY, Network.WIFI, Network.MOBILE, Network.ANY), core.session.networks)
        assertEquals(listOf(listOf(wifi), listOf(cell), emptyList()), tun.underlyingSet)

        startWith(HushVpnService.stopIntent(context), 2)
        service.onDestroy()
        assertTrue("the watch ends with the service", shadowOf(cm).networkCallbacks.isEmpty())
    }

    @Test
    fun aNewNetworkOrNewAddressesOnItTellTheCoreTheNetworkChanged() {
        startWith(HushVpnService.startIntent(context))
        val cm = context.getSystemService(ConnectivityManager::class.java)!!
        val cb = shadowOf(cm).networkCallbacks.single()
        val wifi = ShadowNetwork.newInstance(60)
        val cell = ShadowNetwork.newInstance(61)
        fun caps(t: Int) = ShadowNetworkCapabilities.newInstance().also { shadowOf(it).addTransportType(t) }
        fun link(vararg addresses: String) = LinkProperties().also { lp -> addresses.forEach { lp.addLinkAddress(LinkAddress(it)) } }
        val session = core.session

        cb.onCapabilitiesChanged(wifi, caps(NetworkCapabilities.TRANSPORT_WIFI))
        idle()
        assertEquals("a network to use: the core moves to it", 1, session.networkChanges)
        cb.onLinkPropertiesChanged(wifi, link("192.168.1.20/24"))
        idle()
        assertEquals("the first addresses learned are not a change", 1, session.networkChanges)
        cb.onLinkPropertiesChanged(wifi, link("192.168.1.20/24"))
        cb.onCapabilitiesChanged(wifi, caps(NetworkCapabilities.TRANSPORT_WIFI))
        idle()
        assertEquals("nothing new", 1, session.networkChanges)
        cb.onLinkPropertiesChanged(wifi, link("192.168.1.20/24", "2001:db8::20/64"))
        idle()
        assertEquals("new addresses on the same network", 2, session.networkChanges)
        cb.onCapabilitiesChanged(cell, caps(NetworkCapabilities.TRANSPORT_CELLULAR))
        idle()
        assertEquals("a switch of network", 3, session.networkChanges)
        assertEquals(listOf(Network.ANY, Network.WIFI, Network.MOBILE), session.networks)
        cb.onLost(cell)
        idle()
        assertEquals("no network: nothing to move to", 3, session.networkChanges)
    }

    @Test
    fun aRefusedForegroundStartFailsWithoutCrashingOrStartingTheCore() {
        shadowOf(service).setThrowInStartForeground(IllegalStateException("ForegroundServiceStartNotAllowedException"))
        assertEquals(android.app.Service.START_NOT_STICKY, startWith(HushVpnService.startIntent(context)))
        assertEquals(VpnState.Failed(FailureKind.TUN, context.getString(HushVpnService.NOT_IN_FOREGROUND)), VpnStatus.state.value)
        assertTrue(core.starts.isEmpty())
        assertTrue(tun.specs.isEmpty())
        assertTrue(shadowOf(service).isStoppedBySelf)
    }

    @Test
    fun theNotificationPermissionIsAskedForOnlyFromAndroid13AndOnlyWhenMissing() {
        val app = shadowOf(RuntimeEnvironment.getApplication())
        app.denyPermissions(android.Manifest.permission.POST_NOTIFICATIONS)
        assertTrue(VpnNotifications.shouldAskNotificationPermission(context, 33))
        assertTrue(VpnNotifications.shouldAskNotificationPermission(context, 35))
        assertFalse(VpnNotifications.shouldAskNotificationPermission(context, 32))
        app.grantPermissions(android.Manifest.permission.POST_NOTIFICATIONS)
        assertFalse(VpnNotifications.shouldAskNotificationPermission(context, 35))
    }

    @Test
    fun theChannelIsQuiet() {
        val nm = context.getSystemService(NotificationManager::class.java)!!
        val channel = nm.getNotificationChannel(VpnNotifications.CHANNEL_ID)
        assertEquals(NotificationManager.IMPORTANCE_LOW, channel.importance)
    }
}
