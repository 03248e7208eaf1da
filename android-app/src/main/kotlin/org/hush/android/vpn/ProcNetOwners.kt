package org.hush.android.vpn

import java.io.File

/**
 * A connection's owner UID from the kernel's socket tables, `/proc/net/{tcp,tcp6,udp,udp6}`:
 * how an app finds owners below Android 10 (API 29), which closed those files to apps
 * and added `ConnectivityManager.getConnectionOwnerUid` instead.
 *
 * A row reads (header first):
 * ```
 *   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
 *    0: 0F00000A:A2F4 22D8B85D:01BB 01 00000000:00000000 00:00000000 00000000 10123        0 43125 ...
 * ```
 * Addresses are hex, each 32-bit word in the host's byte order (Android runs
 * little-endian: 10.0.0.15 is `0F00000A`); IPv6 is four such words. Ports are plain
 * big-endian hex. An IPv4 connection made through an IPv6 socket shows in the `6`
 * tables as `::ffff:a.b.c.d`, so every address is compared in its 16-byte form.
 *
 * TCP rows in TIME_WAIT (`06`) are skipped: the socket is closed, the uid column is 0
 * there, and a new connection may reuse the same ports. So are LISTEN rows (`0A`):
 * they own no connection.
 */
class ProcNetOwners(private val read: (String) -> String?) {
    /** Reads the real files under [root] (tests pass fixture directories). */
    constructor(root: File = File("/proc/net")) : this({ name: String ->
        val file = File(root, name)
        if (file.canRead()) file.readText() else null
    })

    /**
     * The owner UID of the connection, or null when no table has it (or none can be read).
     * [protocol] is 6 (TCP) or 17 (UDP); addresses are 4 or 16 bytes; [local] is the app's end.
     */
    fun ownerUid(protocol: Int, local: ByteArray, localPort: Int, remote: ByteArray, remotePort: Int): Int? =
        // The kernel hands a table out a page at a time and resumes by row number, so a
        // socket opened or closed elsewhere between two pages can make a row be skipped;
        // a second read when the first found nothing makes that miss take two races.
        findOwner(protocol, local, localPort, remote, remotePort)
            ?: findOwner(protocol, local, localPort, remote, remotePort)

    private fun findOwner(protocol: Int, local: ByteArray, localPort: Int, remote: ByteArray, remotePort: Int): Int? {
        val tables = when (protocol) {
            TCP -> listOf("tcp", "tcp6")
            UDP -> listOf("udp", "udp6")
            else -> return null
        }
        val wantLocal = to16(local) ?: return null
        val wantRemote = to16(remote) ?: return null
        var loose: Int? = null
        for (name in tables) {
            val text = read(name) ?: continue
            for (row in parse(text)) {
                if (protocol == TCP && (row.state == TCP_TIME_WAIT || row.state == TCP_LISTEN)) continue
                if (row.localPort != localPort) continue
                val localMatches = row.local.contentEquals(wantLocal)
                if (localMatches && row.remotePort == remotePort && row.remote.contentEquals(wantRemote)) {
                    return row.uid
                }
                // An unconnected UDP socket: bound to the port, any remote, maybe any local address.
                if (protocol == UDP && loose == null && row.remotePort == 0 && isUnspecified(row.remote) &&
                    (localMatches || isUnspecified(row.local))
                ) {
                    loose = row.uid
                }
            }
        }
        return loose
    }

    /** One row of a table, addresses in 16-byte form. */
    class Row(
        val local: ByteArray,
        val localPort: Int,
        val remote: ByteArray,
        val remotePort: Int,
        val state: Int,
        val uid: Int,
    )

    companion object {
        const val TCP = 6
        const val UDP = 17
        const val TCP_TIME_WAIT = 0x06
        const val TCP_LISTEN = 0x0A

        private val SPACES = Regex("\\s+")

        /** The rows of one table's text; the header and malformed rows are left out. */
        fun parse(text: String): List<Row> {
            val rows = ArrayList<Row>()
            for (line in text.lineSequence()) {
                val fields = line.trim().split(SPACES)
                // sl local rem st tx:rx tr:when retrnsmt uid ...
                if (fields.size < 8 || !fields[0].endsWith(":")) continue
                val row = try {
                    val (local, localPort) = endpoint(fields[1])
                    val (remote, remotePort) = endpoint(fields[2])
                    Row(local, localPort, remote, remotePort, fields[3].toInt(16), fields[7].toInt())
                } catch (e: IllegalArgumentException) { // NumberFormatException included
                    null
                }
                if (row != null) rows.add(row)
            }
            return rows
        }

        /** "0100007F:0035" → (::ffff:127.0.0.1, 53). */
        private fun endpoint(field: String): Pair<ByteArray, Int> {
            val colon = field.indexOf(':')
            require(colon > 0) { "no port in $field" }
            val hex = field.substring(0, colon)
            val port = field.substring(colon + 1).toInt(16)
            require(port in 0..65535) { "bad port in $field" }
            val bytes = when (hex.length) {
                8 -> hostWords(hex)
                32 -> hostWords(hex)
                else -> throw IllegalArgumentException("bad address $hex")
            }
            return Pair(to16(bytes)!!, port)
        }

        /** Hex of 32-bit words in little-endian host order → network-order bytes. */
        private fun hostWords(hex: String): ByteArray {
            val out = ByteArray(hex.length / 2)
            for (word in 0 until hex.length / 8) {
                for (i in 0 until 4) {
                    // byte i of the word is printed at position 3 - i
                    val at = word * 8 + (3 - i) * 2
                    out[word * 4 + i] = hex.substring(at, at + 2).toInt(16).toByte()
                }
            }
            return out
        }

        /** 4 bytes → IPv4-mapped IPv6; 16 stay; anything else is null. */
        fun to16(address: ByteArray): ByteArray? = when (address.size) {
            16 -> address
            4 -> ByteArray(16).also {
                it[10] = 0xFF.toByte()
                it[11] = 0xFF.toByte()
                System.arraycopy(address, 0, it, 12, 4)
            }
            else -> null
        }

        /** `::`, or `::ffff:0.0.0.0` (an IPv4 socket's 0.0.0.0). */
        private fun isUnspecified(a: ByteArray): Boolean {
            for (i in 0 until 10) if (a[i].toInt() != 0) return false
            val mapped = a[10] == 0xFF.toByte() && a[11] == 0xFF.toByte()
            if (!mapped && (a[10].toInt() != 0 || a[11].toInt() != 0)) return false
            for (i in 12 until 16) if (a[i].toInt() != 0) return false
            return true
        }
    }
}
