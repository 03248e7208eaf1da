package org.hush.android.ui

import org.hush.android.R
import org.hush.android.policy.AppMode
import java.text.SimpleDateFormat
import java.util.Calendar
import java.util.Date
import java.util.TimeZone

/** Words and numbers as the screens show them (the words from res/values/strings.xml, through [Strings]). */
object Format {
    /**
     * Stored text (a host name, a list name, a detail: from the network or a downloaded list) as
     * it may be shown: control, bidirectional and invisible characters, which could hide or
     * reorder what the user reads or break a line, shown as their code point, `[U+202E]`. The
     * same characters and form as the core's exports and evidence report (hush-store's
     * `visible`). Every screen that shows stored text passes it through here.
     */
    fun visible(text: String): String {
        // Every listed character is in the BMP: one UTF-16 unit, never part of a surrogate pair.
        if (text.none { disguising(it.code) }) return text
        val out = StringBuilder(text.length + 16)
        for (c in text) {
            if (disguising(c.code)) out.append("[U+").append(String.format(java.util.Locale.ROOT, "%04X", c.code)).append(']')
            else out.append(c)
        }
        return out.toString()
    }

    /**
     * C0 and C1 controls and DEL, the Arabic letter mark, zero-width space, joiners and direction
     * marks, line and paragraph separators, bidirectional embeddings, overrides and isolates, word
     * joiner and invisible operators, and the byte order mark.
     */
    fun disguising(c: Int): Boolean = c <= 0x1F || c in 0x7F..0x9F || c == 0x061C || c in 0x200B..0x200F ||
        c in 0x2028..0x202E || c in 0x2060..0x2064 || c in 0x2066..0x2069 || c == 0xFEFF

    /** `list:NAME`, `rule:block`, `app:block-all`, `app-rule:allow`, `strict`, ... in words. */
    fun reason(s: Strings, reason: String): String {
        val colon = reason.indexOf(':')
        if (reason == "not-resolved") return s.get(R.string.reason_not_resolved)
        if (reason == "encrypted-dns") return s.get(R.string.reason_encrypted_dns)
        if (reason == "strict") return s.get(R.string.reason_strict)
        if (colon < 0) return if (reason.isEmpty()) s.get(R.string.reason_none) else s.get(R.string.reason_other, visible(reason))
        val kind = reason.substring(0, colon)
        // A list's name comes from its source or the user: shown escaped.
        val what = visible(reason.substring(colon + 1))
        return when {
            kind == "list" -> s.get(R.string.reason_list, what)
            // cname:NAME:list:… (CNAME cloaking): the cloaked tracker's name.
            kind == "cname" -> s.get(R.string.reason_cname, what.substringBefore(':'))
            kind == "rule" && what == "block" -> s.get(R.string.reason_rule_block)
            kind == "rule" && what == "allow" -> s.get(R.string.reason_rule_allow)
            kind == "app" && AppMode.fromWire(what) != null -> s.get(R.string.reason_app_mode, mode(s, AppMode.fromWire(what)!!))
            kind == "app-rule" && what == "block" -> s.get(R.string.reason_app_rule_block)
            kind == "app-rule" && what == "allow" -> s.get(R.string.reason_app_rule_allow)
            // A reason a newer core writes: as it is, rather than nothing.
            else -> s.get(R.string.reason_other, visible(reason))
        }
    }

    /**
     * [reason] in words, and, when the core could not read the flow's name (its detail
     * `unread:WHY`, or `strict:WHY` for a flow refused for it), why: a give-up is never silent.
     */
    fun eventReason(s: Strings, reason: String, detail: String): String {
        val base = reason(s, reason)
        val why = when {
            detail.startsWith("unread:") -> detail.removePrefix("unread:")
            detail.startsWith("strict:") -> detail.removePrefix("strict:")
            else -> return base
        }
        val words = when (why) {
            "timeout" -> s.get(R.string.unread_timeout)
            "too-large" -> s.get(R.string.unread_too_large)
            "app-closed" -> s.get(R.string.unread_app_closed)
            "malformed" -> s.get(R.string.unread_malformed)
            "invalid-name" -> s.get(R.string.unread_invalid_name)
            "quic-undecryptable" -> s.get(R.string.unread_quic_undecryptable)
            "quic-version" -> s.get(R.string.unread_quic_version)
            "no-name" -> s.get(R.string.unread_no_name)
            // A reason a newer core writes: as it is, rather than nothing.
            else -> visible(why)
        }
        return s.get(if (reason == "strict") R.string.reason_strict_why else R.string.reason_unread, base, words)
    }

    fun mode(s: Strings, mode: AppMode): String = s.get(
        when (mode) {
            AppMode.BLOCK_TRACKERS -> R.string.mode_block_trackers
            AppMode.BLOCK_ALL -> R.string.mode_block_all
            AppMode.ALLOW_ALL -> R.string.mode_allow_all
        },
    )

    /** The label for a UID with no installed package. */
    fun uidLabel(s: Strings, uid: Int?): String = if (uid == null) s.get(R.string.uid_unknown) else s.get(R.string.uid_label, uid)

    fun uidNote(s: Strings, uid: Int?): String = s.get(
        when {
            uid == null -> R.string.uid_note_unknown
            uid < 10_000 -> R.string.uid_note_system
            else -> R.string.uid_note_gone
        },
    )

    /** The time of day of [ms], as the locale and the user's 12/24-hour setting write it, with seconds. */
    fun clockTime(s: Strings, ms: Long, zone: TimeZone): String =
        SimpleDateFormat(s.pattern(if (s.clock24) "Hms" else "hms"), s.locale).apply { timeZone = zone }.format(Date(ms))

    /** Whole local (calendar) days from [ms]'s day to [nowMs]'s: 0 today, 1 yesterday, negative for a later day. */
    fun daysAgo(ms: Long, nowMs: Long, zone: TimeZone): Int {
        val id = zone.toZoneId()
        val day = java.time.Instant.ofEpochMilli(ms).atZone(id).toLocalDate()
        val today = java.time.Instant.ofEpochMilli(nowMs).atZone(id).toLocalDate()
        return java.time.temporal.ChronoUnit.DAYS.between(day, today).toInt()
    }

    /** "Today", "Yesterday", or the date in the locale's words (with the year when it is not this year's). */
    fun day(s: Strings, ms: Long, nowMs: Long, zone: TimeZone): String = when (daysAgo(ms, nowMs, zone)) {
        0 -> s.get(R.string.day_today)
        1 -> s.get(R.string.day_yesterday)
        else -> {
            val year = { t: Long -> Calendar.getInstance(zone).apply { timeInMillis = t }.get(Calendar.YEAR) }
            val skeleton = if (year(ms) == year(nowMs)) "MMMEd" else "yMMMEd"
            SimpleDateFormat(s.pattern(skeleton), s.locale).apply { timeZone = zone }.format(Date(ms))
        }
    }

    /**
     * A day key as the store gives it ("2026-11-27", a local calendar day) in [s]' words for
     * [skeleton] ("MMMEd": "Fri, Nov 27"; "Md": "11/27", German "27.11."); a key that is not
     * such a date is shown as it is.
     */
    fun dayKey(s: Strings, key: String, skeleton: String): String {
        val date = try {
            java.time.LocalDate.parse(key)
        } catch (e: java.time.format.DateTimeParseException) {
            return key
        }
        // The key is a calendar day, not an instant: read and written in UTC, no zone moves it.
        val utc = TimeZone.getTimeZone("UTC")
        val ms = date.atStartOfDay(java.time.ZoneOffset.UTC).toInstant().toEpochMilli()
        return SimpleDateFormat(s.pattern(skeleton), s.locale).apply { timeZone = utc }.format(Date(ms))
    }

    /** [n] with the digits grouped as [s]' locale groups them (English 12,345; German 12.345). */
    fun count(s: Strings, n: Long): String = java.text.NumberFormat.getIntegerInstance(s.locale).format(n)

    /**
     * "Hush stopped filtering: why", or "Hush is restarting its engine", in [s]' words; null
     * while it filters. [reason] is the core's own account (English), shown as the detail.
     */
    fun notFiltering(s: Strings, filtering: org.hush.android.core.Filtering, reason: String?): String? = when (filtering) {
        org.hush.android.core.Filtering.ON -> null
        org.hush.android.core.Filtering.RESTARTING -> s.get(R.string.health_restarting)
        org.hush.android.core.Filtering.HOLDING, org.hush.android.core.Filtering.STOPPED ->
            s.get(R.string.health_stopped, reason?.takeIf { it.isNotBlank() } ?: s.get(R.string.health_no_reason))
    }

    /**
     * The date and time of day of [ms] to the minute, as [s]' locale writes them, the month
     * in words (no day/month order to guess) and the hour on the user's 12/24-hour clock.
     */
    fun dateTime(s: Strings, ms: Long, zone: TimeZone): String =
        SimpleDateFormat(s.pattern(if (s.clock24) "yMMMdHm" else "yMMMdhm"), s.locale).apply { timeZone = zone }.format(Date(ms))

    /**
     * [bytes] as a size in [s]' words: whole MB or KB (of 1024) when it is at least one,
     * else bytes (a plural); the number grouped as the locale groups digits.
     */
    fun size(s: Strings, bytes: Long): String {
        val (id, n) = when {
            bytes >= 1L shl 20 -> R.plurals.size_megabytes to (bytes shr 20)
            bytes >= 1L shl 10 -> R.plurals.size_kilobytes to (bytes shr 10)
            else -> R.plurals.size_bytes to bytes
        }
        return s.plural(id, n.coerceAtMost(Int.MAX_VALUE.toLong()).toInt(), count(s, n))
    }

    /** Local midnight of the day [nowMs] falls in. */
    fun startOfDay(nowMs: Long, zone: TimeZone): Long = Calendar.getInstance(zone).run {
        timeInMillis = nowMs
        set(Calendar.HOUR_OF_DAY, 0); set(Calendar.MINUTE, 0); set(Calendar.SECOND, 0); set(Calendar.MILLISECOND, 0)
        timeInMillis
    }

    fun offsetMinutes(nowMs: Long, zone: TimeZone): Int = zone.getOffset(nowMs) / 60_000

    fun error(e: Throwable): String = e.message?.takeIf { it.isNotBlank() } ?: e.javaClass.simpleName
}
