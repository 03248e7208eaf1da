package org.hush.android.ui

import android.graphics.drawable.Drawable
import kotlinx.coroutines.asCoroutineDispatcher
import org.hush.android.apps.InstalledApp
import org.hush.android.apps.InstalledApps
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.annotation.Config
import java.util.Collections
import java.util.concurrent.Executors

/**
 * Battery and smoothness: no screen touches the database or scans the package manager
 * on the main thread. StrictMode's disk checks do not fire on the JVM (java.io does not
 * call Android's BlockGuard), so the same is asserted directly: every store and
 * installed-apps call made while each screen, the sheet and the guidance screen open
 * and refresh runs on the io dispatcher's thread.
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35], qualifiers = "w360dp-h780dp-xhdpi")
class MainThreadAuditTest {
    @After
    fun reset() { HushUi.deps = null }

    @Test
    fun everyScreensStoreAndPackageCallsRunOffTheMainThread() {
        val pool = Executors.newSingleThreadExecutor { r -> Thread(r, IO) }
        try {
            val world = SampleData.World()
            val appThreads = Collections.synchronizedSet(HashSet<String>())
            val apps = object : InstalledApps {
                override fun apps(): List<InstalledApp> { appThreads.add(Thread.currentThread().name); return world.apps.apps() }
                override fun icon(packageName: String): Drawable? = world.apps.icon(packageName)
            }
            HushUi.deps = UiDeps(world.store, apps, world.firewall, world.actions, world.settings,
                io = pool.asCoroutineDispatcher(), clock = world.deps.clock, timeZone = SampleData.ZONE, dynamicColor = false,
                evidence = world.evidence)
            val mainThread = Thread.currentThread().name
            val activity = Robolectric.buildActivity(MainActivity::class.java).setup().get()
            fun settle() {
                // Work goes to the pool and comes back to the main looper: wait for both to be quiet.
                repeat(5) { pool.submit { }.get(); UiTest.idle() }
            }
            settle()
            for (tab in MainActivity.Tab.values()) {
                activity.select(tab)
                settle()
                activity.screen(tab)!!.onShow() // a refresh as well as the first load
                settle()
            }
            activity.openAppDetail(SampleData.MI_BROWSER, "Mi Browser")
            settle()
            activity.detail!!.shareReport()
            settle()
            activity.openRules()
            settle()
            activity.openGuidance()
            settle()
            activity.openHostActions(HostTarget("tracking.miui.com", AppRef(SampleData.MI_BROWSER, "Mi Browser")))
            settle()
            assertTrue("the sheet loaded", activity.sheet!!.presenter.state.ready)
            UiTest.click(activity.sheet!!.actions, "Allow for every app")
            settle()

            assertTrue("the store was used", world.store.threads.isNotEmpty())
            assertEquals("store calls only on the io thread (main: $mainThread)", setOf(IO), world.store.threads)
            assertEquals("package scans only on the io thread", setOf(IO), appThreads.toSet())
            // Who is behind a host, and the report "Share report" writes: the core's table and the whole log.
            assertTrue("owners were looked up", world.evidence.batches.isNotEmpty())
            assertEquals("the report was written", 1, world.evidence.reports.size)
            assertEquals("attribution and reports only on the io thread", setOf(IO), world.evidence.threads.toSet())
        } finally {
            pool.shutdownNow()
        }
    }

    companion object {
        const val IO = "hush-audit-io"
    }
}
