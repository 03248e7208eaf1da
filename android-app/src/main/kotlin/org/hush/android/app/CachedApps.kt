package org.hush.android.app

import android.content.Context
import android.graphics.drawable.Drawable
import org.hush.android.apps.InstalledApp
import org.hush.android.apps.InstalledApps
import org.hush.android.apps.PackageManagerApps

/**
 * The installed apps, read once and kept until a package changes: every screen's
 * refresh asks for them, and a full PackageManager scan (labels included) costs far
 * more than the refresh itself. Stale when [invalidate] is called (a package was
 * added, removed or replaced: the package-change handling calls it) or when [changed]
 * says so (PackageManager's change sequence, which needs no broadcast).
 * Thread-safe; icons are not cached (the screens ask for a few, as rows show).
 */
class CachedApps(
    private val inner: InstalledApps,
    /** Whether a package changed since the last call; false when the platform cannot tell. */
    private val changed: () -> Boolean = { false },
) : InstalledApps {
    private val lock = Any()
    @Volatile
    private var cached: List<InstalledApp>? = null

    override fun apps(): List<InstalledApp> {
        synchronized(lock) {
            val stale = changed()
            cached?.let { if (!stale) return it }
            return inner.apps().also { cached = it }
        }
    }

    override fun icon(packageName: String): Drawable? = inner.icon(packageName)

    override fun version(packageName: String): String? = inner.version(packageName)

    /** The next [apps] reads the PackageManager again. */
    fun invalidate() {
        cached = null
    }

    companion object {
        /** Over [PackageManagerApps], stale when PackageManager.getChangedPackages reports a change. */
        fun of(context: Context): CachedApps {
            val pm = context.applicationContext.packageManager
            var sequence = 0
            return CachedApps(PackageManagerApps(context)) {
                try {
                    val changes = pm.getChangedPackages(sequence)
                    if (changes == null) false else { sequence = changes.sequenceNumber; true }
                } catch (e: RuntimeException) {
                    false
                }
            }
        }
    }
}
