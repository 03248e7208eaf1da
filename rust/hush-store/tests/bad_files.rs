//! Files that are not a usable Hush database, a read-only directory and a
//! full disk: each is kept aside or reported, never destroyed, never a panic.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hush_engine::{Event, EventSink, Reason, Verdict};
use hush_store::recover::{open_or_recover, Recovery};
use hush_store::rules::{self, AppMode, AppOption, DomainAction, DomainRule, Network};
use hush_store::{EventWriter, StoreError, WriterStatus};
use rusqlite::{params, Connection};

/// Rows [`add_rules`] writes across the eight rules tables.
const RULE_ROWS: usize = 12;

fn add_rules(connection: &Connection) {
    rules::set_app_mode(connection, 10_123, Network::Wifi, AppMode::BlockAll).unwrap();
    rules::set_app_mode(connection, 10_200, Network::Any, AppMode::AllowAll).unwrap();
    rules::add_domain_rule(connection, None, "Tracker.Example.", DomainAction::Block).unwrap();
    rules::add_domain_rule(connection, Some(10_123), "f-droid.org", DomainAction::Allow).unwrap();
    rules::set_setting(connection, "theme", "dark").unwrap();
    let mail = Some("org.example.mail");
    rules::set_app_option(connection, AppOption::ResolvedOnly, 10_123, mail, true).unwrap();
    rules::set_app_option(connection, AppOption::Strict, 10_200, None, true).unwrap();
    connection
        .execute_batch(
            "INSERT INTO apps (uid, label, is_system) VALUES (10123, 'Mail', 0), (1000, 'System', 1);
             INSERT INTO app_packages (uid, package)
                 VALUES (10123, 'org.example.mail'), (1000, 'android');
             INSERT INTO list_sources (name, origin, enabled, entries, updated_ms)
                 VALUES ('hush-default', 'builtin', 1, 1234, 1700000000000);",
        )
        .unwrap();
}

/// Exactly the rules [`add_rules`] wrote.
fn assert_rules(connection: &Connection) {
    assert_eq!(
        rules::app_modes(connection).unwrap(),
        [
            (10_123, Network::Wifi, AppMode::BlockAll),
            (10_200, Network::Any, AppMode::AllowAll)
        ]
    );
    assert_eq!(
        rules::domain_rules(connection).unwrap(),
        [
            DomainRule {
                uid: None,
                domain: "tracker.example".into(),
                action: DomainAction::Block,
                package: None
            },
            DomainRule {
                uid: Some(10_123),
                domain: "f-droid.org".into(),
                action: DomainAction::Allow,
                package: None
            },
        ]
    );
    assert_eq!(
        rules::setting(connection, "theme").unwrap().as_deref(),
        Some("dark")
    );
    assert_eq!(
        rules::app_option(connection, AppOption::ResolvedOnly)
            .unwrap()
            .apps,
        [(10_123, true)]
    );
    assert_eq!(
        rules::app_option(connection, AppOption::Strict)
            .unwrap()
            .apps,
        [(10_200, true)]
    );
    assert_eq!(
        dump(
            connection,
            "SELECT uid || ':' || label || ':' || is_system FROM apps ORDER BY uid"
        ),
        ["1000:System:1", "10123:Mail:0"]
    );
    assert_eq!(
        dump(
            connection,
            "SELECT uid || ':' || package FROM app_packages ORDER BY uid"
        ),
        ["1000:android", "10123:org.example.mail"]
    );
    assert_eq!(
        dump(
            connection,
            "SELECT name || ':' || origin || ':' || enabled || ':' || entries || ':' || updated_ms
             FROM list_sources"
        ),
        ["hush-default:builtin:1:1234:1700000000000"]
    );
}

fn assert_no_rules(connection: &Connection) {
    for table in [
        "apps",
        "app_packages",
        "app_rules",
        "domain_rules",
        "list_sources",
        "settings",
    ] {
        let rows: i64 = connection
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |row| {
                row.get(0)
            })
            .unwrap();
        assert_eq!(rows, 0, "{table}");
    }
}

fn dump(connection: &Connection, sql: &str) -> Vec<String> {
    let mut statement = connection.prepare(sql).unwrap();
    let rows = statement.query_map([], |row| row.get(0)).unwrap();
    rows.collect::<Result<_, _>>().unwrap()
}

/// A real Hush database with the rules and `events` events, closed cleanly
/// (so it is one file, with no -wal beside it).
fn hush_db(path: &Path, events: usize) {
    let mut connection = hush_store::open(path).unwrap();
    add_rules(&connection);
    let transaction = connection.transaction().unwrap();
    for i in 0..events {
        transaction
            .execute(
                "INSERT INTO events (time_ms, uid, host, ip, port, protocol, detail, action, reason)
                 VALUES (?1, 10123, ?2, '198.18.0.53', 53, 'dns', 'A', 'blocked', 'list:hush-default')",
                params![1_700_000_000_000i64 + i as i64, format!("host-{i}.tracker.example")],
            )
            .unwrap();
    }
    transaction.commit().unwrap();
    drop(connection);
    assert!(!side(path, "-wal").exists(), "closed cleanly, checkpointed");
}

fn side(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

/// Deterministic noise.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Opens `path` expecting a recovery, and checks what every recovery
/// promises: the old file (and `sides`) kept byte for byte under
/// `<name>.broken-<seconds>`, no other file left behind, and a fresh
/// database that works.
fn recover_and_check(path: &Path, sides: &[&str]) -> (Connection, Recovery) {
    let before = now_seconds();
    let originals: Vec<(&str, Vec<u8>)> = [""]
        .iter()
        .chain(sides)
        .map(|suffix| (*suffix, fs::read(side(path, suffix)).unwrap()))
        .collect();
    let (connection, recovery) = open_or_recover(path).unwrap();
    let after = now_seconds();
    let recovery = recovery.expect("the file was not usable: a recovery");

    let name = recovery.kept_aside.file_name().unwrap().to_str().unwrap();
    let seconds: u64 = name
        .strip_prefix("hush.db.broken-")
        .unwrap_or_else(|| panic!("kept aside as {name}"))
        .parse()
        .unwrap_or_else(|_| panic!("kept aside as {name}"));
    assert!((before..=after).contains(&seconds), "{seconds}");
    assert_eq!(recovery.kept_aside.parent(), path.parent());
    for (suffix, bytes) in &originals {
        let kept = fs::read(side(&recovery.kept_aside, suffix)).unwrap();
        // The -shm is SQLite's index of the -wal, which any reader rebuilds.
        if *suffix != "-shm" {
            assert!(kept == *bytes, "{name}{suffix} is the old file, unchanged");
        }
    }
    // Reading a WAL database, even read-only, creates an empty -wal and a
    // -shm beside it: they go along with it, and add nothing.
    let wal = side(&recovery.kept_aside, "-wal");
    if !sides.contains(&"-wal") && wal.exists() {
        assert_eq!(fs::metadata(&wal).unwrap().len(), 0);
    }
    let mut names: Vec<String> = fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name != "hush.db-wal" && name != "hush.db-shm")
        .collect();
    names.sort();
    let mut expected = vec!["hush.db".to_string(), name.to_string()];
    for suffix in ["-wal", "-shm"] {
        if sides.contains(&suffix) || side(&recovery.kept_aside, suffix).exists() {
            expected.push(format!("{name}{suffix}"));
        }
    }
    expected.sort();
    assert_eq!(names, expected);

    let message = recovery.to_string();
    assert!(message.contains(&recovery.kept_aside.display().to_string()));
    assert!(message.contains(&recovery.reason));

    // The fresh database is a whole Hush database, and takes writes.
    let version: i64 = connection
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap();
    assert_eq!(version, hush_store::SCHEMA_VERSION);
    let check: String = connection
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    assert_eq!(hush_store::events(&connection).unwrap(), []);
    let mode = fs::metadata(path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    rules::set_setting(&connection, "probe", "1").unwrap();
    connection
        .execute("DELETE FROM settings WHERE key = 'probe'", [])
        .unwrap();

    // Opening again finds nothing wrong.
    let (_, again) = open_or_recover(path).unwrap();
    assert_eq!(again, None);
    (connection, recovery)
}

#[test]
fn random_bytes_are_kept_aside_with_their_side_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hush.db");
    fs::write(&path, noise(1, 64 * 1024)).unwrap();
    fs::write(side(&path, "-wal"), noise(2, 4096)).unwrap();
    fs::write(side(&path, "-shm"), noise(3, 32 * 1024)).unwrap();
    let (connection, recovery) = recover_and_check(&path, &["-wal", "-shm"]);
    assert_eq!(recovery.rules_restored, 0);
    assert!(
        recovery.reason.contains("not a SQLite database"),
        "{}",
        recovery.reason
    );
    assert_no_rules(&connection);
}

#[test]
fn a_truncated_database_is_kept_aside_and_its_rules_restored() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hush.db");
    hush_db(&path, 20_000);
    let len = fs::metadata(&path).unwrap().len();
    fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(len * 2 / 5 + 123)
        .unwrap();
    let (connection, recovery) = recover_and_check(&path, &[]);
    println!("{recovery}");
    assert!(recovery.reason.contains("damaged"), "{}", recovery.reason);
    assert_eq!(recovery.rules_restored, RULE_ROWS);
    assert_rules(&connection);
}

#[test]
fn a_corrupted_page_is_kept_aside_and_the_rules_restored() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hush.db");
    hush_db(&path, 20_000);
    let mut bytes = fs::read(&path).unwrap();
    assert!(bytes.len() > 400 * 4096, "many pages: {}", bytes.len());
    // Three pages in the middle of the events, overwritten with noise.
    let start = bytes.len() / 2 / 4096 * 4096;
    bytes[start..start + 3 * 4096].copy_from_slice(&noise(4, 3 * 4096));
    fs::write(&path, &bytes).unwrap();
    let (connection, recovery) = recover_and_check(&path, &[]);
    println!("{recovery}");
    assert!(recovery.reason.contains("damaged"), "{}", recovery.reason);
    assert_eq!(recovery.rules_restored, RULE_ROWS);
    assert_rules(&connection);
}

#[test]
fn a_corrupted_rules_table_restores_what_is_readable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hush.db");
    hush_db(&path, 100);
    let connection = Connection::open(&path).unwrap();
    let root: i64 = connection
        .query_row(
            "SELECT rootpage FROM sqlite_schema WHERE name = 'domain_rules'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    drop(connection);
    let mut bytes = fs::read(&path).unwrap();
    let start = (root as usize - 1) * 4096;
    bytes[start..start + 4096].copy_from_slice(&noise(5, 4096));
    fs::write(&path, &bytes).unwrap();
    let (connection, recovery) = recover_and_check(&path, &[]);
    // The two domain rules were on the page that is gone; the rest is back.
    assert_eq!(recovery.rules_restored, RULE_ROWS - 2);
    assert_eq!(rules::domain_rules(&connection).unwrap(), []);
    assert_eq!(rules::app_modes(&connection).unwrap().len(), 2);
    assert_eq!(
        rules::setting(&connection, "theme").unwrap().as_deref(),
        Some("dark")
    );
}

/// Found by fuzzing (`store_open`): a rules row whose text is not UTF-8
/// opened without a word, and then every read of the rules failed, so the
/// session would have run with none of the owner's rules.
#[test]
fn rules_text_that_is_not_utf8_is_kept_aside_and_every_other_rule_restored() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hush.db");
    hush_db(&path, 10);
    let connection = Connection::open(&path).unwrap();
    // SQLite keeps the bytes it is given: a domain and a setting that are
    // not UTF-8 (0xff never is).
    connection
        .execute_batch(
            "INSERT INTO domain_rules (uid, domain, action, created_ms)
                 VALUES (NULL, CAST(x'74726163ff6b65722e6578616d706c65' AS TEXT), 'block', 1);
             INSERT INTO settings (key, value) VALUES ('accent', CAST(x'ff00ff' AS TEXT));",
        )
        .unwrap();
    assert!(
        rules::domain_rules(&connection).is_err(),
        "the damage is real: reading the rules fails"
    );
    drop(connection);
    let (connection, recovery) = recover_and_check(&path, &[]);
    assert!(
        recovery.reason.contains("2 rows") && recovery.reason.contains("UTF-8"),
        "{}",
        recovery.reason
    );
    assert_eq!(recovery.rules_restored, RULE_ROWS);
    assert_rules(&connection);
    assert_eq!(rules::setting(&connection, "accent").unwrap(), None);
    // The old file, damaged rows and events included, is kept.
    let kept = Connection::open(&recovery.kept_aside).unwrap();
    assert_eq!(
        dump(&kept, "SELECT CAST(count(*) AS TEXT) FROM events"),
        ["10"]
    );
    // Opened again, it is usable as it is.
    drop(connection);
    let (_, again) = open_or_recover(&path).unwrap();
    assert_eq!(again, None);
}

#[test]
fn another_programs_database_is_kept_aside_and_nothing_taken_from_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hush.db");
    let foreign = Connection::open(&path).unwrap();
    foreign
        .execute_batch(
            "CREATE TABLE contacts (id INTEGER PRIMARY KEY, name TEXT, phone TEXT);
             INSERT INTO contacts (name, phone) VALUES ('Ada', '+44 20 7946 0000');
             CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             INSERT INTO settings VALUES ('theme', 'light');",
        )
        .unwrap();
    drop(foreign);
    let (connection, recovery) = recover_and_check(&path, &[]);
    assert!(
        recovery.reason.contains("not a Hush database") && recovery.reason.contains("contacts"),
        "{}",
        recovery.reason
    );
    // Its `settings` is not Hush's, whatever its name.
    assert_eq!(recovery.rules_restored, 0);
    assert_no_rules(&connection);
    let kept = Connection::open(&recovery.kept_aside).unwrap();
    assert_eq!(dump(&kept, "SELECT name FROM contacts"), ["Ada"]);
}

#[test]
fn a_healthy_database_is_opened_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hush.db");
    let (_, recovery) = open_or_recover(&path).unwrap();
    assert_eq!(recovery, None, "a missing file is created");
    hush_db(&path, 1000);
    let (connection, recovery) = open_or_recover(&path).unwrap();
    assert_eq!(recovery, None);
    assert_rules(&connection);
    assert_eq!(hush_store::events(&connection).unwrap().len(), 1000);
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        3,
        "db, -wal, -shm"
    );
}

#[test]
fn a_newer_hush_database_is_an_error_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hush.db");
    hush_db(&path, 10);
    let connection = Connection::open(&path).unwrap();
    connection.pragma_update(None, "user_version", 99).unwrap();
    drop(connection);
    let bytes = fs::read(&path).unwrap();
    assert!(matches!(
        open_or_recover(&path),
        Err(StoreError::TooNew {
            found: 99,
            known: hush_store::SCHEMA_VERSION
        })
    ));
    assert!(fs::read(&path).unwrap() == bytes, "untouched");
    assert_eq!(only_names(dir.path()), ["hush.db"], "not moved");
}

#[test]
fn a_recovery_cut_short_before_the_last_rename_is_finished() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hush.db");
    fs::write(&path, noise(6, 8192)).unwrap();
    let (connection, _) = open_or_recover(&path).unwrap();
    add_rules(&connection);
    drop(connection);
    // As if the process died after keeping the old file aside, before the
    // replacement took its name.
    fs::rename(&path, side(&path, ".recovering")).unwrap();
    let (connection, recovery) = open_or_recover(&path).unwrap();
    assert_eq!(recovery, None);
    assert_rules(&connection);
    assert!(!side(&path, ".recovering").exists());
}

/// The names in `dir`, but for the -wal and -shm any reader of a WAL
/// database may leave (empty, for the -wal).
fn only_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| {
            let empty = || fs::metadata(dir.join(name)).unwrap().len() == 0;
            let side = name.ends_with("-shm") || (name.ends_with("-wal") && empty());
            !side
        })
        .collect();
    names.sort();
    names
}

/// Whether this process can create files in a directory whose mode says it
/// cannot (root, or CAP_DAC_OVERRIDE): then modes prove nothing.
fn permissions_ignored(read_only_dir: &Path) -> bool {
    let probe = read_only_dir.join("probe");
    let created = fs::write(&probe, b"").is_ok();
    let _ = fs::remove_file(&probe);
    created
}

const READ_ONLY_CHILD: &str = "HUSH_TEST_READ_ONLY_DIR";

/// In a directory this process cannot write to, holding a Hush database it
/// can write to: a new database cannot be created, and the existing one
/// cannot have its -wal; both are errors naming the path, and the existing
/// file is left as it was.
fn check_read_only_directory(dir: &Path) {
    let new = dir.join("new.db");
    let error = open_or_recover(&new).unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(error, StoreError::Create { .. }),
        "{error:?}: {message}"
    );
    assert!(message.contains(&new.display().to_string()), "{message}");
    assert!(!new.exists());

    let path = dir.join("hush.db");
    let bytes = fs::read(&path).unwrap();
    let error = open_or_recover(&path).unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(
            error,
            StoreError::CannotOpen { .. } | StoreError::ReadOnly { .. }
        ),
        "{error:?}: {message}"
    );
    println!("{message}");
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("-wal"), "{message}");
    assert!(fs::read(&path).unwrap() == bytes, "untouched");

    // A file to recover, where no replacement can be made: left as it is.
    let junk = dir.join("junk.db");
    let bytes = fs::read(&junk).unwrap();
    let error = open_or_recover(&junk).unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(error, StoreError::NotRecovered { .. }),
        "{error:?}: {message}"
    );
    assert!(message.contains(&junk.display().to_string()), "{message}");
    assert!(message.contains("not a SQLite database"), "{message}");
    assert!(fs::read(&junk).unwrap() == bytes, "untouched");
    assert_eq!(only_names(dir), ["hush.db", "junk.db"], "nothing added");
    // The plain `open` fails too (without the path: it is `open_or_recover`
    // that names it).
    assert!(hush_store::open(&path).is_err());
    println!("read-only directory checked");
}

#[test]
fn a_read_only_directory_is_an_error_naming_the_path() {
    if let Ok(dir) = std::env::var(READ_ONLY_CHILD) {
        check_read_only_directory(Path::new(&dir));
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("ro");
    fs::create_dir(&dir).unwrap();
    hush_db(&dir.join("hush.db"), 10);
    fs::write(dir.join("junk.db"), noise(7, 8192)).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o555)).unwrap();
    let privileged = permissions_ignored(&dir);
    let result = std::panic::catch_unwind(|| {
        if !privileged {
            check_read_only_directory(&dir);
        } else {
            check_as_nobody(root.path(), &dir);
        }
    });
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

/// Root ignores directory modes. Where `setpriv` exists, the check runs in
/// a copy of this test as `nobody` (with the fixture handed to `nobody`);
/// else it is skipped, saying so.
fn check_as_nobody(root: &Path, dir: &Path) {
    const NOBODY: u32 = 65_534;
    fs::set_permissions(root, fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::chown(dir, Some(NOBODY), Some(NOBODY)).unwrap();
    std::os::unix::fs::chown(dir.join("hush.db"), Some(NOBODY), Some(NOBODY)).unwrap();
    let output = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_read_only_directory_is_an_error_naming_the_path",
            "--nocapture",
        ])
        .env(READ_ONLY_CHILD, dir)
        .output();
    let output = match output {
        Ok(output) => output,
        Err(error) => {
            println!("SKIPPED: running as root, which ignores directory modes, and setpriv cannot run ({error})");
            return;
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !stdout.contains("running 1 test") {
        println!(
            "SKIPPED: running as root, which ignores directory modes, and this test \
             cannot run as nobody: {stderr}"
        );
        return;
    }
    assert!(
        output.status.success() && stdout.contains("read-only directory checked"),
        "as nobody:\n{stdout}\n{stderr}"
    );
    println!("as nobody: {stdout}");
}

/// A tmpfs of 2 MiB mounted on a fresh directory, unmounted on drop.
struct TinyDisk {
    dir: tempfile::TempDir,
}

impl TinyDisk {
    fn mount() -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::piped())
            .output()
            .map_err(|e| format!("mount cannot run: {e}"))?;
        if !status.status.success() {
            return Err(format!(
                "mount failed: {}",
                String::from_utf8_lossy(&status.stderr).trim()
            ));
        }
        Ok(Self { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `filler` (anew) until the disk takes no more.
    fn fill(&self) -> PathBuf {
        let filler = self.path().join("filler");
        let mut file = fs::File::create(&filler).unwrap();
        let chunk = [0u8; 4096];
        while file.write_all(&chunk).is_ok() {}
        while file.write_all(&chunk[..1]).is_ok() {}
        let _ = file.sync_all();
        filler
    }
}

impl Drop for TinyDisk {
    fn drop(&mut self) {
        let unmounted = Command::new("umount")
            .arg(self.dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if !unmounted {
            let _ = Command::new("umount")
                .arg("-l")
                .arg(self.dir.path())
                .status();
        }
    }
}

fn event(host: String) -> Event {
    Event {
        time: SystemTime::now(),
        uid: Some(10_123),
        host,
        address: "198.18.0.53".parse().unwrap(),
        port: 53,
        protocol: "dns",
        detail: "A".into(),
        verdict: Verdict::Blocked,
        reason: Reason::Blocklist("hush-default".into()),
        screen_off: false,
    }
}

fn count(connection: &Connection, sql: &str) -> i64 {
    connection.query_row(sql, [], |row| row.get(0)).unwrap()
}

#[test]
fn a_full_disk_is_an_error_naming_the_path_and_the_writer_survives_it() {
    let disk = match TinyDisk::mount() {
        Ok(disk) => disk,
        Err(reason) => {
            println!("SKIPPED: a full disk needs a tmpfs mount (run as root): {reason}");
            return;
        }
    };

    // No room for a replacement: the file to recover is left as it was.
    let junk = disk.path().join("junk.db");
    fs::write(&junk, noise(8, 8192)).unwrap();
    disk.fill();
    let error = open_or_recover(&junk).unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(error, StoreError::NotRecovered { .. }),
        "{error:?}: {message}"
    );
    assert!(message.contains("full"), "{message}");
    println!("{message}");
    assert!(fs::read(&junk).unwrap() == noise(8, 8192), "untouched");
    assert_eq!(only_names(disk.path()), ["filler", "junk.db"]);
    fs::remove_file(&junk).unwrap();

    // No room for a new database: an error naming it.
    let filler = disk.fill();
    let path = disk.path().join("hush.db");
    let error = open_or_recover(&path).unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(
            error,
            StoreError::DiskFull { .. } | StoreError::Create { .. }
        ),
        "{error:?}: {message}"
    );
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("full"), "{message}");
    println!("{message}");
    fs::remove_file(&filler).unwrap();

    // Some events committed while there is room.
    let (connection, recovery) = open_or_recover(&path).unwrap();
    assert_eq!(recovery, None, "the empty file it left is not an error");
    let writer = EventWriter::start(connection, 10_000).unwrap();
    for i in 0..20 {
        writer.record(event(format!("before-{i}.example")));
    }
    writer.finish().unwrap();

    // The disk fills; a large batch cannot be written.
    let (connection, _) = open_or_recover(&path).unwrap();
    let watcher = Connection::open(&path).unwrap();
    let filler = disk.fill();
    let writer = EventWriter::start(connection, 10_000).unwrap();
    let long = "x".repeat(200);
    for i in 0..400 {
        writer.record(event(format!("during-{i}.{long}.example")));
    }
    // The batch that cannot be written is held, not dropped, and the
    // status says why.
    let deadline = Instant::now() + Duration::from_secs(20);
    let reason = loop {
        if let WriterStatus::Unavailable {
            reason, held: 400, ..
        } = writer.status()
        {
            break reason;
        }
        assert!(Instant::now() < deadline, "{:?}", writer.status());
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(reason.contains("full"), "{reason}");
    assert_eq!(writer.dropped(), 0);
    // What was committed before is intact.
    assert_eq!(count(&watcher, "SELECT count(*) FROM events"), 20);
    let check: String = watcher
        .query_row("PRAGMA quick_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(check, "ok");

    // Room again: the writer, still running, writes what it held and what
    // comes next.
    fs::remove_file(&filler).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while writer.status() != WriterStatus::Ready {
        assert!(Instant::now() < deadline, "{:?}", writer.status());
        std::thread::sleep(Duration::from_millis(50));
    }
    for i in 0..10 {
        writer.record(event(format!("after-{i}.example")));
    }
    writer.finish().unwrap();
    drop(watcher);

    let connection = Connection::open(&path).unwrap();
    let stored = hush_store::events(&connection).unwrap();
    let hosts: Vec<&str> = stored.iter().map(|e| e.host.as_str()).collect();
    assert_eq!(
        hosts[..20],
        (0..20)
            .map(|i| format!("before-{i}.example"))
            .collect::<Vec<_>>()
    );
    let after: Vec<String> = (0..10).map(|i| format!("after-{i}.example")).collect();
    assert_eq!(hosts[hosts.len() - 10..], after);
    assert_eq!(hush_store::dropped_events(&connection).unwrap(), 0);
    assert_eq!(stored.len(), 430, "every event is stored");
    assert_eq!(
        count(&connection, "SELECT sum(count) FROM hourly"),
        stored.len() as i64
    );
    let check: String = connection
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    drop(connection);

    // A batch that cannot be written when the writer stops: `finish` says so.
    let (connection, _) = open_or_recover(&path).unwrap();
    let filler = disk.fill();
    let writer = EventWriter::start(connection, 10_000).unwrap();
    for i in 0..400 {
        writer.record(event(format!("last-{i}.{long}.example")));
    }
    let error = writer.finish().unwrap_err();
    assert!(
        matches!(error, StoreError::Lost { events: 400, .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("full"), "{error}");
    fs::remove_file(&filler).unwrap();
    let connection = Connection::open(&path).unwrap();
    assert_eq!(
        count(&connection, "SELECT count(*) FROM events"),
        stored.len() as i64
    );
    let check: String = connection
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}
