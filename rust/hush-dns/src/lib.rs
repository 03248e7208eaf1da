//! DNS layer of Hush: reads the queries apps send and the answers resolvers
//! return, and writes the answers Hush gives in place of a resolver.
//!
//! Layer: above `hush-packet` (it sees UDP payloads, never IP), below the
//! engine. Decoding is `hickory-proto`'s, which rejects compression pointers that
//! do not point backwards (so loops cannot be followed), labels over 63 bytes and
//! names over 255 bytes.
//!
//! Invariants: every input gives a value or a [`DnsError`], never a panic. Names
//! leave this crate in one form only: ASCII, lower case, no trailing dot.
//!
//! Never: log names or addresses above debug level.

#![forbid(unsafe_code)]

mod answer;
mod names;

use hickory_proto::op::{Message, MessageType, OpCode};
use hickory_proto::rr::{RData, RecordType};
use std::net::IpAddr;

pub use answer::{blocked_answer, servfail, BlockMode};
pub use names::NameMap;

/// Why a payload is not a DNS message Hush can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DnsError {
    #[error("failed to decode DNS message: {0}")]
    Malformed(String),
    #[error("not a query")]
    NotAQuery,
    #[error("not a response")]
    NotAResponse,
    #[error("unsupported opcode {0}")]
    UnsupportedOpcode(u8),
    #[error("expected exactly one question, found {0}")]
    QuestionCount(usize),
}

/// A decoded DNS query, as an app sent it.
#[derive(Debug, Clone)]
pub struct DnsQuery {
    message: Message,
    name: String,
}

impl DnsQuery {
    pub fn id(&self) -> u16 {
        self.message.metadata.id
    }

    /// The question name: ASCII, lower case, no trailing dot.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn record_type(&self) -> RecordType {
        self.message
            .queries
            .first()
            .map_or(RecordType::Unknown(0), |q| q.query_type())
    }

    pub(crate) fn message(&self) -> &Message {
        &self.message
    }
}

/// Decodes a query: a standard query with exactly one question.
pub fn parse_query(payload: &[u8]) -> Result<DnsQuery, DnsError> {
    let message = Message::from_vec(payload).map_err(|e| DnsError::Malformed(e.to_string()))?;
    if message.metadata.message_type != MessageType::Query {
        return Err(DnsError::NotAQuery);
    }
    if message.metadata.op_code != OpCode::Query {
        return Err(DnsError::UnsupportedOpcode(u8::from(
            message.metadata.op_code,
        )));
    }
    let [question] = message.queries.as_slice() else {
        return Err(DnsError::QuestionCount(message.queries.len()));
    };
    let name = presentation_name(question.name());
    Ok(DnsQuery { message, name })
}

/// What a resolver's answer says, reduced to what Hush keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsAnswer {
    pub id: u16,
    /// The question name: ASCII, lower case, no trailing dot.
    pub name: String,
    pub record_type: RecordType,
    pub rcode: u16,
    /// Addresses from A, AAAA and the HTTPS/SVCB address hints, with their TTLs.
    pub addresses: Vec<(IpAddr, u32)>,
}

/// Decodes a resolver's response and collects the addresses it hands out.
pub fn parse_answer(payload: &[u8]) -> Result<DnsAnswer, DnsError> {
    let message = Message::from_vec(payload).map_err(|e| DnsError::Malformed(e.to_string()))?;
    if message.metadata.message_type != MessageType::Response {
        return Err(DnsError::NotAResponse);
    }
    let [question] = message.queries.as_slice() else {
        return Err(DnsError::QuestionCount(message.queries.len()));
    };
    let mut addresses = Vec::new();
    for record in &message.answers {
        let ttl = record.ttl;
        match &record.data {
            RData::A(a) => addresses.push((IpAddr::V4(a.0), ttl)),
            RData::AAAA(aaaa) => addresses.push((IpAddr::V6(aaaa.0), ttl)),
            RData::HTTPS(https) => collect_hints(&https.0, ttl, &mut addresses),
            RData::SVCB(svcb) => collect_hints(svcb, ttl, &mut addresses),
            _ => {}
        }
    }
    Ok(DnsAnswer {
        id: message.metadata.id,
        name: presentation_name(question.name()),
        record_type: question.query_type(),
        rcode: u16::from(message.metadata.response_code),
        addresses,
    })
}

fn collect_hints(svcb: &hickory_proto::rr::rdata::SVCB, ttl: u32, out: &mut Vec<(IpAddr, u32)>) {
    use hickory_proto::rr::rdata::svcb::SvcParamValue;
    for (_, value) in &svcb.svc_params {
        match value {
            SvcParamValue::Ipv4Hint(hint) => {
                out.extend(hint.0.iter().map(|a| (IpAddr::V4(a.0), ttl)))
            }
            SvcParamValue::Ipv6Hint(hint) => {
                out.extend(hint.0.iter().map(|a| (IpAddr::V6(a.0), ttl)))
            }
            _ => {}
        }
    }
}

/// The message ID of a DNS payload, if it is long enough to have one.
pub fn message_id(payload: &[u8]) -> Option<u16> {
    Some(u16::from_be_bytes([*payload.first()?, *payload.get(1)?]))
}

/// Overwrites the message ID in place. The relay changes nothing else in a
/// resolver's bytes, so what the app receives is what the resolver said.
pub fn set_message_id(payload: &mut [u8], id: u16) -> bool {
    match payload.get_mut(..2) {
        Some(head) => {
            head.copy_from_slice(&id.to_be_bytes());
            true
        }
        None => false,
    }
}

fn presentation_name(name: &hickory_proto::rr::Name) -> String {
    let mut text = name.to_ascii();
    text.make_ascii_lowercase();
    if text.len() > 1 && text.ends_with('.') {
        text.pop();
    }
    text
}
