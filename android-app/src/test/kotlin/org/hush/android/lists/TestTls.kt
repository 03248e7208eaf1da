package org.hush.android.lists

import java.io.File
import java.nio.file.Files
import java.security.KeyStore
import javax.net.ssl.KeyManagerFactory
import javax.net.ssl.SSLContext
import javax.net.ssl.TrustManagerFactory

/**
 * TLS for list servers on loopback: lists are fetched over https only. A key and a
 * self-signed certificate for 127.0.0.1, made by the JDK's keytool once per run;
 * [server] serves with it, [client] trusts it and nothing else.
 */
object TestTls {
    val server: SSLContext
    val client: SSLContext

    init {
        val dir = Files.createTempDirectory("hush-tls").toFile()
        try {
            val store = File(dir, "server.p12")
            val keytool = File(System.getProperty("java.home"), "bin/keytool").path
            val process = ProcessBuilder(
                keytool, "-genkeypair", "-alias", "server", "-keyalg", "EC", "-groupname", "secp256r1",
                "-dname", "CN=127.0.0.1", "-ext", "SAN=ip:127.0.0.1", "-validity", "2",
                "-storetype", "PKCS12", "-keystore", store.path, "-storepass", PASSWORD, "-keypass", PASSWORD,
            ).redirectErrorStream(true).start()
            val output = process.inputStream.readBytes().decodeToString()
            check(process.waitFor() == 0) { "keytool failed: $output" }
            val keys = KeyStore.getInstance("PKCS12")
            store.inputStream().use { keys.load(it, PASSWORD.toCharArray()) }
            val kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm())
            kmf.init(keys, PASSWORD.toCharArray())
            server = SSLContext.getInstance("TLS").apply { init(kmf.keyManagers, null, null) }
            val trust = KeyStore.getInstance(KeyStore.getDefaultType()).apply {
                load(null, null)
                setCertificateEntry("server", keys.getCertificate("server"))
            }
            val tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm())
            tmf.init(trust)
            client = SSLContext.getInstance("TLS").apply { init(null, tmf.trustManagers, null) }
        } finally {
            dir.deleteRecursively()
        }
    }

    private const val PASSWORD = "changeit"
}
