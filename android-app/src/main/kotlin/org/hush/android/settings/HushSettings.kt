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
     * Where allowed DNS goes: the network's own resolvers, [upstreamDns], or an encrypted
     * server ([encryptedDns]). Stored as its own word; an install from before the choice
     * had one reads its old switch (the network's, else the address), and the switch is
     * kept in step so that an older version reads the nearest plain choice.
     * @throws SettingRefused for DNS over TLS or HTTPS while no server of that kind is saved.
     */
    var upstreamChoice: UpstreamChoice
        get() {
            val stored = UpstreamChoice.fromWire(prefs.getString(KEY_UPSTREAM_CHOICE, null))
            if (stored != null) return stored
            return if (prefs.getBoolean(KEY_FOLLOW_NETWORK_DNS, false)) UpstreamChoice.NETWORK else UpstreamChoice.ADDRESS
        }
        set(value) {
            if (value.encrypted && storedEncrypted(value == UpstreamChoice.HTTPS) == null) {
                refused(SettingProblem(SettingProblem.Kind.ENC_NONE))
            }
            prefs.edit()
                .putString(KEY_UPSTREAM_CHOICE, value.wire)
                .putBoolean(KEY_FOLLOW_NETWORK_DNS, value == UpstreamChoice.NETWORK)
                .apply()
        }

    /**
     * Allowed DNS follows the network's own resolvers ([UpstreamChoice.NETWORK]; [upstreamDns]
     * when the network names none). Setting it chooses the network's (true) or the address (false).
     */
    var followNetworkDns: Boolean
        get() = upstreamChoice == UpstreamChoice.NETWORK
        set(value) {
            upstreamChoice = if (value) UpstreamChoice.NETWORK else UpstreamChoice.ADDRESS
        }

    /** The DNS-over-TLS ([https] false) or DNS-over-HTTPS server saved, chosen or not; null when none is. */
    fun encryptedDns(https: Boolean): EncryptedDns? = storedEncrypted(https)

    /** Saves [server] as the DNS-over-TLS or -HTTPS server (it does not choose it: [upstreamChoice]). */
    fun setEncryptedDns(server: EncryptedDns) {
        val (urlKey, addressesKey) = if (server.https) KEY_DOH_URL to KEY_DOH_ADDRESSES else KEY_DOT_URL to KEY_DOT_ADDRESSES
        prefs.edit().putString(urlKey, server.url).putString(addressesKey, server.addresses.joinToString(",")).apply()
    }

    /**
     * The encrypted server allowed DNS goes to, when one is chosen; null for the network's
     * resolvers or an address.
     * @throws IllegalStateException when one is chosen but what is stored cannot be read
     *   (edited by hand): the start fails saying so, rather than sending DNS in clear text.
     */
    val encryptedUpstream: EncryptedDns?
        get() {
            val choice = upstreamChoice
            if (!choice.encrypted) return null
            return storedEncrypted(choice == UpstreamChoice.HTTPS)
                ?: throw IllegalStateException(SettingProblem(SettingProblem.Kind.ENC_UNREADABLE).words(strings))
        }

    private fun storedEncrypted(https: Boolean): EncryptedDns? {
        val url = prefs.getString(if (https) KEY_DOH_URL else KEY_DOT_URL, null) ?: return null
        val addresses = prefs.getString(if (https) KEY_DOH_ADDRESSES else KEY_DOT_ADDRESSES, null) ?: ""
        return try {
            EncryptedDns.parse(https, url, addresses)
        } catch (e: SettingRefused) {
            null
        }
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
        private const val KEY_UPSTREAM_CHOICE = "upstream_choice"
        private const val KEY_DOT_URL = "dot_url"
        private const val KEY_DOT_ADDRESSES = "dot_addresses"
        private const val KEY_DOH_URL = "doh_url"
        private const val KEY_DOH_ADDRESSES = "doh_addresses"

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
        ENC_EMPTY(R.string.refused_enc_empty),
        ENC_SCHEME(R.string.refused_enc_scheme),
        ENC_HTTP(R.string.refused_enc_http),
        ENC_MALFORMED(R.string.refused_enc_malformed),
        ENC_NAME(R.string.refused_enc_name),
        ENC_PORT(R.string.refused_enc_port),
        ENC_TLS_PATH(R.string.refused_enc_tls_path),
        ENC_NO_ADDRESS(R.string.refused_enc_no_address),
        ENC_BAD_ADDRESS(R.string.refused_enc_bad_address),
        ENC_TOO_MANY(R.string.refused_enc_too_many),
        ENC_NONE(R.string.refused_enc_none),
        ENC_UNREADABLE(R.string.refused_enc_unreadable),
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

/** Where allowed DNS goes. [wire] is the stored word. */
enum class UpstreamChoice(val wire: String) {
    /** The DNS servers of the network in use, followed on every change. */
    NETWORK("network"),
    /** Plain DNS to [HushSettings.upstreamDns]. */
    ADDRESS("address"),
    /** DNS over TLS (RFC 7858) to the saved server. */
    TLS("tls"),
    /** DNS over HTTPS (RFC 8484) to the saved server. */
    HTTPS("https");

    val encrypted: Boolean get() = this == TLS || this == HTTPS

    companion object {
        fun fromWire(word: String?): UpstreamChoice? = values().firstOrNull { it.wire == word }
    }
}

/**
 * An encrypted DNS server as the core takes it (`upstream` in the start JSON): [url]
 * `tls://NAME[:PORT]` or `https://NAME[:PORT]/PATH`, and [addresses], the IP addresses
 * NAME is reached at. The name is never looked up in clear text (that would tell the
 * network every lookup's server, and could be answered falsely), so it needs them;
 * its certificate is checked against NAME. The rules are the core's
 * (`hush_engine::upstream::Upstream::parse`), checked here first so the owner hears
 * what is wrong in words while typing, not at the next start.
 */
class EncryptedDns private constructor(val https: Boolean, val url: String, val host: String, val addresses: List<String>) {
    /** What the server field shows: the name (and port) for TLS, the whole URL for HTTPS. */
    val server: String get() = if (https) url else url.removePrefix(TLS_SCHEME)

    override fun equals(other: Any?): Boolean =
        other is EncryptedDns && other.https == https && other.url == url && other.addresses == addresses

    override fun hashCode(): Int = (url.hashCode() * 31 + addresses.hashCode()) * 2 + if (https) 1 else 0

    override fun toString(): String = "EncryptedDns($url, $addresses)"

    companion object {
        const val TLS_SCHEME = "tls://"
        const val HTTPS_SCHEME = "https://"
        /** The path of an `https://` URL that names none (RFC 8484's example), as the core adds it. */
        const val DOH_PATH = "/dns-query"
        /** More addresses than any server needs: a list this long is a paste gone wrong. */
        const val MAX_ADDRESSES = 8

        private val IPV4 = Regex("""\d{1,3}(\.\d{1,3}){3}""")
        private val IPV6_CHARS = Regex("""[0-9A-Fa-f:.]+""")
        private val LABEL = Regex("""[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?""")
        private val SEPARATORS = Regex("""[,;\s]+""")

        private fun refuse(kind: SettingProblem.Kind, vararg args: String): Nothing =
            throw SettingRefused(SettingProblem(kind, args.toList()))

        /**
         * Reads [server] (a name, `name:port`, or a `tls://`/`https://` URL; for HTTPS a
         * path, `/dns-query` if none) and [addresses] (IP addresses separated by commas
         * or spaces) as a DNS-over-TLS ([https] false) or DNS-over-HTTPS server.
         * @throws SettingRefused naming the problem (as data: [SettingProblem.words] says it).
         */
        fun parse(https: Boolean, server: String, addresses: String): EncryptedDns {
            val text = server.trim()
            if (text.isEmpty()) refuse(SettingProblem.Kind.ENC_EMPTY)
            val scheme = text.substringBefore("://", "").lowercase()
            val rest = if (text.contains("://")) text.substringAfter("://") else text
            when {
                scheme.isEmpty() -> {}
                scheme == "http" && https -> refuse(SettingProblem.Kind.ENC_HTTP)
                scheme != (if (https) "https" else "tls") -> refuse(SettingProblem.Kind.ENC_SCHEME, "$scheme://", if (https) HTTPS_SCHEME else TLS_SCHEME)
            }
            val slash = rest.indexOf('/')
            val authority = if (slash < 0) rest else rest.substring(0, slash)
            val path = if (slash < 0) "" else rest.substring(slash)
            if (authority.contains('@') || path.any { it == '?' || it == '#' || it.isWhitespace() } || authority.any { it.isWhitespace() }) {
                refuse(SettingProblem.Kind.ENC_MALFORMED, text)
            }
            val host: String
            val portText: String?
            if (authority.startsWith("[")) {
                val close = authority.indexOf(']')
                if (close < 0) refuse(SettingProblem.Kind.ENC_MALFORMED, text)
                host = authority.substring(1, close)
                val after = authority.substring(close + 1)
                portText = when {
                    after.isEmpty() -> null
                    after.startsWith(":") -> after.substring(1)
                    else -> refuse(SettingProblem.Kind.ENC_MALFORMED, text)
                }
                if (ipLiteral(host) !is java.net.Inet6Address) refuse(SettingProblem.Kind.ENC_NAME, host)
            } else {
                if (authority.count { it == ':' } > 1) refuse(SettingProblem.Kind.ENC_MALFORMED, text)
                host = authority.substringBefore(':')
                portText = if (authority.contains(':')) authority.substringAfter(':') else null
                if (!isHostName(host) && ipLiteral(host) == null) refuse(SettingProblem.Kind.ENC_NAME, host)
            }
            if (portText != null) {
                val port = portText.toIntOrNull()
                if (port == null || !portText.all { it in '0'..'9' } || port !in 1..65535) refuse(SettingProblem.Kind.ENC_PORT, portText)
            }
            val finalPath = when {
                !https && (path.isEmpty() || path == "/") -> ""
                !https -> refuse(SettingProblem.Kind.ENC_TLS_PATH, path)
                path.isEmpty() || path == "/" -> DOH_PATH
                else -> path
            }
            val name = host.lowercase().removeSuffix(".")
            val hostInUrl = if (name.contains(':')) "[$name]" else name
            val url = (if (https) HTTPS_SCHEME else TLS_SCHEME) + hostInUrl + (portText?.let { ":$it" } ?: "") + finalPath

            val listed = ArrayList<String>()
            for (word in addresses.split(SEPARATORS).filter { it.isNotEmpty() }) {
                val address = ipLiteral(word.removeSurrounding("[", "]"))
                if (address == null || address.isAnyLocalAddress || address.isMulticastAddress) refuse(SettingProblem.Kind.ENC_BAD_ADDRESS, word)
                val written = address.hostAddress ?: refuse(SettingProblem.Kind.ENC_BAD_ADDRESS, word)
                if (written !in listed) listed.add(written)
            }
            if (listed.size > MAX_ADDRESSES) refuse(SettingProblem.Kind.ENC_TOO_MANY, MAX_ADDRESSES.toString())
            if (listed.isEmpty()) {
                // A server named by its address is reached there: nothing to look up.
                val literal = ipLiteral(host) ?: refuse(SettingProblem.Kind.ENC_NO_ADDRESS, name)
                listed.add(literal.hostAddress ?: name)
            }
            return EncryptedDns(https, url, name, listed)
        }

        /** [text] as an IP address when it is one written out (never a name: nothing is looked up). */
        private fun ipLiteral(text: String): java.net.InetAddress? {
            val v4 = IPV4.matches(text)
            if (v4 && text.split('.').any { it.toInt() > 255 }) return null
            if (!v4 && !(IPV6_CHARS.matches(text) && text.contains(':'))) return null
            return try {
                InetAddress.getByName(text)
            } catch (e: Exception) {
                null
            }
        }

        /** A DNS name a certificate can be checked against: labels of 1 to 63 letters, digits, `-`, `_`. */
        private fun isHostName(text: String): Boolean {
            val name = text.removeSuffix(".")
            if (name.isEmpty() || name.length > 253) return false
            val labels = name.split('.')
            // All-numeric last label: a mistyped IPv4 address, not a name.
            if (labels.last().all { it.isDigit() }) return false
            return labels.all { LABEL.matches(it) }
        }
    }
}
