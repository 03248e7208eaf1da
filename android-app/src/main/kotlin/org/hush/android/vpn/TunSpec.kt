package org.hush.android.vpn

import android.app.PendingIntent
import android.net.VpnService
import org.hush.android.core.CoreConfig
import java.net.InetAddress

/** An address or route with its prefix length, e.g. ("10.111.222.1", 24). */
data class IpPrefix(val address: String, val prefixLength: Int) {
    override fun toString(): String = "$address/$prefixLength"
}

/**
 * What the VPN interface is: everything [TunBuilder] hands `VpnService.Builder`.
 *
 * The defaults are Hush's tun:
 * - routes `0.0.0.0/0` and `::/0`: every app's traffic, both families, goes through the
 *   firewall. A phone with no IPv6 still gets the v6 route, so no v6 leaks around Hush
 *   when a network starts offering it.
 * - private interface addresses: IPv4 in 10.0.0.0/8 and IPv6 in the ULA range fd00::/8
 *   (`fd68:7573:6800::/64`, "hush" in the global ID), picked away from the usual
 *   home-router subnets.
 * - a virtual DNS server in each subnet. Nothing listens there: the core answers every
 *   query to port 53 that enters the tun, so the address only has to be routed into it.
 * - MTU 9000 ([CoreConfig.DEFAULT_MTU]): the core ends the apps' TCP and UDP flows
 *   itself and relays them over ordinary sockets, so the tun's MTU never reaches the
 *   real network; a larger one means fewer, larger packets for the core to read.
 * - apps trusted with "allow all, not inspected" excluded too ([withTrusted]): their
 *   traffic costs Hush nothing and is neither filtered nor logged, as with NetGuard's
 *   filtering off. Changing the set establishes a new tun and hands it to the running
 *   core before the old one closes ([VpnController.trustedChanged]).
 * - Hush itself excluded: its own sockets (upstream DNS, relayed connections) go
 *   straight out ("Denied applications will use networking as if the VPN wasn't
 *   running", `VpnService.Builder.addDisallowedApplication`), so the core skips
 *   `protect` for them, a JNI and binder call per new flow ([excludesItself],
 *   sent as the start JSON's `selfExcluded`).
 * - not metered (API 29+): the VPN adds no cost, so it takes the meteredness of the
 *   network under it instead of Android's default "metered" for VPNs.
 */
data class TunSpec(
    val session: String = "Hush",
    val addresses: List<IpPrefix> = listOf(IpPrefix(IPV4_ADDRESS, IPV4_PREFIX), IpPrefix(IPV6_ADDRESS, IPV6_PREFIX)),
    val routes: List<IpPrefix> = listOf(IpPrefix("0.0.0.0", 0), IpPrefix("::", 0)),
    val dnsServers: List<String> = listOf(IPV4_DNS, IPV6_DNS),
    val mtu: Int = CoreConfig.DEFAULT_MTU,
    /** Package names whose traffic bypasses the VPN: Hush's own, and the apps trusted with "allow all, not inspected". */
    val disallowedApplications: List<String> = emptyList(),
    val metered: Boolean = false,
    /** Hush's own package, when [disallowedApplications] should hold it. */
    val ownPackage: String? = null,
) {
    /** Hush's own process is outside the VPN: its sockets need no `protect`. */
    val excludesItself: Boolean get() = ownPackage != null && ownPackage in disallowedApplications

    /**
     * This tun with [trusted] (the packages of apps trusted with "allow all, not
     * inspected") left out beside Hush itself, in a stable order, so two specs with the
     * same apps are equal whatever order the store gave them in.
     */
    fun withTrusted(trusted: Collection<String>): TunSpec =
        copy(disallowedApplications = (listOfNotNull(ownPackage) + trusted.filter { it != ownPackage }.distinct().sorted()))

    companion object {
        const val IPV4_ADDRESS = "10.111.222.1"
        const val IPV4_PREFIX = 24
        const val IPV4_DNS = "10.111.222.2"
        const val IPV6_ADDRESS = "fd68:7573:6800::1"
        const val IPV6_PREFIX = 64
        const val IPV6_DNS = "fd68:7573:6800::2"

        /** Hush's tun, for the app [ownPackage]. */
        fun forApp(ownPackage: String, mtu: Int = CoreConfig.DEFAULT_MTU): TunSpec =
            TunSpec(disallowedApplications = listOf(ownPackage), mtu = mtu, ownPackage = ownPackage)
    }
}

/**
 * The calls `VpnService.Builder` takes, as an interface: [TunSpec.applyTo] makes them,
 * on the real builder in the app ([BuilderCalls.of]) and on a recorder in tests.
 */
interface BuilderCalls {
    fun setSession(session: String)
    fun addAddress(address: String, prefixLength: Int)
    fun addRoute(address: String, prefixLength: Int)
    fun addDnsServer(address: String)
    fun setMtu(mtu: Int)
    fun addDisallowedApplication(packageName: String)
    /** API 29+ only; not called below. */
    fun setMetered(metered: Boolean)
    fun setUnderlyingNetworks(networks: Array<android.net.Network>?)
    fun setConfigureIntent(intent: PendingIntent)

    companion object {
        /**
         * The real builder. Addresses go in as [InetAddress]es: the spec's are literals,
         * so parsing them never asks DNS.
         */
        fun of(builder: VpnService.Builder): BuilderCalls = object : BuilderCalls {
            override fun setSession(session: String) { builder.setSession(session) }
            override fun addAddress(address: String, prefixLength: Int) { builder.addAddress(literal(address), prefixLength) }
            override fun addRoute(address: String, prefixLength: Int) { builder.addRoute(literal(address), prefixLength) }
            override fun addDnsServer(address: String) { builder.addDnsServer(literal(address)) }
            override fun setMtu(mtu: Int) { builder.setMtu(mtu) }
            override fun addDisallowedApplication(packageName: String) {
                try {
                    builder.addDisallowedApplication(packageName)
                } catch (e: android.content.pm.PackageManager.NameNotFoundException) {
                    // A trusted app removed before the store forgot it: nothing of it to leave out.
                }
            }
            override fun setMetered(metered: Boolean) { builder.setMetered(metered) }
            override fun setUnderlyingNetworks(networks: Array<android.net.Network>?) { builder.setUnderlyingNetworks(networks) }
            override fun setConfigureIntent(intent: PendingIntent) { builder.setConfigureIntent(intent) }
        }

        /** An IP address literal; anything else is refused (no DNS lookup). */
        fun literal(address: String): InetAddress {
            require(address.isNotEmpty() && (address.contains(':') || address.all { it == '.' || it in '0'..'9' })) {
                "not an IP address literal: $address"
            }
            return InetAddress.getByName(address)
        }
    }
}

/**
 * Makes the builder calls for this spec. [underlying] is the network the VPN runs over
 * (null: not known yet, Android follows the default network); [configure] opens the app
 * from the system's VPN settings; [sdkInt] decides the API 29+ calls.
 */
fun TunSpec.applyTo(
    calls: BuilderCalls,
    underlying: android.net.Network?,
    configure: PendingIntent?,
    sdkInt: Int,
) {
    calls.setSession(session)
    for (a in addresses) calls.addAddress(a.address, a.prefixLength)
    for (r in routes) calls.addRoute(r.address, r.prefixLength)
    for (d in dnsServers) calls.addDnsServer(d)
    calls.setMtu(mtu)
    for (p in disallowedApplications) calls.addDisallowedApplication(p)
    if (sdkInt >= 29) calls.setMetered(metered)
    calls.setUnderlyingNetworks(if (underlying == null) null else arrayOf(underlying))
    if (configure != null) calls.setConfigureIntent(configure)
}
