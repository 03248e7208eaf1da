package org.hush.android.lists

import org.hush.android.ui.XmlStrings
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Test

/** A download's failure is stored as data and said in the words of the day (strings.xml's, through [XmlStrings]). */
class ListProblemTest {
    @Test
    fun aStoredProblemComesBackInWordsWithItsArguments() {
        val stored = ListProblem(ListProblem.Kind.HTTP, listOf("lists.example", "404 Not Found")).encode()
        assertEquals(ListProblem(ListProblem.Kind.HTTP, listOf("lists.example", "404 Not Found")), ListProblem.decode(stored))
        assertEquals("lists.example answered HTTP 404 Not Found", ListProblem.text(XmlStrings, stored))
    }

    @Test
    fun countsArePluralAndTheExceptionCarriesItsProblem() {
        val one = ListDownloadException(ListProblem.Kind.EMPTY_REJECTED, "h.example", 1, "<p>")
        assertEquals("the list from h.example holds no entries (1 line is not a host: <p>)", ListProblem.text(XmlStrings, one.message!!))
        val many = ListDownloadException(ListProblem.Kind.EMPTY_REJECTED, "h.example", 3, "<p>")
        assertEquals("the list from h.example holds no entries (3 lines are not hosts, e.g. <p>)", many.problem.text(XmlStrings))
    }

    @Test
    fun aListTooLargeCarriesTheNumberAndTheScreenSaysTheSize() {
        val e = ListDownloadException(ListProblem.Kind.TOO_LARGE, 64L shl 20)
        assertEquals(listOf((64L shl 20).toString()), e.problem.args)
        assertEquals("the list is larger than 64 MB: not kept", ListProblem.text(XmlStrings, e.message!!))
        // Stored by an older version with the size in words: shown as it was stored.
        val old = ListProblem(ListProblem.Kind.TOO_LARGE, listOf("64 MB")).encode()
        assertEquals("the list is larger than 64 MB: not kept", ListProblem.text(XmlStrings, old))
    }

    @Test
    fun aReasonStoredByAnOlderVersionOrAnUnknownKindIsShownAsItIs() {
        val old = "lists.example answered HTTP 404"
        assertNull(ListProblem.decode(old))
        assertEquals(old, ListProblem.text(XmlStrings, old))
        assertEquals("hush-problem:NO_SUCH_KIND\u001fx", ListProblem.text(XmlStrings, "hush-problem:NO_SUCH_KIND\u001fx"))
    }
}
