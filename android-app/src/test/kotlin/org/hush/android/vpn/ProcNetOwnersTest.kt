package org.hush.android.vpn

import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Test
import java.io.File
import java.net.InetAddress
import java.nio.file.Files

/** The /proc/net reader on text in the kernel's own format (plain JUnit). */
class ProcNetOwnersTest {
    private val tcp = """
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:13AD 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 20131 1 0000000000000000 100 0 0 10 0
   1: 0100DE0A:A2F4 22D8B85D:01BB 01 00000000:00000000 02:000A7D5B 00000000 10123        0 43125 2 0000000000000000 20 4 30 10 -1
   2: 0100DE0A:A2F6 22D8B85D:01BB 06 00000000:00000000 03:00001234 00000000     0        0 0 3 0000000000000000
   3: 0100DE0A:A2F8 22D8B85D:01BB 01 00000000:00000000 02:000A7D5B 00000000 10200        0 43129 2 0000000000000000 20 4 30 10 -1
""".trimStart('\n')

    private val tcp6 = """
  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0000000000000000FFFF00000100DE0A:B01C 0000000000000000FFFF000008080808:0050 01 00000000:00000000 00:00000000 00000000 10145        0 51234 1 0000000000000000 20 4 1 10 -1
   1: 737568FD000000680000000001000000:C350 B80D0120000000000000000001000000:01BB 01 00000000:00000000 00:00000000 00000000 10177        0 51240 1 0000000000000000 20 4 1 10 -1
   2: 0000000000000000FFFF00000100DE0A:B01E 0000000000000000FFFF000008080808:0050 06 00000000:00000000 03:00001000 00000000     0        0 0 3 0000000000000000
""".trimStart('\n')

    private val udp = """
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  100: 00000000:14E9 00000000:0000 07 00000000:00000000 00:00000000 00000000 10050        0 31001 2 0000000000000000 0
  101: 0100DE0A:D431 09090909:0035 01 00000000:00000000 00:00000000 00000000 10060        0 31002 2 0000000000000000 0
""".trimStart('\n')

    private val udp6 = """
  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  200: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000 10070        0 32001 2 0000000000000000 0
""".trimStart('\n')

    private val files = mapOf("tcp" to tcp, "tcp6" to tcp6, "udp" to udp, "udp6" to udp6)
    private val owners = ProcNetOwners { name: String -> files[name] }

    private fun ip(text: String): ByteArray = InetAddress.getByName(text).address

    @Test
    fun aRowSkippedByARacingReadIsFoundByTheSecondRead() {
        val header = tcp.lineSequence().first() + "\n"
        val reads = mutableMapOf("tcp" to 0)
        val racing = ProcNetOwners { name: String ->
            val n = reads.merge(name, 1) { a, b -> a + b }!!
            if (name == "tcp" && n >= 2) tcp else header
        }
        assertEquals(10123, racing.ownerUid(6, ip("10.222.0.1"), 0xA2F4, ip("93.184.216.34"), 443))
        assertEquals(2, reads["tcp"])
        reads.clear()
        assertNull(ProcNetOwners { name: String -> reads.merge(name, 1) { a, b -> a + b }; header }
            .ownerUid(6, ip("10.222.0.1"), 0xA2F4, ip("93.184.216.34"), 443))
        assertEquals("a miss reads each table twice, not more", mapOf("tcp" to 2, "tcp6" to 2), reads)
    }

    @Test
    fun anEstablishedIpv4TcpConnectionIsFoundByBothEnds() {
        assertEquals(10123, owners.ownerUid(6, ip("10.222.0.1"), 0xA2F4, ip("93.184.216.34"), 443))
        assertEquals(10200, owners.ownerUid(6, ip("10.222.0.1"), 0xA2F8, ip("93.184.216.34"), 443))
        assertNull("another remote port", owners.ownerUid(6, ip("10.222.0.1"), 0xA2F4, ip("93.184.216.34"), 80))
        assertNull("another local address", owners.ownerUid(6, ip("10.222.0.2"), 0xA2F4, ip("93.184.216.34"), 443))
    }

    @Test
    fun timeWaitAndListenRowsAreSkipped() {
        assertNull(owners.ownerUid(6, ip("10.222.0.1"), 0xA2F6, ip("93.184.216.34"), 443))
        assertNull(owners.ownerUid(6, ip("10.222.0.1"), 0xB01E, ip("8.8.8.8"), 80))
        assertNull("LISTEN owns no connection", owners.ownerUid(6, ip("127.0.0.1"), 5037, ip("0.0.0.0"), 0))
    }

    @Test
    fun anIpv4ConnectionOnAnIpv6SocketIsFoundAsIpv4Mapped() {
        // asked with 4-byte addresses, found in tcp6 as ::ffff:10.222.0.1 -> ::ffff:8.8.8.8
        assertEquals(10145, owners.ownerUid(6, ip("10.222.0.1"), 0xB01C, ip("8.8.8.8"), 80))
    }

    @Test
    fun aNativeIpv6ConnectionIsFound() {
        assertEquals(
            10177,
            owners.ownerUid(6, ip("fd68:7573:6800::1"), 50000, ip("2001:db8::1"), 443),
        )
    }

    @Test
    fun udpMatchesAConnectedSocketOrAnUnconnectedOneOnTheSamePort() {
        assertEquals(10060, owners.ownerUid(17, ip("10.222.0.1"), 0xD431, ip("9.9.9.9"), 53))
        assertEquals("bound to 0.0.0.0:5353", 10050, owners.ownerUid(17, ip("10.222.0.1"), 5353, ip("224.0.0.251"), 5353))
        assertEquals("bound to [::]:8080", 10070, owners.ownerUid(17, ip("fd68:7573:6800::1"), 8080, ip("2001:db8::2"), 9999))
        assertNull(owners.ownerUid(17, ip("10.222.0.1"), 1, ip("9.9.9.9"), 53))
    }

    @Test
    fun otherProtocolsAndBadAddressesAreNull() {
        assertNull(owners.ownerUid(1, ip("10.222.0.1"), 0xA2F4, ip("93.184.216.34"), 443))
        assertNull(owners.ownerUid(6, ByteArray(5), 0xA2F4, ip("93.184.216.34"), 443))
    }

    @Test
    fun malformedRowsAreLeftOut() {
        val rows = ProcNetOwners.parse(
            tcp + "   9: XYZ:0050 00000000:0000 01 0 0 0 10001\n   10: 0100007F 00000000:0000 01 0 0 0 10002\n",
        )
        assertEquals(listOf(1000, 10123, 0, 10200), rows.map { it.uid })
        assertEquals(0x0A, rows[0].state)
        assertEquals(5037, rows[0].localPort)
    }

    @Test
    fun missingOrUnreadableFilesMeanNull() {
        assertNull(ProcNetOwners { _: String -> null }.ownerUid(6, ip("10.222.0.1"), 0xA2F4, ip("93.184.216.34"), 443))
        val dir = Files.createTempDirectory("procnet").toFile()
        try {
            File(dir, "tcp").writeText(tcp)
            val fromFiles = ProcNetOwners(dir)
            assertEquals(10123, fromFiles.ownerUid(6, ip("10.222.0.1"), 0xA2F4, ip("93.184.216.34"), 443))
            assertNull("no udp file", fromFiles.ownerUid(17, ip("10.222.0.1"), 0xD431, ip("9.9.9.9"), 53))
        } finally {
            dir.deleteRecursively()
        }
    }
}
