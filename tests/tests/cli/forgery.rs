//! What an attacker plants is never acted on (issue 27): ids that are URL dot segments,
//! recovery files that are not the user's own, rotation records that AWS does not vouch for.

use crate::harness::Cluster;

/// Requirement (issue 27): a group whose id is `..` cannot turn `revoke --all
/// --remove-from-groups` into the deletion of the user (`DELETE /groups/../users/victim` is
/// `DELETE /users/victim`). The client refuses such an id (and the emulator, like the service,
/// refuses to create one); one that is there anyway (loaded state) is left with a warning
/// that names it, and the user stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dot_dot_group_never_deletes_a_user() {
    let cluster = Cluster::start().await;
    cluster.service_account("victim").await;
    let dots = dcos_iam_client::Gid::new("..");
    assert!(dots.is_err(), "the client accepts `..` as a gid");

    // A state where the group exists all the same, with the victim in it.
    let mut state = cluster.emulator.state();
    let mut group = dcos_emulator::state::Group::default();
    group.members.insert("victim".to_owned());
    state.groups.insert("..".to_owned(), group);
    cluster.emulator.load_state(state);
    let before = cluster.emulator.state();
    let run = cluster
        .admin(&[
            "revoke",
            "--all",
            "--user",
            "victim",
            "--remove-from-groups",
            "--yes",
        ])
        .expect(0);
    assert!(
        run.stderr.contains("group `..` was left as it is"),
        "{}",
        run.stderr
    );
    let after = cluster.emulator.state();
    assert!(
        after.accounts.contains_key("victim"),
        "the user was deleted"
    );
    assert_eq!(after, before, "{}", run.stderr);
}
