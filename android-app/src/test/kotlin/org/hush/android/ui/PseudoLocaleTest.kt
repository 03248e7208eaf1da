package org.hush.android.ui

import android.app.Dialog
import android.view.View
import android.view.ViewGroup
import android.widget.TextView
import org.hush.android.R
import org.hush.android.data.DomainAction
import org.hush.android.data.DomainRule
import org.hush.android.data.EventQuery
import org.hush.android.data.Gap
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.annotation.Config
import org.robolectric.shadows.ShadowAlertDialog
import java.text.DateFormatSymbols
import java.util.Locale

/**
 * The screens in the accented pseudo-locale en-XA, which the build makes from
 * res/values/strings.xml (aapt2 compile --pseudo-localize: "Today" becomes "[Ţöðåý one]").
 * Every word the screen shows (text, hint, content description) must come out
 * accented; an English word left plain was written in the code. Plain words that are
 * data (hosts, app names, list names from the sample world), the platform's own
 * (month and day names) or the pseudo-locale's padding ("one two three") are not
 * counted.
 *
 * [SCREENS] are the screens whose words are all in strings.xml. Still to move, and
 * to add here as they are: [LATER].
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35], qualifiers = "en-rXA-w360dp-h780dp-xhdpi")
class PseudoLocaleTest {
    @After
    fun reset() { HushUi.deps = null }

    private fun world() = SampleData.World().apply {
        store.rules.add(DomainRule(SampleData.TIKTOK, "log.tiktokv.com", DomainAction.BLOCK, "com.zhiliaoapp.musically"))
        store.rules.add(DomainRule(SampleData.UNINSTALLED, "app.adjust.com", DomainAction.ALLOW, "com.gone.game"))
    }

    /** A screen set up on a sample world; returns the views to check besides the activity's window. */
    class Case(val name: String, val world: () -> SampleData.World, val open: (MainActivity) -> List<View>)

    private val SCREENS: List<Case> = listOf(
        Case("activity", ::world) { a -> a.select(MainActivity.Tab.ACTIVITY); emptyList() },
        Case("activity, nothing logged", { SampleData.World(store = FakeStore()) }) { a -> a.select(MainActivity.Tab.ACTIVITY); emptyList() },
        Case("activity, the store failing", { world().apply { store.failure = "database is locked" } }) { a ->
            a.select(MainActivity.Tab.ACTIVITY); emptyList()
        },
        Case("activity, the action chooser", ::world) { a ->
            a.select(MainActivity.Tab.ACTIVITY)
            (a.screen(MainActivity.Tab.ACTIVITY) as ActivityScreen).actionChip.performClick()
            listOf(dialogView())
        },
        Case("activity, the app chooser", ::world) { a ->
            a.select(MainActivity.Tab.ACTIVITY)
            (a.screen(MainActivity.Tab.ACTIVITY) as ActivityScreen).appChip.performClick()
            listOf(dialogView())
        },
        Case("rules", ::world) { a -> a.openRules(); emptyList() },
        Case("rules, none", { SampleData.World(store = FakeStore()) }) { a -> a.openRules(); emptyList() },
        Case("rules, a removal and its undo bar", ::world) { a ->
            a.openRules()
            UiTest.idle()
            val rules = a.pushed as RulesScreen
            UiTest.draw(a.window.decorView)
            rules.presenter.remove(rules.presenter.state.rules.first { it.domain == "log.tiktokv.com" })
            emptyList()
        },
        Case("apps", ::world) { a -> a.select(MainActivity.Tab.APPS); emptyList() },
        Case("apps, system apps", ::world) { a ->
            a.select(MainActivity.Tab.APPS)
            (a.screen(MainActivity.Tab.APPS) as AppsScreen).presenter.filter(AppFilter.SYSTEM)
            emptyList()
        },
        Case("apps, the store failing", { world().apply { store.failure = "database is locked" } }) { a ->
            a.select(MainActivity.Tab.APPS); emptyList()
        },
        Case("apps, the mode dialog", ::world) { a ->
            a.select(MainActivity.Tab.APPS)
            UiTest.idle()
            val apps = a.screen(MainActivity.Tab.APPS) as AppsScreen
            apps.chooseMode(apps.presenter.state.all.first { it.uid == SampleData.TIKTOK }, org.hush.android.core.Network.MOBILE)
            listOf(dialogView())
        },
        Case("the host sheet", ::world) { a -> listOf(sheet(a, HostTarget("api.sec.miui.com", AppRef(SampleData.MI_BROWSER, "Mi Browser")))) },
        Case("the host sheet, with a rule", ::world) { a -> listOf(sheet(a, HostTarget("log.tiktokv.com", AppRef(SampleData.TIKTOK, "TikTok")))) },
        Case("the host sheet, across apps", ::world) { a -> listOf(sheet(a, HostTarget("log.tiktokv.com", null))) },
        Case("the host sheet, an address", ::world) { a -> listOf(sheet(a, HostTarget("203.0.113.7", AppRef(SampleData.TIKTOK, "TikTok")))) },
        Case("the host sheet, no host name", ::world) { a -> listOf(sheet(a, HostTarget("", AppRef(SampleData.TIKTOK, "TikTok")))) },
        Case("the host sheet, the owner not known", ::world) { a ->
            listOf(sheet(a, HostTarget("api.sec.miui.com", AppRef(null, a.getString(R.string.apps_unknown_owner)))))
        },
        Case("the host sheet, the app removed", ::world) { a ->
            listOf(sheet(a, HostTarget("app.adjust.com", AppRef(SampleData.UNINSTALLED, a.getString(R.string.uid_label, SampleData.UNINSTALLED)))))
        },
        Case("the host sheet, the store failing", { world().apply { store.failure = "database is locked" } }) { a ->
            listOf(sheet(a, HostTarget("log.tiktokv.com", AppRef(SampleData.TIKTOK, "TikTok"))))
        },
        Case("the host sheet, a block and its undo bar", ::world) { a ->
            val sheet = sheet(a, HostTarget("api.sec.miui.com", AppRef(SampleData.MI_BROWSER, "Mi Browser")))
            a.sheet!!.presenter.apply(RuleScope.APP, DomainAction.BLOCK)
            UiTest.idle()
            listOf(sheet)
        },
        Case("home, off", ::world) { a -> a.select(MainActivity.Tab.HOME); emptyList() },
        Case("home, on, with gaps and the session's counts", { homeWorld() }) { a ->
            a.select(MainActivity.Tab.HOME)
            (a.screen(MainActivity.Tab.HOME) as HomeScreen).presenter.refreshLive()
            emptyList()
        },
        Case("home, nothing logged", { SampleData.World(store = FakeStore()) }) { a -> a.select(MainActivity.Tab.HOME); emptyList() },
        Case("home, a fresh install that never ran", { SampleData.World(store = FakeStore(), firewall = FakeFirewall(FirewallState.Off)) }) { a ->
            a.select(MainActivity.Tab.HOME); emptyList()
        },
        Case("home, not filtering (traffic held)", {
            world().apply { firewall.current = FirewallState.NotFiltering(org.hush.android.core.Filtering.HOLDING, "the engine failed 5 times in a minute") }
        }) { a -> a.select(MainActivity.Tab.HOME); emptyList() },
        Case("home, not filtering (no reason given)", {
            world().apply { firewall.current = FirewallState.NotFiltering(org.hush.android.core.Filtering.STOPPED, null) }
        }) { a -> a.select(MainActivity.Tab.HOME); emptyList() },
        Case("home, the engine restarting", {
            world().apply { firewall.current = FirewallState.NotFiltering(org.hush.android.core.Filtering.RESTARTING, "a fault in the packet path") }
        }) { a -> a.select(MainActivity.Tab.HOME); emptyList() },
        Case("activity, nothing logged, Hush off", { SampleData.World(store = FakeStore(), firewall = FakeFirewall(FirewallState.Off)) }) { a ->
            a.select(MainActivity.Tab.ACTIVITY); emptyList()
        },
        Case("home, starting", { world().apply { firewall.current = FirewallState.Starting } }) { a -> a.select(MainActivity.Tab.HOME); emptyList() },
        Case("home, the store failing", { world().apply { store.failure = "database is locked" } }) { a -> a.select(MainActivity.Tab.HOME); emptyList() },
        Case("guidance, a Xiaomi phone", ::world) { a ->
            org.robolectric.shadows.ShadowBuild.setManufacturer("Xiaomi")
            a.openGuidance()
            emptyList()
        },
        Case("guidance, always-on without lockdown", { world().apply { firewall.alwaysOn = org.hush.android.vpn.AlwaysOn(true, false) } }) { a ->
            a.openGuidance(); emptyList()
        },
        Case("guidance, always-on and lockdown", { world().apply { firewall.alwaysOn = org.hush.android.vpn.AlwaysOn(true, true) } }) { a ->
            a.openGuidance(); emptyList()
        },
        Case("guidance, always-on off", { world().apply { firewall.alwaysOn = org.hush.android.vpn.AlwaysOn(false, false) } }) { a ->
            a.openGuidance(); emptyList()
        },
        Case("lists", ::world) { a -> a.select(MainActivity.Tab.LISTS); emptyList() },
        Case("lists, a URL refused and a list switched", ::world) { a ->
            a.select(MainActivity.Tab.LISTS)
            UiTest.idle()
            val lists = a.screen(MainActivity.Tab.LISTS) as ListsScreen
            lists.presenter.addUrl("https://lists example.org/hosts")
            lists.presenter.setBuiltinEnabled("hush-adaway", false)
            emptyList()
        },
        Case("lists, none added", { world().apply { lists.subs.clear() } }) { a -> a.select(MainActivity.Tab.LISTS); emptyList() },
        Case("lists, unreadable", { world().apply { lists.failure = "database is locked" } }) { a -> a.select(MainActivity.Tab.LISTS); emptyList() },
        Case("settings", ::world) { a -> a.select(MainActivity.Tab.SETTINGS); emptyList() },
        Case("settings, a choice saved and a store failing", { world().apply { store.failure = "database is locked" } }) { a ->
            a.select(MainActivity.Tab.SETTINGS)
            (a.screen(MainActivity.Tab.SETTINGS) as SettingsScreen).upstreamNetwork.performClick()
            emptyList()
        },
        Case("settings, DNS over TLS refused", ::world) { a ->
            a.select(MainActivity.Tab.SETTINGS)
            val settings = a.screen(MainActivity.Tab.SETTINGS) as SettingsScreen
            settings.upstreamTls.performClick()
            settings.presenter.saveEncrypted("dns.quad9.net", "")
            emptyList()
        },
        Case("settings, DNS over HTTPS from a preset", ::world) { a ->
            a.select(MainActivity.Tab.SETTINGS)
            val settings = a.screen(MainActivity.Tab.SETTINGS) as SettingsScreen
            settings.upstreamHttps.performClick()
            settings.presetButtons.first().performClick()
            emptyList()
        },
        Case("app detail", ::world) { a -> a.openAppDetail(SampleData.TIKTOK, "TikTok"); emptyList() },
        Case("app detail, the unknown owner", ::world) { a -> a.openAppDetail(null, "?"); emptyList() },
        Case("app detail, its own choice saved with undo", ::world) { a ->
            a.openAppDetail(SampleData.TIKTOK, "TikTok")
            UiTest.idle()
            (a.pushed as AppDetailScreen).resolvedOnly.on.performClick()
            emptyList()
        },
    )

    private val LATER = listOf<String>()

    /** Hush on, with its session's counts and each kind of gap (every reason's words). */
    private fun homeWorld() = world().apply {
        firewall.current = FirewallState.On
        firewall.live = org.hush.android.core.LiveStats(packetsIn = 10, dnsQueries = 10, blocked = 4, allowed = 6, eventsDropped = 2)
        val h = 3_600_000L
        store.gaps = listOf(
            Gap(SampleData.NOW - 2 * h, SampleData.NOW - h, "stopped"),
            Gap(SampleData.NOW - 20 * h, SampleData.NOW - 19 * h, "killed"),
            Gap(SampleData.NOW - 30 * h, SampleData.NOW - 29 * h, "engine-restart"),
            Gap(SampleData.NOW - 50 * h, SampleData.NOW - 49 * h, "holding"),
            Gap(SampleData.NOW - 3 * 24 * h, null, "revoked"),
        )
    }


    /** Opens the host sheet on [target]; its window. */
    private fun sheet(a: MainActivity, target: HostTarget): View {
        a.openHostActions(target)
        UiTest.idle()
        return a.sheet!!.dialog.window!!.decorView
    }

    private fun dialogView(): View {
        UiTest.idle()
        val dialog: Dialog = ShadowAlertDialog.getLatestAlertDialog() ?: throw AssertionError("no dialog opened")
        return dialog.window!!.decorView
    }

    @Test
    fun thePseudoLocaleIsBuilt() {
        val context = RuntimeEnvironment.getApplication()
        assertEquals(Locale("en", "XA"), context.resources.configuration.locales[0])
        val today = context.getString(R.string.day_today)
        assertTrue("en-XA strings missing (aapt2 compile --pseudo-localize): $today", today.startsWith("[") && today.contains("Ţöðåý"))
    }

    @Test
    fun theMigratedScreensShowNoWordWrittenInTheCode() {
        val problems = ArrayList<String>()
        for (case in SCREENS) {
            val world = case.world()
            // Launched on Activity rather than Home (not migrated yet), whose views are gone once another screen shows.
            // The data before the case changes it (a rule removed is still named on the undo bar).
            val words = dataWords(world)
            val activity = UiTest.launch(world, MainActivity.Tab.ACTIVITY).get()
            val extra = case.open(activity)
            UiTest.idle()
            val roots = listOf(activity.window.decorView) + extra
            for (root in roots) {
                UiTest.draw(root)
                UiTest.idle()
                for (text in shownTexts(root)) {
                    val plain = plainWords(text, words)
                    if (plain.isNotEmpty()) problems.add("${case.name}: \"$text\" has $plain")
                }
            }
            activity.finish()
        }
        assertTrue("words written in the code (move them to res/values/strings.xml):\n" + problems.distinct().joinToString("\n"), problems.isEmpty())
        println("pseudo-locale: ${SCREENS.size} screens checked (${SCREENS.joinToString { it.name }}); still to move: ${LATER.joinToString()}")
    }

    @Test
    fun theCheckCatchesTextWrittenInCode() {
        val world = world()
        val activity = UiTest.launch(world, MainActivity.Tab.ACTIVITY).get()
        val content: ViewGroup = activity.findViewById(android.R.id.content)!!
        content.addView(TextView(activity).apply { text = "Blocked today" })
        content.addView(TextView(activity).apply { hint = "Search"; contentDescription = activity.getString(R.string.undo) })
        UiTest.draw(activity.window.decorView)
        val found = shownTexts(activity.window.decorView).flatMap { plainWords(it, dataWords(world)) }.toSet()
        assertEquals(setOf("Blocked", "today", "Search"), found)
    }

    /** Text, hint (when empty) and content description of every visible view under [root]. */
    private fun shownTexts(root: View): List<String> {
        val out = ArrayList<String>()
        fun walk(v: View) {
            if (v.visibility != View.VISIBLE) return
            if (v is TextView) {
                if (v.text.isNotEmpty()) out.add(v.text.toString())
                else if (!v.hint.isNullOrEmpty()) out.add(v.hint.toString())
            }
            v.contentDescription?.takeIf { it.isNotEmpty() }?.let { out.add(it.toString()) }
            if (v is ViewGroup) for (i in 0 until v.childCount) walk(v.getChildAt(i))
        }
        walk(root)
        return out
    }

    /** The words of [text] in plain ASCII letters that are neither data nor the platform's. */
    private fun plainWords(text: String, allowed: Set<String>): List<String> =
        WORD.findAll(text).map { it.value }
            .filter { w -> w.length >= 2 && w.all { it in 'a'..'z' || it in 'A'..'Z' } }
            .filter { it.lowercase(Locale.ROOT) !in allowed }
            .toList()

    /** Words that may stay plain: the world's data, the platform's date words, the pseudo-locale's padding. */
    private fun dataWords(world: SampleData.World): Set<String> {
        val data = ArrayList<String>()
        for (app in world.apps.apps()) { data.add(app.label); data.add(app.packageName) }
        var offset = 0
        while (true) {
            val page = try { world.store.recentEvents(EventQuery(limit = 1000, offset = offset)) } catch (e: IllegalStateException) { emptyList() }
            for (e in page) { data.add(e.host); data.add(e.protocol); data.add(e.reason) }
            if (page.size < 1000) break
            offset += page.size
        }
        for (r in world.store.rules) data.add(r.domain)
        // Who is behind a host: companies and groups are names, not words.
        for (o in world.evidence.table.values) { data.add(o.company); o.parent?.let(data::add); o.country?.let(data::add) }
        for (s in SampleData.sources) data.add(s.name)
        // The lists' own names, licences and sources (the core's catalogue) and their URLs.
        for (l in SampleData.builtins) { data.add(l.name); data.add(l.title); data.add(l.licence); data.add(l.source) }
        for (sub in SampleData.subscriptions) { data.add(sub.url); data.add(sub.name) }
        // The well-known DNS servers Settings offers: names, not words.
        for (preset in SettingsPresenter.PRESETS) { data.add(preset.name); data.add(preset.tlsName); data.add(preset.httpsUrl) }
        world.store.failure?.let { data.add(it) }
        world.lists.failure?.let { data.add(it) }
        // The core's own account of why it does not filter (English, shown as the detail).
        (world.firewall.current as? FirewallState.NotFiltering)?.reason?.let { data.add(it) }
        val symbols = DateFormatSymbols.getInstance(Locale.ENGLISH)
        data.addAll(symbols.months + symbols.shortMonths + symbols.weekdays + symbols.shortWeekdays + symbols.amPmStrings)
        data.addAll(PADDING)
        return data.flatMap { d -> WORD.findAll(d).map { it.value.lowercase(Locale.ROOT) } }.toSet()
    }

    companion object {
        private val WORD = Regex("\\p{L}+")

        /** What aapt2's en-XA appends to lengthen a string (as translations run longer). */
        private val PADDING = listOf(
            "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen fiveteen " +
                "sixteen seventeen eighteen nineteen twenty",
        )
    }
}
