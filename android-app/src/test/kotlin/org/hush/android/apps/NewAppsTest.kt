package org.hush.android.apps

import android.app.Notification
import android.app.NotificationManager
import android.content.Context
import android.content.Intent
import android.net.Uri
import org.robolectric.RuntimeEnvironment
import org.hush.android.core.Network
import org.hush.android.data.DomainAction
import org.hush.android.data.DomainRule
import org.hush.android.policy.AppMode
import org.hush.android.ui.FakeStore
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Before
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config
import java.util.concurrent.Executor

/**
 * New and removed apps on Robolectric (SDK 35): the new-app notification and each of
 * its actions through the receiver, the "New apps start as" setting, an answer after
 * the app is gone, the package broadcasts (installs, updates, removals) and the runtime
 * registration. The store is the in-memory fake here; NativeAppsTest runs the same
 * paths on the real store.
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35])
class NewAppsTest {
    private val context: Context = RuntimeEnvironment.getApplication()
    private val manager = context.getSystemService(Context.NOTIFICATION_SERVICE) as NotificationManager
    private val store = FakeStore()
    private val lookup = FakeLookup(listOf(
        InstalledApp(NEW_PACKAGE, "Quiz Master", NEW_UID, false),
        InstalledApp("com.example.offline", "Offline Notes", 10401, false),
    ), offline = setOf("com.example.offline"))
    private var newAppMode: AppMode? = null
    private var rulesChanged = 0
    private val changes = AppChanges(store, lookup, { newAppMode }, NewAppNotifier(context), { rulesChanged++ })
    private val savedChanges = PackageEvents.changes
    private val savedExecutor = PackageEvents.executor

    @Before
    fun wire() {
        PackageEvents.changes = { changes }
        PackageEvents.executor = Executor { it.run() }
    }

    @After
    fun unwire() {
        PackageEvents.changes = savedChanges
        PackageEvents.executor = savedExecutor
    }

    private fun notification(packageName: String = NEW_PACKAGE): Notification? =
        shadowOf(manager).activeNotifications.firstOrNull { it.tag == packageName && it.id == NewAppNotifier.NOTIFICATION_ID }?.notification

    private fun title(n: Notification) = n.extras.getCharSequence(Notification.EXTRA_TITLE).toString()
    private fun text(n: Notification) = n.extras.getCharSequence(Notification.EXTRA_TEXT).toString()

    /** Taps [label] on the notification: sends its PendingIntent's intent to the receiver, as the system would. */
    private fun tap(n: Notification, label: String) {
        val action = n.actions.first { it.title.toString() == label }
        val pending = shadowOf(action.actionIntent)
        assertTrue("a broadcast", pending.isBroadcast)
        assertTrue("immutable", pending.flags and android.app.PendingIntent.FLAG_IMMUTABLE != 0)
        val intent = pending.savedIntent
        assertEquals("explicit, to the receiver that is not exported",
            NewAppActionReceiver::class.java.name, intent.component?.className)
        NewAppActionReceiver().onReceive(context, intent)
    }

    private fun added(packageName: String, uid: Int, replacing: Boolean = false) =
        PackageEventsReceiver().onReceive(context, Intent(Intent.ACTION_PACKAGE_ADDED, Uri.fromParts("package", packageName, null))
            .putExtra(Intent.EXTRA_UID, uid).putExtra(Intent.EXTRA_REPLACING, replacing))

    @Test
    fun aNewAppThatCanReachTheInternetIsAnnouncedWithThreeActions() {
        added(NEW_PACKAGE, NEW_UID)
        val n = notification()
        assertNotNull("announced", n)
        n!!
        assertEquals("New app Quiz Master can reach the internet", title(n))
        assertTrue(text(n), text(n).contains("Hush's default, Block trackers"))
        assertEquals(listOf("Block all", "Allow", "Keep default"), n.actions.map { it.title.toString() })
        assertEquals(NewAppNotifier.CHANNEL_ID, n.channelId)
        assertEquals("nothing stored at install with the default setting", 0, store.setModeCalls.size)
        assertEquals(0, rulesChanged)
        // The app's record, for the Apps screen's names.
        assertEquals(listOf(NEW_PACKAGE), store.storedAppsByUid[NEW_UID]?.packages)

        // An app without INTERNET cannot reach the network: no question.
        added("com.example.offline", 10401)
        assertNull(notification("com.example.offline"))
        // An update is not an install.
        manager.cancelAll()
        added(NEW_PACKAGE, NEW_UID, replacing = true)
        assertNull(notification())
    }

    @Test
    fun blockAllStoresTheModeForThePackageAndReloadsTheRules() {
        changes.installed(NEW_PACKAGE, NEW_UID)
        tap(notification()!!, "Block all")
        assertEquals(AppMode.BLOCK_ALL, store.modes[NEW_UID to Network.ANY])
        assertEquals("keyed by package as well as UID", NEW_PACKAGE, store.modePackages[NEW_UID to Network.ANY])
        assertEquals(1, rulesChanged)
        val n = notification()!!
        assertEquals("Quiz Master", title(n))
        assertEquals("Blocked from the internet. Change it in Apps.", text(n))
        assertEquals("no more actions once answered", 0, n.actions?.size ?: 0)
    }

    @Test
    fun allowStoresAllowAll() {
        changes.installed(NEW_PACKAGE, NEW_UID)
        tap(notification()!!, "Allow")
        assertEquals(AppMode.ALLOW_ALL, store.modes[NEW_UID to Network.ANY])
        assertEquals(NEW_PACKAGE, store.modePackages[NEW_UID to Network.ANY])
        assertEquals(1, rulesChanged)
        assertEquals("Allowed to reach the internet. Change it in Apps.", text(notification()!!))
    }

    @Test
    fun keepDefaultUndoesTheSettingsModeAndLeavesNoRule() {
        newAppMode = AppMode.BLOCK_ALL
        changes.installed(NEW_PACKAGE, NEW_UID)
        assertEquals(AppMode.BLOCK_ALL, store.modes[NEW_UID to Network.ANY])
        tap(notification()!!, "Keep default")
        assertNull(store.modes[NEW_UID to Network.ANY])
        assertEquals(2, rulesChanged)
        assertEquals("Keeps Hush's default, Block trackers. Change it in Apps.", text(notification()!!))
    }

    @Test
    fun theNewAppsSettingIsAppliedAtInstallBeforeTheNotificationWhichSaysSo() {
        newAppMode = AppMode.BLOCK_ALL
        added(NEW_PACKAGE, NEW_UID)
        assertEquals(AppMode.BLOCK_ALL, store.modes[NEW_UID to Network.ANY])
        assertEquals(NEW_PACKAGE, store.modePackages[NEW_UID to Network.ANY])
        assertEquals("applied at once, in a running core too", 1, rulesChanged)
        val n = notification()!!
        assertEquals("New app Quiz Master can reach the internet", title(n))
        assertTrue(text(n), text(n).startsWith("Block all applied (your setting for new apps)"))

        // The setting itself, as HushSettings keeps it.
        val settings = org.hush.android.settings.HushSettings(context)
        assertNull(settings.newAppMode)
        settings.newAppMode = AppMode.ALLOW_ALL
        assertEquals(AppMode.ALLOW_ALL, org.hush.android.settings.HushSettings(context).newAppMode)
        settings.newAppMode = null
        assertNull(settings.newAppMode)
    }

    @Test
    fun aSettingTheStoreRefusesStillAsksAndSaysNothingWasApplied() {
        newAppMode = AppMode.BLOCK_ALL
        store.failure = "attempt to write a readonly database"
        changes.installed(NEW_PACKAGE, NEW_UID)
        assertEquals(0, rulesChanged)
        val n = notification()!!
        assertTrue(text(n), text(n).startsWith("It starts with Hush's default"))
        assertEquals(3, n.actions.size)
    }

    @Test
    fun anActionAfterTheAppIsGoneStoresNothingAndSaysItWasRemoved() {
        changes.installed(NEW_PACKAGE, NEW_UID)
        val n = notification()!!
        lookup.apps = lookup.apps.filter { it.packageName != NEW_PACKAGE }
        tap(n, "Block all")
        assertTrue(store.modes.isEmpty())
        assertEquals(0, rulesChanged)
        val replaced = notification()!!
        assertEquals("Quiz Master was removed", title(replaced))
        assertEquals("Nothing was changed: the app is no longer installed.", text(replaced))

        // The UID went to another app meanwhile: that app gets nothing either.
        lookup.apps = lookup.apps + InstalledApp("com.example.other", "Other", NEW_UID, false)
        tap(n, "Allow")
        assertTrue(store.modes.isEmpty())
        assertEquals("Quiz Master was removed", title(notification()!!))
    }

    @Test
    fun anActionTheStoreRefusesSaysWhy() {
        changes.installed(NEW_PACKAGE, NEW_UID)
        store.failure = "database is locked"
        tap(notification()!!, "Allow")
        assertEquals(0, rulesChanged)
        assertEquals("Could not save your choice: database is locked", text(notification()!!))
    }

    @Test
    fun aMalformedActionIntentIsIgnored() {
        NewAppActionReceiver().onReceive(context, Intent(NewAppNotifier.ACTION_CHOOSE).putExtra(NewAppNotifier.EXTRA_UID, NEW_UID))
        NewAppActionReceiver().onReceive(context, NewAppNotifier.actionIntentFor(context, NEW_UID, NEW_PACKAGE, "Quiz Master", NewAppChoice.ALLOW)
            .putExtra(NewAppNotifier.EXTRA_CHOICE, "DELETE_EVERYTHING"))
        assertTrue(store.modes.isEmpty())
        assertEquals(0, rulesChanged)
    }

    @Test
    fun aRemovedAppLosesItsRulesAndItsNotification() {
        changes.installed(NEW_PACKAGE, NEW_UID)
        store.setAppModeForPackage(NEW_UID, NEW_PACKAGE, Network.ANY, AppMode.BLOCK_ALL)
        store.rules.add(DomainRule(NEW_UID, "ads.example.com", DomainAction.BLOCK, NEW_PACKAGE))
        store.rules.add(DomainRule(null, "tracker.example.com", DomainAction.BLOCK))
        lookup.apps = lookup.apps.filter { it.packageName != NEW_PACKAGE }
        PackageEventsReceiver().onReceive(context, Intent(Intent.ACTION_PACKAGE_FULLY_REMOVED, Uri.fromParts("package", NEW_PACKAGE, null))
            .putExtra(Intent.EXTRA_UID, NEW_UID))
        assertEquals("no package left on the UID: all its rules", listOf(NEW_UID to null), store.forgetCalls)
        assertTrue(store.modes.isEmpty())
        assertEquals("rules for every app stay", listOf("tracker.example.com"), store.rules.map { it.domain })
        assertEquals(1, rulesChanged)
        assertNull("its question goes with it", notification())

        // An update's removal half is not a removal.
        PackageEventsReceiver().onReceive(context, Intent(Intent.ACTION_PACKAGE_REMOVED, Uri.fromParts("package", "com.example.offline", null))
            .putExtra(Intent.EXTRA_UID, 10401).putExtra(Intent.EXTRA_REPLACING, true))
        assertEquals(1, store.forgetCalls.size)
    }

    @Test
    fun theVpnServiceRegistersForInstallsAndReconcilesAtStart() {
        store.setAppModeForPackage(10999, "com.example.gone", Network.ANY, AppMode.ALLOW_ALL)
        val receiver = PackageEvents.register(context)
        val registered = shadowOf(context as android.app.Application).registeredReceivers.filter { it.broadcastReceiver === receiver }
        assertEquals(1, registered.size)
        val filter = registered[0].intentFilter
        assertTrue(filter.hasAction(Intent.ACTION_PACKAGE_ADDED))
        assertTrue(filter.hasAction(Intent.ACTION_PACKAGE_FULLY_REMOVED))
        assertTrue(filter.hasDataScheme("package"))
        // Reconciled against the installed apps: the app removed while Hush was off lost its rule.
        assertEquals(1, store.reconcileCalls.size)
        assertTrue(store.modes.isEmpty())
        assertEquals(1, rulesChanged)
        assertEquals(setOf(NEW_UID, 10401), store.storedAppsByUid.keys)
        PackageEvents.unregister(context, receiver)
        assertTrue(shadowOf(context as android.app.Application).registeredReceivers.none { it.broadcastReceiver === receiver })
        PackageEvents.unregister(context, receiver) // twice: harmless
    }

    @Test
    fun noAppsListedMeansNoReconcile() {
        lookup.apps = emptyList()
        store.setAppModeForPackage(10999, "com.example.gone", Network.ANY, AppMode.ALLOW_ALL)
        assertNull(changes.reconcile())
        assertTrue(store.reconcileCalls.isEmpty())
        assertEquals(1, store.modes.size)
    }

    @Test
    fun theManifestDeclaresTheRemovalReceiverAndAPrivateActionReceiver() {
        val pm = context.packageManager
        val removal = pm.queryBroadcastReceivers(Intent(Intent.ACTION_PACKAGE_FULLY_REMOVED, Uri.fromParts("package", "x.y", null))
            .setPackage(context.packageName), 0)
        assertTrue(removal.any { it.activityInfo.name == PackageEventsReceiver::class.java.name })
        val added = pm.queryBroadcastReceivers(Intent(Intent.ACTION_PACKAGE_ADDED, Uri.fromParts("package", "x.y", null))
            .setPackage(context.packageName), 0)
        assertFalse("PACKAGE_ADDED does not reach manifest receivers: registered at runtime",
            added.any { it.activityInfo.name == PackageEventsReceiver::class.java.name })
        val info = pm.getReceiverInfo(android.content.ComponentName(context, NewAppActionReceiver::class.java), 0)
        assertFalse(info.exported)
    }

    companion object {
        const val NEW_PACKAGE = "com.example.quiz"
        const val NEW_UID = 10400
    }
}
