//! Attaching to a Linux tun device as Android hands one over: raw IP packets,
//! no packet-information header.

use std::fs::OpenOptions;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

/// Attaches to the existing tun device `name`.
pub fn attach(name: &str) -> io::Result<OwnedFd> {
    if name.is_empty() || name.len() >= libc::IFNAMSIZ {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("tun name must be 1 to {} bytes", libc::IFNAMSIZ - 1),
        ));
    }
    // TUNSETIFF would create a missing device; Hush attaches, it does not create.
    if !Path::new("/sys/class/net").join(name).exists() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("tun device {name} does not exist (create it with `ip tuntap add dev {name} mode tun`)"),
        ));
    }
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/net/tun")
        .map_err(|e| io::Error::new(e.kind(), format!("failed to open /dev/net/tun: {e}")))?;
    // SAFETY: `ifreq` is plain old data; all-zero is a valid value.
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in request.ifr_name.iter_mut().zip(name.bytes()) {
        *dst = src as libc::c_char;
    }
    request.ifr_ifru.ifru_flags = (libc::IFF_TUN | libc::IFF_NO_PI) as libc::c_short;
    // SAFETY: the descriptor is open and `request` is a valid, initialised
    // `ifreq` that outlives the call, which is what TUNSETIFF expects.
    let result = unsafe { libc::ioctl(file.as_raw_fd(), libc::TUNSETIFF, &request) };
    if result < 0 {
        let error = io::Error::last_os_error();
        return Err(io::Error::new(
            error.kind(),
            format!("failed to attach to tun {name} (is it a tun, not a tap, and free?): {error}"),
        ));
    }
    Ok(OwnedFd::from(file))
}

/// The MTU of network interface `name`, as the kernel has it.
pub fn mtu(name: &str) -> io::Result<u32> {
    let text = std::fs::read_to_string(Path::new("/sys/class/net").join(name).join("mtu"))
        .map_err(|e| io::Error::new(e.kind(), format!("failed to read the MTU of {name}: {e}")))?;
    text.trim().parse().map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("the MTU of {name} is not a number: {text:?}"),
        )
    })
}

/// Takes ownership of an inherited tun descriptor, after checking it is open.
pub fn from_inherited_fd(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: F_GETFD only reads the descriptor flags; it is harmless on any number.
    if fd < 0 || unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("file descriptor {fd} is not open"),
        ));
    }
    // SAFETY: the descriptor is open, and the caller hands its ownership to Hush
    // (it was inherited for this purpose and nothing else in the process uses it).
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}
