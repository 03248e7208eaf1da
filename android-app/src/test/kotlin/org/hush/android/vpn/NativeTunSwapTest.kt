package org.hush.android.vpn

import org.hush.android.core.CoreConfig
import org.hush.android.core.CorePlatform
import org.hush.android.core.HostTun
import org.hush.android.core.NativeFirewall
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import java.io.FileDescriptor
import java.io.FileInputStream
import java.io.FileOutputStream
import java.nio.ByteBuffer
import java.nio.file.Files
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.atomic.AtomicLong

/**
 * The gap when the set of trusted apps changes while Hush runs (issue 15), on the real
 * core (the host build of the JNI library) through [VpnController.trustedChanged]: DNS
 * queries for a blocked name are written into the tun without pause, one a millisecond,
 * while the controller establishes a new tun (with another app left out), hands it to the
 * running core, and the core closes the old one. Counts queries never answered and the
 * longest wait for an answer. The tuns are fake (`SOCK_SEQPACKET` pairs: one packet per
 * read and write, as a tun), since nothing here runs Android; plain JVM, as the other
 * native tests. `bash tests/android/jvm.sh NativeTunSwapTest` prints the figures.
 */
class NativeTunSwapTest {
    private val dir = Files.createTempDirectory("hush-tun-swap").toFile()

    @After
    fun cleanUp() {
        dir.deleteRecursively()
    }

    /** Hands out fake tuns, keeping the test's end of each. */
    private class PairTunBuilder : TunBuilder {
        val appEnds = ArrayList<FileDescriptor>()
        val specs = ArrayList<TunSpec>()

        override fun isPermitted() = true

        override fun establish(spec: TunSpec, underlying: android.net.Network?): Tun {
            val (core, app) = HostTun.packetPair().map { it.toInt() }
            specs.add(spec)
            appEnds.add(descriptor(app))
            return object : Tun {
                override fun detachFd(): Int = core
                override fun close() {}
            }
        }

        override fun setUnderlyingNetworks(networks: Array<android.net.Network>?) {}
    }

    @Test
    fun aChangeOfTrustedAppsLosesNoQueryOfTheAppsStillFiltered() {
        val builder = PairTunBuilder()
        var trusted = emptyList<String>()
        val controller = VpnController(
            tunBuilder = builder,
            platform = object : CorePlatform {
                override fun protect(fd: Int) = true
                override fun ownerUid(protocol: Int, local: ByteArray, localPort: Int, remote: ByteArray, remotePort: Int) = CorePlatform.UNKNOWN_UID
            },
            core = { NativeFirewall },
            // Nothing goes upstream: every query is for a name on the built-in list.
            config = { CoreConfig(databasePath = java.io.File(dir, "hush.db").path, upstreamDns = "127.0.0.1:9") },
            spec = TunSpec.forApp("org.hush.android"),
            strings = org.hush.android.ui.XmlStrings,
            trustedPackages = { trusted },
        )
        assertTrue(controller.start() is VpnState.On)
        val answered = ConcurrentHashMap<Int, Long>()
        val readers = List(2) { i ->
            Thread {
                while (true) {
                    // The first tun exists now; the second once the swap made it.
                    val fd = synchronized(builder) { builder.appEnds.getOrNull(i) } ?: run { Thread.sleep(1); null } ?: continue
                    read(fd, answered)
                    return@Thread
                }
            }.apply { isDaemon = true; start() }
        }
        try {
            // The engine answers on the first tun before the clock starts.
            val warmUp = FileOutputStream(builder.appEnds[0])
            warmUp.write(query(WARM_UP))
            within(5_000) { answered.containsKey(WARM_UP) }

            val sent = LongArray(QUERIES)
            var swapAt = 0L
            var swapTook = 0L
            val start = System.nanoTime()
            for (id in 0 until QUERIES) {
                if (id == SWAP_AT) {
                    trusted = listOf("com.example.game")
                    swapAt = System.nanoTime()
                    assertTrue(controller.trustedChanged())
                    swapTook = System.nanoTime() - swapAt
                }
                val out = FileOutputStream(synchronized(builder) { builder.appEnds.last() })
                sent[id] = System.nanoTime()
                out.write(query(id))
                val next = start + (id + 1) * EVERY_NS
                val wait = next - System.nanoTime()
                if (wait > 0) Thread.sleep(wait / 1_000_000, (wait % 1_000_000).toInt())
            }
            within(5_000) { (0 until QUERIES).all { answered.containsKey(it) } }
            assertEquals(listOf("org.hush.android", "com.example.game"), builder.specs.last().disallowedApplications)

            val lost = (0 until QUERIES).count { !answered.containsKey(it) }
            val waits = (0 until QUERIES).filter { answered.containsKey(it) }.map { answered.getValue(it) - sent[it] }
            val slowest = waits.maxOrNull() ?: 0L
            val aroundSwap = (SWAP_AT - 50 until SWAP_AT + 50).filter { answered.containsKey(it) }.map { answered.getValue(it) - sent[it] }
            val median = waits.sorted()[waits.size / 2]
            // The longest stretch without an answer while queries were being sent.
            val times = answered.filterKeys { it in 0 until QUERIES }.values.sorted()
            val pause = times.zipWithNext { a, b -> b - a }.maxOrNull() ?: 0L
            val nearSwap = (SWAP_AT - 50 until SWAP_AT + 50).mapNotNull { answered[it] }.sorted()
            val swapPause = nearSwap.zipWithNext { a, b -> b - a }.maxOrNull() ?: 0L
            println(
                "tun swap: $QUERIES queries at 1 ms, $lost lost; answer median %.2f ms, slowest %.2f ms (within 50 of the swap: %.2f ms); "
                    .format(median / 1e6, slowest / 1e6, (aroundSwap.maxOrNull() ?: 0L) / 1e6) +
                    "longest pause between answers %.2f ms (within 50 of the swap: %.2f ms); trustedChanged() returned in %.2f ms"
                        .format(pause / 1e6, swapPause / 1e6, swapTook / 1e6),
            )
            assertEquals("queries never answered", 0, lost)
            assertTrue("slowest answer ${slowest / 1_000_000} ms", slowest < 1_000_000_000L)
        } finally {
            controller.stop()
        }
        // The old tun was closed by the core: its reader saw the end.
        readers[0].join(5_000)
        assertTrue("the old tun was never closed", !readers[0].isAlive)
    }

    companion object {
        const val QUERIES = 2_000
        const val SWAP_AT = 1_000
        const val WARM_UP = 60_000
        const val EVERY_NS = 1_000_000L
        private val stamp = AtomicLong()

        /** A [FileDescriptor] for [fd] (the JVM keeps the field private; jvm.sh opens java.io). */
        fun descriptor(fd: Int): FileDescriptor = FileDescriptor().also {
            val field = FileDescriptor::class.java.getDeclaredField("fd")
            field.isAccessible = true
            field.setInt(it, fd)
        }

        /** Reads answers from [fd] until end of file, recording when each ID came. */
        fun read(fd: FileDescriptor, answered: MutableMap<Int, Long>) {
            val input = FileInputStream(fd)
            val buffer = ByteArray(4096)
            while (true) {
                val n = try { input.read(buffer) } catch (e: java.io.IOException) { -1 }
                if (n <= 0) return
                // IPv4 (20 bytes), UDP (8), then the DNS ID.
                if (n < 30 || buffer[9].toInt() != 17) continue
                val id = ((buffer[28].toInt() and 0xff) shl 8) or (buffer[29].toInt() and 0xff)
                answered.putIfAbsent(id, System.nanoTime())
                stamp.incrementAndGet()
            }
        }

        /** An A query for tracking.miui.com (on the built-in list) from 10.111.222.1:40000 to the tun's DNS address. */
        fun query(id: Int): ByteArray {
            val dns = ByteBuffer.allocate(512)
            dns.putShort(id.toShort()).putShort(0x0100).putShort(1).putShort(0).putShort(0).putShort(0)
            for (label in listOf("tracking", "miui", "com")) {
                dns.put(label.length.toByte()).put(label.toByteArray())
            }
            dns.put(0).putShort(1).putShort(1)
            val payload = dns.array().copyOf(dns.position())
            val total = 20 + 8 + payload.size
            val p = ByteBuffer.allocate(total)
            p.put(0x45).put(0).putShort(total.toShort()).putShort(0).putShort(0x4000).put(64).put(17).putShort(0)
            p.put(byteArrayOf(10, 111, 222.toByte(), 1)).put(byteArrayOf(10, 111, 222.toByte(), 2))
            p.putShort(40000.toShort()).putShort(53).putShort((8 + payload.size).toShort()).putShort(0) // UDP checksum 0: none (IPv4)
            p.put(payload)
            val bytes = p.array()
            var sum = 0
            for (i in 0 until 20 step 2) sum += ((bytes[i].toInt() and 0xff) shl 8) or (bytes[i + 1].toInt() and 0xff)
            while (sum shr 16 != 0) sum = (sum and 0xffff) + (sum shr 16)
            val checksum = sum.inv() and 0xffff
            bytes[10] = (checksum shr 8).toByte()
            bytes[11] = checksum.toByte()
            return bytes
        }

        fun within(ms: Long, done: () -> Boolean) {
            val end = System.currentTimeMillis() + ms
            while (!done() && System.currentTimeMillis() < end) Thread.sleep(5)
        }
    }
}
