package org.hush.android.apps

import org.hush.android.policy.AppMode

/** Installed packages as a test sets them: an app is removed by taking it out of [apps]. */
class FakeLookup(apps: List<InstalledApp>, private val offline: Set<String> = emptySet()) : PackageLookup {
    @Volatile
    var apps: List<InstalledApp> = apps

    override fun packagesForUid(uid: Int): List<String> = apps.filter { it.uid == uid }.map { it.packageName }
    override fun label(packageName: String): String? = apps.firstOrNull { it.packageName == packageName }?.label
    override fun requestsInternet(packageName: String): Boolean = packageName !in offline && label(packageName) != null
    override fun installed(): List<InstalledApp> = apps
}

/** What [AppChanges] told the owner, in order. */
class RecordingAlerts : NewAppAlerts {
    val shown = ArrayList<String>()
    override fun newApp(uid: Int, packageName: String, label: String, applied: AppMode?) {
        shown.add("new $uid $packageName $label ${applied?.wire}")
    }
    override fun outcome(packageName: String, outcome: ActionOutcome) {
        shown.add("outcome $packageName $outcome")
    }
    override fun cancel(packageName: String) {
        shown.add("cancel $packageName")
    }
}
