package org.hush.android.core

/**
 * Benchmark: the JNI round trip of an owner-UID lookup, as the core makes it from
 * its lookup thread into a Kotlin CorePlatform (attach, two byte arrays, the call,
 * the answer). Prints the median and the 99th percentile of each run.
 *
 * tests/android/jvm.sh --main org.hush.android.core.OwnerCallbackBench [RUNS] [LOOKUPS]
 */
object OwnerCallbackBench {
    /** Answers at once, as a cached `getConnectionOwnerUid` would: the bench times the bridge. */
    private object FixedOwner : CorePlatform {
        override fun protect(fd: Int) = true
        override fun ownerUid(protocol: Int, local: ByteArray, localPort: Int, remote: ByteArray, remotePort: Int) = 10_123
    }

    @JvmStatic
    fun main(args: Array<String>) {
        val runs = args.getOrNull(0)?.toInt() ?: 5
        val lookups = args.getOrNull(1)?.toInt() ?: 100_000
        HostBench.ownerCallbackNanos(FixedOwner, 20_000) // warm-up: JIT, thread attachment
        val medians = ArrayList<Long>()
        for (run in 1..runs) {
            val nanos = HostBench.ownerCallbackNanos(FixedOwner, lookups).sortedArray()
            val median = nanos[nanos.size / 2]
            medians.add(median)
            println("run $run: $lookups lookups, median ${median} ns, p99 ${nanos[nanos.size * 99 / 100]} ns")
        }
        medians.sort()
        println("owner callback round trip: median of run medians ${medians[medians.size / 2]} ns")
    }
}
