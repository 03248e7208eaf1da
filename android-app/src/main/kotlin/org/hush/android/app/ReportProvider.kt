package org.hush.android.app

import android.content.ContentProvider
import android.content.ContentValues
import android.content.Context
import android.database.Cursor
import android.database.MatrixCursor
import android.net.Uri
import android.os.ParcelFileDescriptor
import android.provider.OpenableColumns
import org.hush.android.R
import org.xmlpull.v1.XmlPullParser
import java.io.File
import java.io.FileNotFoundException

/**
 * Hands the evidence reports App detail writes to the app the owner shares them with:
 * `content://AUTHORITY/reports/NAME`, read only, to an app given the URI's read
 * permission (the share intent grants it; the provider is not exported). A framework-only
 * FileProvider, as AndroidX's is out of reach: only the directories res/xml/report_paths.xml
 * names (the cache's reports/) are served, and no path leaves them (`..`, links).
 */
class ReportProvider : ContentProvider() {
    override fun onCreate(): Boolean = true

    override fun getType(uri: Uri): String? = if (uri.lastPathSegment?.endsWith(".html") == true) HTML else null

    override fun openFile(uri: Uri, mode: String): ParcelFileDescriptor {
        if (mode != "r") throw SecurityException("reports are read only, not opened \"$mode\"")
        val file = fileFor(requireContext(), uri) ?: throw FileNotFoundException("no report at $uri")
        if (!file.isFile) throw FileNotFoundException("no report at $uri")
        return ParcelFileDescriptor.open(file, ParcelFileDescriptor.MODE_READ_ONLY)
    }

    override fun query(uri: Uri, projection: Array<out String>?, selection: String?, selectionArgs: Array<out String>?, sortOrder: String?): Cursor {
        val file = fileFor(requireContext(), uri)?.takeIf { it.isFile } ?: return MatrixCursor(arrayOf(OpenableColumns.DISPLAY_NAME, OpenableColumns.SIZE), 0)
        val columns = (projection ?: arrayOf(OpenableColumns.DISPLAY_NAME, OpenableColumns.SIZE))
            .filter { it == OpenableColumns.DISPLAY_NAME || it == OpenableColumns.SIZE }.toTypedArray()
        return MatrixCursor(columns, 1).apply {
            addRow(columns.map { if (it == OpenableColumns.DISPLAY_NAME) file.name else file.length() })
        }
    }

    override fun insert(uri: Uri, values: ContentValues?): Uri? = throw UnsupportedOperationException("reports are read only")
    override fun update(uri: Uri, values: ContentValues?, selection: String?, selectionArgs: Array<out String>?): Int =
        throw UnsupportedOperationException("reports are read only")
    override fun delete(uri: Uri, selection: String?, selectionArgs: Array<out String>?): Int =
        throw UnsupportedOperationException("reports are read only")

    companion object {
        const val HTML = "text/html"

        /** The provider's authority: the app's package and `.reports` (the manifest's). */
        fun authority(context: Context): String = context.packageName + ".reports"

        /** The roots the paths file names, by their name in URIs. */
        fun roots(context: Context): Map<String, File> {
            val out = LinkedHashMap<String, File>()
            context.resources.getXml(R.xml.report_paths).use { xml ->
                while (xml.next() != XmlPullParser.END_DOCUMENT) {
                    if (xml.eventType != XmlPullParser.START_TAG || xml.name != "cache-path") continue
                    val name = xml.getAttributeValue(null, "name") ?: continue
                    val path = xml.getAttributeValue(null, "path") ?: continue
                    out[name] = File(context.cacheDir, path).canonicalFile
                }
            }
            return out
        }

        /**
         * The URI another app reads [file] by.
         * @throws IllegalArgumentException when [file] is outside every root (it cannot be shared).
         */
        fun uriFor(context: Context, file: File): Uri {
            val canonical = file.canonicalFile
            for ((name, root) in roots(context)) {
                if (canonical.parentFile == root) {
                    return Uri.Builder().scheme("content").authority(authority(context))
                        .appendPath(name).appendPath(canonical.name).build()
                }
            }
            throw IllegalArgumentException("$file is not in a directory report_paths.xml names")
        }

        /** The file [uri] names, or null when it names none under a root. */
        fun fileFor(context: Context, uri: Uri): File? {
            if (uri.authority != authority(context)) return null
            val segments = uri.pathSegments
            if (segments.size != 2) return null
            val root = roots(context)[segments[0]] ?: return null
            val file = File(root, segments[1]).canonicalFile
            // A name of "..", or a link out of the directory, ends elsewhere.
            return file.takeIf { it.parentFile == root }
        }
    }
}
