package org.hush.android.app

import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import org.w3c.dom.Element
import java.io.File
import javax.xml.parsers.DocumentBuilderFactory

/**
 * src/main/res as aapt2 will read it: well-formed XML, and every `@drawable/` and
 * `@string/` reference names a resource that exists (aapt2 link, which the harness
 * runs before compiling, checks them too), and the icons are 24 dp Material-style
 * vectors with their source and licence named.
 */
class ResourcesTest {
    private val res = File(
        System.getProperty("hush.app.dir") ?: throw AssertionError("run through tests/android/jvm.sh (no hush.app.dir)"),
        "src/main/res",
    )

    private fun parse(file: File): Element =
        DocumentBuilderFactory.newInstance().apply { isNamespaceAware = true }.newDocumentBuilder().parse(file).documentElement

    private fun xmlFiles(): List<File> = res.walkTopDown().filter { it.isFile && it.name.endsWith(".xml") }.toList()

    @Test
    fun everyReferenceNamesAResourceThatExists() {
        val drawables = res.listFiles { f -> f.name.startsWith("drawable") }!!.flatMap { it.list()!!.map { n -> n.substringBefore('.') } }.toSet()
        val mipmaps = res.listFiles { f -> f.name.startsWith("mipmap") }!!.flatMap { it.list()!!.map { n -> n.substringBefore('.') } }.toSet()
        val xmls = File(res, "xml").list()!!.map { it.substringBefore('.') }.toSet()
        val strings = parse(File(res, "values/strings.xml")).getElementsByTagName("string").let { nodes ->
            (0 until nodes.length).map { (nodes.item(it) as Element).getAttribute("name") }.toSet()
        }
        val references = Regex("""@(drawable|string|mipmap|xml)/(\w+)""")
        val sources = xmlFiles() + File(res.parentFile, "AndroidManifest.xml")
        var seen = 0
        for (file in sources) {
            parse(file) // well-formed
            for (match in references.findAll(file.readText())) {
                seen++
                val (type, name) = match.destructured
                val known = when (type) {
                    "drawable" -> drawables
                    "mipmap" -> mipmaps
                    "xml" -> xmls
                    else -> strings
                }
                assertTrue("${file.name}: @$type/$name does not exist", name in known)
            }
        }
        assertTrue("the launcher icon's layers are referenced", seen >= 4)
        assertEquals("Hush", parse(File(res, "values/strings.xml")).getElementsByTagName("string").item(0).textContent)
    }

    @Test
    fun theIconsAre24dpVectorsWithTheirLicenceNamed() {
        val icons = File(res, "drawable").listFiles { f -> f.name.startsWith("ic_nav_") || f.name.startsWith("ic_action_") }!!
        assertTrue(icons.map { it.name }.toString(), icons.size >= 14)
        for (file in icons) {
            val vector = parse(file)
            assertEquals(file.name, "vector", vector.tagName)
            val android = "http://schemas.android.com/apk/res/android"
            for (attr in listOf("width", "height")) assertEquals(file.name, "24dp", vector.getAttributeNS(android, attr))
            assertTrue(file.name, vector.getElementsByTagName("path").length >= 1)
            assertTrue("${file.name} names its source and licence", file.readText().contains("Apache License 2.0"))
        }
    }

    @Test
    fun noBackupOrDeviceTransferTakesAnythingOfHushs() {
        val rules = parse(File(res, "xml/data_extraction_rules.xml"))
        assertEquals("data-extraction-rules", rules.tagName)
        for (kind in listOf("cloud-backup", "device-transfer")) {
            val section = rules.getElementsByTagName(kind).item(0) as Element
            val excluded = section.getElementsByTagName("exclude").let { nodes ->
                (0 until nodes.length).map { (nodes.item(it) as Element).getAttribute("domain") }.toSet()
            }
            assertEquals(kind, setOf("root", "file", "database", "sharedpref", "external"), excluded)
            assertEquals(kind, 0, section.getElementsByTagName("include").length)
        }
    }

    @Test
    fun theLauncherIconIsAnAdaptiveIconWithAMonochromeLayer() {
        val icon = parse(File(res, "mipmap-anydpi-v26/ic_launcher.xml"))
        assertEquals("adaptive-icon", icon.tagName)
        for (layer in listOf("background", "foreground", "monochrome")) {
            assertEquals(layer, 1, icon.getElementsByTagName(layer).length)
        }
        val mark = parse(File(res, "drawable/${org.hush.android.vpn.VpnNotifications.STATUS_ICON}.xml"))
        assertEquals("vector", mark.tagName)
        assertTrue(mark.getElementsByTagName("path").length >= 1)
    }
}
