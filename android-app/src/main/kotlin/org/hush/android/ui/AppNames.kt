package org.hush.android.ui

import org.hush.android.apps.InstalledApp

/** Installed apps by UID, to name the UIDs the store reports, in [strings]' words. */
class AppNames(apps: List<InstalledApp>, private val strings: Strings) {
    private val byUid: Map<Int, List<InstalledApp>> = apps.groupBy { it.uid }

    fun packagesOf(uid: Int?): List<InstalledApp> = if (uid == null) emptyList() else byUid[uid].orEmpty()

    /**
     * The app's label, "UID 10123" for a UID with no package, "Unknown app" for no UID;
     * a shared UID as the Apps screen names its row ("Android System" for UID 1000).
     */
    fun label(uid: Int?): String {
        val pkgs = packagesOf(uid)
        return if (pkgs.isEmpty() || uid == null) Format.uidLabel(strings, uid)
        else org.hush.android.apps.AppNamesOfUid.label(strings, uid, pkgs)
    }

    fun isInstalled(uid: Int?) = packagesOf(uid).isNotEmpty()
}
