package org.hush.android.vpn

import android.net.ConnectivityManager
import android.net.VpnService
import android.os.Build
import org.hush.android.core.CorePlatform
import java.net.InetAddress
import java.net.InetSocketAddress

/** Names a connection's owner app: a UID, or null when it cannot say. May throw. */
interface OwnerLookup {
    fun ownerUid(protocol: Int, local: ByteArray, localPort: Int, remote: ByteArray, remotePort: Int): Int?
}

/** API 29+: `ConnectivityManager.getConnectionOwnerUid`, which only the active VPN app may call. */
class ConnectivityOwnerLookup(private val connectivity: ConnectivityManager) : OwnerLookup {
    override fun ownerUid(protocol: Int, local: ByteArray, localPort: Int, remote: ByteArray, remotePort: Int): Int? {
        val uid = connectivity.getConnectionOwnerUid(
            protocol,
            InetSocketAddress(InetAddress.getByAddress(local), localPort),
            InetSocketAddress(InetAddress.getByAddress(remote), remotePort),
        )
        return if (uid < 0) null else uid // Process.INVALID_UID is -1
    }
}

/** Below API 29: the kernel's socket tables, `/proc/net`. */
class ProcNetOwnerLookup(private val tables: ProcNetOwners = ProcNetOwners()) : OwnerLookup {
    override fun ownerUid(protocol: Int, local: ByteArray, localPort: Int, remote: ByteArray, remotePort: Int): Int? =
        tables.ownerUid(protocol, local, localPort, remote, remotePort)
}

/**
 * What the core needs from Android, called from the core's threads: [protect] keeps a
 * socket out of the VPN (`VpnService.protect`), [ownerUid] names the app behind a
 * connection. Neither ever throws into native code: a failure is `false` or
 * [CorePlatform.UNKNOWN_UID].
 */
class AndroidPlatform(
    private val protector: (Int) -> Boolean,
    private val owners: OwnerLookup,
) : CorePlatform {

    override fun protect(fd: Int): Boolean = try {
        protector(fd)
    } catch (t: Throwable) {
        false
    }

    override fun ownerUid(protocol: Int, local: ByteArray, localPort: Int, remote: ByteArray, remotePort: Int): Int =
        try {
            owners.ownerUid(protocol, local, localPort, remote, remotePort) ?: CorePlatform.UNKNOWN_UID
        } catch (t: Throwable) {
            CorePlatform.UNKNOWN_UID
        }

    companion object {
        /** The lookup Android offers at [sdkInt]. */
        fun ownerLookupFor(sdkInt: Int, connectivity: ConnectivityManager?): OwnerLookup =
            if (sdkInt >= Build.VERSION_CODES.Q && connectivity != null) ConnectivityOwnerLookup(connectivity) else ProcNetOwnerLookup()

        fun forService(service: VpnService): AndroidPlatform {
            val connectivity = service.getSystemService(ConnectivityManager::class.java)
            return AndroidPlatform(
                protector = { fd: Int -> service.protect(fd) },
                owners = ownerLookupFor(Build.VERSION.SDK_INT, connectivity),
            )
        }
    }
}
