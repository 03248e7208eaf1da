package org.hush.android.ui

import android.content.Intent
import android.graphics.Bitmap
import android.graphics.Canvas
import android.os.Looper
import android.view.View
import android.view.ViewGroup
import android.widget.TextView
import org.junit.Assert.assertTrue
import org.robolectric.Robolectric
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.android.controller.ActivityController
import java.io.File

/** Launching MainActivity on fake data, and reading what the views show. */
object UiTest {
    fun launch(world: SampleData.World, tab: MainActivity.Tab = MainActivity.Tab.HOME): ActivityController<MainActivity> {
        HushUi.deps = world.deps
        val intent = Intent(RuntimeEnvironment.getApplication(), MainActivity::class.java)
            .putExtra(MainActivity.EXTRA_TAB, tab.name)
        val controller = Robolectric.buildActivity(MainActivity::class.java, intent).setup()
        idle()
        return controller
    }

    fun idle() = shadowOf(Looper.getMainLooper()).idle()

    /** Waits (up to 5 s) for work on other threads, running the main looper meanwhile. */
    fun await(what: String, done: () -> Boolean) {
        val end = System.currentTimeMillis() + 5_000
        while (true) {
            idle()
            if (done()) return
            if (System.currentTimeMillis() > end) throw AssertionError("timed out waiting for $what")
            Thread.sleep(5)
        }
    }

    /** Every shown text under [view], in order. */
    fun texts(view: View): List<String> {
        val out = ArrayList<String>()
        fun walk(v: View) {
            if (v.visibility != View.VISIBLE) return
            if (v is TextView && v.text.isNotEmpty()) out.add(v.text.toString())
            if (v is ViewGroup) for (i in 0 until v.childCount) walk(v.getChildAt(i))
        }
        walk(view)
        return out
    }

    fun assertShows(view: View, text: String) {
        val all = texts(view)
        assertTrue("\"$text\" not shown; shown: $all", all.any { it.contains(text) })
    }

    fun assertNotShown(view: View, text: String) {
        val all = texts(view)
        assertTrue("\"$text\" shown: $all", all.none { it.contains(text) })
    }

    /** The first view under [view] that shows exactly [text] (or contains it). */
    fun find(view: View, text: String): TextView {
        var found: TextView? = null
        fun walk(v: View) {
            if (found != null || v.visibility != View.VISIBLE) return
            if (v is TextView && v.text.toString().contains(text)) { found = v; return }
            if (v is ViewGroup) for (i in 0 until v.childCount) walk(v.getChildAt(i))
        }
        walk(view)
        return found ?: throw AssertionError("no view shows \"$text\"; shown: ${texts(view)}")
    }

    /** Clicks the nearest clickable view at or above the one showing [text]. */
    fun click(view: View, text: String) {
        var v: View? = find(view, text)
        while (v != null && !v.isClickable) v = v.parent as? View
        (v ?: throw AssertionError("nothing clickable shows \"$text\"")).performClick()
        idle()
    }

    /** Lays out and draws [root] at its window's size into a bitmap. */
    fun draw(root: View): Bitmap {
        val dm = root.resources.displayMetrics
        val w = dm.widthPixels
        val h = dm.heightPixels
        root.measure(View.MeasureSpec.makeMeasureSpec(w, View.MeasureSpec.EXACTLY), View.MeasureSpec.makeMeasureSpec(h, View.MeasureSpec.EXACTLY))
        root.layout(0, 0, w, h)
        val bitmap = Bitmap.createBitmap(w, h, Bitmap.Config.ARGB_8888)
        root.draw(Canvas(bitmap))
        return bitmap
    }

    /** Distinct colours in a grid sample of [bitmap]: 1 for a blank one. */
    fun colourVariety(bitmap: Bitmap): Int {
        val seen = HashSet<Int>()
        var y = 0
        while (y < bitmap.height) {
            var x = 0
            while (x < bitmap.width) { seen.add(bitmap.getPixel(x, y)); x += 3 }
            y += 3
        }
        return seen.size
    }

    /** android-app/build/NAME, from wherever the harness runs. */
    fun buildDir(name: String): File {
        var dir: File? = File(System.getProperty("user.dir")).absoluteFile
        while (dir != null && !File(dir, "android-app/src/main/AndroidManifest.xml").exists()) dir = dir.parentFile
        val root = dir ?: File(System.getProperty("user.dir"))
        return File(root, "android-app/build/$name").apply { mkdirs() }
    }
}
