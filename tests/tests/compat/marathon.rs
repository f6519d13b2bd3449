//! The Python Marathon client `marathon` 0.13.0 from PyPI, unchanged, against the emulator's
//! Marathon over TLS: ping, info, and an app with a secret created, read, its tasks listed,
//! restarted, scaled, updated and deleted.
//!
//! Python 3.10 moved `collections.Iterable` to `collections.abc`, where the client does not
//! look: a `sitecustomize` puts the old names back, which changes nothing of the client.

use std::process::Command;

use dcos_emulator::Emulator;
use dcos_emulator::state::Secret;

use crate::python::Venv;

/// Puts back the names Python 3.10 removed from `collections`.
const SITECUSTOMIZE: &str = r#"
import collections, collections.abc
for _name in ("Iterable", "Mapping", "MutableMapping", "Sequence", "Callable"):
    setattr(collections, _name, getattr(collections.abc, _name))
"#;

/// What a script of an operator does with the client; exits non-zero naming what failed.
const SCRIPT: &str = r#"
import sys, time
import marathon
from marathon.models import MarathonApp
from marathon.exceptions import NotFoundError

url, token, ca = sys.argv[1:4]
client = marathon.MarathonClient(url + "/service/marathon", auth_token=token, verify=ca)
assert client.ping().strip() == b"pong", client.ping()
assert client.get_info().name == "marathon"
APP = "/compat/app"

def settled(check, what):
    for _ in range(400):
        app = client.get_app(APP)
        tasks = client.list_tasks(APP)
        if not app.deployments and check(app, tasks):
            return app, tasks
        time.sleep(0.05)
    raise SystemExit("never " + what)

app = MarathonApp(cmd="sleep 1000", instances=1, env={"KEY": {"secret": "key"}},
                  secrets={"key": {"source": "compat/key"}})
created = client.create_app(APP, app)
assert created and created.id == APP, created
_, first = settled(lambda app, tasks: len(tasks) == 1, "one task")
assert first[0].app_id == APP and first[0].state == "TASK_RUNNING", first[0]

client.restart_app(APP)
settled(lambda app, tasks: len(tasks) == 1 and tasks[0].id != first[0].id, "restarted")

client.scale_app(APP, instances=2)
scaled, _ = settled(lambda app, tasks: len(tasks) == 2, "two tasks")
assert scaled.env["KEY"] == {"secret": "key"}, scaled.env

client.update_app(APP, MarathonApp(cmd="sleep 2000"))
updated, _ = settled(lambda app, tasks: app.cmd == "sleep 2000", "updated")
assert updated.instances == 2, updated.instances
assert any(t.app_id == APP for t in client.list_tasks())

client.delete_app(APP)
try:
    client.get_app(APP)
    raise SystemExit("the app is still there")
except NotFoundError:
    pass
print("the Python Marathon client drove the app")
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_marathon_client_drives_an_app_with_a_secret() {
    let venv = Venv::with(&[], &["marathon==0.13.0"]);
    let emulator = Emulator::builder()
        .tls(true)
        .deploy_ms(20)
        .start()
        .await
        .unwrap();
    let mut state = emulator.state();
    state
        .secrets
        .insert("compat/key".into(), Secret::Text("from-the-store".into()));
    emulator.load_state(state);
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, emulator.ca_pem().unwrap()).unwrap();
    std::fs::write(dir.path().join("sitecustomize.py"), SITECUSTOMIZE).unwrap();
    let script = dir.path().join("drive.py");
    std::fs::write(&script, SCRIPT).unwrap();
    let token = emulator.issue_token("bootstrapuser").unwrap();
    let url = emulator.url().to_owned();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(venv.bin("python"))
            .arg(&script)
            .args([&url, &token])
            .arg(&ca)
            .env("PYTHONPATH", script.parent().unwrap())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "the client failed:\n{said}");
    assert!(said.contains("drove the app"), "{said}");
    assert!(!emulator.state().apps.contains_key("/compat/app"));
    emulator.shutdown().await;
}
