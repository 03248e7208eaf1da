//! Watching the outbound interface for network changes, as Android's
//! `ConnectivityManager` callbacks tell the app: the link going down or up,
//! addresses renumbered (IPv4 or IPv6), the interface gone or back.
//!
//! A `NETLINK_ROUTE` socket subscribed to the link, address and route groups
//! serves only as a wake-up: it sleeps until the kernel says something. After
//! each burst of messages the interface's state (index, up and running, its
//! set of addresses) is read again with `getifaddrs` and compared with the
//! last one; `hush run` calls `Session::network_changed` when it differs.
//! Messages are never parsed, so a lost one (the socket's buffer overflowed)
//! costs nothing: the next read sees the state as it is.
//!
//! Never: poll on a timer, or log addresses above debug level.

use std::collections::BTreeSet;
use std::ffi::CStr;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use tokio::io::unix::AsyncFd;

/// What counts of an interface for the network Hush's sockets use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceState {
    /// Changes when the interface is removed and made again.
    pub index: u32,
    /// Administratively up and with a carrier (`IFF_UP` and `IFF_RUNNING`).
    pub up: bool,
    pub addresses: BTreeSet<IpAddr>,
}

/// One entry of `getifaddrs`: an interface's flags with one of its addresses
/// (or none, for the link's own entry).
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    pub name: &'a str,
    pub flags: u32,
    pub address: Option<IpAddr>,
}

/// The state of interface `name` from `entries`; `None` if no entry names it.
pub fn state_of<'a>(
    name: &str,
    index: u32,
    entries: impl IntoIterator<Item = Entry<'a>>,
) -> Option<InterfaceState> {
    let mut state: Option<InterfaceState> = None;
    for entry in entries.into_iter().filter(|e| e.name == name) {
        let running = libc::IFF_UP as u32 | libc::IFF_RUNNING as u32;
        let state = state.get_or_insert_with(|| InterfaceState {
            index,
            up: entry.flags & running == running,
            addresses: BTreeSet::new(),
        });
        state.addresses.extend(entry.address);
    }
    state
}

/// Reads the state of interface `name` from the kernel.
pub fn read_state(name: &str) -> io::Result<Option<InterfaceState>> {
    let addresses = InterfaceAddresses::read()?;
    let index = interface_index(name);
    if index == 0 {
        return Ok(None);
    }
    Ok(state_of(name, index, addresses.entries()))
}

fn interface_index(name: &str) -> u32 {
    let Ok(name) = std::ffi::CString::new(name) else {
        return 0;
    };
    // SAFETY: `name` is a valid NUL-terminated string for the call.
    unsafe { libc::if_nametoindex(name.as_ptr()) }
}

/// The list `getifaddrs` returns, freed on drop.
struct InterfaceAddresses(*mut libc::ifaddrs);

impl InterfaceAddresses {
    fn read() -> io::Result<Self> {
        let mut list = std::ptr::null_mut();
        // SAFETY: `list` is a valid place for the result pointer.
        if unsafe { libc::getifaddrs(&mut list) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(InterfaceAddresses(list))
    }

    fn entries(&self) -> impl Iterator<Item = Entry<'_>> {
        let mut next = self.0;
        std::iter::from_fn(move || loop {
            if next.is_null() {
                return None;
            }
            // SAFETY: `next` is a node of the list getifaddrs built, which
            // lives (unchanged) until `self` frees it.
            let node = unsafe { &*next };
            next = node.ifa_next;
            if node.ifa_name.is_null() {
                continue;
            }
            // SAFETY: getifaddrs gives each node a NUL-terminated name.
            let Ok(name) = unsafe { CStr::from_ptr(node.ifa_name) }.to_str() else {
                continue;
            };
            return Some(Entry {
                name,
                flags: node.ifa_flags,
                // SAFETY: a non-null ifa_addr points to a sockaddr of the
                // family it names, as long as the list lives.
                address: unsafe { address_of(node.ifa_addr) },
            });
        })
    }
}

impl Drop for InterfaceAddresses {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: the list came from getifaddrs and is freed once.
            unsafe { libc::freeifaddrs(self.0) };
        }
    }
}

/// The IP address in `address`, if it is one.
///
/// # Safety
/// `address` is null or points to a valid `sockaddr` whose size matches its
/// family.
unsafe fn address_of(address: *const libc::sockaddr) -> Option<IpAddr> {
    if address.is_null() {
        return None;
    }
    match i32::from((*address).sa_family) {
        libc::AF_INET => {
            let v4 = &*(address as *const libc::sockaddr_in);
            Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(v4.sin_addr.s_addr))))
        }
        libc::AF_INET6 => {
            let v6 = &*(address as *const libc::sockaddr_in6);
            Some(IpAddr::V6(Ipv6Addr::from(v6.sin6_addr.s6_addr)))
        }
        _ => None,
    }
}

/// Says when the watched interface's state differs from the last one seen.
#[derive(Debug, Default)]
pub struct Tracker {
    last: Option<(String, Option<InterfaceState>)>,
}

impl Tracker {
    /// Takes `state` as the interface `name`'s current state; true if it
    /// differs from the last one (another interface counts as a change).
    pub fn update(&mut self, name: &str, state: Option<InterfaceState>) -> bool {
        let now = (name.to_string(), state);
        let changed = self.last.as_ref().is_some_and(|last| *last != now);
        self.last = Some(now);
        changed
    }
}

/// How long a burst of messages may go quiet before it is taken as over.
const SETTLE: Duration = Duration::from_millis(20);
/// How long a burst is waited on at most, however busy the kernel is.
const BURST_LIMIT: Duration = Duration::from_millis(200);

/// A wake-up on every change of links, addresses and routes.
pub struct Watcher {
    socket: AsyncFd<Socket>,
}

impl Watcher {
    /// Subscribes to the kernel's link, address and route messages in the
    /// current network namespace. Needs a tokio runtime with I/O enabled.
    pub fn open() -> io::Result<Self> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        let groups = libc::RTMGRP_LINK
            | libc::RTMGRP_IPV4_IFADDR
            | libc::RTMGRP_IPV6_IFADDR
            | libc::RTMGRP_IPV4_ROUTE
            | libc::RTMGRP_IPV6_ROUTE;
        socket.bind(&SocketAddr::new(0, groups as u32))?;
        socket.set_non_blocking(true)?;
        // SAFETY: the socket owns its descriptor, and nothing closes or
        // replaces it while the AsyncFd holds it.
        let socket = unsafe { AsyncFd::register(socket)? };
        Ok(Watcher { socket })
    }

    /// Sleeps until the kernel reports a change, then until the burst of
    /// messages it starts has gone quiet (bounded).
    pub async fn next_burst(&mut self) -> io::Result<()> {
        self.drain_when_readable().await?;
        let limit = tokio::time::Instant::now() + BURST_LIMIT;
        while tokio::time::Instant::now() < limit {
            match tokio::time::timeout(SETTLE, self.drain_when_readable()).await {
                Ok(result) => result?,
                Err(_quiet) => break,
            }
        }
        Ok(())
    }

    /// Waits until a message is there, then reads every queued one.
    async fn drain_when_readable(&mut self) -> io::Result<()> {
        let mut buffer = vec![0u8; 16 * 1024];
        loop {
            let mut guard = self.socket.readable().await?;
            let mut read_any = false;
            loop {
                let mut space: &mut [u8] = &mut buffer[..];
                match guard.get_inner().recv(&mut space, 0) {
                    Ok(_) => read_any = true,
                    // Messages were lost: the state is read afresh anyway.
                    Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => read_any = true,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        guard.clear_ready();
                        break;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            if read_any {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UP: u32 = (libc::IFF_UP | libc::IFF_RUNNING) as u32;

    fn entry<'a>(name: &'a str, flags: u32, address: Option<&str>) -> Entry<'a> {
        Entry {
            name,
            flags,
            address: address.map(|a| a.parse().unwrap()),
        }
    }

    #[test]
    fn the_state_gathers_one_interfaces_addresses() {
        let entries = [
            entry("lo", UP, None),
            entry("wlan0", UP, None),
            entry("lo", UP, Some("127.0.0.1")),
            entry("wlan0", UP, Some("198.19.0.1")),
            entry("wlan0", UP, Some("fd00:19::1")),
            entry("rmnet0", UP, Some("198.18.5.1")),
        ];
        let state = state_of("wlan0", 7, entries).unwrap();
        assert_eq!(state.index, 7);
        assert!(state.up);
        let addresses: Vec<String> = state.addresses.iter().map(|a| a.to_string()).collect();
        assert_eq!(addresses, ["198.19.0.1", "fd00:19::1"]);
        assert_eq!(state_of("eth9", 3, entries), None);
        // Up but without a carrier counts as down.
        let no_carrier = [entry("wlan0", libc::IFF_UP as u32, None)];
        assert!(!state_of("wlan0", 7, no_carrier).unwrap().up);
    }

    fn state(index: u32, up: bool, addresses: &[&str]) -> Option<InterfaceState> {
        Some(InterfaceState {
            index,
            up,
            addresses: addresses.iter().map(|a| a.parse().unwrap()).collect(),
        })
    }

    #[test]
    fn changes_are_what_a_phone_would_call_a_new_network() {
        let mut tracker = Tracker::default();
        // The first state is the baseline, not a change.
        assert!(!tracker.update("wlan0", state(7, true, &["198.19.0.1", "fd00:19::1"])));
        // A burst that touched only routes, or the same addresses again.
        assert!(!tracker.update("wlan0", state(7, true, &["fd00:19::1", "198.19.0.1"])));
        // IPv4 renumbered.
        assert!(tracker.update("wlan0", state(7, true, &["198.19.0.3", "fd00:19::1"])));
        // IPv6 renumbered.
        assert!(tracker.update("wlan0", state(7, true, &["198.19.0.3", "fd00:19::3"])));
        // Link down, then up.
        assert!(tracker.update("wlan0", state(7, false, &["198.19.0.3", "fd00:19::3"])));
        assert!(tracker.update("wlan0", state(7, true, &["198.19.0.3", "fd00:19::3"])));
        // Gone, then made again with a new index.
        assert!(tracker.update("wlan0", None));
        assert!(!tracker.update("wlan0", None));
        assert!(tracker.update("wlan0", state(9, true, &["198.19.0.3", "fd00:19::3"])));
        assert!(tracker.update("wlan0", state(10, true, &["198.19.0.3", "fd00:19::3"])));
        // Another interface is another network, even with equal addresses.
        assert!(tracker.update("rmnet0", state(10, true, &["198.19.0.3", "fd00:19::3"])));
    }

    #[test]
    fn the_loopback_interface_is_read_from_the_kernel() {
        let state = read_state("lo").unwrap().expect("every namespace has lo");
        assert!(state.index > 0);
        assert_eq!(read_state("no-such-if0").unwrap(), None);
    }
}
