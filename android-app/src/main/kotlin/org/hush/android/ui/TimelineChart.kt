package org.hush.android.ui

import android.content.Context
import android.graphics.Canvas
import android.graphics.Paint
import android.graphics.RectF
import android.view.View
import org.hush.android.R
import org.hush.android.data.DayCount

/** Blocked (bottom) and allowed (top) attempts per day, one stacked bar a day. */
class TimelineChart(context: Context, private val palette: Palette) : View(context) {
    private val strings: Strings = ResourceStrings(context)

    var days: List<DayCount> = emptyList()
        set(value) {
            field = value
            contentDescription = value.joinToString("; ") {
                strings.get(R.string.chart_day_description, Format.dayKey(strings, it.day, "MMMEd"), Format.count(strings, it.blocked), Format.count(strings, it.allowed))
            }
            invalidate()
        }

    private val density = resources.displayMetrics.density
    private val blockedPaint = Paint(Paint.ANTI_ALIAS_FLAG).apply { color = palette.blocked }
    private val allowedPaint = Paint(Paint.ANTI_ALIAS_FLAG).apply { color = palette.allowed }
    private val axisPaint = Paint().apply { color = palette.outline; strokeWidth = density }
    private val labelPaint = Paint(Paint.ANTI_ALIAS_FLAG).apply {
        color = palette.onSurfaceVariant
        textSize = android.util.TypedValue.applyDimension(android.util.TypedValue.COMPLEX_UNIT_SP, 11f, resources.displayMetrics)
        textAlign = Paint.Align.CENTER
    }
    private val rect = RectF()

    /** The highest day's total, which the bars scale to. */
    val maxTotal: Long get() = days.maxOfOrNull { it.blocked + it.allowed } ?: 0

    override fun onMeasure(widthMeasureSpec: Int, heightMeasureSpec: Int) {
        val w = MeasureSpec.getSize(widthMeasureSpec)
        setMeasuredDimension(w, resolveSize((160 * density).toInt(), heightMeasureSpec))
    }

    override fun onDraw(canvas: Canvas) {
        val labelSpace = labelPaint.textSize * 1.8f
        val top = labelPaint.textSize * 1.4f
        val bottom = height - labelSpace
        canvas.drawLine(0f, bottom, width.toFloat(), bottom, axisPaint)
        val n = days.size
        if (n == 0) return
        val max = maxTotal.coerceAtLeast(1)
        val slot = width.toFloat() / n
        val bar = slot * 0.62f
        val r = 3 * density
        labelPaint.textAlign = Paint.Align.LEFT
        canvas.drawText(strings.get(R.string.chart_max, Format.count(strings, maxTotal)), 0f, labelPaint.textSize, labelPaint)
        labelPaint.textAlign = Paint.Align.CENTER
        for ((i, d) in days.withIndex()) {
            val cx = slot * i + slot / 2
            val hBlocked = (bottom - top) * d.blocked / max
            val hAllowed = (bottom - top) * d.allowed / max
            rect.set(cx - bar / 2, bottom - hBlocked - hAllowed, cx + bar / 2, bottom - hBlocked)
            if (hAllowed > 0) canvas.drawRoundRect(rect, r, r, allowedPaint)
            rect.set(cx - bar / 2, bottom - hBlocked, cx + bar / 2, bottom)
            if (hBlocked > 0) canvas.drawRoundRect(rect, r, r, blockedPaint)
            if (i % 3 == (n - 1) % 3) {
                val label = Format.dayKey(strings, d.day, "Md")
                val half = labelPaint.measureText(label) / 2
                val x = cx.coerceIn(half, width - half)
                canvas.drawText(label, x, height - labelPaint.textSize * 0.4f, labelPaint)
            }
        }
    }
}
