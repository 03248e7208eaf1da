package org.hush.android.app

import org.hush.android.apps.InstalledApp
import org.hush.android.ui.FakeApps
import org.junit.Assert.assertEquals
import org.junit.Test

/** Refreshes do not rescan the installed apps: one scan until a package changes. */
class CachedAppsTest {
    private val tiktok = InstalledApp("com.zhiliaoapp.musically", "TikTok", 10_123, false)
    private val browser = InstalledApp("com.mi.globalbrowser", "Mi Browser", 10_124, false)

    @Test
    fun oneScanServesEveryRefreshUntilInvalidated() {
        val inner = FakeApps(listOf(tiktok))
        val apps = CachedApps(inner)
        repeat(20) { assertEquals(listOf(tiktok), apps.apps()) }
        assertEquals(1, inner.appsCalls)
        inner.list = listOf(tiktok, browser)
        assertEquals("still the cached list", listOf(tiktok), apps.apps())
        apps.invalidate() // a package was added
        assertEquals(listOf(tiktok, browser), apps.apps())
        assertEquals(2, inner.appsCalls)
    }

    @Test
    fun aChangeThePackageManagerReportsRescansOnce() {
        val inner = FakeApps(listOf(tiktok))
        var changes = 0
        val apps = CachedApps(inner) { if (changes > 0) { changes = 0; true } else false }
        apps.apps(); apps.apps()
        assertEquals(1, inner.appsCalls)
        inner.list = listOf(browser)
        changes = 1
        assertEquals(listOf(browser), apps.apps())
        apps.apps()
        assertEquals(2, inner.appsCalls)
    }

    @Test
    fun iconsAreNotCachedAndAFailedScanIsNotKept() {
        var fail = true
        val inner = object : org.hush.android.apps.InstalledApps {
            var calls = 0
            override fun apps(): List<InstalledApp> { calls++; if (fail) throw IllegalStateException("package manager died"); return listOf(tiktok) }
            override fun icon(packageName: String) = null
        }
        val apps = CachedApps(inner)
        val e = runCatching { apps.apps() }.exceptionOrNull()
        assertEquals("package manager died", e?.message)
        fail = false
        assertEquals(listOf(tiktok), apps.apps())
        assertEquals(2, inner.calls)
    }
}
