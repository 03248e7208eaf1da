package org.hush.android.app

import org.hush.android.core.CaptureSpec
import org.hush.android.core.CaptureState
import org.hush.android.ui.CaptureControl
import org.hush.android.vpn.VpnStatus

/**
 * App detail's packet capture, over the running VPN's controller (VpnStatus.controller):
 * no controller, or no session in it, is "the VPN is not running".
 */
object VpnCaptureControl : CaptureControl {
    override fun start(spec: CaptureSpec): Boolean = VpnStatus.controller?.startCapture(spec) ?: false

    override fun stop(): CaptureState? = VpnStatus.controller?.stopCapture()

    override fun status(): CaptureState? = VpnStatus.controller?.captureStatus()
}
