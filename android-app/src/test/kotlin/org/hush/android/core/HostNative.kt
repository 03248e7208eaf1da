package org.hush.android.core

import java.io.FileDescriptor

/**
 * Host-only entry points of `libhush_jni.so` (rust/hush-jni/src/host.rs), for the
 * JVM tests: the Android build has none of them. Each object first makes sure
 * [NativeCore] loaded the library.
 */
object HostTun {
    init {
        NativeCore.version()
    }

    /** A descriptor of the existing tun device [name]; the caller owns it. */
    @JvmStatic external fun attach(name: String): Int

    /**
     * A fake tun: a `SOCK_SEQPACKET` socket pair, one packet per read and write, whose read
     * gives end of file once the other end closes. `[core's end, test's end]`; the caller owns both.
     */
    @JvmStatic external fun packetPair(): LongArray
}

object HostBench {
    init {
        NativeCore.version()
    }

    /** Times [count] owner lookups through [platform], made from a native thread as the core does; ns each. */
    @JvmStatic external fun ownerCallbackNanos(platform: CorePlatform, count: Int): LongArray
}

object HostStore {
    init {
        NativeCore.version()
    }

    /**
     * Writes events to the store at [database] as a session would (the host library's
     * test-only entry): `[{"timeMs", "uid": N|null, "host", "action", "list": NAME|null}]`.
     */
    @JvmStatic external fun recordEvents(database: String, eventsJson: String): Long
}

/** The descriptor number behind a [FileDescriptor] (the JVM keeps it private; jvm.sh opens java.io). */
fun FileDescriptor.number(): Int {
    val field = FileDescriptor::class.java.getDeclaredField("fd")
    field.isAccessible = true
    return field.getInt(this)
}

/** What [block] throws, which must be a [T]. */
inline fun <reified T : Throwable> expect(block: () -> Any?): T {
    try {
        block()
    } catch (t: Throwable) {
        if (t is T) return t
        throw AssertionError("expected ${T::class.java.name}, got $t", t)
    }
    throw AssertionError("expected ${T::class.java.name}, nothing thrown")
}
