package org.hush.android.lists

import org.hush.android.ui.FakeListCatalogue
import org.hush.android.ui.ListsPresenter
import org.hush.android.ui.SampleData
import org.hush.android.ui.Strings
import org.hush.android.ui.XmlStrings
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Test
import java.util.Locale

/** Home's line on what is blocked: only lists that are on, each with the parser's count (the words: strings.xml's, through [XmlStrings]). */
class ListSummaryTest {
    /** strings.xml's words with Germany's number format. */
    private val german = object : Strings by XmlStrings {
        override val locale: Locale = Locale.GERMANY
    }

    private fun on(vararg off: String) = SampleData.builtins.map { BuiltinChoice(it, it.name !in off) }

    @Test
    fun everyListInForceIsNamedWithItsCount() {
        assertEquals(
            "Blocking: phone-vendor telemetry (1,328 names), ads & trackers — AdAway (6,540), DoH endpoints (1,216), " +
                "2 added lists (42,277)",
            ListSummary.text(XmlStrings, on(), SampleData.subscriptions),
        )
    }

    @Test
    fun listsThatAreOffOrNotDownloadedOrAllowListsDoNotCount() {
        val subs = SampleData.subscriptions.take(2) + ListSubscription("https://example.org/allow.txt", kind = "allow", entries = 9)
        assertEquals(
            "Blocking: phone-vendor telemetry (1,328 names), DoH endpoints (1,216), 1 added list (41,870)",
            ListSummary.text(XmlStrings, on(BuiltinLists.ADAWAY), subs),
        )
        assertEquals("Blocking: 1 added list (41,870 names)", ListSummary.text(XmlStrings, on("hush-default", "hush-adaway", "hush-doh"), subs))
        assertEquals(
            "Blocking no list: every list is off (Lists turns them on)",
            ListSummary.text(XmlStrings, on("hush-default", "hush-adaway", "hush-doh"), emptyList()),
        )
        // Another locale's digits group as it does.
        assertEquals("Blocking: phone-vendor telemetry (1.328 names)", ListSummary.text(german, on("hush-adaway", "hush-doh"), emptyList()))
    }

    @Test
    fun aCatalogueNotKnownOrFailingGivesNoLineRatherThanAWrongOne() {
        assertNull(ListsPresenter.blockingSummary(XmlStrings, ListCatalogue.NONE))
        assertNull(ListsPresenter.blockingSummary(XmlStrings, FakeListCatalogue().apply { failure = "no core" }))
        assertNull(ListsPresenter.blockingSummary(XmlStrings, ListCatalogue.unavailable("the activity store is not connected yet")))
    }
}
