//! The ABI facts that Hush's own minimal Android libc headers
//! (`tools/android/include`, used to compile SQLite for Android without the
//! NDK) must share with Bionic, as the `libc` crate defines them for Android.
//!
//! `tools/android/abi.list` lists the facts as C expressions. For each
//! Android target, `tools/android/abi-tables.sh`
//!
//! - compiles every expression against the project's headers with clang into
//!   a table of [`Entry`] records in the section `hush_abi` of an object
//!   file (`target/android/abi/<triple>/headers.bin`), and
//! - builds this crate for the same target, where [`FACTS`] gives the same
//!   facts from the `libc` crate's Android definitions as the static
//!   `HUSH_ABI_LIBC` in the same section (`.../libc.bin`).
//!
//! The test `tests/abi.rs` compares the two tables and fails on any
//! difference; it also checks that the list, this crate and the headers
//! agree on what is checked. Both tables are read from object files, so every
//! value is what each compiler computed for the target, sizes and offsets
//! included.

/// The size of an [`Entry`]'s name: a fact's C text, NUL-padded.
pub const NAME_LEN: usize = 56;

/// One fact as stored in a table: the C expression and its value
/// (little-endian `i64`; both Android targets are little-endian).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    /// The expression, as in `tools/android/abi.list`, NUL-padded.
    pub name: [u8; NAME_LEN],
    /// Its value for the target.
    pub value: i64,
}

impl Entry {
    /// An entry; `name` must be shorter than [`NAME_LEN`] (a compile error
    /// in a static otherwise).
    pub const fn new(name: &str, value: i64) -> Entry {
        let bytes = name.as_bytes();
        assert!(bytes.len() < NAME_LEN, "fact name too long");
        let mut out = [0u8; NAME_LEN];
        let mut i = 0;
        while i < bytes.len() {
            out[i] = bytes[i];
            i += 1;
        }
        Entry { name: out, value }
    }
}

/// Reads a table of [`Entry`] records (the raw contents of a `hush_abi`
/// section) into (expression, value) pairs; refuses a ragged table, a bad
/// name or a fact given twice.
pub fn parse_table(bytes: &[u8]) -> Result<std::collections::BTreeMap<String, i64>, String> {
    let size = std::mem::size_of::<Entry>();
    if bytes.is_empty() || bytes.len() % size != 0 {
        return Err(format!(
            "table of {} bytes is not a whole number of {size}-byte entries",
            bytes.len()
        ));
    }
    let mut out = std::collections::BTreeMap::new();
    for rec in bytes.chunks(size) {
        let name = &rec[..NAME_LEN];
        let end = name
            .iter()
            .position(|&b| b == 0)
            .ok_or("entry name without its NUL")?;
        if name[end..].iter().any(|&b| b != 0) {
            return Err("entry name with bytes after its NUL".into());
        }
        let name = std::str::from_utf8(&name[..end])
            .map_err(|_| "entry name is not UTF-8".to_string())?
            .to_string();
        let value = i64::from_le_bytes(rec[NAME_LEN..].try_into().expect("8 bytes"));
        if out.insert(name.clone(), value).is_some() {
            return Err(format!("fact {name:?} given twice"));
        }
    }
    Ok(out)
}

/// Declares the facts: their names on every target ([`FACTS`]), and on
/// Android the table `HUSH_ABI_LIBC` of their values from the `libc` crate.
macro_rules! facts {
    ($($name:literal => $value:expr,)*) => {
        /// Every fact this crate gives, by its C text (must equal
        /// `tools/android/abi.list`).
        pub const FACTS: &[&str] = &[$($name),*];

        #[cfg(target_os = "android")]
        #[allow(clippy::unnecessary_cast)]
        mod android {
            use super::Entry;
            #[allow(unused_imports)]
            use core::mem::{align_of, offset_of, size_of, size_of_val};

            // SAFETY: `stat` is a C struct of integers (and integer arrays for
            // padding): all zero bytes is a valid value of it; only its fields'
            // sizes and offsets are read.
            const STAT: libc::stat = unsafe { core::mem::zeroed() };

            /// The facts' values from the `libc` crate for this target.
            // SAFETY: `HUSH_ABI_LIBC` is the only symbol of that name in the
            // library (no other item is called so), and section `hush_abi`
            // holds nothing but this table of plain bytes and integers
            // (`Entry` is `repr(C)`, no pointers), which no code runs or
            // reads: the test reads it out of the object file.
            #[used]
            #[unsafe(no_mangle)]
            #[unsafe(link_section = "hush_abi")]
            pub static HUSH_ABI_LIBC: [Entry; super::FACTS.len()] = [
                $(Entry::new($name, ($value) as i64)),*
            ];
        }
    };
}

facts! {
    "EPERM" => libc::EPERM,
    "ENOENT" => libc::ENOENT,
    "EINTR" => libc::EINTR,
    "EIO" => libc::EIO,
    "EBADF" => libc::EBADF,
    "EAGAIN" => libc::EAGAIN,
    "ENOMEM" => libc::ENOMEM,
    "EACCES" => libc::EACCES,
    "EBUSY" => libc::EBUSY,
    "EEXIST" => libc::EEXIST,
    "ENOTDIR" => libc::ENOTDIR,
    "EISDIR" => libc::EISDIR,
    "EINVAL" => libc::EINVAL,
    "ENFILE" => libc::ENFILE,
    "EMFILE" => libc::EMFILE,
    "ENOSPC" => libc::ENOSPC,
    "EROFS" => libc::EROFS,
    "ERANGE" => libc::ERANGE,
    "EDEADLK" => libc::EDEADLK,
    "ENOLCK" => libc::ENOLCK,
    "ENOSYS" => libc::ENOSYS,
    "ETIMEDOUT" => libc::ETIMEDOUT,
    "EOVERFLOW" => libc::EOVERFLOW,

    "O_RDONLY" => libc::O_RDONLY,
    "O_WRONLY" => libc::O_WRONLY,
    "O_RDWR" => libc::O_RDWR,
    "O_CREAT" => libc::O_CREAT,
    "O_EXCL" => libc::O_EXCL,
    "O_TRUNC" => libc::O_TRUNC,
    "O_APPEND" => libc::O_APPEND,
    "O_NOFOLLOW" => libc::O_NOFOLLOW,
    "O_CLOEXEC" => libc::O_CLOEXEC,
    "O_DIRECTORY" => libc::O_DIRECTORY,
    "O_LARGEFILE" => libc::O_LARGEFILE,
    "F_GETFD" => libc::F_GETFD,
    "F_SETFD" => libc::F_SETFD,
    "F_GETFL" => libc::F_GETFL,
    "F_SETFL" => libc::F_SETFL,
    "F_GETLK" => libc::F_GETLK,
    "F_SETLK" => libc::F_SETLK,
    "F_SETLKW" => libc::F_SETLKW,
    "FD_CLOEXEC" => libc::FD_CLOEXEC,
    "F_RDLCK" => libc::F_RDLCK,
    "F_WRLCK" => libc::F_WRLCK,
    "F_UNLCK" => libc::F_UNLCK,
    "sizeof(struct flock)" => size_of::<libc::flock>(),
    "offsetof(struct flock, l_type)" => offset_of!(libc::flock, l_type),
    "offsetof(struct flock, l_whence)" => offset_of!(libc::flock, l_whence),
    "offsetof(struct flock, l_start)" => offset_of!(libc::flock, l_start),
    "offsetof(struct flock, l_len)" => offset_of!(libc::flock, l_len),
    "offsetof(struct flock, l_pid)" => offset_of!(libc::flock, l_pid),

    "F_OK" => libc::F_OK,
    "X_OK" => libc::X_OK,
    "W_OK" => libc::W_OK,
    "R_OK" => libc::R_OK,
    "SEEK_SET" => libc::SEEK_SET,
    "SEEK_CUR" => libc::SEEK_CUR,
    "SEEK_END" => libc::SEEK_END,
    "_SC_PAGESIZE" => libc::_SC_PAGESIZE,
    "_SC_PAGE_SIZE" => libc::_SC_PAGE_SIZE,

    "PROT_NONE" => libc::PROT_NONE,
    "PROT_READ" => libc::PROT_READ,
    "PROT_WRITE" => libc::PROT_WRITE,
    "MAP_SHARED" => libc::MAP_SHARED,
    "MAP_PRIVATE" => libc::MAP_PRIVATE,
    "MAP_ANONYMOUS" => libc::MAP_ANONYMOUS,

    "sizeof(ssize_t)" => size_of::<libc::ssize_t>(),
    "sizeof(off_t)" => size_of::<libc::off_t>(),
    "sizeof(off64_t)" => size_of::<libc::off64_t>(),
    "sizeof(time_t)" => size_of::<libc::time_t>(),
    "sizeof(suseconds_t)" => size_of::<libc::suseconds_t>(),
    "sizeof(clock_t)" => size_of::<libc::clock_t>(),
    "sizeof(clockid_t)" => size_of::<libc::clockid_t>(),
    "sizeof(useconds_t)" => size_of::<libc::useconds_t>(),
    "sizeof(pid_t)" => size_of::<libc::pid_t>(),
    "sizeof(uid_t)" => size_of::<libc::uid_t>(),
    "sizeof(gid_t)" => size_of::<libc::gid_t>(),
    "sizeof(mode_t)" => size_of::<libc::mode_t>(),
    "sizeof(dev_t)" => size_of::<libc::dev_t>(),
    "sizeof(ino_t)" => size_of::<libc::ino_t>(),
    "sizeof(nlink_t)" => size_of::<libc::nlink_t>(),
    "sizeof(blksize_t)" => size_of::<libc::blksize_t>(),
    "sizeof(blkcnt_t)" => size_of::<libc::blkcnt_t>(),
    "(ssize_t)-1 < 0" => libc::ssize_t::MIN < 0,
    "(off_t)-1 < 0" => libc::off_t::MIN < 0,
    "(uid_t)-1 > 0" => libc::uid_t::MIN == 0,
    "(mode_t)-1 > 0" => libc::mode_t::MIN == 0,

    "sizeof(struct stat)" => size_of::<libc::stat>(),
    "_Alignof(struct stat)" => align_of::<libc::stat>(),
    "offsetof(struct stat, st_dev)" => offset_of!(libc::stat, st_dev),
    "offsetof(struct stat, st_ino)" => offset_of!(libc::stat, st_ino),
    "offsetof(struct stat, st_mode)" => offset_of!(libc::stat, st_mode),
    "offsetof(struct stat, st_nlink)" => offset_of!(libc::stat, st_nlink),
    "offsetof(struct stat, st_uid)" => offset_of!(libc::stat, st_uid),
    "offsetof(struct stat, st_gid)" => offset_of!(libc::stat, st_gid),
    "offsetof(struct stat, st_rdev)" => offset_of!(libc::stat, st_rdev),
    "offsetof(struct stat, st_size)" => offset_of!(libc::stat, st_size),
    "offsetof(struct stat, st_blksize)" => offset_of!(libc::stat, st_blksize),
    "offsetof(struct stat, st_blocks)" => offset_of!(libc::stat, st_blocks),
    "offsetof(struct stat, st_atime)" => offset_of!(libc::stat, st_atime),
    "offsetof(struct stat, st_mtime)" => offset_of!(libc::stat, st_mtime),
    "offsetof(struct stat, st_ctime)" => offset_of!(libc::stat, st_ctime),
    "sizeof(((struct stat*)0)->st_mode)" => size_of_val(&STAT.st_mode),
    "sizeof(((struct stat*)0)->st_nlink)" => size_of_val(&STAT.st_nlink),
    "sizeof(((struct stat*)0)->st_size)" => size_of_val(&STAT.st_size),
    "sizeof(((struct stat*)0)->st_blksize)" => size_of_val(&STAT.st_blksize),
    "S_IFMT" => libc::S_IFMT,
    "S_IFREG" => libc::S_IFREG,
    "S_IFDIR" => libc::S_IFDIR,
    "S_IFLNK" => libc::S_IFLNK,
    "S_IRUSR" => libc::S_IRUSR,
    "S_IWUSR" => libc::S_IWUSR,
    "S_IXUSR" => libc::S_IXUSR,
    "S_IRWXU" => libc::S_IRWXU,

    "sizeof(struct tm)" => size_of::<libc::tm>(),
    "_Alignof(struct tm)" => align_of::<libc::tm>(),
    "offsetof(struct tm, tm_year)" => offset_of!(libc::tm, tm_year),
    "offsetof(struct tm, tm_isdst)" => offset_of!(libc::tm, tm_isdst),
    "offsetof(struct tm, tm_gmtoff)" => offset_of!(libc::tm, tm_gmtoff),
    "offsetof(struct tm, tm_zone)" => offset_of!(libc::tm, tm_zone),
    "sizeof(struct timespec)" => size_of::<libc::timespec>(),
    "offsetof(struct timespec, tv_nsec)" => offset_of!(libc::timespec, tv_nsec),
    "sizeof(struct timeval)" => size_of::<libc::timeval>(),
    "offsetof(struct timeval, tv_usec)" => offset_of!(libc::timeval, tv_usec),
    "CLOCK_REALTIME" => libc::CLOCK_REALTIME,
    "CLOCK_MONOTONIC" => libc::CLOCK_MONOTONIC,

    "sizeof(pthread_t)" => size_of::<libc::pthread_t>(),
    "sizeof(pthread_mutex_t)" => size_of::<libc::pthread_mutex_t>(),
    "_Alignof(pthread_mutex_t)" => align_of::<libc::pthread_mutex_t>(),
    "sizeof(pthread_mutexattr_t)" => size_of::<libc::pthread_mutexattr_t>(),
    "PTHREAD_MUTEX_NORMAL" => libc::PTHREAD_MUTEX_NORMAL,
    "PTHREAD_MUTEX_RECURSIVE" => libc::PTHREAD_MUTEX_RECURSIVE,
    "PTHREAD_MUTEX_ERRORCHECK" => libc::PTHREAD_MUTEX_ERRORCHECK,
    "PTHREAD_MUTEX_DEFAULT" => libc::PTHREAD_MUTEX_DEFAULT,

    "FILENAME_MAX" => libc::FILENAME_MAX,
}
