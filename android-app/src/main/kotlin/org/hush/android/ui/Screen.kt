package org.hush.android.ui

import android.content.Context
import android.net.Uri
import android.view.View

/** What a screen needs from the activity hosting it. */
interface ScreenHost {
    val context: Context
    val ui: Ui
    val deps: UiDeps

    /** Opens App detail for [uid] (null: attempts whose owner was not known). */
    fun openAppDetail(uid: Int?, label: String)

    /** Opens the Rules screen (every domain rule, searched, removable). */
    fun openRules()

    /** Opens the guidance screen: how to keep Android from stopping Hush. */
    fun openGuidance()

    /** Opens the actions on a host (block, allow, remove the rule) as a bottom sheet. */
    fun openHostActions(target: HostTarget)

    /** Shows what a rule change did, with Undo, at the bottom of the screen. */
    fun showUndo(change: RuleChange)

    /** Asks the system file picker for a new document (ACTION_CREATE_DOCUMENT); null when cancelled. */
    fun createDocument(mimeType: String, fileName: String, onResult: (Uri?) -> Unit)

    /** Leaves a pushed screen (App detail, Rules). */
    fun back()
}

/** One screen: its view, built in code, rendering its presenter's state. */
abstract class Screen(val host: ScreenHost) {
    val ui: Ui get() = host.ui
    abstract val view: View

    /** Now on screen (again): refresh what may have changed. */
    open fun onShow() {}
    open fun onHide() {}

    /** Gone for good: stop listening and cancel loads. */
    abstract fun dispose()
}
