package org.hush.android.policy

import android.content.Context
import android.content.SharedPreferences

/**
 * An app's firewall mode. [wire] is the word the Rust core, its store and the
 * `hush` CLI use (`block-trackers`, `block-all`, `allow-all`).
 */
enum class AppMode(val wire: String) {
    BLOCK_TRACKERS("block-trackers"),
    BLOCK_ALL("block-all"),
    ALLOW_ALL("allow-all");

    companion object {
        /** The mode of an app that has none set, as in the core. */
        val DEFAULT: AppMode = BLOCK_TRACKERS

        /** The mode for a wire word, or null for an unknown one. */
        fun fromWire(word: String): AppMode? {
            for (mode in values()) {
                if (mode.wire == word) return mode
            }
            return null
        }
    }
}

/**
 * Each app's mode, by package name, kept in the app's SharedPreferences.
 * An app without a stored mode, or with a word this version does not know,
 * gets [AppMode.DEFAULT].
 */
class AppModeStore(context: Context) {
    private val prefs: SharedPreferences =
        context.getSharedPreferences(PREFS_NAME, Context.MODE_PRIVATE)

    fun modeOf(packageName: String): AppMode {
        val word = prefs.getString(KEY_PREFIX + packageName, null) ?: return AppMode.DEFAULT
        return AppMode.fromWire(word) ?: AppMode.DEFAULT
    }

    fun setMode(packageName: String, mode: AppMode) {
        prefs.edit().putString(KEY_PREFIX + packageName, mode.wire).apply()
    }

    fun clear(packageName: String) {
        prefs.edit().remove(KEY_PREFIX + packageName).apply()
    }

    /** Every app with a known stored mode. */
    fun all(): Map<String, AppMode> {
        val modes = HashMap<String, AppMode>()
        for ((key, value) in prefs.all) {
            if (!key.startsWith(KEY_PREFIX) || value !is String) continue
            val mode = AppMode.fromWire(value) ?: continue
            modes[key.substring(KEY_PREFIX.length)] = mode
        }
        return modes
    }

    companion object {
        const val PREFS_NAME = "app_modes"
        private const val KEY_PREFIX = "mode:"
    }
}
