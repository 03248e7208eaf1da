//! The report and the attribution as the Android bridge (hush-jni) hands
//! them to Kotlin: JSON in and out, so each JNI entry is one call and a
//! screen of hosts costs one crossing.

use std::path::Path;

use serde_json::{json, Value};

use crate::{attribution, write_report, ReportError};

/// Most hosts one [`owners_json`] call takes: a screen shows a page of at
/// most 1,000 rows (the store's largest page).
pub const MAX_HOSTS: usize = 1000;

/// Writes the report of `uid` to `out` ([`write_report`]) and says what it
/// covered: `{"written": true, "hosts", "attempts", "sha256"}`, or
/// `{"written": false, "noEvents": true}` for a UID without stored events (an
/// answer the app shows, not a failure; no file is written). An empty
/// `app_version` is none. Every other failure is an error, and leaves no
/// file at `out`.
pub fn report_json(
    db: &Path,
    uid: u32,
    out: &Path,
    app_version: &str,
) -> Result<String, ReportError> {
    let version = (!app_version.is_empty()).then_some(app_version);
    match write_report(db, uid, out, version) {
        Ok(written) => Ok(json!({
            "written": true,
            "hosts": written.hosts,
            "attempts": written.attempts,
            "sha256": written.sha256,
        })
        .to_string()),
        Err(ReportError::NoEvents { .. }) => {
            Ok(json!({"written": false, "noEvents": true}).to_string())
        }
        Err(other) => Err(other),
    }
}

/// Who is behind each host of `hosts_json` (a JSON array of strings): a
/// JSON array in the same order, each `{"company", "parent", "country",
/// "category"}` (parent and country `null` when not known) or `null` for a
/// host the table does not name. Refuses anything but an array of at most
/// [`MAX_HOSTS`] strings, saying why.
pub fn owners_json(hosts_json: &str) -> Result<String, String> {
    let hosts: Vec<String> = match serde_json::from_str::<Value>(hosts_json) {
        Ok(Value::Array(items)) => items
            .into_iter()
            .map(|item| match item {
                Value::String(host) => Ok(host),
                other => Err(format!("a host is a string, not {other}")),
            })
            .collect::<Result<_, _>>()?,
        Ok(_) => return Err("the hosts are a JSON array of strings".into()),
        Err(e) => return Err(format!("the hosts are not JSON: {e}")),
    };
    if hosts.len() > MAX_HOSTS {
        return Err(format!(
            "at most {MAX_HOSTS} hosts a call, not {}",
            hosts.len()
        ));
    }
    let table = attribution();
    let owners: Vec<Value> = hosts
        .iter()
        .map(|host| match table.lookup(host) {
            Some(entry) => json!({
                "company": entry.company,
                "parent": entry.parent,
                "country": entry.country,
                "category": entry.category.as_str(),
            }),
            None => Value::Null,
        })
        .collect();
    Ok(Value::Array(owners).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_follow_the_order_asked_and_match_on_parent_domains() {
        let answer: Value = serde_json::from_str(
            &owners_json(r#"["o42.ingest.sentry.io", "shop.example", "NOTIFY.bugsnag.com."]"#)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(answer[0]["company"], "Sentry");
        assert_eq!(answer[0]["category"], "crash reporting");
        assert_eq!(answer[0]["parent"], Value::Null);
        assert_eq!(answer[1], Value::Null);
        assert_eq!(answer[2]["company"], "BugSnag");
        assert_eq!(answer[2]["parent"], "SmartBear");
        assert_eq!(answer[2]["country"], "US");
        assert_eq!(answer.as_array().unwrap().len(), 3);
    }

    #[test]
    fn anything_but_an_array_of_hosts_is_refused_with_the_reason() {
        assert!(owners_json("{}").unwrap_err().contains("array"));
        assert!(owners_json("[1]")
            .unwrap_err()
            .contains("a host is a string"));
        assert!(owners_json("[").unwrap_err().contains("not JSON"));
        let many = serde_json::to_string(&vec!["a.example"; MAX_HOSTS + 1]).unwrap();
        assert!(owners_json(&many).unwrap_err().contains("at most 1000"));
        assert_eq!(owners_json("[]").unwrap(), "[]");
    }
}
