//! A lab of network namespaces for the demo and the end-to-end tests.
//!
//! ```text
//!  phone namespace                                server namespace
//!  ┌───────────────────────────────────────┐      ┌──────────────────────┐
//!  │ dig, curl ──default route──▶ tun hush0│      │ dnsmasq, nginx,      │
//!  │             198.18.0.1/24 fd00:18::1  │      │ test servers         │
//!  │ hush (reads the tun) ──SO_BINDTODEVICE──veth──▶ 198.19.0.2 fd00:19::2│
//!  └───────────────────────────────────────┘      │ + record addresses   │
//!                                                 └──────────────────────┘
//! ```
//!
//! Records whose addresses fall in 198.19.0.0/24 and fd00:19::/64 are also
//! given to the server namespace, so those names lead to live servers.
//!
//! The phone has no route but the tun: the veth's addresses are added without
//! a prefix route, and only a policy rule for sockets bound to the veth (`ip
//! rule oif`) reaches the resolver. So a client that is not Hush cannot get
//! past the firewall, exactly as on a phone. Only 198.18.0.0/15 and fd00::/8
//! are used, and no namespace has a route to the host's network.
//!
//! Everything is removed on drop, and [`Lab::sweep_stale`] removes what a
//! killed run left behind.

use std::io;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub const TUN_NAME: &str = "hush0";
pub const RESOLVER_V4: &str = "198.19.0.2";
pub const RESOLVER_V6: &str = "fd00:19::2";
/// An address inside the tun's route where no resolver exists: queries to it
/// must still be answered, since Hush takes port 53 to any address.
pub const PHONE_DNS_V4: &str = "198.18.0.53";
pub const PHONE_DNS_V6: &str = "fd00:18::53";
const NAMESPACE_PREFIX: &str = "hush-lab-";
/// The routing table the phone's policy rule sends sockets bound to the veth to.
pub const POLICY_TABLE: &str = "100";

/// A DNS record the lab's resolver serves.
#[derive(Debug, Clone)]
pub struct Record {
    pub name: String,
    pub ipv4: String,
    pub ipv6: String,
}

pub struct Lab {
    pub phone: String,
    pub resolver: String,
    /// The phone's side of the veth: Hush's outbound interface.
    pub phone_veth: String,
    dnsmasq: Option<Child>,
    /// Servers started in the server namespace, killed on drop.
    servers: Vec<Child>,
    workdir: PathBuf,
}

/// Runs a command and turns a non-zero exit into an error naming it.
fn run(program: &str, args: &[&str]) -> io::Result<Output> {
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| io::Error::new(e.kind(), format!("failed to run {program}: {e}")))?;
    if !output.status.success() {
        return Err(io::Error::other(format!(
            "`{program} {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(output)
}

impl Lab {
    /// Builds the namespaces and starts dnsmasq serving `records`.
    pub fn create(records: &[Record]) -> io::Result<Lab> {
        Self::sweep_stale();
        static LABS: AtomicU32 = AtomicU32::new(0);
        let id = std::process::id();
        let serial = LABS.fetch_add(1, Ordering::Relaxed);
        let unique = format!("{id}-{serial}");
        let workdir = std::env::temp_dir().join(format!("{NAMESPACE_PREFIX}{unique}"));
        std::fs::create_dir_all(&workdir)?;
        let mut lab = Lab {
            phone: format!("{NAMESPACE_PREFIX}{unique}-phone"),
            resolver: format!("{NAMESPACE_PREFIX}{unique}-dns"),
            phone_veth: format!("hp{id}x{serial}"),
            dnsmasq: None,
            servers: Vec::new(),
            workdir,
        };
        lab.build(records)?;
        lab.start_dnsmasq(records)?;
        Ok(lab)
    }

    fn build(&mut self, records: &[Record]) -> io::Result<()> {
        let (phone, resolver) = (self.phone.clone(), self.resolver.clone());
        // Interface names are at most 15 bytes: "hr" + pid + "x" + serial fits.
        let resolver_veth = self.phone_veth.replacen("hp", "hr", 1);
        run("ip", &["netns", "add", &phone])?;
        run("ip", &["netns", "add", &resolver])?;
        run(
            "ip",
            &[
                "link",
                "add",
                &self.phone_veth,
                "netns",
                &phone,
                "type",
                "veth",
                "peer",
                "name",
                &resolver_veth,
                "netns",
                &resolver,
            ],
        )?;
        let in_phone = |args: &[&str]| {
            let mut full = vec!["netns", "exec", &phone, "ip"];
            full.extend_from_slice(args);
            run("ip", &full)
        };
        let veth = self.phone_veth.as_str();
        in_phone(&["link", "set", "lo", "up"])?;
        in_phone(&["addr", "add", "198.19.0.1/24", "dev", veth, "noprefixroute"])?;
        in_phone(&[
            "-6",
            "addr",
            "add",
            "fd00:19::1/64",
            "dev",
            veth,
            "nodad",
            "noprefixroute",
        ])?;
        in_phone(&["link", "set", veth, "up"])?;
        in_phone(&[
            "route",
            "add",
            "198.19.0.0/24",
            "dev",
            veth,
            "table",
            POLICY_TABLE,
        ])?;
        in_phone(&[
            "-6",
            "route",
            "add",
            "fd00:19::/64",
            "dev",
            veth,
            "table",
            POLICY_TABLE,
        ])?;
        in_phone(&["rule", "add", "oif", veth, "lookup", POLICY_TABLE])?;
        in_phone(&["-6", "rule", "add", "oif", veth, "lookup", POLICY_TABLE])?;
        in_phone(&["tuntap", "add", "dev", TUN_NAME, "mode", "tun"])?;
        in_phone(&["addr", "add", "198.18.0.1/24", "dev", TUN_NAME])?;
        in_phone(&[
            "-6",
            "addr",
            "add",
            "fd00:18::1/64",
            "dev",
            TUN_NAME,
            "nodad",
        ])?;
        // 9000 is the MTU Hush chooses for its tun (BENCHMARKS.md says why).
        in_phone(&["link", "set", TUN_NAME, "mtu", "9000"])?;
        in_phone(&["link", "set", TUN_NAME, "up"])?;
        in_phone(&["route", "add", "default", "dev", TUN_NAME])?;
        in_phone(&["-6", "route", "add", "default", "dev", TUN_NAME])?;

        let in_resolver = |args: &[&str]| {
            let mut full = vec!["netns", "exec", &resolver, "ip"];
            full.extend_from_slice(args);
            run("ip", &full)
        };
        in_resolver(&["link", "set", "lo", "up"])?;
        in_resolver(&["addr", "add", "198.19.0.2/24", "dev", &resolver_veth])?;
        in_resolver(&[
            "-6",
            "addr",
            "add",
            "fd00:19::2/64",
            "dev",
            &resolver_veth,
            "nodad",
        ])?;
        in_resolver(&["link", "set", &resolver_veth, "up"])?;
        for record in records {
            if record.ipv4.starts_with("198.19.0.") && record.ipv4 != RESOLVER_V4 {
                in_resolver(&[
                    "addr",
                    "add",
                    &format!("{}/32", record.ipv4),
                    "dev",
                    &resolver_veth,
                ])?;
            }
            if record.ipv6.starts_with("fd00:19::") && record.ipv6 != RESOLVER_V6 {
                let address = format!("{}/128", record.ipv6);
                in_resolver(&[
                    "-6",
                    "addr",
                    "add",
                    &address,
                    "dev",
                    &resolver_veth,
                    "nodad",
                ])?;
            }
        }
        Ok(())
    }

    /// The server's side of the phone's veth.
    pub fn server_veth(&self) -> String {
        self.phone_veth.replacen("hp", "hr", 1)
    }

    /// Gives the phone's veth `to` in place of `from` (say `198.19.0.1/24`
    /// to `198.19.0.3/24`, or the same in fd00:19::/64), as a network
    /// renumbers a phone: the old address goes, the new one comes, in one
    /// `ip -batch`. The policy route for Hush's sockets is put back (the
    /// kernel drops a device's IPv4 routes with its last address).
    pub fn renumber_phone(&self, from: &str, to: &str) -> io::Result<()> {
        let veth = &self.phone_veth;
        let (flags, route) = if to.contains(':') {
            ("nodad noprefixroute", "fd00:19::/64")
        } else {
            ("noprefixroute", "198.19.0.0/24")
        };
        self.phone_ip_batch(&[
            format!("addr del {from} dev {veth}"),
            format!("addr add {to} dev {veth} {flags}"),
            format!("route replace {route} dev {veth} table {POLICY_TABLE}"),
        ])
    }

    /// Runs `ip` commands in the phone namespace in one process.
    pub fn phone_ip_batch(&self, lines: &[String]) -> io::Result<()> {
        let path = self.workdir.join("ip-batch");
        std::fs::write(&path, lines.join("\n") + "\n")?;
        run(
            "ip",
            &[
                "netns",
                "exec",
                &self.phone,
                "ip",
                "-batch",
                &path.to_string_lossy(),
            ],
        )
        .map(drop)
    }

    /// A second way out for the phone, as mobile data beside Wi-Fi: another
    /// veth pair to the server namespace, 198.19.2.1/24 and fd00:19:2::1/64
    /// on the phone's side, 198.19.2.2 and fd00:19:2::2 on the server's,
    /// and a policy route to the servers for sockets bound to it. Returns
    /// the phone's side's name.
    pub fn add_uplink(&self) -> io::Result<String> {
        let phone_side = self.phone_veth.replacen("hp", "hq", 1);
        let server_side = self.phone_veth.replacen("hp", "hs", 1);
        run(
            "ip",
            &[
                "link",
                "add",
                &phone_side,
                "netns",
                &self.phone,
                "type",
                "veth",
                "peer",
                "name",
                &server_side,
                "netns",
                &self.resolver,
            ],
        )?;
        let table = "101";
        self.phone_ip_batch(&[
            format!("addr add 198.19.2.1/24 dev {phone_side}"),
            format!("addr add fd00:19:2::1/64 dev {phone_side} nodad"),
            format!("link set {phone_side} up"),
            format!("route add 198.19.0.0/24 via 198.19.2.2 dev {phone_side} table {table}"),
            format!("route add fd00:19::/64 via fd00:19:2::2 dev {phone_side} table {table}"),
            format!("rule add oif {phone_side} lookup {table}"),
        ])?;
        // `ip -batch` takes no family option per line.
        run(
            "ip",
            &[
                "netns",
                "exec",
                &self.phone,
                "ip",
                "-6",
                "rule",
                "add",
                "oif",
                &phone_side,
                "lookup",
                table,
            ],
        )?;
        let in_resolver = |args: &[&str]| {
            let mut full = vec!["netns", "exec", &self.resolver, "ip"];
            full.extend_from_slice(args);
            run("ip", &full)
        };
        in_resolver(&["addr", "add", "198.19.2.2/24", "dev", &server_side])?;
        in_resolver(&[
            "-6",
            "addr",
            "add",
            "fd00:19:2::2/64",
            "dev",
            &server_side,
            "nodad",
        ])?;
        in_resolver(&["link", "set", &server_side, "up"])?;
        Ok(phone_side)
    }

    /// A scratch directory that lives as long as the lab.
    pub fn workdir(&self) -> &std::path::Path {
        &self.workdir
    }

    /// A command to run inside the server namespace.
    pub fn in_server(&self, program: &str) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.resolver, program]);
        command
    }

    /// Starts a server in the server namespace; it is killed with the lab.
    pub fn spawn_server(&mut self, program: &str, args: &[&str]) -> io::Result<()> {
        let child = self
            .in_server(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("failed to start {program}: {e}")))?;
        self.servers.push(child);
        Ok(())
    }

    /// Waits until a TCP server in the server namespace accepts at `address`
    /// and `port`, bounded.
    pub fn wait_for_server(&self, address: &str, port: u16) -> io::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let host = if address.contains(':') {
            format!("[{address}]")
        } else {
            address.to_string()
        };
        while Instant::now() < deadline {
            // bash's /dev/tcp: a connect and nothing more.
            let probe = self
                .in_server("bash")
                .args(["-c", &format!("exec 3<>/dev/tcp/{address}/{port}")])
                .stderr(Stdio::null())
                .status();
            if probe.is_ok_and(|status| status.success()) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no server at {host}:{port} within 10 s"),
        ))
    }

    /// Starts nginx in the server namespace on ports 80 and 443 (a
    /// self-signed certificate) for every address there, serving
    /// `index.html` ("hush lab") and whatever else is put in [`Lab::web_root`]
    /// (under `slow/`, at 512 KiB/s per connection: a download that lasts).
    /// Its access log, one `host status bytes` line per request, is at
    /// [`Lab::web_log`].
    pub fn start_web(&mut self) -> io::Result<()> {
        let dir = self.workdir.join("web");
        let root = self.web_root();
        std::fs::create_dir_all(&root)?;
        std::fs::write(root.join("index.html"), "hush lab\n")?;
        let (key, cert) = (dir.join("key.pem"), dir.join("cert.pem"));
        run(
            "openssl",
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=hush-lab",
                "-keyout",
                &key.to_string_lossy(),
                "-out",
                &cert.to_string_lossy(),
            ],
        )?;
        let dir_text = dir.display();
        let config = format!(
            "daemon off;\nmaster_process off;\nworker_processes 1;\n\
             pid {dir_text}/nginx.pid;\nerror_log {dir_text}/error.log;\n\
             events {{ worker_connections 4096; }}\n\
             http {{\n\
               log_format hush '$host $status $bytes_sent';\n\
               access_log {log} hush;\n\
               client_body_temp_path {dir_text}/body;\n\
               proxy_temp_path {dir_text}/proxy;\n\
               fastcgi_temp_path {dir_text}/fastcgi;\n\
               uwsgi_temp_path {dir_text}/uwsgi;\n\
               scgi_temp_path {dir_text}/scgi;\n\
               sendfile on;\n\
               server {{\n\
                 listen 80; listen [::]:80;\n\
                 listen 443 ssl; listen [::]:443 ssl;\n\
                 ssl_certificate {cert};\n\
                 ssl_certificate_key {key};\n\
                 root {root};\n\
                 location /slow/ {{ limit_rate 512k; }}\n\
               }}\n\
             }}\n",
            log = self.web_log().display(),
            cert = cert.display(),
            key = key.display(),
            root = root.display(),
        );
        let config_path = dir.join("nginx.conf");
        std::fs::write(&config_path, config)?;
        let prefix = format!("{}/", dir.display());
        self.spawn_server(
            "nginx",
            &[
                "-p",
                &prefix,
                "-e",
                &format!("{dir_text}/error.log"),
                "-c",
                &config_path.to_string_lossy(),
            ],
        )?;
        self.wait_for_server(RESOLVER_V4, 443)
    }

    /// Files here are served by [`Lab::start_web`].
    pub fn web_root(&self) -> PathBuf {
        self.workdir.join("web/root")
    }

    /// nginx's access log: `host status bytes`, one line per request.
    pub fn web_log(&self) -> PathBuf {
        self.workdir.join("web/access.log")
    }

    fn start_dnsmasq(&mut self, records: &[Record]) -> io::Result<()> {
        let mut args = vec![
            "netns".to_string(),
            "exec".into(),
            self.resolver.clone(),
            "dnsmasq".into(),
            "--keep-in-foreground".into(),
            "--conf-file=/dev/null".into(),
            "--no-resolv".into(),
            "--no-hosts".into(),
            "--bind-interfaces".into(),
            format!("--listen-address={RESOLVER_V4},{RESOLVER_V6}"),
            "--port=53".into(),
            "--user=root".into(),
            format!("--pid-file={}", self.workdir.join("dnsmasq.pid").display()),
            "--log-facility=-".into(),
        ];
        for record in records {
            args.push(format!(
                "--host-record={},{},{}",
                record.name, record.ipv4, record.ipv6
            ));
            // An HTTPS record (type 65): priority 1, target ".", alpn "h2".
            args.push(format!("--dns-rr={},65,00010000010003026832", record.name));
        }
        let child = Command::new("ip")
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("failed to start dnsmasq: {e}")))?;
        self.dnsmasq = Some(child);
        // Wait until it answers, bounded.
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(child) = self.dnsmasq.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(io::Error::other(format!(
                        "dnsmasq exited at start: {status}"
                    )));
                }
            }
            let probe = Command::new("ip")
                .args([
                    "netns",
                    "exec",
                    &self.resolver,
                    "dig",
                    "+short",
                    "+time=1",
                    "+tries=1",
                ])
                .arg(format!("@{RESOLVER_V4}"))
                .arg(records.first().map_or("localhost", |r| r.name.as_str()))
                .output();
            if probe.is_ok_and(|o| o.status.success() && !o.stdout.is_empty()) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "dnsmasq did not answer within 10 s",
        ))
    }

    /// A command to run inside the phone namespace.
    pub fn in_phone(&self, program: &str) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.phone, program]);
        command
    }

    /// Removes namespaces left by runs whose process is gone.
    pub fn sweep_stale() {
        let Ok(output) = Command::new("ip").args(["netns", "list"]).output() else {
            return;
        };
        for line in String::from_utf8_lossy(&output.stdout).lines() {
            let Some(name) = line.split_whitespace().next() else {
                continue;
            };
            let Some(rest) = name.strip_prefix(NAMESPACE_PREFIX) else {
                continue;
            };
            let pid = rest.split('-').next().unwrap_or("");
            if !pid.is_empty() && !std::path::Path::new("/proc").join(pid).exists() {
                let _ = run("ip", &["netns", "del", name]);
            }
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for mut child in self
            .dnsmasq
            .take()
            .into_iter()
            .chain(self.servers.drain(..))
        {
            let _ = child.kill();
            let _ = child.wait();
        }
        // Deleting a namespace removes its tun and its end of the veth, which
        // removes the peer too.
        let _ = run("ip", &["netns", "del", &self.phone]);
        let _ = run("ip", &["netns", "del", &self.resolver]);
        let _ = std::fs::remove_dir_all(&self.workdir);
    }
}
