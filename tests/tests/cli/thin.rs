//! The command line stays a thin layer over the libraries: its sources are at most 4,800
//! lines (arguments with their help, connection, input, rendering, exit codes for some forty
//! commands), and no file is over 600. Workflows, reports and their renderings belong in
//! `dcos-ops` and `dcos-connect`, where other programs can call them.

use std::path::{Path, PathBuf};

const TOTAL_LIMIT: usize = 4_800;
const FILE_LIMIT: usize = 600;

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

#[test]
fn the_cli_sources_stay_within_their_limits() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/cli/src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(
        files.len() > 10,
        "{} files under {}",
        files.len(),
        src.display()
    );
    let mut total = 0;
    let mut too_long = Vec::new();
    for file in &files {
        let lines = std::fs::read_to_string(file).unwrap().lines().count();
        total += lines;
        if lines > FILE_LIMIT {
            too_long.push(format!("{} ({lines} lines)", file.display()));
        }
    }
    assert!(too_long.is_empty(), "over {FILE_LIMIT} lines: {too_long:?}");
    assert!(
        total <= TOTAL_LIMIT,
        "crates/cli/src is {total} lines, over {TOTAL_LIMIT}"
    );
}
