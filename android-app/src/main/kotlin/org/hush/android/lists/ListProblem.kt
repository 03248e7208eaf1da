package org.hush.android.lists

import org.hush.android.R
import org.hush.android.ui.Format
import org.hush.android.ui.Strings

/**
 * Why a list could not be added or updated, as data: [kind] names the words
 * (res/values/strings.xml, list_error_…), [args] fill them (hosts, numbers, the
 * system's own detail). Stored with the list in this form ([encode]) so the Lists
 * screen says it in the owner's language of the day, not the one of the download.
 */
data class ListProblem(val kind: Kind, val args: List<String> = emptyList()) {
    /** [sizeAt]: the argument that is a number of bytes, said as a size ([Format.size]); -1 for none. */
    enum class Kind(val id: Int, val plural: Boolean = false, val sizeAt: Int = -1) {
        NO_FOLDER(R.string.list_error_no_folder),
        STORAGE(R.string.list_error_storage),
        WEB_PAGE(R.string.list_error_web_page),
        WEB_PAGE_HTML(R.string.list_error_web_page_html),
        NOT_A_LIST(R.string.list_error_not_a_list),
        UNREADABLE(R.string.list_error_unreadable),
        EMPTY(R.string.list_error_empty),
        /** args: host, lines rejected (the quantity), the first. */
        EMPTY_REJECTED(R.plurals.list_error_empty_rejected, plural = true),
        NO_PLACE(R.string.list_error_no_place),
        NOT_AN_ADDRESS(R.string.list_error_not_an_address),
        NOT_WEB(R.string.list_error_not_web),
        /** args: the URL. An http:// list, refused before any connection. */
        CLEARTEXT(R.string.list_error_cleartext),
        /** args: the host that redirected, where it pointed. */
        REDIRECT_CLEARTEXT(R.string.list_error_redirect_cleartext),
        /** args: the first host, the most redirects followed. */
        REDIRECTS(R.string.list_error_redirects),
        NO_SERVER(R.string.list_error_no_server),
        NO_CONNECTION(R.string.list_error_no_connection),
        HTTP(R.string.list_error_http),
        /** args: the most bytes a list may hold. */
        TOO_LARGE(R.string.list_error_too_large, sizeAt = 0),
        UNKNOWN_HOST(R.string.list_error_unknown_host),
        CONNECT(R.string.list_error_connect),
        TIMEOUT(R.string.list_error_timeout),
        DOWNLOAD(R.string.list_error_download),
        REFUSED(R.string.list_error_refused),
        FAILED_DETAIL(R.string.list_error_failed_detail),
    }

    /** In [s]'s words. */
    fun text(s: Strings): String {
        // A size stored by an older version ("64 MB", not a number) is shown as it is.
        val a = args.mapIndexed { i, arg -> if (i == kind.sizeAt) arg.toLongOrNull()?.let { Format.size(s, it) } ?: arg else arg }
            .toTypedArray<Any>()
        return if (kind.plural) s.plural(kind.id, args.getOrNull(1)?.toIntOrNull() ?: 0, *a) else s.get(kind.id, *a)
    }

    /** The stored form: a marker, the kind, and each argument, split by a control character no argument holds. */
    fun encode(): String = PREFIX + kind.name + args.joinToString("") { SEP + it.replace(SEP, ' ') }

    companion object {
        private const val PREFIX = "hush-problem:"
        private const val SEP = '\u001f'

        /** [stored] as [encode] wrote it, or null (a reason stored by an older version: shown as it is). */
        fun decode(stored: String): ListProblem? {
            if (!stored.startsWith(PREFIX)) return null
            val parts = stored.substring(PREFIX.length).split(SEP)
            val kind = Kind.values().firstOrNull { it.name == parts[0] } ?: return null
            return ListProblem(kind, parts.drop(1))
        }

        /** A stored failure in [s]'s words. */
        fun text(s: Strings, stored: String): String = decode(stored)?.text(s) ?: stored
    }
}
