package org.hush.android.lists

import java.text.NumberFormat
import java.util.Locale

/**
 * What Hush blocks, in one line for Home: the lists in force and their sizes, e.g.
 * "Blocking: phone-vendor telemetry (1,328 names), ads & trackers — AdAway (6,540),
 * DoH endpoints (1,216), 2 added lists (48,012)". Only lists that are on count; an
 * added list counts once it has been downloaded.
 */
object ListSummary {
    // User-visible words, kept together for the move to strings.xml.
    private const val PREFIX = "Blocking: "
    private const val NOTHING = "Blocking no list: every list is off (Lists turns them on)"
    private val SHORT = mapOf(
        BuiltinLists.VENDOR to "phone-vendor telemetry",
        BuiltinLists.ADAWAY to "ads & trackers — AdAway",
        BuiltinLists.DOH to "DoH endpoints",
    )

    fun text(builtins: List<BuiltinChoice>, subscriptions: List<ListSubscription>, locale: Locale = Locale.getDefault()): String {
        val n = NumberFormat.getIntegerInstance(locale)
        val parts = ArrayList<String>()
        var first = true
        for (choice in builtins.filter { it.enabled }) {
            val label = SHORT[choice.list.name] ?: choice.list.title
            // The first count says what it counts; the rest follow its lead.
            parts.add("$label (${n.format(choice.list.entries)}${if (first) " names" else ""})")
            first = false
        }
        val added = subscriptions.filter { it.enabled && it.kind == "block" && it.entries != null }
        if (added.isNotEmpty()) {
            val entries = n.format(added.sumOf { it.entries ?: 0 })
            val what = if (added.size == 1) "1 added list" else "${added.size} added lists"
            parts.add("$what ($entries${if (first) " names" else ""})")
        }
        return if (parts.isEmpty()) NOTHING else PREFIX + parts.joinToString(", ")
    }
}
