package org.hush.android.ui

import org.hush.android.R
import org.hush.android.data.Evidence
import org.hush.android.data.HostCategory
import org.hush.android.data.HostOwner

/** Who is behind a host, in the owner's words, as Activity, App detail and Home show it. */
object Owners {
    /** "Google (Alphabet) · analytics": the company, its group when another, and what the host is for; shown escaped. */
    fun line(s: Strings, owner: HostOwner): String = s.get(R.string.owner_line, company(s, owner), category(s, owner.category))

    /** "Google (Alphabet)", or the company alone when it has no other parent. */
    fun company(s: Strings, owner: HostOwner): String {
        val company = Format.visible(owner.company)
        val parent = owner.parent?.takeIf { it.isNotBlank() && it != owner.company } ?: return company
        return s.get(R.string.owner_company_parent, company, Format.visible(parent))
    }

    /** The category in the owner's language; a word this version does not know is shown as the core sent it. */
    fun category(s: Strings, word: String): String = when (HostCategory.fromWire(word)) {
        HostCategory.ANALYTICS -> s.get(R.string.owner_category_analytics)
        HostCategory.ADVERTISING -> s.get(R.string.owner_category_advertising)
        HostCategory.CRASH_REPORTING -> s.get(R.string.owner_category_crash_reporting)
        HostCategory.VENDOR_TELEMETRY -> s.get(R.string.owner_category_vendor_telemetry)
        null -> Format.visible(word)
    }

    /**
     * The owners of [hosts] from [evidence], or none: a table that fails must not take
     * the rows down with it. Off the main thread (the first call loads the table).
     */
    fun of(evidence: Evidence, hosts: Collection<String>): Map<String, HostOwner> = try {
        if (hosts.isEmpty()) emptyMap() else evidence.owners(hosts.toSet())
    } catch (e: RuntimeException) {
        emptyMap()
    }
}
