package org.hush.android.core

import org.hush.android.core.NativeFirewallTest.Companion.ALLOWED_ADDRESS
import org.hush.android.core.NativeFirewallTest.Companion.ALLOWED_NAME
import org.hush.android.core.NativeFirewallTest.Companion.GAME_UID
import org.hush.android.core.NativeFirewallTest.Companion.OTHER_UID
import org.hush.android.core.NativeFirewallTest.Companion.TUN
import org.hush.android.core.NativeFirewallTest.Companion.UPSTREAM
import org.hush.android.core.NativeFirewallTest.Companion.dig
import org.hush.android.core.NativeFirewallTest.Companion.waitFor
import org.junit.AfterClass
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.BeforeClass
import org.junit.Test
import org.json.JSONObject
import java.io.File
import java.nio.file.Files

/**
 * App detail's packet capture through the real JNI entries (startCapture, captureStatus,
 * stopCapture) of a session on a real tun (the setup of [NativeFirewallTest]: dig as the
 * app, dnsmasq upstream): the app's DNS query and answer land in a pcapng file, and the
 * JSON says so.
 */
class NativeCaptureTest {
    private object Game : CorePlatform {
        override fun protect(fd: Int): Boolean = true
        override fun ownerUid(protocol: Int, local: ByteArray, localPort: Int, remote: ByteArray, remotePort: Int): Int = GAME_UID
    }

    private fun start(name: String): NativeSession =
        NativeFirewall.start(HostTun.attach(TUN), CoreConfig(File(workdir, "$name.db").path, UPSTREAM), Game) as NativeSession

    private fun spec(uid: Int, path: File, seconds: Long? = null) =
        CaptureSpec(uid, "Game (com.example.game)", path.path, 16L * 1024 * 1024, 4, seconds)

    /** [name] as DNS puts it on the wire: each label after its length. */
    private fun wire(name: String): ByteArray =
        name.split('.').flatMap { listOf(it.length.toByte()) + it.toByteArray().toList() }.toByteArray()

    private fun ByteArray.contains(part: ByteArray): Boolean =
        (0..size - part.size).any { i -> part.indices.all { this[i + it] == part[it] } }

    @Test
    fun theAppsQueryAndAnswerAreCapturedAndTheStopSaysWhere() {
        val session = start("capture")
        val path = File(workdir, "captures/hush-$GAME_UID.pcapng").apply { parentFile!!.mkdirs() }
        try {
            val none = JSONObject(NativeCore.captureStatus(session.handle))
            assertTrue(none.toString(), none.isNull("uid"))
            assertFalse(none.getBoolean("running"))

            session.startCapture(spec(GAME_UID, path, seconds = 600))
            assertTrue("the file being written is made at start", File(path.path + ".partial").isFile)
            val running = CaptureState.parse(NativeCore.captureStatus(session.handle))
            assertEquals(GAME_UID, running.uid)
            assertTrue(running.running)

            assertTrue(dig(ALLOWED_NAME).any { it.endsWith("\t$ALLOWED_ADDRESS") })
            // The query to the tun and the answer from it, at least.
            val seen = waitFor { session.captureStatus().takeIf { it.packets >= 2 } }
            assertEquals(GAME_UID, seen.uid)
            assertEquals(0L, seen.dropped)

            val stopped = JSONObject(NativeCore.stopCapture(session.handle))
            assertEquals(stopped.toString(), GAME_UID, stopped.getInt("uid"))
            assertFalse(stopped.getBoolean("running"))
            assertTrue(stopped.getLong("packets") >= 2)
            assertEquals(0L, stopped.getLong("dropped"))
            assertTrue(stopped.toString(), stopped.isNull("error"))
            val files = stopped.getJSONArray("files")
            assertEquals(stopped.toString(), 1, files.length())
            assertEquals(path.path, files.getString(0))
        } finally {
            session.stop()
        }
        assertFalse("no partial file is left", File(path.path + ".partial").exists())
        val bytes = path.readBytes()
        // A pcapng section header block, then the app named in the interface description.
        assertArrayEquals(byteArrayOf(0x0A, 0x0D, 0x0D, 0x0A), bytes.copyOfRange(0, 4))
        assertTrue("the app's name is in the file", bytes.contains("Game (com.example.game) (uid $GAME_UID)".toByteArray()))
        assertTrue("the query's name is in the file", bytes.contains(wire(ALLOWED_NAME)))
        assertTrue("the answer's address is in the file", bytes.contains(byteArrayOf(198.toByte(), 18, 7, 7)))
        // A stopped session refuses every capture call.
        expect<IllegalStateException> { session.captureStatus() }
        expect<IllegalStateException> { session.startCapture(spec(GAME_UID, File(workdir, "late.pcapng"))) }
    }

    @Test
    fun anotherAppsCaptureHoldsNoneOfThisAppsPackets() {
        val session = start("other")
        val path = File(workdir, "hush-$OTHER_UID.pcapng")
        try {
            session.startCapture(spec(OTHER_UID, path))
            assertTrue(dig(ALLOWED_NAME).any { it.endsWith("\t$ALLOWED_ADDRESS") })
            val stopped = session.stopCapture()
            assertEquals(OTHER_UID, stopped.uid)
            assertEquals(0L, stopped.packets)
            assertEquals(listOf(path.path), stopped.files)
        } finally {
            session.stop()
        }
        assertFalse(path.readBytes().contains(wire(ALLOWED_NAME)))
    }

    @Test
    fun aSpecTheCoreRefusesAndAFileThatCannotBeMadeAreSaidAndLeaveNoFile() {
        val session = start("refused")
        try {
            val bad = File(workdir, "bad.pcapng")
            expect<IllegalArgumentException> { session.startCapture(spec(GAME_UID, bad).copy(files = 0)) }
            expect<IllegalArgumentException> { session.startCapture(spec(GAME_UID, bad, seconds = 0)) }
            expect<IllegalArgumentException> { NativeCore.startCapture(session.handle, "{\"uid\": 1}") }
            val nowhere = File(workdir, "missing/dir/hush.pcapng")
            val e = expect<IllegalStateException> { session.startCapture(spec(GAME_UID, nowhere)) }
            assertTrue(e.message, e.message!!.contains(nowhere.parent!!))
            assertFalse(bad.exists() || File(bad.path + ".partial").exists())
            assertEquals(CaptureState.NONE, session.captureStatus())
            // Nothing was running: the stop says so.
            assertEquals(null, session.stopCapture().uid)
        } finally {
            session.stop()
        }
    }

    companion object {
        private lateinit var workdir: File

        @BeforeClass
        @JvmStatic
        fun setUp() {
            NativeFirewallTest.createTunAndResolver()
            workdir = Files.createTempDirectory("hush-jvm-capture").toFile()
        }

        @AfterClass
        @JvmStatic
        fun tearDown() {
            NativeFirewallTest.removeTunAndResolver()
            workdir.deleteRecursively()
        }
    }
}
