// Hush: runs ASM's type-checking bytecode verifier (CheckClassAdapter with SimpleVerifier)
// over every class of a jar, with the given library jars for the type hierarchy. Used by
// `cargo xtask apk` on ProGuard's output before dx: some ProGuard optimisations have
// produced code that verifiers reject (a VerifyError when the class loads on a phone).
//
// usage: java -cp ASM:LIBRARIES VerifyJar JAR
// Prints "verified N classes" and exits 0, or prints each failing class and method with
// the verifier's message and exits 1. A jar that cannot be read exits 2.
// SPDX-License-Identifier: GPL-3.0-or-later

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.Enumeration;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.objectweb.asm.ClassReader;
import org.objectweb.asm.util.CheckClassAdapter;

public final class VerifyJar {
    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: java -cp ASM:LIBRARIES VerifyJar JAR");
            System.exit(2);
        }
        File jar = new File(args[0]);
        int verified = 0;
        int failed = 0;
        // The jar's own classes resolve through this loader too (loaded, never initialised).
        try (URLClassLoader loader = new URLClassLoader(new URL[] {jar.toURI().toURL()},
                 VerifyJar.class.getClassLoader());
             ZipFile zip = new ZipFile(jar)) {
            Enumeration<? extends ZipEntry> entries = zip.entries();
            while (entries.hasMoreElements()) {
                ZipEntry entry = entries.nextElement();
                if (!entry.getName().endsWith(".class") || entry.getName().endsWith("module-info.class")) {
                    continue;
                }
                byte[] bytes;
                try (InputStream in = zip.getInputStream(entry)) {
                    ByteArrayOutputStream out = new ByteArrayOutputStream();
                    in.transferTo(out);
                    bytes = out.toByteArray();
                }
                StringWriter report = new StringWriter();
                try {
                    CheckClassAdapter.verify(new ClassReader(bytes), loader, false, new PrintWriter(report));
                } catch (RuntimeException | LinkageError e) {
                    report.append(e.toString());
                }
                if (report.getBuffer().length() > 0) {
                    failed++;
                    System.out.println("FAIL " + entry.getName() + ":\n" + report.toString().trim());
                } else {
                    verified++;
                }
            }
        } catch (java.io.IOException e) {
            System.err.println("cannot read " + jar + ": " + e);
            System.exit(2);
        }
        System.out.println("verified " + verified + " classes" + (failed > 0 ? ", " + failed + " failed" : ""));
        System.exit(failed > 0 ? 1 : 0);
    }
}
