package org.hush.android.ui

import android.content.ComponentName
import android.content.Context
import android.content.Intent
import android.content.pm.PackageManager
import android.net.Uri
import android.os.Build
import android.os.PowerManager
import android.provider.Settings
import org.hush.android.R

/**
 * What the guidance screen asks of the phone: which system screens open here, and
 * whether Hush is exempt from battery optimisation. [AndroidPhone] on a device; the
 * same over Robolectric's package and power managers in tests.
 */
interface Phone {
    /** The phone maker, lower case (Build.MANUFACTURER), e.g. `xiaomi`, `samsung`. */
    val maker: String
    val packageName: String

    /** Whether an activity on this phone answers [intent]. */
    fun resolves(intent: Intent): Boolean

    /** PowerManager.isIgnoringBatteryOptimizations for Hush; null when it cannot be read. */
    fun ignoringBatteryOptimizations(): Boolean?
}

/** [Phone] from the PackageManager, the PowerManager and Build. */
class AndroidPhone(context: Context, override val maker: String = Build.MANUFACTURER.orEmpty().lowercase()) : Phone {
    private val app = context.applicationContext ?: context
    override val packageName: String = app.packageName

    override fun resolves(intent: Intent): Boolean = try {
        // Explicit OEM components need the package visible: QUERY_ALL_PACKAGES, and <queries> in the manifest.
        app.packageManager.queryIntentActivities(intent, PackageManager.MATCH_DEFAULT_ONLY).isNotEmpty() ||
            app.packageManager.resolveActivity(intent, 0) != null
    } catch (e: RuntimeException) { // a vendor's package manager refusing a component: not there
        false
    }

    override fun ignoringBatteryOptimizations(): Boolean? = try {
        app.getSystemService(PowerManager::class.java)?.isIgnoringBatteryOptimizations(packageName)
    } catch (e: RuntimeException) {
        null
    }
}

/**
 * One thing the owner can do so that Android leaves Hush running. [open]: the system
 * screen to do it on, the first of its candidates that resolves here (null: none does,
 * and [instructions] say where to find it by hand). [done]: whether it is done where
 * Android tells (null: Android does not let an app read it; [doneNote] says so).
 */
data class GuidanceStep(
    val key: String,
    val title: String,
    val instructions: String,
    val open: Intent?,
    val done: Boolean?,
    val doneNote: String,
)

data class GuidanceState(
    val loading: Boolean = true,
    val steps: List<GuidanceStep> = emptyList(),
    val error: String? = null,
)

/**
 * The guidance screen: battery optimisation (stock Android and the makers that add
 * their own killers), autostart, always-on and "Block connections without VPN". Each
 * step offers only a system screen that resolves on this phone, checked with the
 * PackageManager (off the main thread: it is a call into the system server).
 */
class GuidancePresenter(private val deps: UiDeps, private val phone: Phone, private val strings: Strings) :
    Presenter<GuidanceState>(GuidanceState(), deps.io, deps.main) {

    /** Reads the phone again (back from a system screen, a step may be done now). */
    fun load() {
        background({ Guidance.steps(phone, strings, deps.firewall.alwaysOn()) }, failed = { e ->
            set(state.copy(loading = false, error = strings.get(R.string.guidance_error, Format.error(e))))
        }) { steps -> set(GuidanceState(loading = false, steps = steps)) }
    }
}

/** The steps and the system screens behind them. */
object Guidance {
    /**
     * A maker's own screen: the makers it ships with (Build.MANUFACTURER), its words
     * (string ids) and its components, best first.
     */
    class Vendor(val key: String, val makers: Set<String>, val title: Int, val instructions: Int, val components: List<ComponentName>)

    // Component names as public sources give them:
    // - AutoStarter (github.com/judemanutd/AutoStarter, AutoStartPermissionHelper.kt), which
    //   opens the same screens for many makers: MIUI autostart, Samsung's battery screen
    //   (both class names), Huawei's startup manager and protected apps, ColorOS's and
    //   Oppo's startup lists, Vivo's background start-up managers;
    // - dontkillmyapp.com (Xiaomi, Samsung, Huawei, Oppo, Vivo pages) for where each lives and what to set;
    // - the MIUI battery saver page (com.miui.powercenter.PowerSettings): listed with the
    //   autostart one by react-native-background-guardian's OEM notes.
    // Any of these may be missing or renamed on a given firmware: only those that resolve are offered.
    val vendors: List<Vendor> = listOf(
        Vendor(
            "xiaomi-autostart", setOf("xiaomi", "redmi", "poco"), R.string.guidance_xiaomi_autostart_title, R.string.guidance_xiaomi_autostart_text,
            listOf(ComponentName("com.miui.securitycenter", "com.miui.permcenter.autostart.AutoStartManagementActivity")),
        ),
        Vendor(
            "xiaomi-battery", setOf("xiaomi", "redmi", "poco"), R.string.guidance_xiaomi_battery_title, R.string.guidance_xiaomi_battery_text,
            listOf(ComponentName("com.miui.securitycenter", "com.miui.powercenter.PowerSettings")),
        ),
        Vendor(
            "samsung-battery", setOf("samsung"), R.string.guidance_samsung_battery_title, R.string.guidance_samsung_battery_text,
            listOf(
                ComponentName("com.samsung.android.lool", "com.samsung.android.sm.battery.ui.BatteryActivity"),
                ComponentName("com.samsung.android.lool", "com.samsung.android.sm.ui.battery.BatteryActivity"),
            ),
        ),
        Vendor(
            "huawei-launch", setOf("huawei", "honor"), R.string.guidance_huawei_launch_title, R.string.guidance_huawei_launch_text,
            listOf(
                ComponentName("com.huawei.systemmanager", "com.huawei.systemmanager.startupmgr.ui.StartupNormalAppListActivity"),
                ComponentName("com.huawei.systemmanager", "com.huawei.systemmanager.optimize.process.ProtectActivity"),
                ComponentName("com.huawei.systemmanager", "com.huawei.systemmanager.appcontrol.activity.StartupAppControlActivity"),
            ),
        ),
        Vendor(
            "oppo-autostart", setOf("oppo", "realme", "oneplus"), R.string.guidance_oppo_autostart_title, R.string.guidance_oppo_autostart_text,
            listOf(
                ComponentName("com.coloros.safecenter", "com.coloros.safecenter.permission.startup.StartupAppListActivity"),
                ComponentName("com.coloros.safecenter", "com.coloros.safecenter.startupapp.StartupAppListActivity"),
                ComponentName("com.oppo.safe", "com.oppo.safe.permission.startup.StartupAppListActivity"),
            ),
        ),
        Vendor(
            "vivo-background", setOf("vivo", "iqoo"), R.string.guidance_vivo_background_title, R.string.guidance_vivo_background_text,
            listOf(
                ComponentName("com.vivo.permissionmanager", "com.vivo.permissionmanager.activity.BgStartUpManagerActivity"),
                ComponentName("com.iqoo.secure", "com.iqoo.secure.ui.phoneoptimize.AddWhiteListActivity"),
                ComponentName("com.iqoo.secure", "com.iqoo.secure.ui.phoneoptimize.BgStartUpManager"),
            ),
        ),
    )

    /**
     * The steps for [phone]: stock Android's always, a maker's where its screen resolves or
     * the maker is it. [alwaysOn]: what Android says of always-on and "Block connections
     * without VPN" (it says so only to the running VPN; null: not known).
     */
    fun steps(phone: Phone, s: Strings, alwaysOn: org.hush.android.vpn.AlwaysOn? = null): List<GuidanceStep> {
        val out = ArrayList<GuidanceStep>()
        val battery = firstResolving(phone, batteryIntents(phone.packageName))
        val ignoring = phone.ignoringBatteryOptimizations()
        val batteryNote = when (ignoring) {
            true -> R.string.guidance_done
            false -> R.string.guidance_not_done
            null -> R.string.guidance_cannot_tell_battery
        }
        out.add(GuidanceStep(
            "battery", s.get(R.string.guidance_battery_title), s.get(R.string.guidance_battery_text), battery, ignoring, s.get(batteryNote),
        ))
        for (v in vendors) {
            val open = firstResolving(phone, v.components.map { Intent().setComponent(it).addFlags(Intent.FLAG_ACTIVITY_NEW_TASK) })
            if (open == null && phone.maker !in v.makers) continue // another maker's phone: not a step here
            out.add(GuidanceStep(v.key, s.get(v.title), s.get(v.instructions), open, null, s.get(R.string.guidance_cannot_tell_vendor)))
        }
        val vpn = firstResolving(phone, listOf(Intent(Settings.ACTION_VPN_SETTINGS)))
        val alwaysOnNote = when {
            alwaysOn == null -> R.string.guidance_always_on_unknown
            alwaysOn.alwaysOn && alwaysOn.lockdown -> R.string.guidance_always_on_both
            alwaysOn.alwaysOn -> R.string.guidance_always_on_no_lockdown
            else -> R.string.guidance_always_on_off
        }
        out.add(GuidanceStep(
            "always-on", s.get(R.string.guidance_always_on_title), s.get(R.string.guidance_always_on_text), vpn,
            alwaysOn?.let { it.alwaysOn && it.lockdown }, s.get(alwaysOnNote),
        ))
        return out
    }

    /**
     * Stock Android's battery screens, best first: the list of apps and their
     * optimisation (needs no permission, unlike the direct request), then Hush's App info.
     */
    fun batteryIntents(packageName: String): List<Intent> = listOf(
        Intent(Settings.ACTION_IGNORE_BATTERY_OPTIMIZATION_SETTINGS),
        Intent(Settings.ACTION_APPLICATION_DETAILS_SETTINGS, Uri.fromParts("package", packageName, null)),
    )

    private fun firstResolving(phone: Phone, candidates: List<Intent>): Intent? = candidates.firstOrNull { phone.resolves(it) }
}
