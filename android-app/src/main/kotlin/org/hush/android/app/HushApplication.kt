package org.hush.android.app

import android.app.Application

/** Hush's process: wires the app together before any screen, service or receiver runs. */
class HushApplication : Application() {
    override fun onCreate() {
        super.onCreate()
        AppWiring.install(this)
    }
}
