package org.hush.android.vpn

import android.app.PendingIntent
import android.content.Intent
import android.os.Build
import android.os.Handler
import android.os.Looper
import android.service.quicksettings.Tile
import android.service.quicksettings.TileService
import org.hush.android.R
import org.hush.android.ui.Format

/**
 * The Quick Settings tile: shows whether the firewall is on, and toggles it. Without
 * the VPN permission it opens the app, which asks for it (a tile cannot).
 */
open class HushTileService : TileService() {
    private val main = Handler(Looper.getMainLooper())

    /** States are published on the service's worker thread; the tile is touched on the main thread only. */
    private val listener = { _: VpnState -> main.post { refresh() }; Unit }

    override fun onStartListening() {
        super.onStartListening()
        VpnStatus.addListener(listener)
        refresh()
    }

    override fun onStopListening() {
        VpnStatus.removeListener(listener)
        main.removeCallbacksAndMessages(null)
        super.onStopListening()
    }

    override fun onClick() {
        super.onClick()
        when (actionFor(VpnStatus.state.value, HushVpnService.isPermitted(this))) {
            // On the lock screen, stopping the firewall needs the owner: unlock first.
            Action.STOP -> if (isLocked) unlockAndRun { HushVpnService.stop(this) } else HushVpnService.stop(this)
            Action.START -> if (!startFirewall()) openApp()
            Action.OPEN_APP -> openApp()
        }
    }

    private fun refresh() {
        val tile = qsTile ?: return
        val state = VpnStatus.state.value
        tile.label = getString(R.string.tile_label)
        tile.state = if (state.isActive) Tile.STATE_ACTIVE else Tile.STATE_INACTIVE
        if (Build.VERSION.SDK_INT >= 29) {
            tile.subtitle = when (state) {
                is VpnState.On -> if (state.health.isFiltering) {
                    val blocked = state.stats.blocked
                    resources.getQuantityString(R.plurals.tile_blocked, blocked.coerceAtMost(Int.MAX_VALUE.toLong()).toInt(), Format.count(org.hush.android.ui.ResourceStrings(this), blocked))
                } else {
                    getString(R.string.tile_not_filtering)
                }
                VpnState.Starting -> getString(R.string.tile_starting)
                is VpnState.Failed -> getString(R.string.tile_not_started)
                is VpnState.Off -> getString(R.string.tile_off)
            }
        }
        tile.updateTile()
    }

    enum class Action { START, STOP, OPEN_APP }

    companion object {
        /** What a tap does: stop a running firewall, start a stopped one, or open the app to ask for the permission. */
        fun actionFor(state: VpnState, permitted: Boolean): Action = when {
            state.isActive -> Action.STOP
            permitted -> Action.START
            else -> Action.OPEN_APP
        }
    }

    private fun openApp() {
        val launch = VpnNotifications.launchIntent(this) ?: return
        if (Build.VERSION.SDK_INT >= 34) {
            // API 34+ takes a PendingIntent only (the Intent form throws for targetSdk 34+).
            collapseAndOpen(
                PendingIntent.getActivity(this, 0, launch, PendingIntent.FLAG_IMMUTABLE or PendingIntent.FLAG_UPDATE_CURRENT),
            )
        } else {
            @Suppress("DEPRECATION")
            startActivityAndCollapse(launch)
        }
    }

    /** [HushVpnService.start]; a seam for tests. */
    internal open fun startFirewall(): Boolean = HushVpnService.start(this)

    /** `startActivityAndCollapse(PendingIntent)`; a seam for tests, where the system UI is absent. */
    internal open fun collapseAndOpen(pending: PendingIntent) {
        startActivityAndCollapse(pending)
    }
}
