//! Real DC/OS tools, unchanged, against the emulator: what they did is checked through the
//! Rust clients.

mod dcos_deploy;
mod keytab;
mod marathon;
mod python;
mod stores;

/// The path of `tool`. Where it is missing and this runs as root on Debian (CI, a fresh machine
/// of this project's kind), Debian's `package` is installed first, once; otherwise the test
/// fails, naming the package and what the tool is `for`.
pub fn debian_tool(tool: &str, package: &str, purpose: &str) -> String {
    use std::process::Command;
    static INSTALLED: std::sync::Mutex<Vec<(String, Result<(), String>)>> =
        std::sync::Mutex::new(Vec::new());
    let find = || {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .expect("sh runs");
        found
            .status
            .success()
            .then(|| String::from_utf8_lossy(&found.stdout).trim().to_owned())
    };
    if let Some(path) = find() {
        return path;
    }
    let mut installed = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
    if !installed.iter().any(|(p, _)| p == package) {
        let root = Command::new("id").arg("-u").output().ok();
        let result = match root.is_some_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0") {
            false => Err(format!("not root, so {package} cannot be installed here")),
            true => {
                let install = format!(
                    "export DEBIAN_FRONTEND=noninteractive; apt-get install -y -q {package} || \
                     {{ apt-get update -q && apt-get install -y -q {package}; }}"
                );
                match Command::new("sh").args(["-c", &install]).output() {
                    Ok(out) if out.status.success() => Ok(()),
                    Ok(out) => Err(String::from_utf8_lossy(&out.stderr).trim().to_owned()),
                    Err(e) => Err(e.to_string()),
                }
            }
        };
        installed.push((package.to_owned(), result));
    }
    let result = installed
        .iter()
        .find(|(p, _)| p == package)
        .map(|(_, r)| r.clone());
    drop(installed);
    match (result, find()) {
        (_, Some(path)) => path,
        (Some(Err(why)), None) => panic!(
            "`{tool}` is not installed: {purpose} needs it (Debian: apt-get install {package}); {why}"
        ),
        (_, None) => panic!("`{tool}` is still missing after installing {package}"),
    }
}
