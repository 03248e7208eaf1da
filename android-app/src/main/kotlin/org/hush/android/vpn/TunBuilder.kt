package org.hush.android.vpn

/** An established VPN interface (a `ParcelFileDescriptor` on Android). */
interface Tun {
    /** Hands over the fd (then owned by the caller); negative when there is none. */
    fun detachFd(): Int

    /** Closes the interface if its fd was not detached. */
    fun close()
}

/** Sets up the VPN interface: `VpnService.prepare`, `Builder.establish`, `setUnderlyingNetworks`. */
interface TunBuilder {
    /** Whether the user has granted the VPN permission (`VpnService.prepare(context) == null`). */
    fun isPermitted(): Boolean

    /**
     * Establishes the interface of [spec] over [underlying] (null: the default network).
     * Returns null when Android refuses because the permission is missing or was revoked.
     * @throws SecurityException when the app is not (or no longer) the prepared VPN app.
     * @throws IllegalStateException / IllegalArgumentException when Android rejects the setup.
     */
    fun establish(spec: TunSpec, underlying: android.net.Network?): Tun?

    /** The network the running VPN goes over: one network, or none at all (empty); null follows the default. */
    fun setUnderlyingNetworks(networks: Array<android.net.Network>?)
}
