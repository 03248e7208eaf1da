package org.hush.android.vpn

import android.app.Service
import android.content.BroadcastReceiver
import android.content.Context
import android.content.Intent
import android.content.IntentFilter
import android.content.pm.ServiceInfo
import android.net.ConnectivityManager
import android.net.VpnService
import android.os.Build
import android.os.Handler
import android.os.Looper
import android.os.PowerManager
import org.hush.android.R
import org.hush.android.apps.PackageEvents
import org.hush.android.settings.HushSettings
import org.hush.android.ui.ResourceStrings
import java.util.concurrent.Executor
import java.util.concurrent.ExecutorService

/**
 * The VPN service: owns the tun, the foreground notification and the network watch, and
 * leaves the firewall's states to [VpnController].
 *
 * Started by [ACTION_START] (the app, the tile, the boot receiver), by the system for
 * always-on VPN (action `android.net.VpnService`), or again by the system after the
 * process died while on (a null intent: [START_STICKY]). Stopped by [ACTION_STOP] (the
 * app, the tile, the notification) or by Android in [onRevoke].
 *
 * Always-on and "Block connections without VPN": both are system settings that need
 * nothing from Hush beyond supporting always-on (the manifest meta-data). Every route
 * (0.0.0.0/0 and ::/0) goes into the tun, and Hush never calls `allowBypass()` or
 * `allowFamily()`, so no app can go around the firewall; with lockdown on, Android
 * also drops traffic while Hush is starting or stopped. Hush's own sockets go out
 * directly (it excludes itself and protects them), as lockdown allows for the VPN app.
 */
class HushVpnService : VpnService() {
    private lateinit var settings: HushSettings
    private lateinit var notifications: VpnNotifications
    private lateinit var controller: VpnController
    private lateinit var executor: Executor
    private var watcher: NetworkWatcher? = null
    private val main = Handler(Looper.getMainLooper())
    /** The runtime receiver for PACKAGE_ADDED/REMOVED (apps/PackageEvents.kt says why at runtime). */
    private var packageEvents: android.content.BroadcastReceiver? = null
    private var ticking = false

    /**
     * Whether the screen is on. Nobody sees the notification's counts with it off, so the
     * ticker sleeps then (no wake-ups every few seconds for nothing) and catches up at
     * once when the screen comes on. The core records gaps and health by itself, and with
     * each attempt whether the screen was off (told through the controller).
     */
    @Volatile
    var screenOn = true
        private set
    private var screenReceiver: BroadcastReceiver? = null

    /**
     * Every few seconds while on: read the counts and the core's health on the worker thread (never block the
     * main thread behind a start or stop); the listener brings them to the notification.
     */
    private val ticker = object : Runnable {
        override fun run() {
            if (!ticking) return
            if (controller.state.value is VpnState.On) {
                executor.execute { controller.refreshStats() }
                main.postDelayed(this, STATS_INTERVAL_MS)
            } else {
                ticking = false
            }
        }
    }

    @Volatile
    private var lastStartId = 0

    private val listener = object : VpnController.Listener {
        override fun onStateChanged(state: VpnState) {
            VpnStatus.publish(state)
            // The newest start command when this state came: show() stops the service only
            // if no start came after it (a quick off-then-on must not end the new start).
            val startId = lastStartId
            main.post { show(state, startId) }
        }
    }

    override fun onCreate() {
        super.onCreate()
        settings = HushSettings(this)
        notifications = VpnNotifications(this)
        notifications.createChannel()
        executor = VpnDependencies.executor()
        controller = VpnController(
            tunBuilder = VpnDependencies.tunBuilder(this),
            platform = AndroidPlatform.forService(this),
            core = { VpnDependencies.core },
            config = { VpnDependencies.config(this, settings) },
            spec = TunSpec.forApp(packageName),
            alwaysOnReader = { AlwaysOn.of(this) },
            strings = ResourceStrings(this),
            trustedPackages = { VpnDependencies.trustedPackages(this) },
        )
        controller.addListener(listener)
        VpnStatus.controller = controller
        // Installs and removals while the firewall runs; catches up with those it missed.
        packageEvents = try {
            PackageEvents.register(this)
        } catch (e: RuntimeException) {
            null // the firewall works without it; the next start reconciles
        }
        watchScreen()
    }

    /** SCREEN_OFF and SCREEN_ON come only to receivers registered at run time. */
    private fun watchScreen() {
        screenOn = getSystemService(PowerManager::class.java)?.isInteractive ?: true
        // Before any start (the controller was just made): the first session starts with it.
        controller.screenChanged(screenOn)
        val receiver = object : BroadcastReceiver() {
            override fun onReceive(context: Context, intent: Intent) {
                when (intent.action) {
                    Intent.ACTION_SCREEN_OFF -> onScreen(false)
                    Intent.ACTION_SCREEN_ON -> onScreen(true)
                }
            }
        }
        val filter = IntentFilter(Intent.ACTION_SCREEN_OFF).apply { addAction(Intent.ACTION_SCREEN_ON) }
        try {
            if (Build.VERSION.SDK_INT >= 33) registerReceiver(receiver, filter, Context.RECEIVER_NOT_EXPORTED)
            else registerReceiver(receiver, filter)
            screenReceiver = receiver
        } catch (e: RuntimeException) {
            // Not told of the screen: the ticker runs as before, only costing battery.
        }
    }

    /** Main thread: the screen went off (the ticker stops) or on (counts now, then every few seconds). */
    private fun onScreen(on: Boolean) {
        screenOn = on
        // On the worker: a start or stop may hold the controller meanwhile.
        executor.execute { controller.screenChanged(on) }
        if (!on) {
            ticking = false
            main.removeCallbacks(ticker)
        } else if (controller.state.value is VpnState.On && !ticking) {
            executor.execute { controller.refreshStats() }
            ticking = true
            main.postDelayed(ticker, STATS_INTERVAL_MS)
        }
    }

    override fun onStartCommand(intent: Intent?, flags: Int, startId: Int): Int {
        lastStartId = startId
        val action = intent?.action
        if (action == ACTION_STOP) {
            settings.enabled = false
            executor.execute { controller.stop() }
            return START_NOT_STICKY
        }
        if (action != null && action != ACTION_START && action != SERVICE_INTERFACE) {
            return START_NOT_STICKY
        }
        // A service started with startForegroundService() must go foreground at once.
        try {
            goForeground(if (controller.state.value.isActive) controller.state.value else VpnState.Starting)
        } catch (e: RuntimeException) {
            // Android 12+ refuses a foreground start from the background without an
            // exemption (ForegroundServiceStartNotAllowedException): say so, do not crash.
            if (!controller.state.value.isActive) {
                VpnStatus.publish(VpnState.Failed(FailureKind.TUN, getString(NOT_IN_FOREGROUND)))
                stopSelf()
            }
            return START_NOT_STICKY
        }
        settings.enabled = true
        watchNetwork()
        executor.execute { controller.start() }
        return START_STICKY
    }

    /**
     * Android took the VPN away: another VPN app started, or the user revoked it. No
     * restart; the core records the gap as revoked, and an alert offers to turn Hush
     * back on (through the VPN consent).
     */
    override fun onRevoke() {
        settings.enabled = false
        executor.execute { controller.revoke() }
        notifications.showTakeover()
    }

    override fun onDestroy() {
        packageEvents?.let { PackageEvents.unregister(this, it) }
        packageEvents = null
        ticking = false
        main.removeCallbacks(ticker)
        screenReceiver?.let { r -> try { unregisterReceiver(r) } catch (e: IllegalArgumentException) { } }
        screenReceiver = null
        watcher?.stop()
        watcher = null
        controller.removeListener(listener)
        if (VpnStatus.controller === controller) VpnStatus.controller = null
        // Destroyed while on, with no stop or revoke: the core records why filtering ended.
        executor.execute {
            if (controller.state.value.isActive) {
                VpnStatus.publish(controller.stop(OffReason.SERVICE_DESTROYED))
            }
        }
        (executor as? ExecutorService)?.shutdown()
        super.onDestroy()
    }

    private fun watchNetwork() {
        if (watcher != null) return
        val connectivity = getSystemService(ConnectivityManager::class.java) ?: return
        val w = NetworkWatcher(connectivity) { now: DefaultNetwork ->
            executor.execute { controller.onNetworkChanged(now) }
        }
        watcher = w
        try {
            w.start(main)
        } catch (e: RuntimeException) { // e.g. no ACCESS_NETWORK_STATE: run as "any network"
            watcher = null
        }
    }

    /** Runs on the main thread for every state change; a state already replaced is skipped. */
    private fun show(state: VpnState, startId: Int) {
        if (state != controller.state.value) return
        when (state) {
            is VpnState.Starting -> notifications.show(state)
            is VpnState.On -> {
                notifications.show(state)
                notifications.cancelAlert() // on again: "Hush is off" is no longer true
                if (!ticking && screenOn) {
                    ticking = true
                    main.postDelayed(ticker, STATS_INTERVAL_MS)
                }
            }
            is VpnState.Off -> {
                ticking = false
                main.removeCallbacks(ticker)
                stopForeground(Service.STOP_FOREGROUND_REMOVE)
                stopSelfResult(startId)
            }
            is VpnState.Failed -> {
                ticking = false
                main.removeCallbacks(ticker)
                // Keep the reason in view: the notification stays, no longer ongoing.
                stopForeground(Service.STOP_FOREGROUND_DETACH)
                notifications.show(state)
                stopSelfResult(startId)
            }
        }
    }

    private fun goForeground(state: VpnState) {
        val notification = notifications.build(state)
        if (Build.VERSION.SDK_INT >= 34) {
            startForeground(VpnNotifications.NOTIFICATION_ID, notification, ServiceInfo.FOREGROUND_SERVICE_TYPE_SPECIAL_USE)
        } else {
            startForeground(VpnNotifications.NOTIFICATION_ID, notification)
        }
    }

    companion object {
        const val ACTION_START = "org.hush.android.vpn.START"
        const val ACTION_STOP = "org.hush.android.vpn.STOP"

        /** Why a start from the background failed (res/values/strings.xml). */
        val NOT_IN_FOREGROUND = R.string.vpn_not_in_foreground

        /** How often the notification's counts are refreshed while on. */
        const val STATS_INTERVAL_MS = 3_000L

        fun startIntent(context: Context): Intent =
            Intent(context, HushVpnService::class.java).setAction(ACTION_START)

        fun stopIntent(context: Context): Intent =
            Intent(context, HushVpnService::class.java).setAction(ACTION_STOP)

        /**
         * Starts the firewall; the caller makes sure the VPN permission is granted
         * (`VpnService.prepare`). False when Android refused to start the service (on
         * Android 12+, from the background without an exemption): open the app instead.
         */
        fun start(context: Context): Boolean = try {
            context.startForegroundService(startIntent(context))
            true
        } catch (e: IllegalStateException) { // ForegroundServiceStartNotAllowedException
            false
        } catch (e: SecurityException) {
            false
        }

        /** Stops the firewall; false when Android refused to deliver the request. */
        fun stop(context: Context): Boolean = try {
            context.startService(stopIntent(context))
            true
        } catch (e: IllegalStateException) { // background start not allowed: the service is not running
            false
        } catch (e: SecurityException) {
            false
        }

        /** Whether the user has granted Hush the VPN permission. */
        fun isPermitted(context: Context): Boolean = prepare(context) == null
    }
}

/** The real [TunBuilder]: `VpnService.prepare`, `VpnService.Builder`, `setUnderlyingNetworks`. */
class ServiceTunBuilder(private val service: HushVpnService) : TunBuilder {
    override fun isPermitted(): Boolean = VpnService.prepare(service) == null

    override fun establish(spec: TunSpec, underlying: android.net.Network?): Tun? {
        val builder = service.Builder()
        spec.applyTo(BuilderCalls.of(builder), underlying, VpnNotifications.openAppIntent(service), Build.VERSION.SDK_INT)
        val pfd = builder.establish() ?: return null
        return object : Tun {
            override fun detachFd(): Int = pfd.detachFd()
            override fun close() {
                pfd.close()
            }
        }
    }

    override fun setUnderlyingNetworks(networks: Array<android.net.Network>?) {
        service.setUnderlyingNetworks(networks)
    }
}
