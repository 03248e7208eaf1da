//! Opening a database that may be damaged, or not Hush's at all.
//!
//! [`open_or_recover`] opens like [`crate::open`], but a file that is not a
//! usable Hush database is kept aside under a new name and replaced by a
//! fresh database holding whatever rules could still be read from it:
//! - not SQLite ("file is not a database");
//! - SQLite, but damaged: `PRAGMA quick_check` finds fault, or reading it
//!   reports corruption;
//! - rules that cannot be read: a row of a rules table holding text that is
//!   not UTF-8 (SQLite stores whatever bytes it is given; Hush writes only
//!   UTF-8). Left in place, every read of that table fails, and the session
//!   would start with none of the owner's rules; kept aside, every other row
//!   is restored;
//! - another program's SQLite file: schema version 0 with tables in it
//!   (Hush sets the version in the same transaction that creates its tables,
//!   so a version-0 file with tables was never Hush's);
//! - a negative schema version, which no Hush writes (a damaged header).
//!
//! A database with a newer schema belongs to a newer Hush: it is never
//! touched, and stays a [`StoreError::TooNew`]. Any other error (the file
//! cannot be read, a read-only directory, a full disk) is returned as a
//! [`StoreError`] naming the path; nothing is moved on an error that might
//! pass.
//!
//! Nothing in the old file is destroyed: it is only read (read-only) until a
//! complete replacement exists beside it, as `<name>.recovering`; then the old
//! file's `-wal`, `-shm` and `-journal` are renamed, then the file itself, to
//! `<name>.broken-<unix seconds>` (plus the same suffixes, so SQLite still
//! finds them together), and last the replacement takes the old name. If the
//! process dies between the last two renames, the next call finishes the job.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::ffi::SQLITE_IOERR_SHMSIZE;
use rusqlite::types::Value;
use rusqlite::{Connection, ErrorCode, OpenFlags};

use crate::{StoreError, MIGRATIONS};

/// What [`open_or_recover`] did with a file it could not use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// Where the old file is now. Its `-wal`, `-shm` and `-journal`, if it
    /// had them, are beside it under this name plus the same suffix.
    pub kept_aside: PathBuf,
    /// Rows copied into the new database from the old one's rules tables:
    /// `app_rules`, `domain_rules`, `app_options`, `app_strict`, `settings`,
    /// `list_sources`,
    /// `apps` and `app_packages`.
    pub rules_restored: usize,
    /// Why the old file was not usable, for the user.
    pub reason: String,
}

impl fmt::Display for Recovery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the database was not usable ({}): it was kept aside as {} and a new one \
             was started, with {} rules restored from the old one",
            self.reason,
            self.kept_aside.display(),
            self.rules_restored
        )
    }
}

/// Opens (creating if needed) and upgrades the database at `path`, like
/// [`crate::open`]; a file that is not a usable Hush database is kept aside
/// and replaced, and the [`Recovery`] says so.
///
/// For where Hush starts and is the file's only user: another process with
/// the file open would go on writing to the file kept aside. The check reads
/// every page (`quick_check`): about 0.3 s for 135 MB, warm, on a desktop.
pub fn open_or_recover(path: &Path) -> Result<(Connection, Option<Recovery>), StoreError> {
    open_or_recover_with(path, crate::BUSY_TIMEOUT)
}

/// [`open_or_recover`], waiting at most `busy` for another connection's
/// lock at each step.
pub(crate) fn open_or_recover_with(
    path: &Path,
    busy: Duration,
) -> Result<(Connection, Option<Recovery>), StoreError> {
    finish_interrupted_recovery(path)?;
    let recovery = match diagnose(path, busy)? {
        Health::Usable => None,
        Health::Unusable { reason, foreign } => Some(recover(path, reason, foreign)?),
    };
    let connection = crate::open_with(path, busy).map_err(|error| with_path(path, error))?;
    Ok((connection, recovery))
}

enum Health {
    Usable,
    /// `foreign`: another program's database, whose tables are not Hush's
    /// even where the names match.
    Unusable {
        reason: String,
        foreign: bool,
    },
}

/// Looks at the file without writing to it.
fn diagnose(path: &Path, busy: Duration) -> Result<Health, StoreError> {
    if !path.exists() {
        return Ok(Health::Usable);
    }
    let unusable = |error: rusqlite::Error| match error.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => Ok(Health::Unusable {
            reason: format!("not a SQLite database: {error}"),
            foreign: false,
        }),
        Some(ErrorCode::DatabaseCorrupt) => Ok(Health::Unusable {
            reason: format!("damaged: {error}"),
            foreign: false,
        }),
        _ => Err(sql_error(path, error)),
    };
    let connection = open_read_only(path, busy).map_err(|error| sql_error(path, error))?;
    let found: i64 = match connection.query_row("PRAGMA user_version", [], |row| row.get(0)) {
        Ok(found) => found,
        Err(error) => return unusable(error),
    };
    let known = MIGRATIONS.len() as i64;
    if found > known {
        return Err(StoreError::TooNew { found, known });
    }
    if found < 0 {
        // Hush writes no version below 0 (an empty file): this is a damaged
        // header, or another program's file. Rules may still be read from it.
        return Ok(Health::Unusable {
            reason: format!("damaged: schema version {found}, which no Hush writes"),
            foreign: false,
        });
    }
    if found == 0 {
        let tables = connection
            .prepare(
                "SELECT name FROM sqlite_schema
                 WHERE type = 'table' AND name NOT LIKE 'sqlite!_%' ESCAPE '!'
                 ORDER BY name",
            )
            .and_then(|mut statement| {
                statement
                    .query_map([], |row| row.get::<_, String>(0))?
                    .collect::<Result<Vec<_>, _>>()
            });
        match tables {
            Ok(tables) if tables.is_empty() => {}
            Ok(tables) => {
                let mut named = tables
                    .iter()
                    .take(3)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ");
                if tables.len() > 3 {
                    named.push_str(", ...");
                }
                return Ok(Health::Unusable {
                    reason: format!(
                        "not a Hush database: SQLite, but it holds another program's \
                         tables ({named})"
                    ),
                    foreign: true,
                });
            }
            Err(error) => return unusable(error),
        }
    }
    match connection.query_row("PRAGMA quick_check(1)", [], |row| row.get::<_, String>(0)) {
        Ok(check) if check == "ok" => {
            let undecodable: usize = RULES_TABLES
                .iter()
                .map(|table| read_table(&connection, table).undecodable)
                .sum();
            if undecodable == 0 {
                return Ok(Health::Usable);
            }
            Ok(Health::Unusable {
                reason: format!(
                    "damaged: {undecodable} rows of its rules hold text that is not UTF-8"
                ),
                foreign: false,
            })
        }
        Ok(check) => Ok(Health::Unusable {
            reason: format!(
                "damaged: the integrity check found {:?}",
                check
                    .lines()
                    .filter(|line| !line.starts_with("***"))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            foreign: false,
        }),
        Err(error) => unusable(error),
    }
}

/// A connection that cannot write to the file, and trusts nothing in it.
fn open_read_only(path: &Path, busy: Duration) -> rusqlite::Result<Connection> {
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    connection.pragma_update(None, "trusted_schema", false)?;
    connection.pragma_update(None, "cell_size_check", true)?;
    connection.busy_timeout(busy)?;
    Ok(connection)
}

fn recover(path: &Path, reason: String, foreign: bool) -> Result<Recovery, StoreError> {
    let not_recovered =
        |source: Box<dyn std::error::Error + Send + Sync>| StoreError::NotRecovered {
            path: path.display().to_string(),
            reason: reason.clone(),
            source,
        };
    // Another program's tables are not Hush's rules, whatever their names.
    let rules = if foreign {
        Vec::new()
    } else {
        read_rules(path)
    };
    let replacement = sibling(path, ".recovering");
    let rules_restored = build(&replacement, &rules).map_err(|error| {
        let _ = remove_replacement(&replacement);
        not_recovered(Box::new(with_path(&replacement, error)))
    })?;
    let kept_aside = keep_aside(path).map_err(|error| {
        let _ = remove_replacement(&replacement);
        not_recovered(Box::new(error))
    })?;
    // Should this fail, the next call finds the replacement and no `path`,
    // and finishes the job.
    fs::rename(&replacement, path).map_err(|error| not_recovered(Box::new(error)))?;
    sync_directory(path);
    log::warn!(
        "the database was not usable ({reason}); kept aside, {rules_restored} rules restored"
    );
    Ok(Recovery {
        kept_aside,
        rules_restored,
        reason,
    })
}

/// A rules table: its columns, in the order they are read and written.
struct RulesTable {
    name: &'static str,
    columns: &'static [&'static str],
    /// Columns after `columns` that a later schema added (the package of a
    /// rule, in 5): read as NULL from a file older than that.
    added: &'static [&'static str],
}

impl RulesTable {
    fn all_columns(&self) -> impl Iterator<Item = &'static str> {
        self.columns.iter().chain(self.added).copied()
    }
}

const RULES_TABLES: &[RulesTable] = &[
    RulesTable {
        name: "apps",
        columns: &["uid", "label", "is_system"],
        added: &[],
    },
    RulesTable {
        name: "app_packages",
        columns: &["uid", "package"],
        added: &[],
    },
    RulesTable {
        name: "app_rules",
        columns: &["uid", "network", "mode", "updated_ms"],
        added: &["package"],
    },
    RulesTable {
        name: "domain_rules",
        columns: &["id", "uid", "domain", "action", "created_ms"],
        added: &["package"],
    },
    RulesTable {
        name: "app_options",
        columns: &["uid", "resolved_only", "package", "updated_ms"],
        added: &[],
    },
    RulesTable {
        name: "app_strict",
        columns: &["uid", "strict", "package", "updated_ms"],
        added: &[],
    },
    RulesTable {
        name: "list_sources",
        columns: &["name", "origin", "enabled", "entries", "updated_ms"],
        added: &[],
    },
    RulesTable {
        name: "settings",
        columns: &["key", "value"],
        added: &[],
    },
];

/// Whatever rows of the rules tables can still be read, each table up to
/// the first error in it; rows a damaged page garbled into values Hush
/// would not have written are left out.
fn read_rules(path: &Path) -> Vec<(&'static RulesTable, Vec<Vec<Value>>)> {
    let Ok(connection) = open_read_only(path, crate::BUSY_TIMEOUT) else {
        return Vec::new();
    };
    // Reads a file shorter than its header says (truncated), as far as it
    // goes; on a read-only connection it allows no writing.
    let _ = connection.pragma_update(None, "writable_schema", true);
    RULES_TABLES
        .iter()
        .map(|table| {
            let mut rows = read_table(&connection, table).rows;
            rows.retain(|row| plausible(table.name, row));
            (table, rows)
        })
        .collect()
}

/// The rows of one rules table, as far as they can be read.
#[derive(Default)]
struct TableRead {
    /// Rows whose every value decodes (text as UTF-8).
    rows: Vec<Vec<Value>>,
    /// Rows with a value that does not.
    undecodable: usize,
}

/// Reads `table` up to the first error; a table that is missing, or that
/// this file's schema does not have, reads as empty.
fn read_table(connection: &Connection, table: &RulesTable) -> TableRead {
    let mut read = TableRead::default();
    let select = |columns: Vec<&str>| format!("SELECT {} FROM {}", columns.join(", "), table.name);
    let newest = select(table.all_columns().collect());
    let older = select(
        table
            .columns
            .iter()
            .copied()
            .chain(table.added.iter().map(|_| "NULL"))
            .collect(),
    );
    let Ok(mut statement) = connection
        .prepare(&newest)
        .or_else(|_| connection.prepare(&older))
    else {
        return read;
    };
    let Ok(mut rows) = statement.query([]) else {
        return read;
    };
    let width = table.all_columns().count();
    while let Ok(Some(row)) = rows.next() {
        let values = (0..width)
            .map(|i| row.get::<_, Value>(i))
            .collect::<Result<Vec<_>, _>>();
        match values {
            Ok(values) => read.rows.push(values),
            Err(_) => read.undecodable += 1,
        }
    }
    read
}

/// Whether a row holds the types Hush writes to that table, and domains as
/// Hush writes them. The words (modes, networks, actions) are left to the
/// schema's CHECKs: `INSERT OR IGNORE` skips a row that fails one.
fn plausible(table: &str, row: &[Value]) -> bool {
    let uid = |value: &Value| matches!(value, Value::Integer(n) if u32::try_from(*n).is_ok());
    let integer = |value: &Value| matches!(value, Value::Integer(_));
    let flag = |value: &Value| matches!(value, Value::Integer(0 | 1));
    let text = |value: &Value| matches!(value, Value::Text(_));
    let package = |value: &Value| match value {
        Value::Null => true,
        Value::Text(package) => !package.is_empty(),
        _ => false,
    };
    match (table, row) {
        ("apps", [id, label, system]) => uid(id) && text(label) && flag(system),
        ("app_packages", [id, package]) => uid(id) && text(package),
        ("app_rules", [id, network, mode, updated, made_for]) => {
            uid(id) && text(network) && text(mode) && integer(updated) && package(made_for)
        }
        ("domain_rules", [id, owner, domain, action, created, made_for]) => {
            let normal = |domain: &Value| match domain {
                Value::Text(domain) => {
                    hush_rules::normalize_domain(domain).is_ok_and(|normal| normal == *domain)
                }
                _ => false,
            };
            integer(id)
                && (matches!(owner, Value::Null) || uid(owner))
                && normal(domain)
                && text(action)
                && integer(created)
                && package(made_for)
        }
        ("app_options" | "app_strict", [id, on, made_for, updated]) => {
            uid(id) && flag(on) && package(made_for) && integer(updated)
        }
        ("list_sources", [name, origin, enabled, entries, updated]) => {
            text(name)
                && text(origin)
                && flag(enabled)
                && integer(entries)
                && (matches!(updated, Value::Null) || integer(updated))
        }
        ("settings", [key, value]) => text(key) && text(value),
        _ => false,
    }
}

/// Creates a fresh database at `at` holding `rules`, as one file with no
/// `-wal` beside it, ready to be renamed; returns how many rows it holds.
fn build(at: &Path, rules: &[(&RulesTable, Vec<Vec<Value>>)]) -> Result<usize, StoreError> {
    remove_replacement(at).map_err(|source| StoreError::Create {
        path: at.display().to_string(),
        source,
    })?;
    let mut connection = crate::open(at)?;
    let transaction = connection.transaction()?;
    let mut restored = 0;
    for (table, rows) in rules {
        let columns: Vec<&str> = table.all_columns().collect();
        let placeholders = (1..=columns.len())
            .map(|i| format!("?{i}"))
            .collect::<Vec<_>>();
        let mut insert = transaction.prepare(&format!(
            "INSERT OR IGNORE INTO {} ({}) VALUES ({})",
            table.name,
            columns.join(", "),
            placeholders.join(", ")
        ))?;
        for row in rows {
            restored += insert.execute(rusqlite::params_from_iter(row))?;
        }
    }
    transaction.commit()?;
    // Checkpoints the WAL into the file and removes it.
    let mode: String =
        connection.query_row("PRAGMA journal_mode = DELETE", [], |row| row.get(0))?;
    if mode != "delete" {
        return Err(StoreError::Create {
            path: at.display().to_string(),
            source: std::io::Error::other(format!("it stayed in {mode} journal mode")),
        });
    }
    connection.close().map_err(|(_, error)| error)?;
    Ok(restored)
}

/// Removes a replacement database that was not finished: only a recovery
/// that failed or was cut short leaves one, and it is ours, not the user's.
fn remove_replacement(at: &Path) -> std::io::Result<()> {
    for suffix in SIDE_FILES.iter().chain([&""]) {
        match fs::remove_file(sibling(at, suffix)) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(error),
            _ => {}
        }
    }
    Ok(())
}

/// Renames the file at `path` and the files SQLite keeps beside it to the
/// first free `<name>.broken-<unix seconds>[.<n>]`; returns the new name.
/// Moves back what it moved if a rename fails.
fn keep_aside(path: &Path) -> std::io::Result<PathBuf> {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let free = |candidate: &Path| {
        SIDE_FILES
            .iter()
            .chain([&""])
            .all(|suffix| sibling(candidate, suffix).symlink_metadata().is_err())
    };
    let aside = (0..)
        .map(|n| match n {
            0 => sibling(path, &format!(".broken-{seconds}")),
            n => sibling(path, &format!(".broken-{seconds}.{n}")),
        })
        .find(|candidate| free(candidate))
        .expect("an unbounded range has a free name");
    // The side files first: a database left without its -wal is one SQLite
    // can still read, but a fresh one beside an old -wal or -journal would
    // have the old transactions played into it.
    let mut moved: Vec<(PathBuf, PathBuf)> = Vec::new();
    for suffix in SIDE_FILES.iter().chain([&""]) {
        let (from, to) = (sibling(path, suffix), sibling(&aside, suffix));
        if from.symlink_metadata().is_err() {
            continue;
        }
        if let Err(error) = fs::rename(&from, &to) {
            for (from, to) in moved.iter().rev() {
                let _ = fs::rename(to, from);
            }
            return Err(error);
        }
        moved.push((from, to));
    }
    Ok(aside)
}

const SIDE_FILES: &[&str] = &["-wal", "-shm", "-journal"];

/// The seconds in `file_name` if it is one of the names [`keep_aside`]
/// gives a copy of `database` (`<name>.broken-<seconds>[.<n>]`, or one of
/// its side files).
fn kept_aside_seconds(database: &std::ffi::OsStr, file_name: &std::ffi::OsStr) -> Option<u64> {
    let rest = file_name
        .as_encoded_bytes()
        .strip_prefix(database.as_encoded_bytes())?
        .strip_prefix(b".broken-")?;
    let rest = SIDE_FILES
        .iter()
        .find_map(|suffix| rest.strip_suffix(suffix.as_bytes()))
        .unwrap_or(rest);
    let rest = std::str::from_utf8(rest).ok()?;
    let (seconds, n) = match rest.split_once('.') {
        Some((seconds, n)) => (seconds, Some(n)),
        None => (rest, None),
    };
    let digits = |text: &str| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    if !digits(seconds) || !n.is_none_or(digits) {
        return None;
    }
    seconds.parse().ok()
}

/// Deletes the copies [`open_or_recover`] kept aside of the database at
/// `path` (`<name>.broken-<seconds>[.<n>]` and their `-wal`, `-shm` and
/// `-journal`): all of them, or with `kept_before` only those kept aside
/// before that Unix time in seconds, whose events are all older than it.
/// They hold the same activity as the database did, so clearing the
/// activity and retention reach them too. Returns how many files went.
pub fn remove_kept_aside(path: &Path, kept_before: Option<u64>) -> Result<u64, StoreError> {
    let cannot = |source| StoreError::Create {
        path: path.display().to_string(),
        source,
    };
    let Some(database) = path.file_name() else {
        return Ok(0);
    };
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut removed = 0;
    for entry in fs::read_dir(directory).map_err(cannot)? {
        let entry = entry.map_err(cannot)?;
        let Some(seconds) = kept_aside_seconds(database, &entry.file_name()) else {
            continue;
        };
        if kept_before.is_some_and(|before| seconds >= before) {
            continue;
        }
        match fs::remove_file(entry.path()) {
            Ok(()) => removed += 1,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(cannot(error)),
        }
    }
    if removed > 0 {
        sync_directory(path);
    }
    Ok(removed)
}

/// A recovery cut short after the old file was kept aside but before the
/// replacement took its name leaves `<name>.recovering` and no `<name>`:
/// the replacement was complete by then, so it takes the name now.
fn finish_interrupted_recovery(path: &Path) -> Result<(), StoreError> {
    let replacement = sibling(path, ".recovering");
    if path.symlink_metadata().is_ok() || replacement.symlink_metadata().is_err() {
        return Ok(());
    }
    for suffix in SIDE_FILES.iter().chain([&""]) {
        let from = sibling(&replacement, suffix);
        if from.symlink_metadata().is_ok() {
            fs::rename(&from, sibling(path, suffix)).map_err(|source| StoreError::Create {
                path: path.display().to_string(),
                source,
            })?;
        }
    }
    sync_directory(path);
    Ok(())
}

/// `path` with `suffix` appended to its file name.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

/// Makes the renames in `path`'s directory durable; best effort, as the
/// renames themselves have succeeded.
fn sync_directory(path: &Path) {
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    if let Ok(directory) = fs::File::open(directory) {
        let _ = directory.sync_all();
    }
}

/// `error` with the path named, for the errors a user can act on.
fn with_path(path: &Path, error: StoreError) -> StoreError {
    match error {
        StoreError::Sql(error) => sql_error(path, error),
        other => other,
    }
}

fn sql_error(path: &Path, source: rusqlite::Error) -> StoreError {
    let path = path.display().to_string();
    match source.sqlite_error_code() {
        Some(ErrorCode::CannotOpen) => StoreError::CannotOpen { path, source },
        Some(ErrorCode::ReadOnly) => StoreError::ReadOnly { path, source },
        Some(ErrorCode::DiskFull) => StoreError::DiskFull { path, source },
        // The -shm could not grow: SQLite's documentation says this may mean
        // the disk is full, and in practice it does.
        _ if matches!(source.sqlite_error(), Some(e) if e.extended_code == SQLITE_IOERR_SHMSIZE) => {
            StoreError::DiskFull { path, source }
        }
        _ => StoreError::Sql(source),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_from_before_packages_are_read_with_none() {
        let connection = Connection::open_in_memory().unwrap();
        connection
            .execute_batch(
                "CREATE TABLE app_rules (uid, network, mode, updated_ms);
                 INSERT INTO app_rules VALUES (10123, 'wifi', 'block-all', 5);
                 CREATE TABLE domain_rules (id, uid, domain, action, created_ms);
                 INSERT INTO domain_rules VALUES (1, 10123, 'f-droid.org', 'allow', 8);",
            )
            .unwrap();
        let table = |name| RULES_TABLES.iter().find(|t| t.name == name).unwrap();
        let text = |t: &str| Value::Text(t.into());
        assert_eq!(
            read_table(&connection, table("app_rules")).rows,
            [vec![
                Value::Integer(10_123),
                text("wifi"),
                text("block-all"),
                Value::Integer(5),
                Value::Null
            ]]
        );
        assert_eq!(
            read_table(&connection, table("domain_rules")).rows,
            [vec![
                Value::Integer(1),
                Value::Integer(10_123),
                text("f-droid.org"),
                text("allow"),
                Value::Integer(8),
                Value::Null
            ]]
        );
        // With the column, its value is read.
        connection
            .execute_batch(
                "ALTER TABLE app_rules ADD COLUMN package;
                 UPDATE app_rules SET package = 'org.example.mail';",
            )
            .unwrap();
        assert_eq!(
            read_table(&connection, table("app_rules")).rows[0][4],
            text("org.example.mail")
        );
    }

    #[test]
    fn rows_hush_would_not_have_written_are_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let at = dir.path().join("new.db");
        let table = |name| RULES_TABLES.iter().find(|t| t.name == name).unwrap();
        let text = |t: &str| Value::Text(t.into());
        let rows = |rows: Vec<Vec<Value>>, name| {
            let table = table(name);
            let kept: Vec<_> = rows.into_iter().filter(|r| plausible(name, r)).collect();
            (table, kept)
        };
        let int = Value::Integer;
        let rules = [
            rows(
                vec![
                    vec![int(1), text("wifi"), text("block-all"), int(5), Value::Null],
                    vec![
                        int(6),
                        text("any"),
                        text("allow-all"),
                        int(5),
                        text("org.a"),
                    ],
                    // Words the schema's CHECKs refuse.
                    vec![int(2), text("lan"), text("block-all"), int(5), Value::Null],
                    vec![int(3), text("any"), text("block-some"), int(5), Value::Null],
                    // Types a garbled page could give.
                    vec![int(-4), text("any"), text("allow-all"), int(5), Value::Null],
                    vec![
                        text("5"),
                        text("any"),
                        text("allow-all"),
                        int(5),
                        Value::Null,
                    ],
                    vec![int(8), text("any"), text("allow-all"), int(5), text("")],
                    vec![int(9), text("any"), text("allow-all"), int(5), int(3)],
                ],
                "app_rules",
            ),
            rows(
                vec![
                    vec![
                        int(1),
                        Value::Null,
                        text("a.example"),
                        text("block"),
                        int(1),
                        Value::Null,
                    ],
                    vec![
                        int(2),
                        Value::Null,
                        text("A.example."),
                        text("block"),
                        int(1),
                        Value::Null,
                    ],
                    vec![
                        int(3),
                        Value::Null,
                        text("b.example"),
                        text("deny"),
                        int(1),
                        Value::Null,
                    ],
                    vec![
                        int(4),
                        int(7),
                        text("b.example"),
                        text("allow"),
                        int(1),
                        text("org.b"),
                    ],
                    // A rule for every app made for a package: the CHECK refuses it.
                    vec![
                        int(5),
                        Value::Null,
                        text("c.example"),
                        text("allow"),
                        int(1),
                        text("org.b"),
                    ],
                    vec![
                        int(6),
                        int(7),
                        text("d.example"),
                        text("allow"),
                        int(1),
                        text(""),
                    ],
                ],
                "domain_rules",
            ),
        ];
        assert_eq!(build(&at, &rules).unwrap(), 4);
        assert!(!sibling(&at, "-wal").exists(), "one self-contained file");
        let connection = Connection::open(&at).unwrap();
        let uids: Vec<(i64, Option<String>)> = connection
            .prepare("SELECT uid, package FROM app_rules ORDER BY uid")
            .unwrap()
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(uids, [(1, None), (6, Some("org.a".into()))]);
        let domains: Vec<(i64, String, Option<String>)> = connection
            .prepare("SELECT id, domain, package FROM domain_rules ORDER BY id")
            .unwrap()
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            domains,
            [
                (1, "a.example".into(), None),
                (4, "b.example".into(), Some("org.b".into()))
            ]
        );
    }
}
