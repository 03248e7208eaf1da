//! The control socket of a running `hush run --control PATH`, and `hush ctl`
//! that talks to it: what a phone's platform tells the firewall while it runs
//! (the network moved to another interface, the network changed), its
//! health, and faults injected by tests.
//!
//! The protocol is one line each way: a request (`out-iface NAME`,
//! `network-changed`, `health`, `fault WORD`) and an answer, `ok [TEXT]` or
//! `error TEXT`. The socket is a Unix socket created owner-only (0600) and
//! removed at exit; a path where another `hush` listens is refused, a stale
//! one left by a killed run is replaced.
//!
//! Never: accept more than one line per connection, or wait on a client
//! longer than [`CLIENT_TIMEOUT`].

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

/// The longest request line taken.
const MAX_REQUEST: usize = 512;
/// How long a client may take to send its line, and `hush ctl` waits for the answer.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);

/// A request to a running `hush run`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Bind Hush's sockets to another interface from now on, then reopen them.
    OutIface(String),
    /// Tell the session the network changed.
    /// With the resolver allowed queries go to from now on, if named.
    NetworkChanged(Option<SocketAddr>),
    /// The session's health, as JSON.
    Health,
    /// Inject a fault (test builds only).
    Fault(String),
}

impl Request {
    /// Reads one request line.
    pub fn parse(line: &str) -> Result<Request, String> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let expect = |count: usize, usage: &str| {
            if words.len() == count {
                Ok(())
            } else {
                Err(format!("usage: {usage}"))
            }
        };
        match words.first().copied() {
            Some("out-iface") => {
                expect(2, "out-iface NAME")?;
                Ok(Request::OutIface(words[1].to_string()))
            }
            Some("network-changed") => match words[1..] {
                [] => Ok(Request::NetworkChanged(None)),
                [resolver] => hush_session::api::resolver_address(resolver)
                    .map(|address| Request::NetworkChanged(Some(address)))
                    .map_err(|e| e.to_string()),
                _ => Err("usage: network-changed [RESOLVER]".into()),
            },
            Some("health") => {
                expect(1, "health")?;
                Ok(Request::Health)
            }
            Some("fault") => {
                expect(2, "fault packet|dns|writer|follower")?;
                Ok(Request::Fault(words[1].to_string()))
            }
            Some(other) => Err(format!(
                "unknown command {other:?} (out-iface, network-changed, health or fault)"
            )),
            None => Err("empty command (out-iface, network-changed, health or fault)".into()),
        }
    }

    /// The line that carries it.
    pub fn to_line(&self) -> String {
        match self {
            Request::OutIface(name) => format!("out-iface {name}"),
            Request::NetworkChanged(None) => "network-changed".into(),
            Request::NetworkChanged(Some(resolver)) => format!("network-changed {resolver}"),
            Request::Health => "health".into(),
            Request::Fault(word) => format!("fault {word}"),
        }
    }
}

/// What carries requests out: the running session, or a fake in tests.
pub trait Control {
    fn out_iface(&self, name: &str) -> Result<String, String>;
    fn network_changed(&self, resolver: Option<SocketAddr>);
    fn health_json(&self) -> Result<String, String>;
    fn fault(&self, word: &str) -> Result<(), String>;
}

/// The answer line to `line`: `ok [TEXT]` or `error TEXT`.
pub fn answer(control: &dyn Control, line: &str) -> String {
    let result = Request::parse(line).and_then(|request| match request {
        Request::OutIface(name) => control.out_iface(&name),
        Request::NetworkChanged(resolver) => {
            control.network_changed(resolver);
            Ok(match resolver {
                None => "network change signalled".into(),
                Some(resolver) => format!("network change signalled, resolver {resolver}"),
            })
        }
        Request::Health => control.health_json(),
        Request::Fault(word) => control
            .fault(&word)
            .map(|()| format!("fault {word} injected")),
    });
    match result {
        Ok(text) => format!("ok {}", one_line(&text)),
        Err(text) => format!("error {}", one_line(&text)),
    }
}

fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

/// The listening control socket; its file is removed on drop.
pub struct ControlSocket {
    listener: Option<UnixListener>,
    path: PathBuf,
    /// (device, inode) of the socket file made, so only it is removed.
    identity: (u64, u64),
}

impl ControlSocket {
    /// Creates the socket at `path`, owner-only. Refuses a path where
    /// another process listens, or that is not a socket; replaces a stale
    /// socket.
    pub fn bind(path: &Path) -> Result<ControlSocket, String> {
        let shown = path.display();
        match std::fs::symlink_metadata(path) {
            Ok(metadata) if !metadata.file_type().is_socket() => {
                return Err(format!(
                    "the control path {shown} exists and is not a socket"
                ))
            }
            Ok(_) => match UnixStream::connect(path) {
                Ok(_) => {
                    return Err(format!(
                        "another hush already listens on the control socket {shown}"
                    ))
                }
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                    // Left by a run that was killed.
                    std::fs::remove_file(path)
                        .map_err(|e| format!("failed to remove the stale socket {shown}: {e}"))?;
                }
                Err(e) => return Err(format!("failed to check the control socket {shown}: {e}")),
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("failed to check the control path {shown}: {e}")),
        }
        let (listener, identity) = bind_owner_only(path)
            .map_err(|e| format!("failed to create the control socket {shown}: {e}"))?;
        Ok(ControlSocket {
            listener: Some(listener),
            path: path.to_path_buf(),
            identity,
        })
    }

    /// Answers requests with `control`, one client at a time, until the
    /// future is dropped. Needs a tokio runtime with I/O enabled.
    pub async fn serve(&mut self, control: &dyn Control) -> io::Result<()> {
        let listener = self
            .listener
            .take()
            .ok_or_else(|| io::Error::other("the control socket is served already"))?;
        listener.set_nonblocking(true)?;
        let listener = tokio::net::UnixListener::from_std(listener)?;
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(client) => client,
                // A client that went away before it was taken, or a
                // shortage of descriptors: wait a little, go on.
                Err(e) => {
                    log::debug!("control socket: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            if let Err(e) = serve_one(stream, control).await {
                log::debug!("control socket: a client failed: {e}");
            }
        }
    }
}

/// Binds a socket at `path` that is 0600 from the moment it appears there:
/// bound in a fresh owner-only directory beside it, made 0600, then linked
/// to `path` (which fails if anything took `path` meanwhile).
fn bind_owner_only(path: &Path) -> io::Result<(UnixListener, (u64, u64))> {
    use std::os::unix::fs::DirBuilderExt;
    static SERIAL: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let serial = SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let staging = parent.join(format!(".hush-control-{}-{serial}", std::process::id()));
    std::fs::DirBuilder::new().mode(0o700).create(&staging)?;
    let staged = staging.join("s");
    let result = (|| {
        let listener = UnixListener::bind(&staged)?;
        std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(0o600))?;
        std::fs::hard_link(&staged, path)?;
        let metadata = std::fs::symlink_metadata(path)?;
        Ok((listener, (metadata.dev(), metadata.ino())))
    })();
    let _ = std::fs::remove_file(&staged);
    let _ = std::fs::remove_dir(&staging);
    result
}

async fn serve_one(stream: tokio::net::UnixStream, control: &dyn Control) -> io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read.take(MAX_REQUEST as u64 + 1));
    let mut line = String::new();
    let read = tokio::time::timeout(CLIENT_TIMEOUT, reader.read_line(&mut line)).await;
    let reply = match read {
        Err(_) => "error no command within 5 s".to_string(),
        Ok(Err(e)) => format!("error unreadable command: {e}"),
        Ok(Ok(_)) if line.len() > MAX_REQUEST => {
            format!("error the command is longer than {MAX_REQUEST} bytes")
        }
        Ok(Ok(_)) => answer(control, line.trim_end_matches(['\n', '\r'])),
    };
    tokio::time::timeout(CLIENT_TIMEOUT, async {
        write.write_all(reply.as_bytes()).await?;
        write.write_all(b"\n").await?;
        write.shutdown().await
    })
    .await
    .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "the client does not read"))?
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        let ours = std::fs::symlink_metadata(&self.path)
            .is_ok_and(|m| (m.dev(), m.ino()) == self.identity);
        if ours {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Sends `request` to the `hush run` listening at `path`; returns the text
/// of an `ok` answer, or the error.
pub fn send(path: &Path, request: &Request) -> Result<String, String> {
    let shown = path.display();
    let mut stream = UnixStream::connect(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => {
            format!("no control socket at {shown} (is `hush run --control` running?)")
        }
        io::ErrorKind::ConnectionRefused => {
            format!("nothing listens on the control socket {shown} (hush is not running)")
        }
        _ => format!("failed to connect to the control socket {shown}: {e}"),
    })?;
    stream
        .set_read_timeout(Some(CLIENT_TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(CLIENT_TIMEOUT)))
        .map_err(|e| format!("failed to set a timeout: {e}"))?;
    let line = format!("{}\n", request.to_line());
    stream
        .write_all(line.as_bytes())
        .map_err(|e| format!("failed to send to {shown}: {e}"))?;
    let mut reply = String::new();
    stream
        .take(1 << 20)
        .read_to_string(&mut reply)
        .map_err(|e| format!("no answer from {shown}: {e}"))?;
    let reply = reply.trim_end();
    if let Some(text) = reply.strip_prefix("ok") {
        Ok(text.trim_start().to_string())
    } else if let Some(text) = reply.strip_prefix("error") {
        Err(text.trim_start().to_string())
    } else if reply.is_empty() {
        Err(format!("{shown} closed without an answer"))
    } else {
        Err(format!("{shown} answered something unexpected: {reply:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    #[derive(Default)]
    struct Fake {
        calls: RefCell<Vec<String>>,
    }

    impl Control for Fake {
        fn out_iface(&self, name: &str) -> Result<String, String> {
            self.calls.borrow_mut().push(format!("out-iface {name}"));
            if name == "wlan0" {
                Ok(format!("out-iface {name}"))
            } else {
                Err(format!("outbound interface {name:?} does not exist"))
            }
        }
        fn network_changed(&self, resolver: Option<SocketAddr>) {
            let call = resolver.map_or("changed".into(), |r| format!("changed to {r}"));
            self.calls.borrow_mut().push(call);
        }
        fn health_json(&self) -> Result<String, String> {
            Ok("{\"filtering\":{\n\"state\":\"on\"}}".into())
        }
        fn fault(&self, word: &str) -> Result<(), String> {
            Err(format!(
                "cannot inject the fault '{word}': no fault injection"
            ))
        }
    }

    #[test]
    fn requests_are_parsed_strictly() {
        assert_eq!(
            Request::parse("out-iface  wlan0 "),
            Ok(Request::OutIface("wlan0".into()))
        );
        assert_eq!(Request::parse("health"), Ok(Request::Health));
        assert_eq!(
            Request::parse("network-changed"),
            Ok(Request::NetworkChanged(None))
        );
        assert_eq!(
            Request::parse("network-changed 198.18.0.1"),
            Ok(Request::NetworkChanged(Some(
                "198.18.0.1:53".parse().unwrap()
            )))
        );
        assert_eq!(
            Request::parse("fault dns"),
            Ok(Request::Fault("dns".into()))
        );
        for (bad, says) in [
            ("", "empty command"),
            ("out-iface", "usage: out-iface NAME"),
            ("out-iface a b", "usage: out-iface NAME"),
            ("health now", "usage: health"),
            ("fault", "usage: fault"),
            ("reboot", "unknown command \"reboot\""),
            ("network-changed resolver.example", "not an IP address"),
            (
                "network-changed 198.18.0.1 fd00::1",
                "usage: network-changed [RESOLVER]",
            ),
        ] {
            let error = Request::parse(bad).unwrap_err();
            assert!(error.contains(says), "{bad:?}: {error}");
        }
        for request in [
            Request::OutIface("rmnet0".into()),
            Request::NetworkChanged(None),
            Request::NetworkChanged(Some("[fd00::53]:5353".parse().unwrap())),
            Request::Health,
            Request::Fault("packet".into()),
        ] {
            assert_eq!(Request::parse(&request.to_line()), Ok(request));
        }
    }

    #[test]
    fn answers_are_one_line_ok_or_error() {
        let fake = Fake::default();
        assert_eq!(answer(&fake, "out-iface wlan0"), "ok out-iface wlan0");
        assert_eq!(
            answer(&fake, "out-iface eth7"),
            "error outbound interface \"eth7\" does not exist"
        );
        assert_eq!(
            answer(&fake, "network-changed"),
            "ok network change signalled"
        );
        assert_eq!(
            answer(&fake, "health"),
            "ok {\"filtering\":{ \"state\":\"on\"}}"
        );
        assert!(answer(&fake, "fault packet").starts_with("error cannot inject"));
        assert!(answer(&fake, "bogus").starts_with("error unknown command"));
        assert_eq!(
            *fake.calls.borrow(),
            ["out-iface wlan0", "out-iface eth7", "changed"]
        );
    }

    /// Serves `path` with a fake on a thread until the sender is dropped.
    fn serve_in_background(
        path: &Path,
    ) -> (
        std::thread::JoinHandle<()>,
        tokio::sync::oneshot::Sender<()>,
    ) {
        let mut socket = ControlSocket::bind(path).unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let fake = Fake::default();
            runtime.block_on(async {
                tokio::select! {
                    _ = socket.serve(&fake) => {}
                    _ = stopped => {}
                }
            });
        });
        (thread, stop)
    }

    #[test]
    fn the_socket_is_owner_only_single_and_removed_at_exit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("control");
        // Nothing there yet: a clear error.
        let error = send(&path, &Request::Health).unwrap_err();
        assert!(error.contains("no control socket"), "{error}");
        // A regular file is never taken for a socket, nor removed.
        std::fs::write(&path, "keep").unwrap();
        let error = ControlSocket::bind(&path).err().unwrap();
        assert!(error.contains("not a socket"), "{error}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "keep");
        std::fs::remove_file(&path).unwrap();
        // A stale socket (its listener gone) is replaced; a live one refused.
        drop(UnixListener::bind(&path).unwrap());
        let error = send(&path, &Request::Health).unwrap_err();
        assert!(error.contains("nothing listens"), "{error}");
        let (server, stop) = serve_in_background(&path);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let error = ControlSocket::bind(&path).err().unwrap();
        assert!(error.contains("already listens"), "{error}");
        assert_eq!(
            send(&path, &Request::OutIface("wlan0".into())),
            Ok("out-iface wlan0".into())
        );
        let error = send(&path, &Request::OutIface("eth7".into())).unwrap_err();
        assert!(error.contains("does not exist"), "{error}");
        // A raw client's junk gets an error, not silence.
        let mut raw = UnixStream::connect(&path).unwrap();
        raw.write_all(b"please\n").unwrap();
        let mut reply = String::new();
        raw.read_to_string(&mut reply).unwrap();
        assert!(reply.starts_with("error unknown command"), "{reply}");
        drop(stop);
        server.join().unwrap();
        assert!(!path.exists(), "the socket file outlived its listener");
    }
}
