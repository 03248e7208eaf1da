//! Keeping Hush's own sockets out of the tun on Linux: bind them to the real
//! interface, which is what `VpnService.protect` achieves on Android.
//!
//! The interface can be switched while Hush runs (`hush ctl out-iface`), as a
//! phone moves from Wi-Fi to mobile data: each socket is bound to the
//! interface named at the moment it is protected. Sockets already open stay
//! where they were; the session's `network_changed` reopens them.

use std::io;
use std::os::fd::BorrowedFd;
use std::path::Path;
use std::sync::RwLock;

use hush_engine::SocketProtector;
use socket2::SockRef;

/// Binds every protected socket to one interface with `SO_BINDTODEVICE`.
pub struct BindToDevice {
    interface: RwLock<String>,
    off_task: bool,
}

/// Whether `interface` names a network interface of this namespace.
pub fn interface_exists(interface: &str) -> bool {
    !interface.is_empty()
        && interface.len() < libc::IFNAMSIZ
        && !interface.contains('/')
        && interface != "."
        && interface != ".."
        && Path::new("/sys/class/net").join(interface).exists()
}

fn check(interface: &str) -> io::Result<()> {
    if interface_exists(interface) {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("outbound interface {interface:?} does not exist"),
        ))
    }
}

impl BindToDevice {
    /// Checks that `interface` exists, so a typo fails at start, not per query.
    pub fn new(interface: &str) -> io::Result<Self> {
        check(interface)?;
        Ok(Self {
            interface: RwLock::new(interface.to_string()),
            off_task: false,
        })
    }

    /// Says it may block, as Android's `VpnService.protect` does, so that
    /// the relay opens every flow's socket off its packet task: Android's
    /// path when Hush is not left out of its VPN, run in the lab
    /// (`hush run --protect-off-task`).
    pub fn off_task(mut self, off_task: bool) -> Self {
        self.off_task = off_task;
        self
    }

    /// The interface sockets are bound to now.
    pub fn interface(&self) -> String {
        self.interface
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Binds the sockets protected from now on to `interface`, once it is
    /// known to exist; on an error nothing changes.
    pub fn switch_to(&self, interface: &str) -> io::Result<()> {
        check(interface)?;
        *self
            .interface
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = interface.to_string();
        Ok(())
    }
}

impl SocketProtector for BindToDevice {
    fn protect(&self, socket: BorrowedFd<'_>) -> io::Result<()> {
        // The lock is held for the call only: a switch waits at most one bind.
        let interface = self
            .interface
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        SockRef::from(&socket).bind_device(Some(interface.as_bytes()))
    }

    /// One `setsockopt` under a lock a switch holds for a string's copy;
    /// unless told to act as a protector that may block.
    fn may_block(&self) -> bool {
        self.off_task
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_existing_interfaces_are_taken() {
        let protector = BindToDevice::new("lo").unwrap();
        assert_eq!(protector.interface(), "lo");
        for bad in [
            "",
            "no-such-if0",
            "../net",
            ".",
            "a-name-far-too-long-for-linux",
        ] {
            assert!(BindToDevice::new(bad).is_err(), "{bad:?}");
            let error = protector.switch_to(bad).unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::NotFound);
            assert_eq!(protector.interface(), "lo", "a failed switch changed it");
        }
    }
}
