//! The Linux side of Hush: a tun device, sockets that leave through a chosen
//! interface, the owner of a connection, and a lab of network namespaces for
//! the demo and the tests.
//!
//! Layer: platform glue only. Everything the firewall decides lives in the
//! engine; this crate opens devices and wires them to it, the way the Android
//! bridge does with `VpnService`. [`evidence`] is `hush report`'s
//! command (the report itself is built by hush-report).

pub mod control;
pub mod evidence;
pub mod lab;
pub mod netwatch;
pub mod owner;
pub mod protect;
pub mod sock_diag;
pub mod tun;
