package org.hush.android.ui

import android.view.View
import android.view.ViewGroup
import android.widget.BaseAdapter

/**
 * A recycling ListView adapter: a row view is built ([newRow], its tag the holder
 * of its views) only when the ListView has none to reuse, then rebound ([bind]) for
 * each item it shows. So a list of thousands builds a screenful of rows.
 */
abstract class RowsAdapter<T, H> : BaseAdapter() {
    var items: List<T> = emptyList()

    /** Row views built so far (the rest were recycled). */
    var viewsCreated = 0
        private set

    override fun getCount() = items.size
    override fun getItem(position: Int): T = items[position]
    override fun getItemId(position: Int) = position.toLong()

    override fun getView(position: Int, convertView: View?, parent: ViewGroup): View {
        val view = convertView ?: newRow().also { viewsCreated++ }
        @Suppress("UNCHECKED_CAST")
        bind(view.tag as H, items[position])
        return view
    }

    /** A new row, with its holder as its tag. */
    protected abstract fun newRow(): View

    protected abstract fun bind(holder: H, item: T)
}
