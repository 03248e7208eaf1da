package org.hush.android.ui

import android.content.Context
import android.content.res.ColorStateList
import android.content.res.Configuration
import android.graphics.Canvas
import android.graphics.Color
import android.graphics.ColorFilter
import android.graphics.Paint
import android.graphics.PixelFormat
import android.graphics.Typeface
import android.graphics.drawable.Drawable
import android.graphics.drawable.GradientDrawable
import android.graphics.drawable.RippleDrawable
import android.os.Build
import android.util.TypedValue
import android.view.Gravity
import android.view.View
import android.view.ViewGroup
import android.widget.LinearLayout
import android.widget.TextView

/** The colours every screen draws with: Material-like roles, day or night. */
data class Palette(
    val night: Boolean,
    /** From the platform's wallpaper colours (API 31+), not the fixed palette. */
    val dynamic: Boolean,
    val primary: Int,
    val onPrimary: Int,
    val primaryContainer: Int,
    val onPrimaryContainer: Int,
    val background: Int,
    val surface: Int,
    val surfaceVariant: Int,
    val onSurface: Int,
    val onSurfaceVariant: Int,
    val outline: Int,
    val error: Int,
    val errorContainer: Int,
    val onErrorContainer: Int,
    val blocked: Int,
    val allowed: Int,
) {
    companion object {
        fun isNight(context: Context): Boolean =
            context.resources.configuration.uiMode and Configuration.UI_MODE_NIGHT_MASK ==
                Configuration.UI_MODE_NIGHT_YES

        /** Night from Configuration.uiMode; dynamic colour on API 31+ when [dynamic] and available. */
        fun of(context: Context, dynamic: Boolean = true): Palette {
            val night = isNight(context)
            val fixed = if (night) NIGHT else DAY
            if (!dynamic || Build.VERSION.SDK_INT < 31) return fixed
            return try {
                dynamicPalette(context, fixed)
            } catch (e: RuntimeException) { // a platform without the colour resources
                fixed
            }
        }

        private fun dynamicPalette(context: Context, fixed: Palette): Palette {
            fun c(id: Int) = context.getColor(id)
            return if (fixed.night) fixed.copy(
                dynamic = true,
                primary = c(android.R.color.system_accent1_200),
                onPrimary = c(android.R.color.system_accent1_800),
                primaryContainer = c(android.R.color.system_accent1_700),
                onPrimaryContainer = c(android.R.color.system_accent1_100),
                background = c(android.R.color.system_neutral1_900),
                surface = c(android.R.color.system_neutral1_800),
                surfaceVariant = c(android.R.color.system_neutral2_700),
                onSurface = c(android.R.color.system_neutral1_100),
                onSurfaceVariant = c(android.R.color.system_neutral2_200),
                outline = c(android.R.color.system_neutral2_400),
            ) else fixed.copy(
                dynamic = true,
                primary = c(android.R.color.system_accent1_600),
                onPrimary = c(android.R.color.system_accent1_0),
                primaryContainer = c(android.R.color.system_accent1_100),
                onPrimaryContainer = c(android.R.color.system_accent1_900),
                background = c(android.R.color.system_neutral1_10),
                surface = c(android.R.color.system_neutral1_50),
                surfaceVariant = c(android.R.color.system_neutral2_100),
                onSurface = c(android.R.color.system_neutral1_900),
                onSurfaceVariant = c(android.R.color.system_neutral2_700),
                outline = c(android.R.color.system_neutral2_500),
            )
        }

        /** The fixed palette (below API 31, or without dynamic colour): a green privacy tone. */
        val DAY = Palette(
            night = false, dynamic = false,
            primary = 0xFF1B6B50.toInt(), onPrimary = 0xFFFFFFFF.toInt(),
            primaryContainer = 0xFFA6F2CC.toInt(), onPrimaryContainer = 0xFF002116.toInt(),
            background = 0xFFF5FBF5.toInt(), surface = 0xFFFFFFFF.toInt(),
            surfaceVariant = 0xFFDBE5DD.toInt(), onSurface = 0xFF171D1A.toInt(),
            onSurfaceVariant = 0xFF404943.toInt(), outline = 0xFF707973.toInt(),
            error = 0xFFBA1A1A.toInt(), errorContainer = 0xFFFFDAD6.toInt(),
            onErrorContainer = 0xFF410002.toInt(),
            blocked = 0xFFC62828.toInt(), allowed = 0xFF2E7D32.toInt(),
        )
        val NIGHT = Palette(
            night = true, dynamic = false,
            primary = 0xFF8AD6B0.toInt(), onPrimary = 0xFF003826.toInt(),
            primaryContainer = 0xFF00513A.toInt(), onPrimaryContainer = 0xFFA6F2CC.toInt(),
            background = 0xFF0F1512.toInt(), surface = 0xFF1B211E.toInt(),
            surfaceVariant = 0xFF404943.toInt(), onSurface = 0xFFDEE4DF.toInt(),
            onSurfaceVariant = 0xFFBFC9C1.toInt(), outline = 0xFF8A938C.toInt(),
            error = 0xFFFFB4AB.toInt(), errorContainer = 0xFF93000A.toInt(),
            onErrorContainer = 0xFFFFDAD6.toInt(),
            blocked = 0xFFFF8A80.toInt(), allowed = 0xFF81C784.toInt(),
        )
    }
}

/** The type scale (sp) and the dp helpers, with the views every screen builds from. */
class Ui(val context: Context, val palette: Palette) {
    /** The app's words in the context's locale, for screens and the presenters they make. */
    val strings: Strings = ResourceStrings(context)

    fun dp(v: Int): Int = (v * context.resources.displayMetrics.density + 0.5f).toInt()
    fun dpf(v: Float): Float = v * context.resources.displayMetrics.density

    /** A word from res/values/strings.xml. */
    fun str(id: Int, vararg args: Any): String = strings.get(id, *args)

    /** A vector drawable from res/drawable (ic_nav_*, ic_action_*), tinted [color], [sizeDp] square. */
    fun icon(id: Int, color: Int, sizeDp: Int = 24): Drawable =
        checkNotNull(context.getDrawable(id)) { "no drawable $id" }.mutate().apply {
            setTint(color)
            setBounds(0, 0, dp(sizeDp), dp(sizeDp))
        }

    /** Puts [icon] before [view]'s text (after it in right-to-left languages). */
    fun leadingIcon(view: TextView, icon: Drawable?, paddingDp: Int = 6) {
        view.setCompoundDrawablesRelative(icon, null, null, null)
        view.compoundDrawablePadding = dp(paddingDp)
    }

    enum class Type(val sp: Float, val bold: Boolean) {
        HEADLINE(24f, false), TITLE(20f, true), TITLE_SMALL(16f, true),
        BODY(14f, false), LABEL(12f, true), CAPTION(12f, false), NUMBER(28f, true),
    }

    fun text(value: CharSequence, type: Type = Type.BODY, color: Int = palette.onSurface): TextView =
        TextView(context).apply {
            text = value
            setTextSize(TypedValue.COMPLEX_UNIT_SP, type.sp)
            setTextColor(color)
            if (type.bold) typeface = Typeface.create("sans-serif-medium", Typeface.NORMAL)
        }

    fun rounded(color: Int, radiusDp: Int = 16, strokeColor: Int? = null): GradientDrawable =
        GradientDrawable().apply {
            setColor(color)
            cornerRadius = dpf(radiusDp.toFloat())
            if (strokeColor != null) setStroke(dp(1), strokeColor)
        }

    /** A Material card: surface colour, rounded, 16dp padding, 16dp side margins. */
    fun card(): LinearLayout = LinearLayout(context).apply {
        orientation = LinearLayout.VERTICAL
        background = rounded(palette.surface, 16, if (palette.night) null else palette.surfaceVariant)
        setPadding(dp(16), dp(16), dp(16), dp(16))
        layoutParams = LinearLayout.LayoutParams(
            ViewGroup.LayoutParams.MATCH_PARENT, ViewGroup.LayoutParams.WRAP_CONTENT,
        ).apply { setMargins(dp(16), dp(8), dp(16), dp(8)) }
    }

    fun vertical(): LinearLayout = LinearLayout(context).apply { orientation = LinearLayout.VERTICAL }
    fun horizontal(): LinearLayout = LinearLayout(context).apply {
        orientation = LinearLayout.HORIZONTAL
        gravity = Gravity.CENTER_VERTICAL
    }

    /** A filled (primary) or outlined button, as a clickable TextView. */
    fun button(label: String, filled: Boolean = true, onClick: () -> Unit): TextView =
        text(label, Type.LABEL, if (filled) palette.onPrimary else palette.primary).apply {
            setTextSize(TypedValue.COMPLEX_UNIT_SP, 14f)
            gravity = Gravity.CENTER
            minHeight = dp(40)
            setPadding(dp(20), dp(8), dp(20), dp(8))
            val shape = if (filled) rounded(palette.primary, 20) else rounded(0, 20, palette.outline)
            background = RippleDrawable(ColorStateList.valueOf(palette.primary and 0x33FFFFFF), shape, null)
            isClickable = true
            isFocusable = true
            setOnClickListener { onClick() }
        }

    /** A small tonal chip (e.g. an app's mode on a network). */
    fun chip(label: String, onClick: (() -> Unit)?): TextView =
        text(label, Type.LABEL, palette.onPrimaryContainer).apply {
            background = rounded(palette.primaryContainer, 8)
            setPadding(dp(8), dp(6), dp(8), dp(6))
            if (onClick != null) {
                isClickable = true
                setOnClickListener { onClick() }
            }
        }

    /** An error message on the screen (hidden when [message] is null). */
    fun errorBanner(): TextView = text("", Type.BODY, palette.onErrorContainer).apply {
        background = rounded(palette.errorContainer, 12)
        setPadding(dp(16), dp(12), dp(16), dp(12))
        layoutParams = LinearLayout.LayoutParams(
            ViewGroup.LayoutParams.MATCH_PARENT, ViewGroup.LayoutParams.WRAP_CONTENT,
        ).apply { setMargins(dp(16), dp(8), dp(16), dp(8)) }
        visibility = View.GONE
    }

    fun screenTitle(title: String): TextView = text(title, Type.HEADLINE).apply {
        setPadding(dp(16), dp(20), dp(16), dp(8))
    }

    /** A filled text field (16sp). */
    fun field(hint: String, inputType: Int): android.widget.EditText = android.widget.EditText(context).apply {
        this.hint = hint
        this.inputType = inputType
        setSingleLine()
        setTextSize(TypedValue.COMPLEX_UNIT_SP, 16f)
        setTextColor(palette.onSurface)
        setHintTextColor(palette.onSurfaceVariant)
        background = rounded(palette.surfaceVariant, 12)
        setPadding(dp(12), dp(10), dp(12), dp(10))
    }

    /** A search box: a [field] in a pill, for filtering a list as one types. */
    fun searchField(hint: String): android.widget.EditText =
        field(hint, android.text.InputType.TYPE_CLASS_TEXT).apply {
            background = rounded(palette.surfaceVariant, 24)
            setPadding(dp(16), dp(10), dp(16), dp(10))
        }

    fun divider(): View = View(context).apply {
        setBackgroundColor(palette.surfaceVariant)
        layoutParams = LinearLayout.LayoutParams(ViewGroup.LayoutParams.MATCH_PARENT, dp(1))
    }

    companion object {
        fun matchWrap() = LinearLayout.LayoutParams(
            ViewGroup.LayoutParams.MATCH_PARENT, ViewGroup.LayoutParams.WRAP_CONTENT,
        )
        fun weight(w: Float) = LinearLayout.LayoutParams(0, ViewGroup.LayoutParams.WRAP_CONTENT, w)
    }
}

fun TextView.showError(message: String?) {
    text = message ?: ""
    visibility = if (message == null) View.GONE else View.VISIBLE
}

/** An app's placeholder icon: its initial on a tinted circle (also for UIDs with no package). */
class LetterIcon(private val letter: String, private val fill: Int, private val ink: Int) : Drawable() {
    private val circle = Paint(Paint.ANTI_ALIAS_FLAG).apply { color = fill }
    private val textPaint = Paint(Paint.ANTI_ALIAS_FLAG).apply {
        color = ink
        textAlign = Paint.Align.CENTER
        typeface = Typeface.DEFAULT_BOLD
    }

    override fun draw(canvas: Canvas) {
        val b = bounds
        val r = minOf(b.width(), b.height()) / 2f
        canvas.drawCircle(b.exactCenterX(), b.exactCenterY(), r, circle)
        textPaint.textSize = r
        val y = b.exactCenterY() - (textPaint.descent() + textPaint.ascent()) / 2
        canvas.drawText(letter, b.exactCenterX(), y, textPaint)
    }

    override fun setAlpha(alpha: Int) { circle.alpha = alpha; textPaint.alpha = alpha }
    override fun setColorFilter(colorFilter: ColorFilter?) { circle.colorFilter = colorFilter }
    @Deprecated("Deprecated in Java")
    override fun getOpacity(): Int = PixelFormat.TRANSLUCENT

    companion object {
        fun of(label: String, palette: Palette): LetterIcon {
            val letter = label.trim().firstOrNull()?.uppercaseChar()?.toString() ?: "?"
            return LetterIcon(letter, palette.primaryContainer, palette.onPrimaryContainer)
        }
    }
}

internal fun withAlpha(color: Int, alpha: Int): Int = Color.argb(alpha, Color.red(color), Color.green(color), Color.blue(color))
