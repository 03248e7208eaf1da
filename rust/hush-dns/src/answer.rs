//! Answers Hush gives in place of a resolver: blocked names and failures.

use hickory_proto::op::{Edns, Message, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA};
use hickory_proto::rr::{RData, Record, RecordType};
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::{DnsError, DnsQuery};

/// TTL of a blocked answer: long enough to spare the app a storm of retries,
/// short enough that unblocking a name takes effect within a minute.
const BLOCKED_TTL: u32 = 60;
/// The EDNS payload size recommended by DNS Flag Day 2020.
const EDNS_PAYLOAD: u16 = 1232;

/// How a blocked name is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BlockMode {
    /// "No such name" (RCODE 3): apps give up at once.
    #[default]
    NxDomain,
    /// A answers `0.0.0.0`, AAAA answers `::`, other types get an empty answer.
    /// Some apps retry NXDOMAIN aggressively but accept an unroutable address.
    Unspecified,
}

/// Builds the answer to a query for a blocked name.
pub fn blocked_answer(query: &DnsQuery, mode: BlockMode) -> Result<Vec<u8>, DnsError> {
    let mut response = response_to(query);
    match mode {
        BlockMode::NxDomain => response.metadata.response_code = ResponseCode::NXDomain,
        BlockMode::Unspecified => {
            let name = query.message().queries[0].name().clone();
            let data = match query.record_type() {
                RecordType::A => Some(RData::A(A(Ipv4Addr::UNSPECIFIED))),
                RecordType::AAAA => Some(RData::AAAA(AAAA(Ipv6Addr::UNSPECIFIED))),
                _ => None,
            };
            if let Some(data) = data {
                response.add_answer(Record::from_rdata(name, BLOCKED_TTL, data));
            }
        }
    }
    encode(&response)
}

/// Builds a SERVFAIL answer, for a query whose resolver failed or did not answer.
pub fn servfail(query: &DnsQuery) -> Result<Vec<u8>, DnsError> {
    let mut response = response_to(query);
    response.metadata.response_code = ResponseCode::ServFail;
    encode(&response)
}

fn response_to(query: &DnsQuery) -> Message {
    let request = query.message();
    let mut response = Message::response(request.metadata.id, request.metadata.op_code);
    response.metadata.recursion_desired = request.metadata.recursion_desired;
    response.metadata.recursion_available = true;
    response.metadata.checking_disabled = request.metadata.checking_disabled;
    response.add_queries(request.queries.iter().cloned());
    if request.edns.is_some() {
        // RFC 6891 §6.1.1: a query with OPT gets an answer with OPT.
        let mut edns = Edns::new();
        edns.set_max_payload(EDNS_PAYLOAD);
        response.set_edns(edns);
    }
    response
}

fn encode(message: &Message) -> Result<Vec<u8>, DnsError> {
    message
        .to_vec()
        .map_err(|e| DnsError::Malformed(format!("failed to encode answer: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse_answer, parse_query};
    use hickory_proto::op::Query;
    use hickory_proto::rr::Name;
    use std::str::FromStr;

    fn query_bytes(name: &str, record_type: RecordType, edns: bool) -> Vec<u8> {
        let mut message = Message::query();
        message.metadata.id = 0x4242;
        message.metadata.recursion_desired = true;
        message.add_query(Query::query(Name::from_str(name).unwrap(), record_type));
        if edns {
            message.set_edns(Edns::new());
        }
        message.to_vec().unwrap()
    }

    #[test]
    fn nxdomain_keeps_id_question_and_edns() {
        let query = parse_query(&query_bytes("Tracking.MIUI.com.", RecordType::A, true)).unwrap();
        assert_eq!(query.name(), "tracking.miui.com");
        let bytes = blocked_answer(&query, BlockMode::NxDomain).unwrap();
        let answer = Message::from_vec(&bytes).unwrap();
        assert_eq!(answer.metadata.id, 0x4242);
        assert_eq!(answer.metadata.response_code, ResponseCode::NXDomain);
        assert!(answer.metadata.recursion_desired && answer.metadata.recursion_available);
        assert_eq!(answer.queries.len(), 1);
        assert!(answer.edns.is_some());
        assert!(answer.answers.is_empty());
    }

    #[test]
    fn unspecified_mode_answers_a_and_aaaa_with_the_unspecified_address() {
        for (record_type, expected) in [
            (RecordType::A, Some("0.0.0.0")),
            (RecordType::AAAA, Some("::")),
            (RecordType::HTTPS, None),
        ] {
            let query = parse_query(&query_bytes("api.ad.xiaomi.com", record_type, false)).unwrap();
            let bytes = blocked_answer(&query, BlockMode::Unspecified).unwrap();
            let answer = parse_answer(&bytes).unwrap();
            assert_eq!(answer.rcode, 0);
            let addresses: Vec<String> = answer
                .addresses
                .iter()
                .map(|(a, _)| a.to_string())
                .collect();
            assert_eq!(
                addresses,
                expected.into_iter().map(String::from).collect::<Vec<_>>()
            );
            assert!(Message::from_vec(&bytes).unwrap().edns.is_none());
        }
    }

    #[test]
    fn servfail_is_a_servfail() {
        let query = parse_query(&query_bytes("example.org", RecordType::AAAA, false)).unwrap();
        let answer = parse_answer(&servfail(&query).unwrap()).unwrap();
        assert_eq!(answer.rcode, u16::from(ResponseCode::ServFail));
        assert_eq!(answer.id, 0x4242);
    }
}
