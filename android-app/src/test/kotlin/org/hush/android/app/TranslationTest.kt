package org.hush.android.app

import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import org.w3c.dom.Element
import org.w3c.dom.Node
import java.io.File
import javax.xml.parsers.DocumentBuilderFactory

/**
 * The German translation (res/values-de/strings.xml) is complete and safe to format:
 * every English string and plural has German and nothing German is left without
 * English (a key renamed on one side only); both sides take the same placeholders
 * (positions and conversions: a German %1$d for an English %1$s throws at run time,
 * a missing one drops a word silently); every plural has `other` (what any count
 * falls back to); no apostrophe is left unescaped (aapt2 reads `'` as a quote).
 * Entries marked translatable="false" in English are left out, and must not be
 * translated.
 */
class TranslationTest {
    private val res = File(
        System.getProperty("hush.app.dir") ?: throw AssertionError("run through tests/android/jvm.sh (no hush.app.dir)"),
        "src/main/res",
    )

    /** A string or plural: its forms by quantity ("" for a string), the raw text of each. */
    class Entry(val kind: String, val forms: Map<String, String>, val translatable: Boolean)

    private fun read(file: File): Map<String, Entry> {
        if (!file.isFile) throw AssertionError("$file is missing")
        val root = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(file).documentElement
        val out = LinkedHashMap<String, Entry>()
        for (e in root.childElements()) {
            val name = e.getAttribute("name")
            val translatable = e.getAttribute("translatable") != "false"
            val entry = when (e.tagName) {
                "string" -> Entry("string", mapOf("" to e.textContent), translatable)
                "plurals" -> Entry("plurals", e.childElements().associate { it.getAttribute("quantity") to it.textContent }, translatable)
                else -> continue
            }
            if (out.put("${e.tagName}/$name", entry) != null) throw AssertionError("${file.parentFile.name}/${file.name}: ${e.tagName} $name twice")
        }
        return out
    }

    private fun Element.childElements(): List<Element> =
        (0 until childNodes.length).map { childNodes.item(it) }.filter { it.nodeType == Node.ELEMENT_NODE }.map { it as Element }

    /** Every problem of [german] against [english], one line each. */
    private fun problems(english: Map<String, Entry>, german: Map<String, Entry>): List<String> {
        val out = ArrayList<String>()
        for ((key, en) in english) {
            if (!en.translatable) {
                if (key in german) out.add("$key is translatable=\"false\" in English but has German")
                continue
            }
            val de = german[key]
            if (de == null) { out.add("$key has no German"); continue }
            if (en.kind == "plurals") {
                if ("other" !in en.forms) out.add("$key (English) has no quantity \"other\"")
                if ("other" !in de.forms) out.add("$key (German) has no quantity \"other\"")
                val enOther = placeholders(en.forms["other"] ?: en.forms.values.first())
                for ((quantity, text) in de.forms) {
                    val p = placeholders(text)
                    // German `one` may say the count in words ("eine Regel"); `other` says all of them.
                    val ok = if (quantity == "other") p == enOther else enOther.containsAll(p)
                    if (!ok) out.add("$key[$quantity]: German placeholders $p, English $enOther")
                }
            } else {
                val p = placeholders(de.forms.getValue(""))
                val e = placeholders(en.forms.getValue(""))
                if (p != e) out.add("$key: German placeholders $p, English $e")
            }
        }
        for (key in german.keys) if (key !in english) out.add("$key is German only: no such key in values/strings.xml")
        for ((name, file) in listOf("English" to english, "German" to german)) {
            for ((key, entry) in file) for (text in entry.forms.values) {
                if (UNESCAPED_APOSTROPHE.containsMatchIn(text) && !(text.startsWith("\"") && text.endsWith("\""))) {
                    out.add("$key ($name): unescaped apostrophe in \"$text\" (write \\')")
                }
            }
        }
        return out
    }

    @Test
    fun everyEnglishWordHasGermanWithTheSamePlaceholders() {
        val english = read(File(res, "values/strings.xml"))
        val german = read(File(res, "values-de/strings.xml"))
        val problems = problems(english, german)
        assertTrue(
            "values-de/strings.xml against values/strings.xml (${problems.size} problems):\n" + problems.joinToString("\n"),
            problems.isEmpty(),
        )
        println("translation: ${german.size} German entries for ${english.count { it.value.translatable }} English ones")
    }

    @Test
    fun theCheckCatchesEachKindOfMistake() {
        fun s(text: String, translatable: Boolean = true) = Entry("string", mapOf("" to text), translatable)
        fun pl(vararg forms: Pair<String, String>) = Entry("plurals", mapOf(*forms), true)
        val english = mapOf(
            "string/fine" to s("Blocked %1\$s for %2\$s"),
            "string/missing" to s("Missing"),
            "string/types" to s("UID %1\$d"),
            "string/dropped" to s("%1\$s of %2\$s"),
            "string/brand" to s("Hush", translatable = false),
            "string/quote" to s("Host\\'s"),
            "plurals/rules" to pl("one" to "%1\$s rule", "other" to "%1\$s rules"),
            "plurals/nocount" to pl("one" to "%1\$s app", "other" to "%1\$s apps"),
        )
        val german = mapOf(
            "string/fine" to s("%1\$s für %2\$s blockiert"),
            "string/types" to s("UID %1\$s"),
            "string/dropped" to s("von %2\$s"),
            "string/brand" to s("Hush"),
            "string/extra" to s("Nur auf Deutsch"),
            "string/quote" to s("Host's"),
            "plurals/rules" to pl("one" to "eine Regel", "other" to "%1\$s Regeln"),
            "plurals/nocount" to pl("one" to "%1\$s App"),
        )
        val found = problems(english, german)
        val expected = listOf(
            "string/missing has no German",
            "string/types: German placeholders",
            "string/dropped: German placeholders",
            "string/brand is translatable=\"false\"",
            "string/extra is German only",
            "string/quote (German): unescaped apostrophe",
            "plurals/nocount (German) has no quantity \"other\"",
        )
        for (e in expected) assertTrue("not caught: $e; found:\n${found.joinToString("\n")}", found.any { it.startsWith(e) })
        assertEquals(found.joinToString("\n"), expected.size, found.size)
        assertEquals(listOf("1\$s", "2\$d", "s#3"), placeholders("%1\$s, %2\$d, %s and 100%%").sorted())
    }

    companion object {
        private val FORMAT = Regex("""%(\d+\$)?[-#+ 0,(]*\d*(\.\d+)?([a-zA-Z%])""")
        private val UNESCAPED_APOSTROPHE = Regex("""(?<!\\)'""")

        /** A text's placeholders as position and conversion ("1$s"); unnumbered ones by their order ("s#3"). */
        fun placeholders(text: String): List<String> {
            val out = ArrayList<String>()
            var n = 0
            for (m in FORMAT.findAll(text)) {
                val conversion = m.groupValues[3]
                if (conversion == "%" || conversion == "n") continue
                n++
                val position = m.groupValues[1]
                out.add(if (position.isNotEmpty()) "$position$conversion" else "$conversion#$n")
            }
            return out.sorted()
        }
    }
}
