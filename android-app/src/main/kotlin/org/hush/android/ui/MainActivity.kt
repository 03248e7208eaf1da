package org.hush.android.ui

import android.app.Activity
import android.content.Context
import android.content.Intent
import android.net.Uri
import android.os.Bundle
import android.view.Gravity
import android.view.View
import android.view.ViewGroup
import android.widget.FrameLayout
import android.widget.LinearLayout
import android.widget.TextView
import org.hush.android.R
import org.hush.android.apps.PackageManagerApps

/**
 * The app's one activity: the five screens behind a bottom navigation bar, App detail or
 * Rules pushed on top, the host actions as a bottom sheet, and the undo bar.
 */
class MainActivity : Activity(), ScreenHost {
    /** The bottom bar's tabs: each a word (res/values/strings.xml) under its icon (res/drawable). */
    enum class Tab(val label: Int, val icon: Int) {
        HOME(R.string.nav_home, R.drawable.ic_nav_home),
        APPS(R.string.nav_apps, R.drawable.ic_nav_apps),
        ACTIVITY(R.string.nav_activity, R.drawable.ic_nav_activity),
        LISTS(R.string.nav_lists, R.drawable.ic_nav_lists),
        SETTINGS(R.string.nav_settings, R.drawable.ic_nav_settings),
    }

    override lateinit var deps: UiDeps
        private set
    override lateinit var ui: Ui
        private set
    override val context: Context get() = this

    private lateinit var content: FrameLayout
    private val screens = LinkedHashMap<Tab, Screen>()
    val navItems = LinkedHashMap<Tab, TextView>()
    var tab: Tab = Tab.HOME
        private set
    /** The screen pushed over the tabs (App detail, Rules), if any. */
    var pushed: Screen? = null
        private set
    /** The App detail shown over the tabs, if any. */
    val detail: AppDetailScreen? get() = pushed as? AppDetailScreen
    /** The host actions sheet last opened (it may have been closed since). */
    var sheet: HostSheet? = null
        private set
    lateinit var undoBar: UndoBar
        private set
    private var pendingDocument: ((Uri?) -> Unit)? = null

    override fun onCreate(savedInstanceState: Bundle?) {
        val night = Palette.isNight(this)
        setTheme(if (night) android.R.style.Theme_Material_NoActionBar else android.R.style.Theme_Material_Light_NoActionBar)
        super.onCreate(savedInstanceState)
        deps = HushUi.deps ?: defaultDeps(this).also { HushUi.deps = it }
        ui = Ui(this, Palette.of(this, deps.dynamicColor))
        val p = ui.palette
        window.decorView.setBackgroundColor(p.background)

        content = FrameLayout(this)
        undoBar = UndoBar(this) { (pushed ?: screens[tab])?.onShow() }
        val stage = FrameLayout(this).apply {
            addView(content, FrameLayout.LayoutParams(ViewGroup.LayoutParams.MATCH_PARENT, ViewGroup.LayoutParams.MATCH_PARENT))
            addView(undoBar.view, FrameLayout.LayoutParams(ViewGroup.LayoutParams.MATCH_PARENT, ViewGroup.LayoutParams.WRAP_CONTENT, Gravity.BOTTOM))
        }
        val root = LinearLayout(this).apply {
            orientation = LinearLayout.VERTICAL
            setBackgroundColor(p.background)
            addView(stage, LinearLayout.LayoutParams(ViewGroup.LayoutParams.MATCH_PARENT, 0, 1f))
            addView(navBar())
            // Edge to edge (targetSdk 35): keep clear of the system bars.
            setOnApplyWindowInsetsListener { v, insets ->
                @Suppress("DEPRECATION")
                v.setPadding(insets.systemWindowInsetLeft, insets.systemWindowInsetTop, insets.systemWindowInsetRight, insets.systemWindowInsetBottom)
                insets
            }
        }
        setContentView(root)
        val start = (savedInstanceState?.getString(KEY_TAB) ?: intent?.getStringExtra(EXTRA_TAB))
            ?.let { name -> Tab.values().firstOrNull { it.name == name } }
        select(start ?: Tab.HOME)
    }

    private fun navBar(): View {
        val p = ui.palette
        val bar = LinearLayout(this).apply {
            orientation = LinearLayout.HORIZONTAL
            setBackgroundColor(p.surface)
            elevation = ui.dpf(3f)
        }
        for (t in Tab.values()) {
            val label = ui.str(t.label)
            val item = ui.text(label, Ui.Type.LABEL, p.onSurfaceVariant).apply {
                gravity = Gravity.CENTER
                setCompoundDrawablesRelative(null, ui.icon(t.icon, p.onSurfaceVariant), null, null)
                compoundDrawablePadding = ui.dp(4)
                setPadding(0, ui.dp(8), 0, ui.dp(8))
                // At least 48 dp each way to touch; the icon and word fill 56.
                minHeight = ui.dp(56)
                minWidth = ui.dp(48)
                isClickable = true
                isFocusable = true
                contentDescription = label
                setOnClickListener { select(t) }
            }
            navItems[t] = item
            bar.addView(item, LinearLayout.LayoutParams(0, ViewGroup.LayoutParams.WRAP_CONTENT, 1f).apply {
                setMargins(ui.dp(4), ui.dp(6), ui.dp(4), ui.dp(6))
            })
        }
        return bar
    }

    /** Shows [t]'s screen (built on first use), closing any App detail. */
    fun select(t: Tab) {
        closeDetail()
        val old = screens[tab]
        if (old != null && t != tab) old.onHide()
        tab = t
        var fresh = false
        val screen = screens.getOrPut(t) { fresh = true; create(t) }
        content.removeAllViews()
        content.addView(screen.view, FrameLayout.LayoutParams(ViewGroup.LayoutParams.MATCH_PARENT, ViewGroup.LayoutParams.MATCH_PARENT))
        if (!fresh) screen.onShow()
        for ((tt, item) in navItems) {
            val on = tt == t
            val colour = if (on) ui.palette.onPrimaryContainer else ui.palette.onSurfaceVariant
            item.setTextColor(colour)
            item.compoundDrawablesRelative[1]?.setTint(colour)
            item.background = if (on) ui.rounded(ui.palette.primaryContainer, 16) else null
            item.isSelected = on
        }
    }

    /** The screen of tab [t], if built. */
    fun screen(t: Tab): Screen? = screens[t]

    private fun create(t: Tab): Screen = when (t) {
        Tab.HOME -> HomeScreen(this)
        Tab.APPS -> AppsScreen(this)
        Tab.ACTIVITY -> ActivityScreen(this)
        Tab.LISTS -> ListsScreen(this)
        Tab.SETTINGS -> SettingsScreen(this)
    }

    override fun openAppDetail(uid: Int?, label: String) = push(AppDetailScreen(this, uid, label))

    override fun openRules() = push(RulesScreen(this))

    override fun openGuidance() = push(GuidanceScreen(this))

    private fun push(screen: Screen) {
        closeDetail()
        pushed = screen
        screens[tab]?.onHide()
        content.removeAllViews()
        content.addView(screen.view, FrameLayout.LayoutParams(ViewGroup.LayoutParams.MATCH_PARENT, ViewGroup.LayoutParams.MATCH_PARENT))
    }

    override fun openHostActions(target: HostTarget) {
        sheet?.dialog?.dismiss()
        sheet = HostSheet(this, target) { change -> showUndo(change) }.also { it.show() }
    }

    override fun showUndo(change: RuleChange) = undoBar.offer(change)

    private fun closeDetail(): Boolean {
        val d = pushed ?: return false
        d.dispose()
        pushed = null
        return true
    }

    override fun back() {
        if (closeDetail()) select(tab)
    }

    @Deprecated("Deprecated in Java")
    override fun onBackPressed() {
        if (pushed != null) back() else @Suppress("DEPRECATION") super.onBackPressed()
    }

    override fun createDocument(mimeType: String, fileName: String, onResult: (Uri?) -> Unit) {
        pendingDocument = onResult
        val intent = Intent(Intent.ACTION_CREATE_DOCUMENT)
            .addCategory(Intent.CATEGORY_OPENABLE)
            .setType(mimeType)
            .putExtra(Intent.EXTRA_TITLE, fileName)
        try {
            @Suppress("DEPRECATION")
            startActivityForResult(intent, REQUEST_DOCUMENT)
        } catch (e: android.content.ActivityNotFoundException) {
            pendingDocument = null
            onResult(null)
        }
    }

    @Deprecated("Deprecated in Java")
    override fun onActivityResult(requestCode: Int, resultCode: Int, data: Intent?) {
        if (requestCode != REQUEST_DOCUMENT) {
            @Suppress("DEPRECATION") super.onActivityResult(requestCode, resultCode, data)
            return
        }
        val callback = pendingDocument ?: return
        pendingDocument = null
        callback(if (resultCode == RESULT_OK) data?.data else null)
    }

    private var resumedOnce = false

    override fun onResume() {
        super.onResume()
        // Back from elsewhere (another app, the file picker): refresh what is shown.
        if (resumedOnce) (pushed ?: screens[tab])?.onShow()
        resumedOnce = true
    }

    override fun onPause() {
        (pushed ?: screens[tab])?.onHide()
        super.onPause()
    }

    override fun onSaveInstanceState(outState: Bundle) {
        super.onSaveInstanceState(outState)
        outState.putString(KEY_TAB, tab.name)
    }

    override fun onDestroy() {
        sheet?.dialog?.dismiss()
        undoBar.dispose()
        closeDetail()
        for (s in screens.values) s.dispose()
        screens.clear()
        super.onDestroy()
    }

    companion object {
        const val REQUEST_DOCUMENT = 4201
        /** The tab to open with (a [Tab] name), e.g. from the notification. */
        const val EXTRA_TAB = "org.hush.android.ui.TAB"
        private const val KEY_TAB = "tab"

        /** Until the app wires the real store and service: every store call says so. */
        fun defaultDeps(context: Context) = UiDeps(
            store = UnavailableStore.notConnected(context),
            apps = PackageManagerApps(context),
            firewall = StoppedFirewall,
            actions = NoActions,
            settings = PrefsSettings(context),
            // The lists come from the core as the store does: not there, the Lists screen says so, in the store's words.
            lists = org.hush.android.lists.ListCatalogue.unavailable(context.getString(R.string.store_not_connected)),
        )
    }
}
