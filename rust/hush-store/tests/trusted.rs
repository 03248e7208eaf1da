//! Apps trusted with "allow all, not inspected" (issue 15): kept per app with
//! the package they were trusted for, gone with that package, and allowed
//! by the policy should their packets reach the engine, whatever else the
//! app's rules say.

use hush_engine::{AppMode, Network};
use hush_store::rules::{self, AppOption};

const GAME: u32 = 10_123;
const SHARED: u32 = 1_000;

fn store() -> (tempfile::TempDir, rusqlite::Connection) {
    let dir = tempfile::tempdir().unwrap();
    let connection = hush_store::open(&dir.path().join("hush.db")).unwrap();
    (dir, connection)
}

#[test]
fn trust_is_kept_per_app_with_its_package_and_taken_back() {
    let (_dir, connection) = store();
    assert!(rules::trusted_apps(&connection).unwrap().is_empty());
    assert!(rules::set_trusted(&connection, GAME, Some("com.example.game"), true).unwrap());
    assert!(
        !rules::set_trusted(&connection, GAME, Some("com.example.game"), true).unwrap(),
        "the same trust again changes nothing"
    );
    assert!(rules::set_trusted(&connection, SHARED, None, true).unwrap());
    assert_eq!(
        rules::trusted_apps(&connection).unwrap(),
        [(SHARED, None), (GAME, Some("com.example.game".to_string()))]
    );
    assert!(rules::set_trusted(&connection, SHARED, None, false).unwrap());
    assert!(!rules::set_trusted(&connection, SHARED, None, false).unwrap());
    assert_eq!(rules::trusted_apps(&connection).unwrap().len(), 1);
    // A bad package is refused, and nothing is stored.
    assert!(rules::set_trusted(&connection, 42, Some("not a package"), true).is_err());
    assert_eq!(rules::trusted_apps(&connection).unwrap().len(), 1);
    // Other settings are not apps.
    rules::set_setting(&connection, "trusted_app:x", "y").unwrap();
    assert_eq!(rules::trusted_apps(&connection).unwrap().len(), 1);
}

#[test]
fn trust_goes_with_the_package_it_was_made_for() {
    let (_dir, connection) = store();
    rules::set_trusted(&connection, GAME, Some("com.example.game"), true).unwrap();
    rules::set_trusted(&connection, SHARED, Some("com.android.phone"), true).unwrap();
    // Another package sharing the UID leaves: the trust stays.
    assert_eq!(
        rules::forget_app(&connection, SHARED, Some("com.android.settings")).unwrap(),
        0
    );
    assert_eq!(rules::trusted_apps(&connection).unwrap().len(), 2);
    assert_eq!(
        rules::forget_app(&connection, SHARED, Some("com.android.phone")).unwrap(),
        1
    );
    assert_eq!(
        rules::trusted_apps(&connection).unwrap(),
        [(GAME, Some("com.example.game".to_string()))]
    );
    // The UID now belongs to another app: reconciling drops the trust.
    let installed = [(GAME, "com.example.other".to_string())];
    assert_eq!(rules::reconcile_apps(&connection, &installed).unwrap(), 1);
    assert!(rules::trusted_apps(&connection).unwrap().is_empty());
    // Trust made without a package goes only with its UID.
    rules::set_trusted(&connection, GAME, None, true).unwrap();
    assert_eq!(rules::reconcile_apps(&connection, &installed).unwrap(), 0);
    assert_eq!(rules::forget_app(&connection, GAME, None).unwrap(), 1);
    assert!(rules::trusted_apps(&connection).unwrap().is_empty());
}

#[test]
fn a_trusted_app_is_allowed_all_whatever_its_other_rules() {
    let (_dir, mut connection) = store();
    rules::set_app_mode(&connection, GAME, Network::Wifi, AppMode::BlockAll).unwrap();
    rules::set_app_mode(&connection, GAME, Network::Any, AppMode::BlockAll).unwrap();
    rules::set_app_option(&connection, AppOption::Strict, GAME, None, true).unwrap();
    rules::set_app_option_default(&connection, AppOption::ResolvedOnly, true).unwrap();
    let mut before = rules::app_policy(&mut connection).unwrap();
    before.set_active_network(Network::Wifi);
    assert_eq!(before.mode(Some(GAME)), AppMode::BlockAll);

    rules::set_trusted(&connection, GAME, Some("com.example.game"), true).unwrap();
    let mut policy = rules::app_policy(&mut connection).unwrap();
    for network in [Network::Any, Network::Wifi, Network::Mobile] {
        policy.set_active_network(network);
        assert_eq!(policy.mode(Some(GAME)), AppMode::AllowAll, "{network:?}");
    }
    assert!(!policy.strict(Some(GAME)));
    assert!(!policy.resolved_only(Some(GAME)));
    // Another app keeps the defaults.
    assert!(policy.resolved_only(Some(GAME + 1)));
    assert_eq!(policy.mode(Some(GAME + 1)), AppMode::default());
    // Its own rules are kept for when it is no longer trusted.
    rules::set_trusted(&connection, GAME, None, false).unwrap();
    let mut after = rules::app_policy(&mut connection).unwrap();
    after.set_active_network(Network::Wifi);
    assert_eq!(after.mode(Some(GAME)), AppMode::BlockAll);
    assert!(after.strict(Some(GAME)));
}
