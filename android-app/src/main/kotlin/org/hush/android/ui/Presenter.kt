package org.hush.android.ui

import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext

/**
 * A screen's presenter: holds its one immutable state [S], does its store calls on
 * [io] and hands every new state to the view on [main] (the main thread; a JVM test
 * with no Android looper passes Dispatchers.Unconfined).
 */
abstract class Presenter<S : Any>(
    initial: S,
    protected val io: CoroutineDispatcher,
    main: CoroutineDispatcher = MainDispatcher,
) {
    var state: S = initial
        private set
    private var render: ((S) -> Unit)? = null
    protected val scope = CoroutineScope(SupervisorJob() + main)

    fun attach(render: (S) -> Unit) {
        this.render = render
        render(state)
    }

    fun detach() {
        render = null
        scope.cancel()
    }

    /** Main thread only. */
    protected fun set(next: S) {
        if (next == state) return
        state = next
        render?.invoke(next)
    }

    /**
     * Runs [work] on [io], then [done] with its result, or [failed] with the
     * exception's message (a store's IllegalStateException, an input's
     * IllegalArgumentException, ...), on the main thread.
     */
    protected fun <T> background(work: () -> T, failed: (RuntimeException) -> Unit, done: (T) -> Unit) {
        scope.launch {
            val result = try {
                withContext(io) { Result.success(work()) }
            } catch (e: kotlinx.coroutines.CancellationException) {
                throw e
            } catch (e: RuntimeException) {
                Result.failure<T>(e)
            }
            result.fold(done) { failed(it as RuntimeException) }
        }
    }
}
