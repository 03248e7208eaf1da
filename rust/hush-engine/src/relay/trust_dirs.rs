//! Android's system trust store, read from its certificate directories,
//! for checking the encrypted upstream's certificate.
//!
//! Layer: inside the relay, below [`super::encrypted`]. On Android the
//! certificate of a DoT or DoH resolver is checked by rustls' own
//! [`WebPkiServerVerifier`] over the anchors read here. The usual way,
//! `rustls-platform-verifier`, calls Android's `TrustManager` through a
//! Kotlin component published only on a GitHub Maven repository, which Hush
//! cannot build from; without it that verifier fails at run time.
//!
//! Android keeps the system's CAs as files named `<subject hash>.<n>`, each
//! a PEM certificate followed by `openssl x509 -text` output. Since
//! Android 14 they come from the Conscrypt APEX
//! ([`APEX_CACERTS`], updated through Google Play); before, from
//! [`SYSTEM_CACERTS`]. The first directory that yields at least one
//! certificate is used. Files that cannot be read or hold no valid
//! certificate are skipped and counted; no anchor at all is an error, which
//! the encrypted client turns into SERVFAIL with its reason for every query
//! (never clear text). The extra anchors (`--upstream-ca`) join the same
//! store.
//!
//! What this does not do, compared with Android's own `TrustManager`:
//! - CAs the owner turned off in Settings (listed in
//!   `/data/misc/user/0/cacerts-removed`, which apps cannot read) are still
//!   trusted; CAs the owner installed (`cacerts-added`) are not, as for any
//!   app that does not opt in to user CAs.
//! - No revocation checks (neither does Android's default for apps), no
//!   certificate transparency, no pinning, and no distrust dates for CAs
//!   Android distrusts only after a date.
//!
//! The module builds on every target so its tests run on Linux; only the
//! Android build uses it.
//!
//! Invariants: at most [`MAX_FILES`] files read per directory, each of at
//! most [`MAX_FILE`] bytes. Never: trust a file that does not parse as a
//! certificate.

#![cfg_attr(not(target_os = "android"), allow(dead_code))]

use std::fmt;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::RootCertStore;

/// Android 14 and later: the CAs of the Conscrypt module.
pub(crate) const APEX_CACERTS: &str = "/apex/com.android.conscrypt/cacerts";
/// Android before 14 (and a fallback after).
pub(crate) const SYSTEM_CACERTS: &str = "/system/etc/security/cacerts";
/// Android's directories, in the order they are tried.
pub(crate) const ANDROID_DIRS: [&str; 2] = [APEX_CACERTS, SYSTEM_CACERTS];

/// Files read from one directory at most; Android ships about 150.
pub(crate) const MAX_FILES: usize = 4096;
/// The largest file read; a CA with its text dump is a few KiB.
pub(crate) const MAX_FILE: u64 = 256 * 1024;

/// The anchors read from one directory.
pub(crate) struct Loaded {
    pub roots: RootCertStore,
    pub dir: PathBuf,
    /// Files that gave at least one anchor.
    pub files: usize,
    /// Files skipped: unreadable, too large, or without a valid certificate.
    pub skipped: usize,
}

impl fmt::Debug for Loaded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Loaded")
            .field("anchors", &self.roots.len())
            .field("dir", &self.dir)
            .field("files", &self.files)
            .field("skipped", &self.skipped)
            .finish()
    }
}

/// Reads every certificate file of `dir`. A file is skipped (and counted)
/// when it cannot be read, is larger than [`MAX_FILE`], holds malformed PEM
/// or holds no certificate that parses as a trust anchor. Fails only when
/// the directory itself cannot be listed.
pub(crate) fn load_dir(dir: &Path) -> io::Result<Loaded> {
    let mut loaded = Loaded {
        roots: RootCertStore::empty(),
        dir: dir.to_path_buf(),
        files: 0,
        skipped: 0,
    };
    for entry in fs::read_dir(dir)?.take(MAX_FILES) {
        let Ok(entry) = entry else {
            loaded.skipped += 1;
            continue;
        };
        // Symbolic links are followed, as Android's own reader does.
        let path = entry.path();
        if !fs::metadata(&path).is_ok_and(|m| m.is_file()) {
            continue;
        }
        match anchors_in(&path, &mut loaded.roots) {
            Some(n) if n > 0 => loaded.files += 1,
            _ => loaded.skipped += 1,
        }
    }
    Ok(loaded)
}

/// Adds the certificates of one file to `roots`; how many, or `None` when
/// the file cannot be read or its PEM is malformed.
fn anchors_in(path: &Path, roots: &mut RootCertStore) -> Option<usize> {
    let mut bytes = Vec::new();
    fs::File::open(path)
        .ok()?
        .take(MAX_FILE + 1)
        .read_to_end(&mut bytes)
        .ok()?;
    if bytes.len() as u64 > MAX_FILE {
        return None;
    }
    // Certificates only: the text after them (and any other PEM section) is
    // passed over by the reader.
    let certificates: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .ok()?;
    let mut added = 0;
    for certificate in certificates {
        if roots.add(certificate).is_ok() {
            added += 1;
        }
    }
    Some(added)
}

/// The anchors of the first directory of `dirs` that holds any. A missing
/// directory is passed over; when none gives an anchor, the error says
/// where Hush looked and how many files it had to skip.
pub(crate) fn load_first(dirs: &[&Path]) -> io::Result<Loaded> {
    let mut looked = Vec::new();
    for dir in dirs {
        match load_dir(dir) {
            Ok(loaded) if !loaded.roots.is_empty() => return Ok(loaded),
            Ok(loaded) => looked.push(format!(
                "{}: no certificate ({} files skipped)",
                dir.display(),
                loaded.skipped
            )),
            Err(error) => looked.push(format!("{}: {error}", dir.display())),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::NotFound,
        format!(
            "no trust anchor could be read from the system's certificates ({})",
            looked.join("; ")
        ),
    ))
}

/// A verifier trusting the anchors of the first of `dirs` that has any,
/// plus `extra_roots` (DER). With extra anchors, an unreadable system store
/// leaves just those (logged); without, it is an error. An extra anchor
/// that is no certificate is an error either way.
pub(crate) fn verifier(
    dirs: &[&Path],
    extra_roots: &[Vec<u8>],
    provider: Arc<CryptoProvider>,
) -> io::Result<Arc<WebPkiServerVerifier>> {
    let mut roots = match load_first(dirs) {
        Ok(loaded) => {
            if loaded.skipped > 0 {
                log::info!(
                    "trust store: {} anchors from {}, {} files skipped",
                    loaded.roots.len(),
                    loaded.dir.display(),
                    loaded.skipped
                );
            }
            loaded.roots
        }
        Err(error) if !extra_roots.is_empty() => {
            log::warn!("{error}; trusting only the extra anchors");
            RootCertStore::empty()
        }
        Err(error) => return Err(error),
    };
    add_extra_roots(&mut roots, extra_roots)?;
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(|e| io::Error::other(format!("the trust store cannot be used: {e}")))
}

/// Adds `extra_roots` (DER) to `roots`; one that is no certificate is an
/// error of kind `InvalidInput` (a configuration to fix, not a failure of
/// the platform).
pub(crate) fn add_extra_roots(
    roots: &mut RootCertStore,
    extra_roots: &[Vec<u8>],
) -> io::Result<()> {
    for (index, der) in extra_roots.iter().enumerate() {
        roots
            .add(CertificateDer::from(der.as_slice()))
            .map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "extra trust anchor {} is not a usable certificate: {e}",
                        index + 1
                    ),
                )
            })?;
    }
    Ok(())
}

/// Android's system trust store plus `extra_roots`.
pub(crate) fn android_verifier(
    extra_roots: &[Vec<u8>],
    provider: Arc<CryptoProvider>,
) -> io::Result<Arc<WebPkiServerVerifier>> {
    let dirs = ANDROID_DIRS.map(Path::new);
    verifier(&dirs, extra_roots, provider)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::client::danger::ServerCertVerifier;
    use rustls::pki_types::{ServerName, UnixTime};
    use std::process::Command;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A directory removed when dropped.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> Self {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let path = std::env::temp_dir().join(format!(
                "hush-trust-{tag}-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = fs::remove_dir_all(&path);
            fs::create_dir_all(&path).unwrap();
            Self(path)
        }

        fn path(&self, name: &str) -> PathBuf {
            self.0.join(name)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    /// Runs `openssl` with `command`'s words in `dir`; its output.
    fn openssl(command: &str, dir: &Path) -> Vec<u8> {
        let args: Vec<&str> = command.split_whitespace().collect();
        let output = Command::new("openssl")
            .args(&args)
            .current_dir(dir)
            .output()
            .expect("the openssl command (apt-get install openssl)");
        assert!(
            output.status.success(),
            "openssl {command}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output.stdout
    }

    const EC: &str = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";

    /// A CA `name` (key `name.key`, certificate `name.pem`) in `work`.
    fn make_ca(work: &Path, name: &str) {
        openssl(
            &format!(
                "req -x509 {EC} -days 30 -subj /CN=hush-test-{name} \
                 -addext basicConstraints=critical,CA:TRUE \
                 -addext keyUsage=critical,keyCertSign,cRLSign \
                 -keyout {name}.key -out {name}.pem"
            ),
            work,
        );
    }

    /// A server certificate for `host` signed by CA `ca`, as DER.
    fn make_server(work: &Path, ca: &str, host: &str) -> CertificateDer<'static> {
        let stem = format!("{host}-by-{ca}");
        openssl(
            &format!("req {EC} -subj /CN={host} -keyout {stem}.key -out {stem}.csr"),
            work,
        );
        fs::write(
            work.join(format!("{stem}.ext")),
            format!(
                "subjectAltName=DNS:{host}\nbasicConstraints=CA:FALSE\n\
                 extendedKeyUsage=serverAuth\nkeyUsage=digitalSignature\n"
            ),
        )
        .unwrap();
        let der = openssl(
            &format!(
                "x509 -req -in {stem}.csr -CA {ca}.pem -CAkey {ca}.key -CAcreateserial \
                 -days 30 -extfile {stem}.ext -outform DER"
            ),
            work,
        );
        CertificateDer::from(der)
    }

    /// The CA's certificate as Android stores it: PEM, then the text dump.
    fn android_file(work: &Path, ca: &str) -> Vec<u8> {
        let mut bytes = fs::read(work.join(format!("{ca}.pem"))).unwrap();
        let text = openssl(
            &format!("x509 -in {ca}.pem -noout -text -fingerprint"),
            work,
        );
        assert!(text.starts_with(b"Certificate:"), "unexpected dump");
        bytes.extend_from_slice(&text);
        bytes
    }

    fn provider() -> Arc<CryptoProvider> {
        #[allow(deprecated)]
        Arc::new(rustls::crypto::ring::default_provider())
    }

    fn check(
        verifier: &WebPkiServerVerifier,
        certificate: &CertificateDer<'_>,
        host: &str,
    ) -> Result<(), rustls::Error> {
        let name = ServerName::try_from(host.to_string()).unwrap();
        verifier
            .verify_server_cert(certificate, &[], &name, &[], UnixTime::now())
            .map(drop)
    }

    #[test]
    fn android_files_load_and_junk_is_skipped_and_counted() {
        let work = TempDir::new("work");
        make_ca(&work.0, "ca");
        make_ca(&work.0, "other");
        let store = TempDir::new("store");
        fs::write(store.path("1a2b3c4d.0"), android_file(&work.0, "ca")).unwrap();
        fs::write(store.path("5e6f7a8b.0"), android_file(&work.0, "other")).unwrap();
        // Not PEM at all; PEM that is no certificate; a certificate whose
        // body is not base64; an empty file; a directory (passed over).
        fs::write(store.path("00000000.0"), b"\x00\xffnot a certificate\n").unwrap();
        fs::write(
            store.path("00000001.0"),
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        fs::write(
            store.path("00000002.0"),
            b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        fs::write(store.path("00000003.0"), b"").unwrap();
        fs::create_dir(store.path("sub")).unwrap();

        let loaded = load_dir(&store.0).unwrap();
        assert_eq!(loaded.roots.len(), 2, "{loaded:?}");
        assert_eq!(loaded.files, 2);
        assert_eq!(loaded.skipped, 4);
    }

    #[test]
    fn an_oversized_file_is_skipped() {
        let work = TempDir::new("work");
        make_ca(&work.0, "ca");
        let store = TempDir::new("store");
        let mut big = android_file(&work.0, "ca");
        big.resize(MAX_FILE as usize + 1, b'\n');
        fs::write(store.path("1a2b3c4d.0"), big).unwrap();
        let loaded = load_dir(&store.0).unwrap();
        assert_eq!((loaded.roots.len(), loaded.skipped), (0, 1));
    }

    #[test]
    fn the_first_directory_with_anchors_wins() {
        let work = TempDir::new("work");
        make_ca(&work.0, "ca");
        let empty = TempDir::new("empty");
        let junk = TempDir::new("junk");
        fs::write(junk.path("00000000.0"), b"junk").unwrap();
        let store = TempDir::new("store");
        fs::write(store.path("1a2b3c4d.0"), android_file(&work.0, "ca")).unwrap();
        let missing = work.path("no-such-dir");

        let loaded = load_first(&[&missing, &empty.0, &junk.0, &store.0]).unwrap();
        assert_eq!(loaded.dir, store.0);
        assert_eq!(loaded.roots.len(), 1);

        let error = load_first(&[&missing, &empty.0, &junk.0]).unwrap_err();
        let said = error.to_string();
        assert!(said.contains("no trust anchor"), "{said}");
        assert!(said.contains("1 files skipped"), "{said}");
        assert!(said.contains(&missing.display().to_string()), "{said}");
        assert!(verifier(&[&empty.0], &[], provider()).is_err());
    }

    #[test]
    fn a_verifier_from_the_directory_trusts_its_ca_only() {
        let work = TempDir::new("work");
        make_ca(&work.0, "ca");
        make_ca(&work.0, "rogue");
        let good = make_server(&work.0, "ca", "dns.lab.test");
        let forged = make_server(&work.0, "rogue", "dns.lab.test");
        let store = TempDir::new("store");
        fs::write(store.path("1a2b3c4d.0"), android_file(&work.0, "ca")).unwrap();
        fs::write(store.path("00000000.0"), b"garbage").unwrap();

        let verifier = verifier(&[&store.0], &[], provider()).unwrap();
        assert_eq!(check(&verifier, &good, "dns.lab.test"), Ok(()));
        assert!(matches!(
            check(&verifier, &forged, "dns.lab.test"),
            Err(rustls::Error::InvalidCertificate(_))
        ));
        // The right CA, the wrong name.
        assert!(matches!(
            check(&verifier, &good, "other.lab.test"),
            Err(rustls::Error::InvalidCertificate(_))
        ));
    }

    #[test]
    fn extra_anchors_join_the_system_store_or_stand_alone() {
        let work = TempDir::new("work");
        make_ca(&work.0, "ca");
        make_ca(&work.0, "lab");
        let system = make_server(&work.0, "ca", "dns.lab.test");
        let lab = make_server(&work.0, "lab", "dns.lab.test");
        let lab_ca: Vec<u8> = CertificateDer::from_pem_file(work.path("lab.pem"))
            .unwrap()
            .to_vec();
        let store = TempDir::new("store");
        fs::write(store.path("1a2b3c4d.0"), android_file(&work.0, "ca")).unwrap();
        let empty = TempDir::new("empty");

        let both = verifier(&[&store.0], std::slice::from_ref(&lab_ca), provider()).unwrap();
        assert_eq!(check(&both, &system, "dns.lab.test"), Ok(()));
        assert_eq!(check(&both, &lab, "dns.lab.test"), Ok(()));

        let only_lab = verifier(&[&empty.0], &[lab_ca], provider()).unwrap();
        assert_eq!(check(&only_lab, &lab, "dns.lab.test"), Ok(()));
        assert!(check(&only_lab, &system, "dns.lab.test").is_err());

        let error = verifier(&[&store.0], &[vec![0x30, 0x03, 1, 2, 3]], provider()).unwrap_err();
        assert!(
            error.to_string().contains("extra trust anchor 1"),
            "{error}"
        );
    }
}
