package org.hush.android.core

import java.io.File

/**
 * The Rust core, through `libhush_jni.so` (`rust/hush-jni`).
 *
 * Every function here is one native entry point. Errors come back as exceptions:
 * a refused argument as [IllegalArgumentException], a call the core cannot serve
 * now as [IllegalStateException], and a panic in the native code as a
 * [RuntimeException] carrying its message; the JVM carries on after each.
 *
 * The library is loaded when this object is first used: by name (from the app's
 * native libraries) on Android, or from the absolute path in the system property
 * [LIBRARY_PATH_PROPERTY] when it is set (the host JVM tests, tests/android/jvm.sh).
 */
object NativeCore {
    /** System property: absolute path of the library to load instead of `hush_jni`. */
    const val LIBRARY_PATH_PROPERTY = "hush.jni.path"

    init {
        val path = System.getProperty(LIBRARY_PATH_PROPERTY)
        if (path.isNullOrEmpty()) {
            System.loadLibrary("hush_jni")
        } else {
            if (!File(path).isAbsolute) {
                throw UnsatisfiedLinkError("$LIBRARY_PATH_PROPERTY must be an absolute path, not '$path'")
            }
            System.load(path)
        }
    }

    /** The core's version (the Rust workspace's, e.g. `0.1.0`). */
    @JvmStatic external fun version(): String

    /**
     * [name] as the core matches it: lower case, no trailing dot, IDN in punycode.
     * @throws IllegalArgumentException naming the problem when [name] is not a valid domain name.
     */
    @JvmStatic external fun normalizeDomain(name: String): String

    /** Panics in the native code, on purpose: throws [RuntimeException]. For tests only. */
    @JvmStatic external fun panicForTest()
}
