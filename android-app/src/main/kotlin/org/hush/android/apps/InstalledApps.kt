package org.hush.android.apps

import android.content.Context
import android.content.pm.ApplicationInfo
import android.content.pm.PackageManager
import android.graphics.drawable.Drawable

/** One installed app, as the screens show it. Several packages may share a [uid]. */
data class InstalledApp(
    val packageName: String,
    val label: String,
    val uid: Int,
    /** Preinstalled with the system image (including updated system apps). */
    val system: Boolean,
)

/**
 * The installed apps: the platform's PackageManager on a device, a fake in tests.
 * Both calls may be slow (they ask the package manager): call them off the main thread.
 */
interface InstalledApps {
    fun apps(): List<InstalledApp>

    /** The app's icon, or null when it has none or is gone. */
    fun icon(packageName: String): Drawable?

    /** The app's version as its package gives it ("2.4.1 (2041)"), or null when it is gone or unknown. */
    fun version(packageName: String): String? = null
}

/** [InstalledApps] from the PackageManager (needs QUERY_ALL_PACKAGES to see every app). */
class PackageManagerApps(context: Context) : InstalledApps {
    private val pm: PackageManager = context.applicationContext.packageManager

    override fun apps(): List<InstalledApp> {
        val infos: List<ApplicationInfo> = pm.getInstalledApplications(0)
        val out = ArrayList<InstalledApp>(infos.size)
        for (info in infos) {
            val label = try {
                info.loadLabel(pm).toString()
            } catch (e: RuntimeException) {
                info.packageName
            }
            val system = info.flags and (ApplicationInfo.FLAG_SYSTEM or ApplicationInfo.FLAG_UPDATED_SYSTEM_APP) != 0
            out.add(InstalledApp(info.packageName, label, info.uid, system))
        }
        return out
    }

    override fun icon(packageName: String): Drawable? = try {
        pm.getApplicationIcon(packageName)
    } catch (e: PackageManager.NameNotFoundException) {
        null
    }

    override fun version(packageName: String): String? = try {
        val info = pm.getPackageInfo(packageName, 0)
        val code = if (android.os.Build.VERSION.SDK_INT >= 28) info.longVersionCode else @Suppress("DEPRECATION") info.versionCode.toLong()
        info.versionName?.let { "$it ($code)" } ?: code.toString()
    } catch (e: PackageManager.NameNotFoundException) {
        null
    }
}
