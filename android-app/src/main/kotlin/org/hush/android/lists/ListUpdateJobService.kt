package org.hush.android.lists

import android.app.job.JobInfo
import android.app.job.JobParameters
import android.app.job.JobScheduler
import android.app.job.JobService
import android.content.ComponentName
import android.content.Context
import android.util.Log

/**
 * Automatic list updates: once a day, by default only on an unmetered network while
 * charging (a setting relaxes both), JobScheduler runs this to download the enabled
 * lists the owner added and tell a running session to reload them. Scheduled only
 * while at least one such list exists: Hush sends nothing on its own.
 */
class ListUpdateJobService : JobService() {
    /** The running update, if any (tests wait on it). */
    @Volatile var worker: Thread? = null
        private set

    override fun onStartJob(params: JobParameters): Boolean {
        val updater = updaterFor?.invoke(applicationContext) ?: return false
        worker = Thread({
            try {
                val outcome = updater.updateAll()
                Log.i(TAG, "list update: ${outcome.updated} updated, ${outcome.failed} failed")
            } finally {
                // Failures are recorded per list and shown; the next period tries again.
                jobFinished(params, false)
            }
        }, "hush-list-update").apply { start() }
        return true
    }

    override fun onStopJob(params: JobParameters): Boolean {
        // A download cut off leaves only its temporary file; the copy in use stays.
        worker?.interrupt()
        return true
    }

    companion object {
        const val JOB_ID = 0x4c495354 // "LIST"
        const val PERIOD_MS = 24L * 60 * 60 * 1000
        private const val TAG = "HushLists"

        /** How the job gets its updater: set by the app at start (AppWiring), by a test otherwise. */
        @Volatile var updaterFor: ((Context) -> ListUpdater)? = null

        /** The job as it is scheduled: daily; unmetered and charging unless [anytime]. */
        fun jobInfo(context: Context, anytime: Boolean): JobInfo =
            JobInfo.Builder(JOB_ID, ComponentName(context, ListUpdateJobService::class.java))
                .setPeriodic(PERIOD_MS)
                .setRequiredNetworkType(if (anytime) JobInfo.NETWORK_TYPE_ANY else JobInfo.NETWORK_TYPE_UNMETERED)
                .setRequiresCharging(!anytime)
                .setPersisted(true)
                .build()

        /**
         * Schedules the daily update when an enabled list was added by URL, cancels it
         * when none is. Scheduling again with the same constraints keeps the period.
         */
        @Suppress("DEPRECATION") // networkType: the one network constraint this job sets
        fun sync(context: Context, subscriptions: ListSubscriptions, anytime: Boolean) {
            val scheduler = context.getSystemService(JobScheduler::class.java) ?: return
            if (subscriptions.all().none { it.enabled }) {
                scheduler.cancel(JOB_ID)
                return
            }
            val wanted = jobInfo(context, anytime)
            val current = scheduler.getPendingJob(JOB_ID)
            if (current != null && current.networkType == wanted.networkType &&
                current.isRequireCharging == wanted.isRequireCharging && current.intervalMillis == wanted.intervalMillis
            ) {
                return
            }
            scheduler.schedule(wanted)
        }
    }
}
