package org.hush.android.settings

import android.content.Context
import android.content.SharedPreferences
import org.hush.android.R
import org.hush.android.policy.AppMode
import org.hush.android.ui.ResourceStrings
import org.hush.android.ui.Strings
import java.io.File
import java.net.Inet6Address
import java.net.InetAddress

/**
 * The firewall's own settings, kept in the app's SharedPreferences: where allowed DNS
 * queries go, whether Hush starts on boot, whether the user wants it on, and where the
 * activity log lives.
 *
 * Setters validate and throw [SettingRefused] (an [IllegalArgumentException]) with a
 * message to show as is, in the words of the context's locale; the static checks give
 * the reason as data ([SettingProblem]), to be said where the words are known.
 * A stored value this version cannot read (edited by hand, or written by a later
 * version) reads as the default, so a bad file never keeps the firewall from starting.
 */
class HushSettings(context: Context) {
    private val prefs: SharedPreferences =
        context.getSharedPreferences(PREFS_NAME, Context.MODE_PRIVATE)
    private val defaultDatabasePath: String = File(context.filesDir, DATABASE_FILE).path
    private val strings: Strings = ResourceStrings(context)

    /** [problem] said in the owner's words, as the exception a setter throws. */
    private fun refused(problem: SettingProblem): Nothing = throw SettingRefused(problem, problem.words(strings))

    /** Where allowed DNS queries go, "address:port" as the core takes it (e.g. "9.9.9.9:53"). */
    var upstreamDns: String
        get() {
            val stored = prefs.getString(KEY_UPSTREAM_DNS, null) ?: return DEFAULT_UPSTREAM_DNS
            return try {
                DnsServer.parse(stored).toString()
            } catch (e: IllegalArgumentException) {
                DEFAULT_UPSTREAM_DNS
            }
        }
        set(value) {
            val server = try {
                DnsServer.parse(value)
            } catch (e: SettingRefused) {
                refused(e.problem)
            }
            prefs.edit().putString(KEY_UPSTREAM_DNS, server.toString()).apply()
        }

    /**
     * Allowed DNS follows the network's own resolvers (true) or goes to [upstreamDns]
     * (false, the default). Following the network, [upstreamDns] is still used when the
     * network names no resolver.
     */
    var followNetworkDns: Boolean
        get() = prefs.getBoolean(KEY_FOLLOW_NETWORK_DNS, false)
        set(value) {
            prefs.edit().putBoolean(KEY_FOLLOW_NETWORK_DNS, value).apply()
        }

    /** Let apps reach their own DNS over TLS or QUIC (port 853); off: refused. */
    var allowEncryptedDns: Boolean
        get() = prefs.getBoolean(KEY_ALLOW_ENCRYPTED_DNS, false)
        set(value) {
            prefs.edit().putBoolean(KEY_ALLOW_ENCRYPTED_DNS, value).apply()
        }

    /** Remove ECH from HTTPS/SVCB answers (on by default), so apps send a server name Hush can read. */
    var stripEch: Boolean
        get() = prefs.getBoolean(KEY_STRIP_ECH, true)
        set(value) {
            prefs.edit().putBoolean(KEY_STRIP_ECH, value).apply()
        }

    /** Start the firewall when the phone starts (if the VPN permission is still granted). */
    var startOnBoot: Boolean
        get() = prefs.getBoolean(KEY_START_ON_BOOT, false)
        set(value) {
            prefs.edit().putBoolean(KEY_START_ON_BOOT, value).apply()
        }

    /** The user wants the firewall on: set by Start, cleared by Stop and by a revoke. */
    var enabled: Boolean
        get() = prefs.getBoolean(KEY_ENABLED, false)
        set(value) {
            prefs.edit().putBoolean(KEY_ENABLED, value).apply()
        }

    /** The activity log and rules (a SQLite file the core owns); `filesDir/hush.db` unless set. */
    var databasePath: String
        get() {
            val stored = prefs.getString(KEY_DATABASE_PATH, null) ?: return defaultDatabasePath
            return if (databasePathProblem(stored) == null) stored else defaultDatabasePath
        }
        set(value) {
            databasePathProblem(value)?.let { refused(it) }
            prefs.edit().putString(KEY_DATABASE_PATH, value).apply()
        }

    /**
     * The mode a newly installed app starts with, stored for it at install before the
     * owner is asked; null: Hush's default for every app (no rule of its own). A word
     * this version does not know reads as null.
     */
    var newAppMode: AppMode?
        get() = prefs.getString(KEY_NEW_APP_MODE, null)?.let { AppMode.fromWire(it) }
        set(value) {
            prefs.edit().apply { if (value == null) remove(KEY_NEW_APP_MODE) else putString(KEY_NEW_APP_MODE, value.wire) }.apply()
        }

    /**
     * Whether the built-in list [name] (`hush-default`, `hush-adaway`, `hush-doh`) is
     * loaded. Every one is until the owner turns it off on the Lists screen: a new
     * install blocks ads and trackers in general too (AdAway), which the core and
     * `hush run` leave off unless asked (see rust/hush-rules/lists/SOURCES.md).
     */
    fun builtinListEnabled(name: String): Boolean = prefs.getBoolean(KEY_BUILTIN_LIST + name, true)

    fun setBuiltinListEnabled(name: String, enabled: Boolean) {
        prefs.edit().putBoolean(KEY_BUILTIN_LIST + name, enabled).apply()
    }

    /**
     * Automatic list updates run on any network and without charging. Off: only on an
     * unmetered network while charging, so updates cost no mobile data and no battery.
     */
    var listUpdatesAnytime: Boolean
        get() = prefs.getBoolean(KEY_LIST_UPDATES_ANYTIME, false)
        set(value) {
            prefs.edit().putBoolean(KEY_LIST_UPDATES_ANYTIME, value).apply()
        }

    /** Back to the default upstream DNS server and database path. */
    fun resetToDefaults() {
        prefs.edit().remove(KEY_UPSTREAM_DNS).remove(KEY_DATABASE_PATH).apply()
    }

    companion object {
        const val PREFS_NAME = "hush_settings"
        const val DATABASE_FILE = "hush.db"

        /** Quad9: a well-known public resolver that keeps no logs of who asked. */
        const val DEFAULT_UPSTREAM_DNS = "9.9.9.9:53"

        private const val KEY_UPSTREAM_DNS = "upstream_dns"
        private const val KEY_START_ON_BOOT = "start_on_boot"
        private const val KEY_ENABLED = "enabled"
        private const val KEY_DATABASE_PATH = "database_path"
        private const val KEY_BUILTIN_LIST = "builtin_list."
        private const val KEY_LIST_UPDATES_ANYTIME = "list_updates_anytime"
        private const val KEY_NEW_APP_MODE = "new_app_mode"
        private const val KEY_FOLLOW_NETWORK_DNS = "follow_network_dns"
        private const val KEY_ALLOW_ENCRYPTED_DNS = "allow_encrypted_dns"
        private const val KEY_STRIP_ECH = "strip_ech"

        /** Why [text] is not a usable upstream DNS server, or null when it is. */
        fun upstreamDnsProblem(text: String): SettingProblem? = try {
            DnsServer.parse(text)
            null
        } catch (e: SettingRefused) {
            e.problem
        }

        /** Why [path] is not a usable database path, or null when it is. */
        fun databasePathProblem(path: String): SettingProblem? {
            fun no(kind: SettingProblem.Kind, vararg args: String) = SettingProblem(kind, args.toList())
            if (path.isBlank()) return no(SettingProblem.Kind.DB_EMPTY)
            if (path != path.trim()) return no(SettingProblem.Kind.DB_SPACE, path)
            if (path.indexOf('\u0000') >= 0) return no(SettingProblem.Kind.DB_NUL)
            val file = File(path)
            if (!file.isAbsolute) return no(SettingProblem.Kind.DB_RELATIVE, path)
            if (path.endsWith("/")) return no(SettingProblem.Kind.DB_FOLDER, path, path + DATABASE_FILE)
            if (file.isDirectory) return no(SettingProblem.Kind.DB_FOLDER, path, "$path/$DATABASE_FILE")
            return null
        }
    }
}

/**
 * Why a setting was refused, as data ([kind] and the values it names, [args]), so that
 * code without a Context can carry it and a screen say it in the owner's words.
 */
data class SettingProblem(val kind: Kind, val args: List<String> = emptyList()) {
    /** Each reason and its words (res/values/strings.xml), which take [args] in order. */
    enum class Kind(val words: Int) {
        DNS_EMPTY(R.string.refused_dns_empty),
        DNS_IPV6_UNCLOSED(R.string.refused_dns_ipv6_unclosed),
        DNS_IPV6_NO_PORT(R.string.refused_dns_ipv6_no_port),
        DNS_NOT_IPV6(R.string.refused_dns_not_ipv6),
        DNS_IPV6_BRACKETS(R.string.refused_dns_ipv6_brackets),
        DNS_NO_PORT(R.string.refused_dns_no_port),
        DNS_A_NAME(R.string.refused_dns_a_name),
        DNS_IPV4_PART(R.string.refused_dns_ipv4_part),
        DNS_PORT_NOT_NUMBER(R.string.refused_dns_port_not_number),
        DNS_PORT_RANGE(R.string.refused_dns_port_range),
        DNS_NOT_IP(R.string.refused_dns_not_ip),
        DNS_ANY(R.string.refused_dns_any),
        DNS_MULTICAST(R.string.refused_dns_multicast),
        DB_EMPTY(R.string.refused_db_empty),
        DB_SPACE(R.string.refused_db_space),
        DB_NUL(R.string.refused_db_nul),
        DB_RELATIVE(R.string.refused_db_relative),
        DB_FOLDER(R.string.refused_db_folder),
    }

    fun words(s: Strings): String = s.get(kind.words, *args.toTypedArray())
}

/**
 * A refused setting: [problem] as data; the message is its words where they were known
 * (a [HushSettings] setter), else the problem itself (for logs, never shown).
 */
class SettingRefused(val problem: SettingProblem, message: String = problem.toString()) : IllegalArgumentException(message)

/**
 * An upstream DNS server: an IP address literal (no host name: resolving one would
 * need DNS) and a port. Written "9.9.9.9:53" or "[2620:fe::fe]:53".
 */
class DnsServer private constructor(val address: InetAddress, val port: Int) {
    override fun toString(): String = when (address) {
        is Inet6Address -> "[${address.hostAddress}]:$port"
        else -> "${address.hostAddress}:$port"
    }

    override fun equals(other: Any?): Boolean =
        other is DnsServer && other.address == address && other.port == port

    override fun hashCode(): Int = address.hashCode() * 31 + port

    companion object {
        private val IPV4 = Regex("""\d{1,3}(\.\d{1,3}){3}""")
        private val IPV6_CHARS = Regex("""[0-9A-Fa-f:.]+""")

        private fun refuse(kind: SettingProblem.Kind, vararg args: String): Nothing =
            throw SettingRefused(SettingProblem(kind, args.toList()))

        /** @throws SettingRefused naming the problem (as data: [SettingProblem.words] says it). */
        fun parse(input: String): DnsServer {
            val text = input.trim()
            if (text.isEmpty()) {
                refuse(SettingProblem.Kind.DNS_EMPTY)
            }
            val host: String
            val portText: String
            if (text.startsWith("[")) {
                val close = text.indexOf(']')
                if (close < 0) refuse(SettingProblem.Kind.DNS_IPV6_UNCLOSED, text)
                host = text.substring(1, close)
                val rest = text.substring(close + 1)
                if (!rest.startsWith(":") || rest.length == 1) {
                    refuse(SettingProblem.Kind.DNS_IPV6_NO_PORT, text, host)
                }
                portText = rest.substring(1)
                if (!IPV6_CHARS.matches(host) || !host.contains(':')) {
                    refuse(SettingProblem.Kind.DNS_NOT_IPV6, host)
                }
            } else {
                val colons = text.count { it == ':' }
                if (colons > 1) {
                    refuse(SettingProblem.Kind.DNS_IPV6_BRACKETS)
                }
                if (colons == 0) {
                    refuse(SettingProblem.Kind.DNS_NO_PORT, text)
                }
                host = text.substringBefore(':')
                portText = text.substringAfter(':')
                if (!IPV4.matches(host)) {
                    refuse(SettingProblem.Kind.DNS_A_NAME, host)
                }
                if (host.split('.').any { it.toInt() > 255 }) {
                    refuse(SettingProblem.Kind.DNS_IPV4_PART, host)
                }
            }
            val port = portText.toIntOrNull()
            if (port == null || !portText.all { it in '0'..'9' }) {
                refuse(SettingProblem.Kind.DNS_PORT_NOT_NUMBER, portText)
            }
            if (port !in 1..65535) {
                refuse(SettingProblem.Kind.DNS_PORT_RANGE, port.toString())
            }
            // Only literals reach here (digits and dots, or hex digits and colons in
            // brackets), so this never asks DNS.
            val address = try {
                InetAddress.getByName(host)
            } catch (e: Exception) {
                refuse(SettingProblem.Kind.DNS_NOT_IP, host)
            }
            if (address.isAnyLocalAddress) {
                refuse(SettingProblem.Kind.DNS_ANY, host)
            }
            if (address.isMulticastAddress) {
                refuse(SettingProblem.Kind.DNS_MULTICAST, host)
            }
            return DnsServer(address, port)
        }
    }
}
