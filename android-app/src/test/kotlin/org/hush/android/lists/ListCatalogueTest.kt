package org.hush.android.lists

import android.content.Context
import org.hush.android.app.AppWiring
import org.hush.android.core.NativeFirewall
import org.hush.android.settings.HushSettings
import org.hush.android.ui.SampleData
import org.json.JSONObject
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.annotation.Config
import java.io.File

/**
 * The switches and removal as the app keeps them (SharedPreferences, the lists folder),
 * and what the core is handed at its next start or reload ([AppWiring.coreConfig]).
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35])
class ListCatalogueTest {
    private val context: Context = RuntimeEnvironment.getApplication()
    private val settings = HushSettings(context)
    private val subscriptions = ListSubscriptions(context)
    private val downloader = ListDownloader(AppWiring.listsDirectory(context))
    private var reloads = 0
    private val catalogue = AppListCatalogue(
        catalogue = { SampleData.builtins },
        switches = object : BuiltinSwitches {
            override fun isEnabled(name: String) = settings.builtinListEnabled(name)
            override fun setEnabled(name: String, enabled: Boolean) = settings.setBuiltinListEnabled(name, enabled)
        },
        subscriptionsStore = subscriptions,
        downloader = downloader,
        reload = { reloads++ },
    )

    /** As a good download leaves it: the file in place, the subscription updated. */
    private fun downloaded(url: String, text: String = "0.0.0.0 app.adjust.com\n"): File {
        subscriptions.add(url)
        val file = downloader.fileFor(url)
        file.parentFile!!.mkdirs()
        file.writeText(text)
        subscriptions.recordUpdate(url, 1, SampleData.NOW)
        return file
    }

    private fun config() = AppWiring.coreConfig(context, settings)

    @Test
    fun everyBuiltInListIsOnByDefaultAndEachSwitchReachesTheCore() {
        assertEquals(listOf(true, true, true), catalogue.builtins().map { it.enabled })
        val fresh = config()
        assertTrue(fresh.defaultList && fresh.adawayList && fresh.encryptedDnsList)
        val json = JSONObject(NativeFirewall.configJson(fresh))
        assertTrue(json.getBoolean("adawayList") && json.getBoolean("encryptedDnsList") && json.getBoolean("defaultList"))

        catalogue.setBuiltinEnabled(BuiltinLists.ADAWAY, false)
        catalogue.applyChanges()
        assertEquals(1, reloads)
        assertEquals(listOf(true, false, true), catalogue.builtins().map { it.enabled })
        assertFalse(config().adawayList)
        assertFalse(JSONObject(NativeFirewall.configJson(config())).getBoolean("adawayList"))
        catalogue.setBuiltinEnabled(BuiltinLists.DOH, false)
        catalogue.setBuiltinEnabled(BuiltinLists.VENDOR, false)
        val none = config()
        assertFalse(none.defaultList || none.adawayList || none.encryptedDnsList)
        // Kept across restarts of the app.
        assertFalse(HushSettings(context).builtinListEnabled(BuiltinLists.VENDOR))
    }

    @Test
    fun aDisabledListIsNotHandedToTheCoreAndComesBackWhenEnabled() {
        val a = downloaded("https://lists.example.org/a.txt")
        val b = downloaded("https://lists.example.org/b.txt")
        assertEquals(listOf(a.path, b.path), config().blockLists)

        catalogue.setSubscriptionEnabled("https://lists.example.org/a.txt", false)
        assertEquals(listOf(b.path), config().blockLists)
        assertTrue("the file stays, for when it is turned on again", a.isFile)
        assertFalse(subscriptions.all().first().enabled)

        catalogue.setSubscriptionEnabled("https://lists.example.org/a.txt", true)
        assertEquals(listOf(a.path, b.path), config().blockLists)
    }

    @Test
    fun aRemovedListIsForgottenAndItsFileDeleted() {
        val a = downloaded("https://lists.example.org/a.txt")
        val b = downloaded("https://lists.example.org/b.txt")
        assertTrue(catalogue.removeSubscription("https://lists.example.org/a.txt"))
        assertFalse(a.exists())
        assertTrue(b.isFile)
        assertEquals(listOf("https://lists.example.org/b.txt"), catalogue.subscriptions().map { it.url })
        assertEquals(listOf(b.path), config().blockLists)
        // Gone already: nothing to do, and nothing else touched.
        assertFalse(catalogue.removeSubscription("https://lists.example.org/a.txt"))
        assertTrue(b.isFile)
    }

    @Test
    fun relaxingTheUpdateConstraintsSchedulesTheJobAgainWithThem() {
        val wired = AppWiring.listCatalogue(context, settings)
        subscriptions.add("https://lists.example.org/a.txt")
        val scheduler = org.robolectric.Shadows.shadowOf(context.getSystemService(android.app.job.JobScheduler::class.java))
        assertFalse(wired.updatesAnytime())
        wired.setUpdatesAnytime(true)
        assertTrue(settings.listUpdatesAnytime)
        val job = scheduler.getPendingJob(ListUpdateJobService.JOB_ID)!!
        @Suppress("DEPRECATION")
        assertEquals(android.app.job.JobInfo.NETWORK_TYPE_ANY, job.networkType)
        assertFalse(job.isRequireCharging)
        wired.setUpdatesAnytime(false)
        val strict = scheduler.getPendingJob(ListUpdateJobService.JOB_ID)!!
        @Suppress("DEPRECATION")
        assertEquals(android.app.job.JobInfo.NETWORK_TYPE_UNMETERED, strict.networkType)
        assertTrue(strict.isRequireCharging)
        // Removing the last list takes the job away.
        wired.removeSubscription("https://lists.example.org/a.txt")
        assertEquals(null, scheduler.getPendingJob(ListUpdateJobService.JOB_ID))
    }

    @Test
    fun aSubscriptionIsShownByItsFileName() {
        assertEquals("hosts", ListSubscription("https://raw.githubusercontent.com/StevenBlack/hosts/master/hosts").name)
        assertEquals("list.txt", ListSubscription("https://example.org/a/list.txt?token=1").name)
        assertEquals("example.org", ListSubscription("https://example.org/").name)
    }
}
