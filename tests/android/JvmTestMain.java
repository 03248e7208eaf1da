// Hush JVM test runner (tests/android/jvm.sh): runs JUnit 4 test classes and
// prints one closing line, "jvm tests: N passed, M failed[, K skipped]".
// Arguments: a file listing candidate class names (one a line), then optional
// filters (a fully qualified name, a simple name, or a substring of either).
// Exit status: 0 when every test passed and at least one ran; 1 otherwise.
import java.io.IOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import org.junit.runner.Description;
import org.junit.runner.JUnitCore;
import org.junit.runner.Request;
import org.junit.runner.Result;
import org.junit.runner.RunWith;
import org.junit.runner.notification.Failure;
import org.junit.runner.notification.RunListener;

public final class JvmTestMain {
    public static void main(String[] args) throws IOException {
        List<String> names = Files.readAllLines(Paths.get(args[0]));
        List<Class<?>> classes = new ArrayList<>();
        int broken = 0;
        for (String name : names) {
            name = name.trim();
            if (name.isEmpty() || !selected(name, args)) continue;
            Class<?> c;
            try {
                c = Class.forName(name, false, JvmTestMain.class.getClassLoader());
            } catch (Throwable e) {
                System.out.println("cannot load " + name + ": " + e);
                broken++;
                continue;
            }
            if (isTestClass(c)) classes.add(c);
        }
        if (classes.isEmpty() && broken == 0) {
            System.out.println("no test classes found");
            System.out.println("jvm tests: 0 passed, 0 failed");
            System.exit(1);
        }

        final int[] assumptionFailures = {0};
        final List<Failure> failures = new ArrayList<>();
        JUnitCore core = new JUnitCore();
        core.addListener(new RunListener() {
            private boolean bad;
            @Override public void testStarted(Description d) {
                bad = false;
            }
            @Override public void testFailure(Failure f) {
                bad = true;
                failures.add(f);
                if (f.getDescription().getMethodName() == null) {
                    System.out.println("FAIL " + f.getDescription().getDisplayName());
                }
            }
            @Override public void testAssumptionFailure(Failure f) {
                bad = true;
                assumptionFailures[0]++;
                System.out.println("skip " + name(f.getDescription()) + ": " + f.getMessage());
            }
            @Override public void testIgnored(Description d) {
                System.out.println("skip " + name(d));
            }
            @Override public void testFinished(Description d) {
                boolean failed = !failures.isEmpty()
                        && failures.get(failures.size() - 1).getDescription().equals(d);
                if (failed) System.out.println("FAIL " + name(d));
                else if (!bad) System.out.println("ok   " + name(d));
            }
        });
        // Sandboxed (Robolectric) classes first, plain JUnit ones after. A plain test
        // runs on the same class loader as the non-instrumented android-all jar, where
        // touching a framework class (Kotlin asks android.os.Build for the SDK level
        // when it adds a suppressed exception) fails that class's static init for the
        // rest of the JVM, and Robolectric's sandbox then fails to start.
        List<Class<?>> ordered = new ArrayList<>();
        for (Class<?> c : classes) if (c.isAnnotationPresent(RunWith.class)) ordered.add(c);
        for (Class<?> c : classes) if (!c.isAnnotationPresent(RunWith.class)) ordered.add(c);
        Result result = core.run(Request.classes(ordered.toArray(new Class<?>[0])));
        for (Failure f : failures) {
            System.out.println();
            System.out.println("--- " + f.getDescription().getDisplayName());
            System.out.print(f.getTrace());
        }
        if (!failures.isEmpty()) System.out.println();
        int skipped = result.getIgnoreCount() + assumptionFailures[0];
        int failed = result.getFailureCount() + broken;
        int passed = result.getRunCount() - result.getFailureCount() - assumptionFailures[0];
        String line = "jvm tests: " + passed + " passed, " + failed + " failed";
        if (skipped > 0) line += ", " + skipped + " skipped";
        System.out.println(line);
        System.exit(failed == 0 && passed > 0 ? 0 : 1);
    }

    private static String name(Description d) {
        return d.getMethodName() == null ? d.getClassName() : d.getClassName() + "." + d.getMethodName();
    }

    private static boolean selected(String name, String[] args) {
        if (args.length < 2) return true;
        String simple = name.substring(name.lastIndexOf('.') + 1);
        for (int i = 1; i < args.length; i++) {
            String f = args[i];
            if (name.equals(f) || simple.equals(f) || name.contains(f)) return true;
        }
        return false;
    }

    private static boolean isTestClass(Class<?> c) {
        int m = c.getModifiers();
        if (!Modifier.isPublic(m) || Modifier.isAbstract(m) || c.isInterface()) return false;
        if (c.isAnnotationPresent(RunWith.class)) return true;
        for (Class<?> k = c; k != null && k != Object.class; k = k.getSuperclass()) {
            for (Method method : k.getDeclaredMethods()) {
                if (method.isAnnotationPresent(org.junit.Test.class)) return true;
            }
        }
        return false;
    }
}
