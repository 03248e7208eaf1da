package org.hush.android.lists

import org.hush.android.core.NativeCore
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test

/** The catalogue as the real core (the host JNI library) gives it: its parser's counts. */
class BuiltinListsNativeTest {
    @Test
    fun theCoreListsItsBuiltInListsInLoadOrderWithTheirCountsAndLicences() {
        val lists = BuiltinLists.native
        assertEquals(listOf(BuiltinLists.VENDOR, BuiltinLists.ADAWAY, BuiltinLists.DOH), lists.map { it.name })
        assertTrue(lists[0].entries > 1000)
        assertEquals(6_540L, lists[1].entries)
        assertEquals(1_216L, lists[2].entries)
        assertEquals("CC-BY-3.0", lists[1].licence)
        assertTrue(lists[1].source.startsWith("AdAway/adaway.github.io"))
        assertEquals("GPL-3.0", lists[2].licence)
        // What Home says of them, all on.
        val summary = ListSummary.text(org.hush.android.ui.XmlStrings, lists.map { BuiltinChoice(it, true) }, emptyList())
        assertTrue(summary, summary.startsWith("Blocking: phone-vendor telemetry ("))
        assertTrue(summary, summary.endsWith("ads & trackers — AdAway (6,540), DoH endpoints (1,216)"))
        // Every answer parses; nothing was rejected in any built-in list.
        val raw = org.json.JSONArray(NativeCore.builtinLists())
        for (i in 0 until raw.length()) assertEquals(0, raw.getJSONObject(i).getInt("rejected"))
    }
}
