//! Where allowed DNS queries go: plain DNS to an address, DNS over TLS
//! (RFC 7858) or DNS over HTTPS (RFC 8484, HTTP/2).
//!
//! Layer: configuration, checked before a session starts. [`Upstream::parse`]
//! takes what a person types (`IP:PORT`, `tls://NAME[:PORT]`,
//! `https://NAME[:PORT]/PATH`), the bootstrap addresses of the name and an
//! optional extra trust anchor (PEM), and refuses bad input with a reason,
//! so nothing starts half-configured.
//!
//! Invariants: an encrypted upstream always has at least one address (its
//! name is never looked up in clear text) and a name its certificate is
//! checked against. Never: fall back to clear text.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

/// The default port of DNS over TLS (RFC 7858 §3.1).
pub const DOT_PORT: u16 = 853;
/// The default port of DNS over HTTPS.
pub const DOH_PORT: u16 = 443;
/// The path used when an `https://` URL names none (RFC 8484's example).
pub const DOH_PATH: &str = "/dns-query";

/// The resolver allowed queries go to.
#[derive(Clone, PartialEq, Eq)]
pub enum Upstream {
    /// Plain DNS over UDP (and TCP for apps' TCP queries) to one address.
    Plain(SocketAddr),
    /// DNS over TLS.
    Tls(EncryptedUpstream),
    /// DNS over HTTPS (HTTP/2, POST).
    Https(EncryptedUpstream),
}

/// An encrypted resolver: its name (checked against its certificate), where
/// it is reached, and any trust anchor added to the platform's.
#[derive(Clone, PartialEq, Eq)]
pub struct EncryptedUpstream {
    pub name: String,
    pub port: u16,
    /// The HTTP path (DoH only; empty for DoT).
    pub path: String,
    /// The addresses the name is reached at (bootstrap): never empty.
    pub addresses: Vec<IpAddr>,
    /// Extra trust anchors (DER), beside the platform's store.
    pub extra_roots: Vec<Vec<u8>>,
}

/// Why an upstream could not be configured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamError {
    #[error("upstream {0:?} is not IP:PORT, tls://NAME[:PORT] or https://NAME[:PORT]/PATH")]
    Malformed(String),
    #[error("upstream scheme {0:?} is not known (tls or https; plain DNS is IP:PORT)")]
    UnknownScheme(String),
    #[error("upstream name {0:?} is not a valid host name")]
    BadName(String),
    #[error("upstream port {0:?} is not a port number (1-65535)")]
    BadPort(String),
    #[error("a tls:// upstream takes no path, found {0:?}")]
    PathOnTls(String),
    #[error("upstream {0:?} needs an address to reach it (--upstream-address IP): its name is never looked up in clear text")]
    NoAddress(String),
    #[error("a plain upstream takes no bootstrap address or CA: its address is in the URL")]
    ExtraForPlain,
    #[error("the upstream CA is not PEM with at least one certificate: {0}")]
    BadCa(String),
}

impl Upstream {
    /// Reads an upstream as typed. `addresses` reach an encrypted
    /// resolver's name (required unless the name is an IP address);
    /// `ca_pem`, if given, holds trust anchors added to the platform's.
    pub fn parse(
        url: &str,
        addresses: &[IpAddr],
        ca_pem: Option<&[u8]>,
    ) -> Result<Self, UpstreamError> {
        let url = url.trim();
        let Some((scheme, rest)) = url.split_once("://") else {
            let address: SocketAddr = url
                .parse()
                .map_err(|_| UpstreamError::Malformed(url.to_string()))?;
            if !addresses.is_empty() || ca_pem.is_some() {
                return Err(UpstreamError::ExtraForPlain);
            }
            return Ok(Upstream::Plain(address));
        };
        let https = match scheme.to_ascii_lowercase().as_str() {
            "tls" => false,
            "https" => true,
            _ => return Err(UpstreamError::UnknownScheme(scheme.to_string())),
        };
        let (authority, path) = match rest.find('/') {
            Some(at) => (&rest[..at], &rest[at..]),
            None => (rest, ""),
        };
        if path.contains(['?', '#', ' ']) || authority.contains('@') {
            return Err(UpstreamError::Malformed(url.to_string()));
        }
        let (name, port) = split_host_port(authority, url)?;
        let port = match port {
            None => {
                if https {
                    DOH_PORT
                } else {
                    DOT_PORT
                }
            }
            Some(text) => match text.parse::<u16>() {
                Ok(port) if port != 0 => port,
                _ => return Err(UpstreamError::BadPort(text.to_string())),
            },
        };
        let literal: Option<IpAddr> = name.parse().ok();
        if literal.is_none() && (name.is_empty() || ServerName::try_from(name).is_err()) {
            return Err(UpstreamError::BadName(name.to_string()));
        }
        let path = match (https, path) {
            (false, "" | "/") => String::new(),
            (false, path) => return Err(UpstreamError::PathOnTls(path.to_string())),
            (true, "" | "/") => DOH_PATH.to_string(),
            (true, path) => path.to_string(),
        };
        let mut bootstrap = addresses.to_vec();
        if bootstrap.is_empty() {
            match literal {
                Some(ip) => bootstrap.push(ip),
                None => return Err(UpstreamError::NoAddress(url.to_string())),
            }
        }
        let extra_roots = match ca_pem {
            None => Vec::new(),
            Some(pem) => parse_ca(pem)?,
        };
        let encrypted = EncryptedUpstream {
            name: name.to_ascii_lowercase(),
            port,
            path,
            addresses: bootstrap,
            extra_roots,
        };
        Ok(if https {
            Upstream::Https(encrypted)
        } else {
            Upstream::Tls(encrypted)
        })
    }

    /// The address queries go to first: the plain resolver's, or the
    /// encrypted resolver's first bootstrap address and its port. Flows to
    /// it are Hush's own.
    pub fn address(&self) -> SocketAddr {
        match self {
            Upstream::Plain(address) => *address,
            Upstream::Tls(e) | Upstream::Https(e) => SocketAddr::new(e.addresses[0], e.port),
        }
    }

    /// Whether queries leave encrypted.
    pub fn is_encrypted(&self) -> bool {
        !matches!(self, Upstream::Plain(_))
    }
}

impl From<SocketAddr> for Upstream {
    fn from(address: SocketAddr) -> Self {
        Upstream::Plain(address)
    }
}

impl fmt::Display for Upstream {
    /// The URL form, as [`Upstream::parse`] reads it (without addresses).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = |name: &str| {
            if name.contains(':') {
                format!("[{name}]")
            } else {
                name.to_string()
            }
        };
        match self {
            Upstream::Plain(address) => write!(f, "{address}"),
            Upstream::Tls(e) => write!(f, "tls://{}:{}", host(&e.name), e.port),
            Upstream::Https(e) => write!(f, "https://{}:{}{}", host(&e.name), e.port, e.path),
        }
    }
}

impl fmt::Debug for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Upstream::Plain(_) => write!(f, "Upstream({self})"),
            Upstream::Tls(e) | Upstream::Https(e) => write!(
                f,
                "Upstream({self}, addresses {:?}, {} extra roots)",
                e.addresses,
                e.extra_roots.len()
            ),
        }
    }
}

fn split_host_port<'a>(
    authority: &'a str,
    url: &str,
) -> Result<(&'a str, Option<&'a str>), UpstreamError> {
    if let Some(inside) = authority.strip_prefix('[') {
        let Some((host, after)) = inside.split_once(']') else {
            return Err(UpstreamError::Malformed(url.to_string()));
        };
        if host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(UpstreamError::BadName(host.to_string()));
        }
        return match after {
            "" => Ok((host, None)),
            _ => match after.strip_prefix(':') {
                Some(port) => Ok((host, Some(port))),
                None => Err(UpstreamError::Malformed(url.to_string())),
            },
        };
    }
    match authority.split_once(':') {
        Some((_, port)) if port.contains(':') => Err(UpstreamError::Malformed(url.to_string())),
        Some((host, port)) => Ok((host, Some(port))),
        None => Ok((authority, None)),
    }
}

fn parse_ca(pem: &[u8]) -> Result<Vec<Vec<u8>>, UpstreamError> {
    let mut roots = Vec::new();
    for certificate in CertificateDer::pem_slice_iter(pem) {
        let certificate = certificate.map_err(|e| UpstreamError::BadCa(e.to_string()))?;
        roots.push(certificate.as_ref().to_vec());
    }
    if roots.is_empty() {
        return Err(UpstreamError::BadCa("no CERTIFICATE block".into()));
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn plain_is_an_address_and_port() {
        let up = Upstream::parse("198.18.0.1:53", &[], None).unwrap();
        assert_eq!(up, Upstream::Plain("198.18.0.1:53".parse().unwrap()));
        assert!(!up.is_encrypted());
        let up = Upstream::parse("[fd00::1]:5353", &[], None).unwrap();
        assert_eq!(up.address(), "[fd00::1]:5353".parse().unwrap());
    }

    #[test]
    fn tls_takes_a_name_a_port_and_bootstrap_addresses() {
        let up = Upstream::parse("tls://dns.example", &[ip("198.18.0.2")], None).unwrap();
        let Upstream::Tls(e) = &up else {
            panic!("{up:?}")
        };
        assert_eq!(
            (e.name.as_str(), e.port, e.path.as_str()),
            ("dns.example", 853, "")
        );
        assert_eq!(up.address(), "198.18.0.2:853".parse().unwrap());
        let up = Upstream::parse(
            "TLS://Dns.Example:8853",
            &[ip("fd00::2"), ip("198.18.0.2")],
            None,
        )
        .unwrap();
        assert_eq!(up.address(), "[fd00::2]:8853".parse().unwrap());
        assert_eq!(up.to_string(), "tls://dns.example:8853");
    }

    #[test]
    fn https_takes_a_path_or_the_usual_one() {
        let up = Upstream::parse("https://dns.example/q", &[ip("198.18.0.2")], None).unwrap();
        let Upstream::Https(e) = &up else {
            panic!("{up:?}")
        };
        assert_eq!((e.port, e.path.as_str()), (443, "/q"));
        let up = Upstream::parse("https://dns.example:8443", &[ip("198.18.0.2")], None).unwrap();
        assert_eq!(up.to_string(), "https://dns.example:8443/dns-query");
    }

    #[test]
    fn an_address_as_the_name_needs_no_bootstrap() {
        let up = Upstream::parse("tls://198.18.0.2", &[], None).unwrap();
        assert_eq!(up.address(), "198.18.0.2:853".parse().unwrap());
        let up = Upstream::parse("https://[fd00::2]:444/dns-query", &[], None).unwrap();
        assert_eq!(up.address(), "[fd00::2]:444".parse().unwrap());
    }

    #[test]
    fn bad_input_is_refused_with_its_reason() {
        let cases: &[(&str, &[IpAddr], UpstreamError)] = &[
            (
                "dns.example",
                &[],
                UpstreamError::Malformed("dns.example".into()),
            ),
            (
                "198.18.0.1",
                &[],
                UpstreamError::Malformed("198.18.0.1".into()),
            ),
            (
                "quic://dns.example",
                &[],
                UpstreamError::UnknownScheme("quic".into()),
            ),
            (
                "udp://198.18.0.1:53",
                &[],
                UpstreamError::UnknownScheme("udp".into()),
            ),
            (
                "tls://dns.example",
                &[],
                UpstreamError::NoAddress("tls://dns.example".into()),
            ),
            (
                "tls://dns.example:0",
                &[],
                UpstreamError::BadPort("0".into()),
            ),
            (
                "tls://dns.example:99999",
                &[],
                UpstreamError::BadPort("99999".into()),
            ),
            (
                "tls://dns.example:x",
                &[],
                UpstreamError::BadPort("x".into()),
            ),
            (
                "tls://dns.example/q",
                &[],
                UpstreamError::PathOnTls("/q".into()),
            ),
            ("tls://", &[], UpstreamError::BadName("".into())),
            (
                "https://bad_name!/q",
                &[],
                UpstreamError::BadName("bad_name!".into()),
            ),
            (
                "https://[fd00::1/q",
                &[],
                UpstreamError::Malformed("https://[fd00::1/q".into()),
            ),
            (
                "https://a:b:c/q",
                &[],
                UpstreamError::Malformed("https://a:b:c/q".into()),
            ),
            (
                "https://u@dns.example/q",
                &[],
                UpstreamError::Malformed("https://u@dns.example/q".into()),
            ),
        ];
        for (url, addresses, expected) in cases {
            let got = Upstream::parse(url, addresses, None);
            assert_eq!(got.as_ref().err(), Some(expected), "{url}: {got:?}");
        }
        assert_eq!(
            Upstream::parse("198.18.0.1:53", &[ip("198.18.0.2")], None),
            Err(UpstreamError::ExtraForPlain)
        );
    }

    #[test]
    fn a_ca_must_be_pem_with_a_certificate() {
        let at = [ip("198.18.0.2")];
        for bad in [
            &b"not pem"[..],
            b"",
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        ] {
            let got = Upstream::parse("tls://dns.example", &at, Some(bad));
            assert!(matches!(got, Err(UpstreamError::BadCa(_))), "{got:?}");
        }
        let pem = b"-----BEGIN CERTIFICATE-----\nAAECAw==\n-----END CERTIFICATE-----\n";
        let Ok(Upstream::Tls(e)) = Upstream::parse("tls://dns.example", &at, Some(pem)) else {
            panic!()
        };
        assert_eq!(e.extra_roots, vec![vec![0, 1, 2, 3]]);
    }
}
