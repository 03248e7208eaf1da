package org.hush.android.ui

import android.content.Context
import java.util.Locale

/**
 * The app's words (res/values/strings.xml, by R id) for code that holds no Context:
 * presenters and [Format]. A screen hands its presenter [Ui.strings]; a plain JVM test
 * hands one read from strings.xml itself (the test sources' XmlStrings), so that
 * the presenters' words stay the shipped ones without Android.
 *
 * The pattern for a presenter: take `strings: Strings` in the constructor, keep
 * words out of its logic (`error = strings.get(R.string.x_error, Format.error(e))`),
 * and let the screen pass `ui.strings`.
 */
interface Strings {
    /** The locale the words are in (for dates and numbers). */
    val locale: Locale

    /** The user's 24-hour clock setting. */
    val clock24: Boolean

    fun get(id: Int, vararg args: Any): String

    /** A `<plurals>` entry for [count] (which is also %1$… unless [args] are given). */
    fun plural(id: Int, count: Int, vararg args: Any): String

    /**
     * The locale's date/time pattern for a skeleton such as "Hms" or "MMMEd"
     * (android.text.format.DateFormat.getBestDateTimePattern).
     */
    fun pattern(skeleton: String): String
}

/** [Strings] from a Context's resources, in its configuration's locale. */
class ResourceStrings(private val context: Context) : Strings {
    override val locale: Locale get() = context.resources.configuration.locales[0]

    override val clock24: Boolean get() = android.text.format.DateFormat.is24HourFormat(context)

    override fun get(id: Int, vararg args: Any): String =
        if (args.isEmpty()) context.resources.getString(id) else context.resources.getString(id, *args)

    override fun plural(id: Int, count: Int, vararg args: Any): String =
        if (args.isEmpty()) context.resources.getQuantityString(id, count, count)
        else context.resources.getQuantityString(id, count, *args)

    override fun pattern(skeleton: String): String =
        android.text.format.DateFormat.getBestDateTimePattern(locale, skeleton)
}
