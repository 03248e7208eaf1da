package org.hush.android.ui

import org.hush.android.apps.InstalledApp

/** Installed apps by UID, to name the UIDs the store reports. */
class AppNames(apps: List<InstalledApp>) {
    private val byUid: Map<Int, List<InstalledApp>> = apps.groupBy { it.uid }

    fun packagesOf(uid: Int?): List<InstalledApp> = if (uid == null) emptyList() else byUid[uid].orEmpty()

    /** The app's label, "UID 10123" for a UID with no package, "Unknown app" for no UID. */
    fun label(uid: Int?): String {
        val pkgs = packagesOf(uid)
        return when {
            pkgs.isEmpty() -> Format.uidLabel(uid)
            pkgs.size == 1 -> pkgs[0].label
            else -> pkgs.minByOrNull { it.label.lowercase() }!!.label + " +" + (pkgs.size - 1)
        }
    }

    fun isInstalled(uid: Int?) = packagesOf(uid).isNotEmpty()
}
