//! Encrypted Client Hello keys out of HTTPS and SVCB answers.
//!
//! A client that finds an `ech` SvcParam (RFC 9460 §7.3, RFC 9849) in a
//! name's HTTPS record encrypts its real ClientHello, and the SNI Hush reads
//! is the outer, public name only. Without the key it sends a plain
//! ClientHello, whose SNI names the host. So Hush removes the `ech`
//! SvcParam, and `ech` among the `mandatory` keys (a record whose mandatory
//! key is missing must be ignored), and nothing else: every other record,
//! parameter, TTL, flag and the EDNS OPT record stay as they were.
//!
//! The message is decoded and encoded again with `hickory-proto`, so its
//! name compression may differ from the resolver's; it never grows. An
//! answer without `ech` is left alone, byte for byte. DNSSEC signatures over
//! a changed record no longer verify: stub resolvers on phones do not check
//! them, and a validating one would have to be told of Hush anyway.

use hickory_proto::op::Message;
use hickory_proto::rr::rdata::svcb::{SvcParamKey, SvcParamValue, SVCB};
use hickory_proto::rr::RData;

use crate::DnsError;

/// The SVCB data of an HTTPS or SVCB record.
pub(crate) fn svcb_of(data: &RData) -> Option<&SVCB> {
    match data {
        RData::HTTPS(https) => Some(&https.0),
        RData::SVCB(svcb) => Some(svcb),
        _ => None,
    }
}

fn svcb_of_mut(data: &mut RData) -> Option<&mut SVCB> {
    match data {
        RData::HTTPS(https) => Some(&mut https.0),
        RData::SVCB(svcb) => Some(svcb),
        _ => None,
    }
}

pub(crate) fn has_ech(svcb: &SVCB) -> bool {
    svcb.svc_params
        .iter()
        .any(|(key, _)| *key == SvcParamKey::EchConfigList)
}

/// Removes `ech` from one record's parameters; whether it was there.
fn strip(svcb: &mut SVCB) -> bool {
    if !has_ech(svcb) {
        return false;
    }
    svcb.svc_params
        .retain(|(key, _)| *key != SvcParamKey::EchConfigList);
    for (_, value) in &mut svcb.svc_params {
        if let SvcParamValue::Mandatory(mandatory) = value {
            mandatory.0.retain(|key| *key != SvcParamKey::EchConfigList);
        }
    }
    // An empty `mandatory` cannot be encoded (RFC 9460 §8): drop it.
    svcb.svc_params.retain(
        |(_, value)| !matches!(value, SvcParamValue::Mandatory(mandatory) if mandatory.0.is_empty()),
    );
    true
}

/// The resolver's answer `payload` without the `ech` SvcParam of its HTTPS
/// and SVCB records (answer and additional sections), or `None` when it has
/// none and must go to the app unchanged. An answer that does not decode,
/// or cannot be encoded again, is an error; the caller passes it on as it
/// came.
pub fn strip_ech(payload: &[u8]) -> Result<Option<Vec<u8>>, DnsError> {
    let mut message = Message::from_vec(payload).map_err(|e| DnsError::Malformed(e.to_string()))?;
    let mut changed = false;
    for record in message
        .answers
        .iter_mut()
        .chain(message.additionals.iter_mut())
    {
        if let Some(svcb) = svcb_of_mut(&mut record.data) {
            changed |= strip(svcb);
        }
    }
    if !changed {
        return Ok(None);
    }
    message
        .to_vec()
        .map(Some)
        .map_err(|e| DnsError::Malformed(format!("failed to encode the answer again: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::{Edns, Message, Query};
    use hickory_proto::rr::rdata::svcb::{Alpn, EchConfigList, IpHint, Mandatory};
    use hickory_proto::rr::rdata::{A, CNAME, HTTPS};
    use hickory_proto::rr::{Name, Record, RecordType};
    use std::str::FromStr;

    fn https(params: Vec<(SvcParamKey, SvcParamValue)>) -> RData {
        RData::HTTPS(HTTPS(SVCB::new(1, Name::root(), params)))
    }

    fn answer(records: Vec<RData>) -> Vec<u8> {
        let name = Name::from_str("shop.example.").unwrap();
        let mut message = Message::response(0x77, hickory_proto::op::OpCode::Query);
        message.add_query(Query::query(name.clone(), RecordType::HTTPS));
        for data in records {
            message.add_answer(Record::from_rdata(name.clone(), 300, data));
        }
        message.set_edns(Edns::new());
        message.to_vec().unwrap()
    }

    fn alpn() -> (SvcParamKey, SvcParamValue) {
        (
            SvcParamKey::Alpn,
            SvcParamValue::Alpn(Alpn(vec!["h2".into()])),
        )
    }

    fn ech() -> (SvcParamKey, SvcParamValue) {
        (
            SvcParamKey::EchConfigList,
            SvcParamValue::EchConfigList(EchConfigList(vec![0xfe, 0x0d, 0, 4, 1, 2, 3, 4])),
        )
    }

    fn hint() -> (SvcParamKey, SvcParamValue) {
        (
            SvcParamKey::Ipv4Hint,
            SvcParamValue::Ipv4Hint(IpHint(vec![A::new(198, 18, 0, 9)])),
        )
    }

    #[test]
    fn ech_goes_and_everything_else_stays() {
        let with = answer(vec![https(vec![alpn(), hint(), ech()])]);
        let stripped = strip_ech(&with).unwrap().expect("changed");
        assert!(stripped.len() < with.len());
        let mut expected = Message::from_vec(&with).unwrap();
        let RData::HTTPS(record) = &mut expected.answers[0].data else {
            panic!()
        };
        record.0.svc_params.remove(2);
        assert_eq!(Message::from_vec(&stripped).unwrap(), expected);
        assert!(!crate::parse_answer(&stripped).unwrap().has_ech);
        assert!(crate::parse_answer(&with).unwrap().has_ech);
    }

    #[test]
    fn ech_leaves_the_mandatory_keys_too() {
        let mandatory = |keys: Vec<SvcParamKey>| {
            (
                SvcParamKey::Mandatory,
                SvcParamValue::Mandatory(Mandatory(keys)),
            )
        };
        let both = answer(vec![https(vec![
            mandatory(vec![SvcParamKey::Alpn, SvcParamKey::EchConfigList]),
            alpn(),
            ech(),
        ])]);
        let stripped = Message::from_vec(&strip_ech(&both).unwrap().unwrap()).unwrap();
        let RData::HTTPS(record) = &stripped.answers[0].data else {
            panic!()
        };
        assert_eq!(
            record.0.svc_params,
            vec![mandatory(vec![SvcParamKey::Alpn]), alpn()]
        );
        // `mandatory` naming `ech` alone goes with it.
        let only = answer(vec![https(vec![
            mandatory(vec![SvcParamKey::EchConfigList]),
            ech(),
        ])]);
        let stripped = Message::from_vec(&strip_ech(&only).unwrap().unwrap()).unwrap();
        let RData::HTTPS(record) = &stripped.answers[0].data else {
            panic!()
        };
        assert!(record.0.svc_params.is_empty());
    }

    #[test]
    fn answers_without_ech_and_garbage_are_left_alone() {
        let without = answer(vec![https(vec![alpn(), hint()])]);
        assert_eq!(strip_ech(&without), Ok(None));
        let cname = answer(vec![RData::CNAME(CNAME(
            Name::from_str("cdn.example.").unwrap(),
        ))]);
        assert_eq!(strip_ech(&cname), Ok(None));
        assert!(strip_ech(b"").is_err());
        assert!(strip_ech(&[0xff; 40]).is_err());
        // Every cut of an answer with ech: an error or an answer, no panic.
        let with = answer(vec![https(vec![alpn(), hint(), ech()])]);
        for end in 0..with.len() {
            let _ = strip_ech(&with[..end]);
        }
    }
}
