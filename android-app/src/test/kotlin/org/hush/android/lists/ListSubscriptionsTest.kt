package org.hush.android.lists

import android.content.Context
import org.hush.android.core.expect
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment

@RunWith(RobolectricTestRunner::class)
class ListSubscriptionsTest {
    private val context: Context = RuntimeEnvironment.getApplication()
    private val lists = ListSubscriptions(context)

    @Test
    fun listsAreKeptInOrderWithTheirLastDownload() {
        lists.add(" https://lists.example/trackers.txt ")
        lists.add("https://lists.example/allow.txt", kind = "allow")
        lists.recordUpdate("https://lists.example/trackers.txt", 1234, nowMs = 1_700_000_000_000)
        lists.recordFailure("https://lists.example/allow.txt", "lists.example answered HTTP 404")
        lists.setEnabled("https://lists.example/allow.txt", false)

        val again = ListSubscriptions(context).all()
        assertEquals(listOf("https://lists.example/trackers.txt", "https://lists.example/allow.txt"), again.map { it.url })
        assertEquals(1234L, again[0].entries)
        assertEquals(1_700_000_000_000L, again[0].updatedMs)
        assertNull(again[0].lastError)
        assertEquals("allow", again[1].kind)
        assertFalse(again[1].enabled)
        assertNull(again[1].entries)
        assertEquals("lists.example answered HTTP 404", again[1].lastError)

        // A later good download clears the error.
        lists.recordUpdate("https://lists.example/allow.txt", 5, nowMs = 1)
        assertNull(lists.all()[1].lastError)
        assertTrue(lists.remove("https://lists.example/trackers.txt"))
        assertFalse(lists.remove("https://lists.example/trackers.txt"))
        assertEquals(listOf("https://lists.example/allow.txt"), lists.all().map { it.url })
    }

    @Test
    fun badAdditionsAreRefusedWithTheReason() {
        lists.add("https://lists.example/trackers.txt")
        val cases = listOf(
            { lists.add("lists.example/trackers.txt") } to "is not an https:// address",
            { lists.add("ftp://lists.example/trackers.txt") } to "is not an https:// address",
            { lists.add("http://lists.example/trackers.txt") } to "is not an https:// address",
            { lists.add("https://lists.example/trackers.txt") } to "in your lists already",
            { lists.add("https://lists.example/other.txt", kind = "deny") } to "not 'deny'",
        )
        for ((add, says) in cases) {
            val e = expect<IllegalArgumentException> { add() }
            assertTrue(e.message, e.message.orEmpty().contains(says))
        }
        assertEquals(1, lists.all().size)
    }

    @Test
    fun anUnreadableRecordShowsNoListsInsteadOfCrashing() {
        context.getSharedPreferences(ListSubscriptions.PREFS_NAME, Context.MODE_PRIVATE)
            .edit().putString("subscriptions", "{not json").commit()
        assertEquals(emptyList<ListSubscription>(), lists.all())
        lists.add("https://lists.example/fresh.txt")
        assertEquals(1, lists.all().size)
    }
}
