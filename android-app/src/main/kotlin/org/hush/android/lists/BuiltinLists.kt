package org.hush.android.lists

import org.hush.android.core.NativeCore
import org.json.JSONArray

/**
 * A list built into Hush's core, as its catalogue describes it. [entries] is what the
 * core's parser counts in it, never a number written in the app.
 */
data class BuiltinList(
    /** What the core loads it under, and what an event's reason names (`list:NAME`). */
    val name: String,
    val title: String,
    val licence: String,
    val source: String,
    val entries: Long,
)

/** A built-in list and whether the owner has it on. */
data class BuiltinChoice(val list: BuiltinList, val enabled: Boolean)

object BuiltinLists {
    const val VENDOR = "hush-default"
    const val ADAWAY = "hush-adaway"
    const val DOH = "hush-doh"

    /** The core's catalogue JSON (`builtinLists`): `[{"name", "title", "licence", "source", "entries"}]`. */
    fun parse(json: String): List<BuiltinList> {
        val array = JSONArray(json)
        return (0 until array.length()).map {
            val o = array.getJSONObject(it)
            BuiltinList(o.getString("name"), o.getString("title"), o.getString("licence"), o.getString("source"), o.getLong("entries"))
        }
    }

    /** The catalogue from the native library: each list is parsed once, so keep it. */
    val native: List<BuiltinList> by lazy { parse(NativeCore.builtinLists()) }
}
