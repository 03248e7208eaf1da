//! Keeping Hush's own sockets out of the tun on Linux: bind them to the real
//! interface, which is what `VpnService.protect` achieves on Android.

use std::io;
use std::os::fd::BorrowedFd;
use std::path::Path;

use hush_engine::SocketProtector;
use socket2::SockRef;

/// Binds every protected socket to one interface with `SO_BINDTODEVICE`.
pub struct BindToDevice {
    interface: String,
}

impl BindToDevice {
    /// Checks that `interface` exists, so a typo fails at start, not per query.
    pub fn new(interface: &str) -> io::Result<Self> {
        if interface.is_empty() || !Path::new("/sys/class/net").join(interface).exists() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("outbound interface {interface:?} does not exist"),
            ));
        }
        Ok(Self {
            interface: interface.to_string(),
        })
    }
}

impl SocketProtector for BindToDevice {
    fn protect(&self, socket: BorrowedFd<'_>) -> io::Result<()> {
        SockRef::from(&socket).bind_device(Some(self.interface.as_bytes()))
    }
}
