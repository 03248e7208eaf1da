package org.hush.android.ui

import org.hush.android.R
import org.w3c.dom.Element
import org.w3c.dom.Node
import java.io.File
import java.util.Locale
import javax.xml.parsers.DocumentBuilderFactory

/**
 * [Strings] for plain JVM tests (no Android resources): the words of
 * src/main/res/values/strings.xml itself, found by the R ids the code passes, so a
 * presenter's words in such a test are the shipped English ones. Formats as
 * Resources.getString does (java.util.Formatter); plurals as English (one, other);
 * the 24-hour clock and en-US date patterns.
 */
object XmlStrings : Strings {
    private val res = File(
        System.getProperty("hush.app.dir") ?: throw AssertionError("run through tests/android/jvm.sh (no hush.app.dir)"),
        "src/main/res/values/strings.xml",
    )
    private val strings = HashMap<Int, String>()
    private val plurals = HashMap<Int, Map<String, String>>()

    init {
        val ids = { cls: Class<*> -> cls.fields.associate { it.name to it.getInt(null) } }
        val stringIds = ids(R.string::class.java)
        val pluralIds = ids(R.plurals::class.java)
        val root = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(res).documentElement
        for (e in root.childElements()) {
            val name = e.getAttribute("name")
            when (e.tagName) {
                "string" -> strings[stringIds.getValue(name)] = unescape(e.textContent)
                "plurals" -> plurals[pluralIds.getValue(name)] =
                    e.childElements().associate { it.getAttribute("quantity") to unescape(it.textContent) }
            }
        }
    }

    private fun Element.childElements(): List<Element> =
        (0 until childNodes.length).map { childNodes.item(it) }.filter { it.nodeType == Node.ELEMENT_NODE }.map { it as Element }

    /** aapt2's reading of a string's text: \' \" \n unescaped, quotes dropped. */
    private fun unescape(text: String): String {
        val out = StringBuilder()
        var i = 0
        while (i < text.length) {
            val c = text[i]
            when {
                c == '\\' && i + 1 < text.length -> {
                    out.append(when (val n = text[i + 1]) { 'n' -> '\n'; 't' -> '\t'; else -> n }); i++
                }
                c == '"' -> {}
                else -> out.append(c)
            }
            i++
        }
        return out.toString()
    }

    override val locale: Locale = Locale.US
    override val clock24 = true

    override fun get(id: Int, vararg args: Any): String {
        val text = strings[id] ?: throw AssertionError("no string with id 0x${Integer.toHexString(id)} in $res")
        return if (args.isEmpty()) text else String.format(locale, text, *args)
    }

    override fun plural(id: Int, count: Int, vararg args: Any): String {
        val forms = plurals[id] ?: throw AssertionError("no plurals with id 0x${Integer.toHexString(id)} in $res")
        val text = forms[if (count == 1) "one" else "other"] ?: forms.getValue("other")
        return String.format(locale, text, *(if (args.isEmpty()) arrayOf<Any>(count) else args))
    }

    override fun pattern(skeleton: String): String = when (skeleton) {
        "Hms" -> "HH:mm:ss"
        "hms" -> "h:mm:ss a"
        "Hm" -> "HH:mm"
        "hm" -> "h:mm a"
        "MMMEd" -> "EEE, MMM d"
        "Md" -> "M/d"
        "yMMMEd" -> "EEE, MMM d, y"
        "yMMMdHm" -> "MMM d, y, HH:mm"
        "yMMMdhm" -> "MMM d, y, h:mm a"
        else -> throw AssertionError("no en-US pattern here for the skeleton $skeleton")
    }
}
