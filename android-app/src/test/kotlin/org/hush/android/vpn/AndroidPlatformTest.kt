package org.hush.android.vpn

import android.content.Context
import android.net.ConnectivityManager
import org.hush.android.core.CorePlatform
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.annotation.Config
import java.net.InetAddress

@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35])
class AndroidPlatformTest {
    private val context: Context get() = RuntimeEnvironment.getApplication()
    private val local = InetAddress.getByName("10.111.222.1").address
    private val remote = InetAddress.getByName("93.184.216.34").address

    private class Lookup(val answer: () -> Int?) : OwnerLookup {
        val asked = ArrayList<String>()
        override fun ownerUid(protocol: Int, local: ByteArray, localPort: Int, remote: ByteArray, remotePort: Int): Int? {
            asked.add("$protocol ${InetAddress.getByAddress(local).hostAddress}:$localPort ${InetAddress.getByAddress(remote).hostAddress}:$remotePort")
            return answer()
        }
    }

    @Test
    fun protectAsksTheServiceAndNeverThrows() {
        val protectedFds = ArrayList<Int>()
        val platform = AndroidPlatform({ fd: Int -> protectedFds.add(fd); fd != 13 }, Lookup { null })
        assertTrue(platform.protect(7))
        assertFalse(platform.protect(13))
        assertEquals(listOf(7, 13), protectedFds)
        val throwing = AndroidPlatform({ _: Int -> throw IllegalStateException("service gone") }, Lookup { null })
        assertFalse(throwing.protect(7))
    }

    @Test
    fun ownerUidPassesTheConnectionThroughAndMapsUnknownToMinusOne() {
        val found = Lookup { 10123 }
        assertEquals(10123, AndroidPlatform({ true }, found).ownerUid(6, local, 40000, remote, 443))
        assertEquals(listOf("6 10.111.222.1:40000 93.184.216.34:443"), found.asked)
        assertEquals(CorePlatform.UNKNOWN_UID, AndroidPlatform({ true }, Lookup { null }).ownerUid(17, local, 1, remote, 53))
    }

    @Test
    fun anyExceptionOrErrorInTheLookupIsUnknownNeverThrown() {
        val failures = listOf<() -> Int?>(
            { throw SecurityException("not the active VPN") },
            { throw IllegalArgumentException("bad protocol") },
            { throw RuntimeException("anything") },
            { throw StackOverflowError() },
        )
        for (fail in failures) {
            assertEquals(CorePlatform.UNKNOWN_UID, AndroidPlatform({ true }, Lookup(fail)).ownerUid(6, local, 1, remote, 2))
        }
    }

    @Test
    fun connectivityLookupFromApi29AndProcNetBelow() {
        val cm = context.getSystemService(ConnectivityManager::class.java)
        assertTrue(AndroidPlatform.ownerLookupFor(29, cm) is ConnectivityOwnerLookup)
        assertTrue(AndroidPlatform.ownerLookupFor(35, cm) is ConnectivityOwnerLookup)
        assertTrue(AndroidPlatform.ownerLookupFor(28, cm) is ProcNetOwnerLookup)
        assertTrue(AndroidPlatform.ownerLookupFor(26, cm) is ProcNetOwnerLookup)
    }
}
