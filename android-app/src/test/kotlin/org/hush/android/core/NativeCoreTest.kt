package org.hush.android.core

import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test

/** The JNI bridge on the host JVM (plain JUnit: no Android API involved). */
class NativeCoreTest {
    @Test
    fun versionIsTheWorkspaceVersion() {
        assertEquals("0.1.0", NativeCore.version())
    }

    @Test
    fun normalizeDomainLowersCaseAndDropsTheTrailingDot() {
        assertEquals("tracking.miui.com", NativeCore.normalizeDomain("Tracking.MIUI.com."))
    }

    @Test
    fun anInvalidNameThrowsIllegalArgumentExceptionNamingTheProblem() {
        val e = expect<IllegalArgumentException> { NativeCore.normalizeDomain("bad..name") }
        val message = e.message.orEmpty()
        assertTrue(message, message.contains("bad..name"))
        assertTrue(message, message.contains("not a valid domain name"))
    }

    @Test
    fun aPanicBecomesRuntimeExceptionAndTheBridgeStillWorks() {
        val e = expect<RuntimeException> { NativeCore.panicForTest() }
        assertEquals(RuntimeException::class.java, e.javaClass)
        val message = e.message.orEmpty()
        assertTrue(message, message.contains("deliberate panic"))
        assertEquals("0.1.0", NativeCore.version())
        assertEquals("a.example", NativeCore.normalizeDomain("A.Example"))
    }

    @Test
    fun tenThousandCallsOverflowNothing() {
        for (i in 0 until 10_000) {
            assertEquals("host$i.example.com", NativeCore.normalizeDomain("HOST$i.Example.COM."))
            assertEquals("0.1.0", NativeCore.version())
            expect<IllegalArgumentException> { NativeCore.normalizeDomain("bad..name$i") }
        }
    }
}
