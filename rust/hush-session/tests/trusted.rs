//! The API of apps trusted with "allow all, not inspected" (issue 15), as
//! the Android bridge calls it: set, listed as JSON, taken back, and bad
//! input refused with nothing stored.

use hush_session::api;

#[test]
fn trusted_apps_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hush.db");
    assert_eq!(api::trusted_apps(&db).unwrap(), "[]");
    assert!(api::set_trusted(&db, 10_123, "com.example.game", true).unwrap());
    assert!(api::set_trusted(&db, 1_000, "", true).unwrap());
    let listed: serde_json::Value = serde_json::from_str(&api::trusted_apps(&db).unwrap()).unwrap();
    assert_eq!(
        listed,
        serde_json::json!([{"uid": 1000}, {"uid": 10123, "package": "com.example.game"}])
    );
    assert!(!api::set_trusted(&db, 1_000, "", true).unwrap());
    assert!(api::set_trusted(&db, 1_000, "", false).unwrap());
    for (uid, package) in [(-1, ""), (10_124, "no spaces allowed")] {
        assert!(
            api::set_trusted(&db, uid, package, true).is_err(),
            "{uid} {package}"
        );
    }
    let listed: serde_json::Value = serde_json::from_str(&api::trusted_apps(&db).unwrap()).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
}
