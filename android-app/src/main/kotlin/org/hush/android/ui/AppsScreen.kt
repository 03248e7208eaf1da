package org.hush.android.ui

import android.app.AlertDialog
import android.graphics.drawable.Drawable
import android.text.Editable
import android.text.TextWatcher
import android.util.LruCache
import android.view.Gravity
import android.view.View
import android.view.ViewGroup
import android.widget.ImageView
import android.widget.LinearLayout
import android.widget.ListView
import android.widget.RadioButton
import android.widget.RadioGroup
import android.widget.TextView
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import org.hush.android.R
import org.hush.android.core.Network
import org.hush.android.policy.AppMode

/** Loads app icons off the main thread, once each, into the view still showing that app. */
class IconLoader(private val deps: UiDeps, private val palette: Palette) {
    private val cache = LruCache<String, Drawable>(256)
    private val scope = CoroutineScope(SupervisorJob() + MainDispatcher)

    fun bind(view: ImageView, packageName: String?, label: String) {
        view.tag = packageName
        val cached = packageName?.let { cache.get(it) }
        view.setImageDrawable(cached ?: LetterIcon.of(label, palette))
        if (cached != null || packageName == null) return
        scope.launch {
            val icon = try {
                withContext(deps.io) { deps.apps.icon(packageName) }
            } catch (e: kotlinx.coroutines.CancellationException) {
                throw e
            } catch (e: RuntimeException) {
                null
            } ?: return@launch
            cache.put(packageName, icon)
            if (view.tag == packageName) view.setImageDrawable(icon)
        }
    }

    fun dispose() = scope.cancel()
}

class AppsScreen(host: ScreenHost) : Screen(host) {
    val presenter = AppsPresenter(host.deps, ui.strings)
    private val p = ui.palette
    private val icons = IconLoader(host.deps, p)

    val search = ui.searchField(ui.str(R.string.apps_search_hint))
    val filters = RadioGroup(host.context).apply { orientation = RadioGroup.HORIZONTAL }
    val error = ui.errorBanner()
    val summary = ui.text("", Ui.Type.CAPTION, p.onSurfaceVariant).apply { setPadding(ui.dp(16), ui.dp(4), ui.dp(16), ui.dp(4)) }
    val adapter = AppsAdapter()
    val list = ListView(host.context).apply {
        divider = null
        adapter = this@AppsScreen.adapter
        setOnItemClickListener { _, _, position, _ ->
            val row = this@AppsScreen.adapter.getItem(position)
            host.openAppDetail(row.uid, row.label)
        }
    }

    override val view: View = ui.vertical().apply {
        addView(ui.screenTitle(ui.str(R.string.apps_title)))
        addView(search, Ui.matchWrap().apply { setMargins(ui.dp(16), 0, ui.dp(16), ui.dp(4)) })
        addView(filters, Ui.matchWrap().apply { setMargins(ui.dp(12), 0, ui.dp(16), 0) })
        addView(summary)
        addView(error)
        addView(list, LinearLayout.LayoutParams(ViewGroup.LayoutParams.MATCH_PARENT, 0, 1f))
    }

    init {
        for (f in AppFilter.values()) {
            filters.addView(RadioButton(host.context).apply {
                id = View.generateViewId()
                text = ui.str(f.label)
                tag = f
                setTextColor(p.onSurface)
                buttonTintList = android.content.res.ColorStateList.valueOf(p.primary)
                isChecked = f == AppFilter.ALL
            })
        }
        filters.setOnCheckedChangeListener { group, id ->
            val f = group.findViewById<RadioButton>(id)?.tag as? AppFilter
            if (f != null) presenter.filter(f)
        }
        search.addTextChangedListener(object : TextWatcher {
            override fun beforeTextChanged(s: CharSequence?, start: Int, count: Int, after: Int) {}
            override fun onTextChanged(s: CharSequence?, start: Int, before: Int, count: Int) {}
            override fun afterTextChanged(s: Editable?) = presenter.search(s?.toString().orEmpty())
        })
        presenter.attach(::render)
        presenter.load()
    }

    fun render(s: AppsState) {
        adapter.rows = s.visible
        adapter.notifyDataSetChanged()
        summary.text = when {
            s.loading -> ui.str(R.string.apps_loading)
            s.visible.isEmpty() && s.query.isNotBlank() -> ui.str(R.string.apps_none_matching, s.query.trim())
            else -> ui.strings.plural(R.plurals.apps_summary, s.visible.size, s.visible.size, AppsPresenter.DAYS)
        }
        error.showError(s.error)
    }

    /** Shows the mode choices for one network; the choice goes to the store. */
    fun chooseMode(row: AppRow, network: Network) {
        val uid = row.uid ?: return // the unknown owner has no mode to choose here
        val modes = AppMode.values()
        val current = if (network == Network.WIFI) row.wifi else row.mobile
        val title = if (network == Network.WIFI) R.string.apps_mode_title_wifi else R.string.apps_mode_title_mobile
        AlertDialog.Builder(host.context)
            .setTitle(ui.str(title, row.label))
            .setSingleChoiceItems(modes.map { Format.mode(ui.strings, it) }.toTypedArray(), modes.indexOf(current)) { dialog, which ->
                dialog.dismiss()
                if (modes[which] != current) presenter.setMode(uid, network, modes[which])
            }
            .setNegativeButton(ui.str(R.string.apps_cancel), null)
            .show()
    }

    /** A mode chip: the network and a word for the mode, in the mode's colour (never colour alone). */
    fun styleChip(chip: TextView, network: String, mode: AppMode, label: String) {
        chip.text = ui.str(R.string.apps_chip, network, ui.str(shortMode(mode)))
        val color = when (mode) {
            AppMode.BLOCK_ALL -> p.blocked
            AppMode.ALLOW_ALL -> p.allowed
            AppMode.BLOCK_TRACKERS -> p.primary
        }
        chip.setTextColor(if (mode == AppMode.BLOCK_TRACKERS) p.onPrimaryContainer else color)
        chip.background = ui.rounded(
            if (mode == AppMode.BLOCK_TRACKERS) p.primaryContainer else (color and 0x00FFFFFF) or 0x29000000, 8, color,
        )
        chip.contentDescription = ui.str(R.string.apps_chip_description, label, network, Format.mode(ui.strings, mode))
    }

    class Holder(
        val icon: ImageView, val label: TextView, val caption: TextView, val wifi: TextView, val mobile: TextView, val blocked: TextView,
        /** "Active with screen off": shown only for an app that made attempts then. */
        val screenOff: TextView,
    )

    inner class AppsAdapter : RowsAdapter<AppRow, Holder>() {
        var rows: List<AppRow> by this::items

        override fun bind(holder: Holder, item: AppRow) {
            val h = holder
            val row = item
            icons.bind(h.icon, row.packageName, row.label)
            h.label.text = row.label
            h.caption.text = row.note ?: row.packageName ?: ""
            h.caption.setTextColor(if (row.packageName == null && row.uid != null) p.error else p.onSurfaceVariant)
            h.blocked.text = ui.strings.plural(R.plurals.apps_blocked, row.blocked.coerceAtMost(Int.MAX_VALUE.toLong()).toInt(), Format.count(ui.strings, row.blocked))
            h.blocked.setTextColor(if (row.blocked > 0) p.blocked else p.onSurfaceVariant)
            val screenOff = if (row.screenOff > 0) ui.str(R.string.apps_screen_off) else null
            h.screenOff.text = screenOff.orEmpty()
            h.screenOff.visibility = if (screenOff != null) View.VISIBLE else View.GONE
            val chips = if (row.hasModes) View.VISIBLE else View.GONE
            h.wifi.visibility = chips
            h.mobile.visibility = chips
            styleChip(h.wifi, ui.str(R.string.apps_chip_wifi), row.wifi, row.label)
            styleChip(h.mobile, ui.str(R.string.apps_chip_mobile), row.mobile, row.label)
            h.wifi.setOnClickListener { chooseMode(row, Network.WIFI) }
            h.mobile.setOnClickListener { chooseMode(row, Network.MOBILE) }
            val description = row.note
                ?.let { ui.str(R.string.apps_row_description_note, row.label, h.blocked.text, it) }
                ?: ui.str(R.string.apps_row_description, row.label, h.blocked.text)
            (h.icon.parent as View).contentDescription =
                screenOff?.let { ui.str(R.string.apps_row_description_screen_off, description, it) } ?: description
        }

        override fun newRow(): View {
            val icon = ImageView(host.context).apply { importantForAccessibility = View.IMPORTANT_FOR_ACCESSIBILITY_NO }
            val label = ui.text("", Ui.Type.TITLE_SMALL).apply { setSingleLine(); ellipsize = android.text.TextUtils.TruncateAt.END }
            val caption = ui.text("", Ui.Type.CAPTION, p.onSurfaceVariant).apply { setSingleLine(); ellipsize = android.text.TextUtils.TruncateAt.END }
            val blocked = ui.text("", Ui.Type.CAPTION, p.blocked).apply { setSingleLine() }
            // In words, not a colour alone; short enough to leave the package its room.
            val screenOff = ui.text("", Ui.Type.CAPTION, p.onPrimaryContainer).apply {
                setSingleLine()
                setPadding(ui.dp(4), 0, ui.dp(4), 0)
                background = ui.rounded(p.primaryContainer, 4)
                visibility = View.GONE
            }
            fun chip() = ui.chip("", {}).apply {
                maxLines = 2
                gravity = Gravity.CENTER
                textSize = 11f
                minHeight = ui.dp(MIN_TOUCH_DP)
                minWidth = ui.dp(64)
                setPadding(ui.dp(6), ui.dp(2), ui.dp(6), ui.dp(2))
            }
            val wifi = chip()
            val mobile = chip()
            // One line per app: icon, name over the package (or note) and the count, then
            // the two mode chips, each a 48 dp target; about ten apps fit on a phone screen.
            val row = ui.horizontal().apply {
                gravity = Gravity.CENTER_VERTICAL
                minimumHeight = ui.dp(ROW_DP)
                setPadding(ui.dp(16), ui.dp(4), ui.dp(12), ui.dp(4))
                addView(icon, LinearLayout.LayoutParams(ui.dp(32), ui.dp(32)).apply { rightMargin = ui.dp(12) })
                addView(ui.vertical().apply {
                    addView(label)
                    addView(ui.horizontal().apply {
                        addView(blocked)
                        addView(screenOff, LinearLayout.LayoutParams(ViewGroup.LayoutParams.WRAP_CONTENT, ViewGroup.LayoutParams.WRAP_CONTENT).apply { leftMargin = ui.dp(6) })
                        addView(caption, Ui.weight(1f).apply { leftMargin = ui.dp(6) })
                    })
                }, Ui.weight(1f))
                addView(wifi, LinearLayout.LayoutParams(ViewGroup.LayoutParams.WRAP_CONTENT, ViewGroup.LayoutParams.WRAP_CONTENT).apply { leftMargin = ui.dp(6) })
                addView(mobile, LinearLayout.LayoutParams(ViewGroup.LayoutParams.WRAP_CONTENT, ViewGroup.LayoutParams.WRAP_CONTENT).apply { leftMargin = ui.dp(6) })
            }
            row.tag = Holder(icon, label, caption, wifi, mobile, blocked, screenOff)
            return row
        }
    }

    override fun onShow() = presenter.load()

    override fun dispose() {
        presenter.detach()
        icons.dispose()
    }

    companion object {
        /** A row's height: about ten fit on a phone screen under the search and filters. */
        const val ROW_DP = 56
        const val MIN_TOUCH_DP = 48

        /** The mode as one word or two, for a chip (the dialog and TalkBack say it in full). */
        fun shortMode(mode: AppMode): Int = when (mode) {
            AppMode.BLOCK_TRACKERS -> R.string.apps_chip_block_trackers
            AppMode.BLOCK_ALL -> R.string.apps_chip_block_all
            AppMode.ALLOW_ALL -> R.string.apps_chip_allow_all
        }
    }
}
