package org.hush.android.ui

import android.view.View
import android.view.ViewGroup
import android.widget.AbsListView
import android.widget.ImageView
import android.widget.LinearLayout
import android.widget.ListView
import android.widget.TextView
import org.hush.android.R
import org.hush.android.data.Action
import org.hush.android.data.AppHost
import org.hush.android.data.AppOption

/**
 * One app: its counts and days, then every host it contacted (a page at a time, more
 * as the list scrolls), each opening the host's actions when tapped.
 */
class AppDetailScreen(host: ScreenHost, uid: Int?, label: String) : Screen(host) {
    val presenter = AppDetailPresenter(host.deps, uid, label, ui.strings)
    private val p = ui.palette
    private val icons = IconLoader(host.deps, p)

    val icon = ImageView(host.context)
    /** The label as given (the opener's, or an app's own): shown escaped, as every app label. */
    val title = ui.text(Format.visible(label), Ui.Type.HEADLINE)
    val subtitle = ui.text("", Ui.Type.CAPTION, p.onSurfaceVariant)
    /** Every app on a shared UID, one a line. */
    val packages = ui.text("", Ui.Type.CAPTION, p.onSurfaceVariant).apply { setPadding(ui.dp(16), 0, ui.dp(16), ui.dp(8)) }
    val counts = ui.text("", Ui.Type.TITLE_SMALL)
    val chart = TimelineChart(host.context, p)
    val hostsTitle = ui.text(ui.str(R.string.detail_hosts), Ui.Type.TITLE_SMALL).apply { setPadding(ui.dp(16), ui.dp(16), ui.dp(16), ui.dp(4)) }
    val error = ui.errorBanner()
    val back = ui.button(ui.str(R.string.detail_back), filled = false) { host.back() }.apply {
        minHeight = ui.dp(48); contentDescription = ui.str(R.string.detail_back_description)
    }
    /** "Only addresses Hush resolved" for this app: Default, On, Off. */
    val resolvedOnly = OptionCard(AppOption.RESOLVED_ONLY)
    /** "Strict" for this app: Default, On, Off. */
    val strict = OptionCard(AppOption.STRICT)
    /** "Allow all, not inspected": Filtered by Hush, or left out of the VPN. */
    val trustedChoice = android.widget.RadioGroup(host.context).apply {
        orientation = android.widget.RadioGroup.VERTICAL
        contentDescription = ui.str(R.string.detail_trusted_title)
    }
    val filtered = radio().apply { text = ui.str(R.string.detail_trusted_off) }.also { trustedChoice.addView(it) }
    val trusted = radio().apply { text = ui.str(R.string.detail_trusted_on) }.also { trustedChoice.addView(it) }
    val trustedMessage = ui.text("", Ui.Type.BODY, p.primary)
    val trustedCard = ui.card().apply {
        addView(ui.text(ui.str(R.string.detail_trusted_title), Ui.Type.TITLE_SMALL))
        addView(ui.text(ui.str(R.string.detail_trusted_note), Ui.Type.CAPTION, p.onSurfaceVariant))
        addView(trustedChoice, Ui.matchWrap())
        addView(trustedMessage)
    }
    /** "Share report": the app's evidence report, through the system share sheet. */
    val shareButton = ui.button(ui.str(R.string.detail_report_share)) { shareReport() }.apply { minHeight = ui.dp(48) }
    val reportMessage = ui.text("", Ui.Type.BODY, p.error)
    val reportCard = ui.card().apply {
        addView(ui.text(ui.str(R.string.detail_report_title), Ui.Type.TITLE_SMALL))
        addView(ui.text(ui.str(R.string.detail_report_note), Ui.Type.CAPTION, p.onSurfaceVariant))
        addView(shareButton, Ui.matchWrap().apply { topMargin = ui.dp(8) })
        addView(reportMessage)
    }
    /** "Capture this app's packets" (not for the unknown owner: it is no app). */
    val capture: CaptureCard? = uid?.let { CaptureCard(host, it) }
    val footer = ui.text("", Ui.Type.CAPTION, p.onSurfaceVariant).apply { setPadding(ui.dp(16), ui.dp(12), ui.dp(16), ui.dp(12)) }
    val adapter = HostsAdapter()

    private val header: View = ui.vertical().apply {
        addView(ui.horizontal().apply {
            setPadding(ui.dp(16), ui.dp(12), ui.dp(16), 0)
            addView(back)
        })
        addView(ui.horizontal().apply {
            setPadding(ui.dp(16), ui.dp(12), ui.dp(16), ui.dp(8))
            addView(icon, LinearLayout.LayoutParams(ui.dp(48), ui.dp(48)).apply { rightMargin = ui.dp(16) })
            addView(ui.vertical().apply { addView(title); addView(subtitle) }, Ui.weight(1f))
        })
        addView(packages)
        addView(error)
        addView(ui.card().apply {
            addView(ui.text(ui.strings.plural(R.plurals.detail_last_days, AppDetailPresenter.DAYS), Ui.Type.TITLE_SMALL))
            addView(counts)
            addView(chart, Ui.matchWrap().apply { topMargin = ui.dp(8) })
            addView(ui.horizontal().apply {
                addView(legend(p.blocked, ui.str(R.string.action_blocked)))
                addView(legend(p.allowed, ui.str(R.string.action_allowed)))
            })
        })
        addView(reportCard)
        capture?.let { addView(it.card) }
        addView(trustedCard)
        addView(resolvedOnly.card)
        addView(strict.card)
        addView(hostsTitle)
        layoutParams = AbsListView.LayoutParams(ViewGroup.LayoutParams.MATCH_PARENT, ViewGroup.LayoutParams.WRAP_CONTENT)
    }

    /** The hosts, recycled; the header above them scrolls with them. */
    val hostList = ListView(host.context).apply {
        divider = null
        addHeaderView(header, null, false)
        addFooterView(footer, null, false)
        adapter = this@AppDetailScreen.adapter
        setOnItemClickListener { _, _, position, _ ->
            val h = this@AppDetailScreen.adapter.items.getOrNull(position - headerViewsCount) ?: return@setOnItemClickListener
            openActions(h)
        }
        setOnScrollListener(object : AbsListView.OnScrollListener {
            override fun onScrollStateChanged(view: AbsListView?, scrollState: Int) {}
            override fun onScroll(view: AbsListView?, first: Int, visible: Int, total: Int) {
                if (total > 0 && visible > 0 && first + visible >= total - PREFETCH) presenter.loadMore()
            }
        })
    }

    override val view: View = hostList

    init {
        trustedChoice.setOnCheckedChangeListener { _, id ->
            val picked = when (id) { trusted.id -> true; filtered.id -> false; else -> return@setOnCheckedChangeListener }
            if (presenter.state.trusted != null && picked != presenter.state.trusted) presenter.setTrusted(picked)
        }
        presenter.attach(::render)
        presenter.load()
    }

    /** The actions on [h], for this app. */
    fun openActions(h: AppHost) {
        val s = presenter.state
        host.openHostActions(HostTarget(h.host, AppRef(s.uid, s.label)))
    }

    /** Builds the report off the main thread, then offers it to the apps that take an HTML file. */
    fun shareReport() {
        presenter.shareReport(java.io.File(host.context.cacheDir, REPORTS_DIR)) { file -> share(file) }
    }

    /** Hands [file] to the share sheet as a content:// URI the receiving app may read (and only read). */
    private fun share(file: java.io.File) {
        try {
            val uri = org.hush.android.app.ReportProvider.uriFor(host.context, file)
            val send = android.content.Intent(android.content.Intent.ACTION_SEND)
                .setType(org.hush.android.app.ReportProvider.HTML)
                .putExtra(android.content.Intent.EXTRA_STREAM, uri)
                .putExtra(android.content.Intent.EXTRA_SUBJECT, ui.str(R.string.detail_report_subject, Format.visible(presenter.state.label)))
                .addFlags(android.content.Intent.FLAG_GRANT_READ_URI_PERMISSION)
            // The grant travels with the clip through the chooser to the app picked.
            send.clipData = android.content.ClipData.newRawUri(file.name, uri)
            host.context.startActivity(android.content.Intent.createChooser(send, ui.str(R.string.detail_report_share_title)))
        } catch (e: RuntimeException) {
            // No app takes it (ActivityNotFoundException), or the file is not one the provider serves.
            presenter.shareFailed(e)
        }
    }

    private fun radio() = android.widget.RadioButton(host.context).apply {
        id = View.generateViewId()
        minHeight = ui.dp(48)
        setTextColor(p.onSurface)
        buttonTintList = android.content.res.ColorStateList.valueOf(p.primary)
    }

    private fun legend(color: Int, label: String) = ui.horizontal().apply {
        setPadding(0, ui.dp(4), ui.dp(16), 0)
        addView(View(host.context).apply { background = ui.rounded(color, 2) }, LinearLayout.LayoutParams(ui.dp(10), ui.dp(10)).apply { rightMargin = ui.dp(6) })
        addView(ui.text(label, Ui.Type.CAPTION, p.onSurfaceVariant))
    }

    fun render(s: AppDetailState) {
        title.text = Format.visible(s.label)
        subtitle.text = listOfNotNull(s.uid?.let { ui.str(R.string.uid_label, it) }, s.note).joinToString(" · ")
        icons.bind(icon, s.packageName, s.label)
        packages.text = if (s.packages.size > 1) ui.str(R.string.detail_packages, s.packages.joinToString("\n") { "• $it" }) else ""
        packages.visibility = if (s.packages.size > 1) View.VISIBLE else View.GONE
        counts.text = if (s.loading) ui.str(R.string.detail_loading) else
            ui.str(R.string.detail_counts, Format.count(ui.strings, s.blocked), Format.count(ui.strings, s.allowed))
        for (shown in listOf(resolvedOnly, strict)) shown.render(s.option(shown.option), visible = s.uid != null && !s.loading)
        trustedCard.visibility = if (s.trusted != null && !s.loading) View.VISIBLE else View.GONE
        // The unknown owner is no app: there is no report of it to share.
        reportCard.visibility = if (s.uid != null && !s.loading) View.VISIBLE else View.GONE
        shareButton.isEnabled = !s.reportBuilding
        shareButton.text = ui.str(if (s.reportBuilding) R.string.detail_report_building else R.string.detail_report_share)
        reportMessage.text = s.reportMessage ?: ""
        reportMessage.visibility = if (s.reportMessage == null) View.GONE else View.VISIBLE
        capture?.bind(s.label, s.packageName, visible = !s.loading)
        val pick = if (s.trusted == true) trusted else filtered
        if (s.trusted != null && !pick.isChecked) pick.isChecked = true
        trustedMessage.text = s.trustedMessage ?: ""
        trustedMessage.visibility = if (s.trustedMessage == null) View.GONE else View.VISIBLE
        chart.days = s.days
        error.showError(s.error)
        hostsTitle.text = if (s.loading || s.hostTotal == 0L) ui.str(R.string.detail_hosts) else ui.str(R.string.detail_hosts_count, Format.count(ui.strings, s.hostTotal))
        adapter.items = s.hosts
        adapter.notifyDataSetChanged()
        footer.text = when {
            s.loading -> ui.str(R.string.detail_loading)
            s.hosts.isEmpty() -> ui.strings.plural(R.plurals.detail_no_attempts, AppDetailPresenter.DAYS)
            !s.endReached -> ui.str(R.string.detail_loading_more)
            else -> ui.str(R.string.detail_tap_host)
        }
    }

    /**
     * The card of one of the app's own on/off options: its title and note, Default (saying
     * what the default is), On, Off, and what the last change did with its Undo.
     */
    inner class OptionCard(val option: AppOption) {
        private val texts = OptionTexts.of(option)
        val choice = android.widget.RadioGroup(host.context).apply {
            orientation = android.widget.RadioGroup.VERTICAL
            contentDescription = ui.str(texts.title)
        }
        val default = radio().also { choice.addView(it) }
        val on = radio().apply { text = ui.str(texts.on) }.also { choice.addView(it) }
        val off = radio().apply { text = ui.str(texts.off) }.also { choice.addView(it) }
        val message = ui.text("", Ui.Type.BODY, p.primary)
        val undo = ui.button(ui.str(R.string.undo), filled = false) { presenter.undoOption(option) }.apply { minHeight = ui.dp(48) }
        val card = ui.card().apply {
            addView(ui.text(ui.str(texts.title), Ui.Type.TITLE_SMALL))
            addView(ui.text(ui.str(texts.note), Ui.Type.CAPTION, p.onSurfaceVariant))
            addView(choice, Ui.matchWrap())
            addView(ui.horizontal().apply {
                addView(message, Ui.weight(1f))
                addView(undo)
            })
        }

        init {
            choice.setOnCheckedChangeListener { _, id ->
                val picked = when (id) { on.id -> true; off.id -> false; default.id -> null; else -> return@setOnCheckedChangeListener }
                if (picked != presenter.state.option(option).choice) presenter.setOption(option, picked)
            }
        }

        fun render(s: OptionState, visible: Boolean) {
            card.visibility = if (visible) View.VISIBLE else View.GONE
            default.text = ui.str(when (s.default) { true -> texts.defaultOn; false -> texts.defaultOff; null -> texts.defaultShort })
            val wanted = when (s.choice) { true -> on; false -> off; null -> default }
            if (!wanted.isChecked) wanted.isChecked = true
            message.text = s.message ?: ""
            message.visibility = if (s.message == null) View.GONE else View.VISIBLE
            undo.visibility = if (s.message != null && s.undo != null) View.VISIBLE else View.GONE
        }
    }

    class Holder(val host: TextView, val owner: TextView, val last: TextView, val counts: TextView)

    inner class HostsAdapter : RowsAdapter<AppHost, Holder>() {
        override fun bind(holder: Holder, item: AppHost) {
            val zone = host.deps.timeZone
            // Any name an app sent: shown escaped, as on the activity log.
            holder.host.text = Format.visible(item.host).ifEmpty { ui.str(R.string.detail_no_host_name) }
            val owner = presenter.state.owners[item.host]?.let { Owners.line(ui.strings, it) }
            holder.owner.text = owner ?: ""
            holder.owner.visibility = if (owner == null) View.GONE else View.VISIBLE
            val word = actionWord(item.lastAction)
            holder.last.text = ui.str(R.string.detail_last, word, Format.reason(ui.strings, item.lastReason))
            holder.last.setTextColor(when (item.lastAction) { Action.BLOCKED -> p.blocked; Action.ALLOWED -> p.allowed; Action.FAILED -> p.error })
            val counted = listOfNotNull(
                item.blocked.takeIf { it > 0 }?.let { ui.str(R.string.detail_n_blocked, Format.count(ui.strings, it)) },
                item.allowed.takeIf { it > 0 }?.let { ui.str(R.string.detail_n_allowed, Format.count(ui.strings, it)) },
                item.failed.takeIf { it > 0 }?.let { ui.str(R.string.detail_n_failed, Format.count(ui.strings, it)) },
            )
            holder.counts.text = (counted + ui.str(R.string.detail_first_last, Format.dateTime(ui.strings, item.firstMs, zone), Format.dateTime(ui.strings, item.lastMs, zone)))
                .joinToString(" · ")
            val description = ui.str(R.string.detail_row_description, holder.host.text, word, holder.counts.text)
            (holder.host.parent.parent as View).contentDescription =
                if (owner == null) description else ui.str(R.string.owner_row_description, description, owner)
        }

        override fun newRow(): View {
            val name = ui.text("", Ui.Type.BODY).apply { setSingleLine(); ellipsize = android.text.TextUtils.TruncateAt.MIDDLE }
            // Who is behind the host, when the core's table names it.
            val owner = ui.text("", Ui.Type.CAPTION, p.onSurfaceVariant).apply { setSingleLine(); ellipsize = android.text.TextUtils.TruncateAt.END; visibility = View.GONE }
            val last = ui.text("", Ui.Type.CAPTION).apply { setSingleLine(); ellipsize = android.text.TextUtils.TruncateAt.END }
            val counts = ui.text("", Ui.Type.CAPTION, p.onSurfaceVariant).apply { setSingleLine(); ellipsize = android.text.TextUtils.TruncateAt.END }
            return ui.horizontal().apply {
                minimumHeight = ui.dp(56)
                setPadding(ui.dp(16), ui.dp(8), ui.dp(16), ui.dp(8))
                addView(ui.vertical().apply { addView(name); addView(owner); addView(last); addView(counts) }, Ui.weight(1f))
                addView(ui.text("›", Ui.Type.TITLE, p.onSurfaceVariant))
                tag = Holder(name, owner, last, counts)
            }
        }
    }

    private fun actionWord(a: Action) = ui.str(when (a) { Action.BLOCKED -> R.string.action_blocked; Action.ALLOWED -> R.string.action_allowed; Action.FAILED -> R.string.action_failed })

    override fun onShow() {
        presenter.load()
        capture?.refresh()
    }

    override fun dispose() {
        capture?.dispose()
        presenter.detach()
        icons.dispose()
    }

    companion object {
        const val PREFETCH = 20
        /** The cache's directory of reports: the one res/xml/report_paths.xml lets the provider serve. */
        const val REPORTS_DIR = "reports"
    }
}
