package org.hush.android.lists

import org.hush.android.R
import org.hush.android.ui.Strings
import java.text.NumberFormat

/**
 * What Hush blocks, in one line for Home: the lists in force and their sizes, e.g.
 * "Blocking: phone-vendor telemetry (1,328 names), ads & trackers — AdAway (6,540),
 * DoH endpoints (1,216), 2 added lists (48,012)". Only lists that are on count; an
 * added list counts once it has been downloaded. The words are res/values/strings.xml's
 * (list_summary_…), the numbers grouped as [Strings.locale] does.
 */
object ListSummary {
    /** Short names for the built-in lists; another list is named by the core's title. */
    private val SHORT = mapOf(
        BuiltinLists.VENDOR to R.string.list_summary_vendor,
        BuiltinLists.ADAWAY to R.string.list_summary_adaway,
        BuiltinLists.DOH to R.string.list_summary_doh,
    )

    fun text(s: Strings, builtins: List<BuiltinChoice>, subscriptions: List<ListSubscription>): String {
        val n = NumberFormat.getIntegerInstance(s.locale)
        val parts = ArrayList<String>()
        // The first count says what it counts; the rest follow its lead.
        fun part(label: String, entries: Long) {
            parts.add(
                if (parts.isEmpty()) s.plural(R.plurals.list_summary_first, quantity(entries), label, n.format(entries))
                else s.get(R.string.list_summary_next, label, n.format(entries)),
            )
        }
        for (choice in builtins.filter { it.enabled }) {
            part(SHORT[choice.list.name]?.let { s.get(it) } ?: choice.list.title, choice.list.entries)
        }
        val added = subscriptions.filter { it.enabled && it.kind == "block" && it.entries != null }
        if (added.isNotEmpty()) {
            part(s.plural(R.plurals.list_summary_added, added.size), added.sumOf { it.entries ?: 0 })
        }
        return if (parts.isEmpty()) s.get(R.string.list_summary_nothing) else s.get(R.string.list_summary, parts.joinToString(", "))
    }

    private fun quantity(n: Long): Int = n.coerceAtMost(Int.MAX_VALUE.toLong()).toInt()
}
