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
mod ech;
mod names;

use hickory_proto::op::{Message, MessageType, OpCode};
use hickory_proto::rr::{DNSClass, RData, RecordType};
use std::net::IpAddr;

pub use answer::{blocked_answer, servfail, BlockMode};
pub use ech::strip_ech;
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

    /// The question's class: IN nearly always, but an answer for CH or
    /// another class is an answer to another question.
    pub fn record_class(&self) -> DNSClass {
        self.message
            .queries
            .first()
            .map_or(DNSClass::IN, |q| q.query_class())
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
    pub record_class: DNSClass,
    pub rcode: u16,
    /// Addresses from A, AAAA and the HTTPS/SVCB address hints, with their TTLs.
    pub addresses: Vec<(IpAddr, u32)>,
    /// The CNAME chain from the question name, in order: each name the one
    /// before it is an alias of, in the same form as [`Self::name`]. At most
    /// [`MAX_CNAME_CHAIN`] names; a chain that loops stops before the repeat.
    /// Empty when the question name is no alias.
    pub cnames: Vec<String>,
    /// An HTTPS or SVCB record in the answer or additional section carries
    /// an `ech` SvcParam (see [`strip_ech`]).
    pub has_ech: bool,
}

/// The longest CNAME chain [`parse_answer`] follows. Resolvers stop far
/// sooner (BIND at 16 in all; RFC 1034 asks only that loops be caught).
pub const MAX_CNAME_CHAIN: usize = 16;

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
    let name = presentation_name(question.name());
    let cnames = cname_chain(&message, &name);
    let has_ech = message
        .answers
        .iter()
        .chain(&message.additionals)
        .any(|record| ech::svcb_of(&record.data).is_some_and(ech::has_ech));
    Ok(DnsAnswer {
        id: message.metadata.id,
        name,
        record_type: question.query_type(),
        record_class: question.query_class(),
        rcode: u16::from(message.metadata.response_code),
        addresses,
        cnames,
        has_ech,
    })
}

/// Follows the CNAME records of the answer section from `name`: the record
/// owned by the name reached so far gives the next name. Records off the
/// chain are ignored; a loop ends the chain.
fn cname_chain(message: &Message, name: &str) -> Vec<String> {
    let mut chain: Vec<String> = Vec::new();
    let mut current = name.to_string();
    while chain.len() < MAX_CNAME_CHAIN {
        let next = message
            .answers
            .iter()
            .find_map(|record| match &record.data {
                RData::CNAME(target) if presentation_name(&record.name) == current => {
                    Some(presentation_name(&target.0))
                }
                _ => None,
            });
        let Some(next) = next else { break };
        if next == name || chain.contains(&next) {
            break;
        }
        chain.push(next.clone());
        current = next;
    }
    chain
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

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::{Message, OpCode, Query};
    use hickory_proto::rr::rdata::{A, CNAME};
    use hickory_proto::rr::{Name, Record};
    use std::str::FromStr;

    fn name(text: &str) -> Name {
        Name::from_str(text).unwrap()
    }

    /// An answer for `question` with these (owner, CNAME target) records,
    /// then an A record for the last target.
    fn answer(question: &str, cnames: &[(&str, &str)]) -> Vec<u8> {
        let mut message = Message::response(1, OpCode::Query);
        message.add_query(Query::query(name(question), RecordType::A));
        for (owner, target) in cnames {
            message.add_answer(Record::from_rdata(
                name(owner),
                60,
                RData::CNAME(CNAME(name(target))),
            ));
        }
        let last = cnames.last().map_or(question, |(_, target)| target);
        message.add_answer(Record::from_rdata(
            name(last),
            60,
            RData::A(A::new(198, 18, 0, 7)),
        ));
        message.to_vec().unwrap()
    }

    #[test]
    fn the_cname_chain_is_followed_from_the_question_in_order() {
        let bytes = answer(
            "Shop.Example.",
            &[
                ("shop.example.", "shop.example.cdn.net."),
                ("SHOP.example.cdn.net.", "metrics.Tracker.example."),
            ],
        );
        let parsed = parse_answer(&bytes).unwrap();
        assert_eq!(
            parsed.cnames,
            ["shop.example.cdn.net", "metrics.tracker.example"]
        );
        assert_eq!(parsed.addresses.len(), 1);
        assert!(parse_answer(&answer("shop.example.", &[]))
            .unwrap()
            .cnames
            .is_empty());
    }

    #[test]
    fn records_off_the_chain_are_ignored_and_loops_end_it() {
        // A CNAME owned by another name is not the question's alias.
        let off = answer("shop.example.", &[("other.example.", "tracker.example.")]);
        assert!(parse_answer(&off).unwrap().cnames.is_empty());
        // a -> b -> a: the chain stops before the repeat.
        let looped = answer(
            "a.example.",
            &[("a.example.", "b.example."), ("b.example.", "a.example.")],
        );
        assert_eq!(parse_answer(&looped).unwrap().cnames, ["b.example"]);
        // A long chain is cut at the bound.
        let names: Vec<String> = (0..40).map(|i| format!("n{i}.example.")).collect();
        let links: Vec<(&str, &str)> = names
            .windows(2)
            .map(|pair| (pair[0].as_str(), pair[1].as_str()))
            .collect();
        let long = answer(&names[0], &links);
        let chain = parse_answer(&long).unwrap().cnames;
        assert_eq!(chain.len(), MAX_CNAME_CHAIN);
        assert_eq!(chain[0], "n1.example");
    }
}
