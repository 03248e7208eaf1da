package org.hush.android.ui

import org.hush.android.policy.AppMode
import java.text.SimpleDateFormat
import java.util.Calendar
import java.util.Date
import java.util.Locale
import java.util.TimeZone

/** Words and numbers as the screens show them. */
object Format {
    /** `list:NAME`, `rule:block`, `app:block-all`, `app-rule:allow`, ... in words. */
    fun reason(reason: String): String {
        val colon = reason.indexOf(':')
        if (colon < 0) return if (reason.isEmpty()) "No rule" else reason
        val kind = reason.substring(0, colon)
        val what = reason.substring(colon + 1)
        return when (kind) {
            "list" -> "List: $what"
            "rule" -> "Your rule: $what"
            "app" -> "App mode: " + (AppMode.fromWire(what)?.let { mode(it) } ?: what)
            "app-rule" -> "App rule: $what"
            else -> reason
        }
    }

    fun mode(mode: AppMode): String = when (mode) {
        AppMode.BLOCK_TRACKERS -> "Block trackers"
        AppMode.BLOCK_ALL -> "Block all"
        AppMode.ALLOW_ALL -> "Allow all"
    }

    fun count(n: Long): String = String.format(Locale.US, "%,d", n)

    fun time(ms: Long, zone: TimeZone): String = SimpleDateFormat("HH:mm:ss", Locale.US).apply { timeZone = zone }.format(Date(ms))

    fun dateTime(ms: Long, zone: TimeZone): String =
        SimpleDateFormat("yyyy-MM-dd HH:mm", Locale.US).apply { timeZone = zone }.format(Date(ms))

    /** Local midnight of the day [nowMs] falls in. */
    fun startOfDay(nowMs: Long, zone: TimeZone): Long = Calendar.getInstance(zone).run {
        timeInMillis = nowMs
        set(Calendar.HOUR_OF_DAY, 0); set(Calendar.MINUTE, 0); set(Calendar.SECOND, 0); set(Calendar.MILLISECOND, 0)
        timeInMillis
    }

    fun offsetMinutes(nowMs: Long, zone: TimeZone): Int = zone.getOffset(nowMs) / 60_000

    /** The label for a UID with no installed package. */
    fun uidLabel(uid: Int?): String = if (uid == null) "Unknown app" else "UID $uid"

    fun uidNote(uid: Int?): String = when {
        uid == null -> "Owner not known"
        uid < 10_000 -> "System UID, no app package"
        else -> "No installed package (uninstalled?), seen in the log"
    }

    fun error(e: Throwable): String = e.message?.takeIf { it.isNotBlank() } ?: e.javaClass.simpleName
}
