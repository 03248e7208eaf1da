package org.hush.android.vpn

import org.junit.Assert.assertEquals
import org.junit.Test
import org.w3c.dom.Element
import java.io.File
import java.util.Properties
import javax.xml.parsers.DocumentBuilderFactory

/**
 * The merged AndroidManifest.xml, read as XML (plain JUnit): Robolectric has no
 * resources APK here, so its package manager does not list the app's components.
 */
class ManifestTest {
    private val android = "http://schemas.android.com/apk/res/android"

    private val manifest: Element by lazy {
        val props = Properties()
        val stream = javaClass.classLoader.getResourceAsStream("com/android/tools/test_config.properties")
            ?: throw AssertionError("no test_config.properties on the classpath (run through tests/android/jvm.sh)")
        stream.use { props.load(it) }
        val factory = DocumentBuilderFactory.newInstance()
        factory.isNamespaceAware = true
        factory.newDocumentBuilder().parse(File(props.getProperty("android_merged_manifest"))).documentElement
    }

    private fun Element.children(tag: String): List<Element> {
        val nodes = getElementsByTagName(tag)
        return (0 until nodes.length).map { nodes.item(it) as Element }
    }

    private fun Element.attr(name: String): String = getAttributeNS(android, name)

    private fun component(tag: String, name: String): Element =
        manifest.children(tag).single { it.attr("name") == name }

    @Test
    fun requestsExactlyThePermissionsTheAppUses() {
        assertEquals(
            setOf(
                "android.permission.INTERNET",
                "android.permission.FOREGROUND_SERVICE",
                "android.permission.FOREGROUND_SERVICE_SPECIAL_USE",
                "android.permission.POST_NOTIFICATIONS",
                "android.permission.RECEIVE_BOOT_COMPLETED",
                "android.permission.ACCESS_NETWORK_STATE",
                // The Apps screen lists every installed app.
                "android.permission.QUERY_ALL_PACKAGES",
            ),
            manifest.children("uses-permission").map { it.attr("name") }.toSet(),
        )
    }

    @Test
    fun theVpnServiceIsBoundOnlyByTheSystemSupportsAlwaysOnAndIsSpecialUse() {
        val service = component("service", ".vpn.HushVpnService")
        assertEquals("android.permission.BIND_VPN_SERVICE", service.attr("permission"))
        assertEquals("specialUse", service.attr("foregroundServiceType"))
        assertEquals(listOf("android.net.VpnService"), service.children("action").map { it.attr("name") })
        val meta = service.children("meta-data").associate { it.attr("name") to it.attr("value") }
        assertEquals("true", meta["android.net.VpnService.SUPPORTS_ALWAYS_ON"])
        val property = service.children("property").single()
        assertEquals("android.app.PROPERTY_SPECIAL_USE_FGS_SUBTYPE", property.attr("name"))
        org.junit.Assert.assertTrue(property.attr("value").isNotBlank())
    }

    @Test
    fun theBootAndUpdateReceiversAndTheTileAreDeclared() {
        val receiver = component("receiver", ".vpn.BootReceiver")
        assertEquals(listOf("android.intent.action.BOOT_COMPLETED"), receiver.children("action").map { it.attr("name") })
        val update = component("receiver", ".vpn.UpdateReceiver")
        assertEquals(listOf("android.intent.action.MY_PACKAGE_REPLACED"), update.children("action").map { it.attr("name") })
        assertEquals("only the system's broadcast reaches it", "false", update.attr("exported"))
        val tile = component("service", ".vpn.HushTileService")
        assertEquals("android.permission.BIND_QUICK_SETTINGS_TILE", tile.attr("permission"))
        assertEquals(listOf("android.service.quicksettings.action.QS_TILE"), tile.children("action").map { it.attr("name") })
    }

    @Test
    fun theAppHasItsIconAndKeepsItsDataOutOfBackups() {
        val app = manifest.children("application").single()
        assertEquals("@mipmap/ic_launcher", app.attr("icon"))
        assertEquals("false", app.attr("allowBackup"))
        assertEquals("@xml/data_extraction_rules", app.attr("dataExtractionRules"))
        assertEquals("@drawable/ic_hush", component("service", ".vpn.HushTileService").attr("icon"))
    }

    @Test
    fun theReportProviderIsPrivateGrantsPerUriAndServesOnlyTheReportsDirectory() {
        val provider = component("provider", ".app.ReportProvider")
        assertEquals("only apps given a URI read it", "false", provider.attr("exported"))
        assertEquals("true", provider.attr("grantUriPermissions"))
        // ReportProvider.authority: the application id's.
        assertEquals(manifest.getAttribute("package") + ".reports", provider.attr("authorities"))
        org.junit.Assert.assertTrue(provider.attr("readPermission").isEmpty() && provider.attr("permission").isEmpty())
        val paths = DocumentBuilderFactory.newInstance().newDocumentBuilder()
            .parse(File(System.getProperty("hush.app.dir"), "src/main/res/xml/report_paths.xml")).documentElement
        val roots = (0 until paths.childNodes.length).map { paths.childNodes.item(it) }.filterIsInstance<Element>()
        assertEquals(listOf("cache-path reports reports/"), roots.map { "${it.tagName} ${it.getAttribute("name")} ${it.getAttribute("path")}" })
    }

    @Test
    fun theComponentsNameRealClasses() {
        val pkg = manifest.getAttribute("package")
        for (tag in listOf("service", "receiver", "provider")) {
            for (c in manifest.children(tag)) {
                val name = c.attr("name")
                Class.forName(if (name.startsWith(".")) pkg + name else name)
            }
        }
    }
}
