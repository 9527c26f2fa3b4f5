//! The default build is the four crates of the design: `cargo build` with no features brings
//! crossbeam-channel, log, env_logger and getopts, and nothing else. TLS and accounts come only
//! with their features (`make build-secure`), and the terminal UI with its own (`make run-tui`).

use std::process::Command;

/// The direct runtime dependencies of the default build.
const DEFAULT_DEPENDENCIES: [&str; 4] = ["crossbeam-channel", "env_logger", "getopts", "log"];

#[test]
fn the_default_build_has_exactly_the_four_runtime_crates() {
    // Cargo tells the tests it runs which cargo it is; run alone, the one on the PATH.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    let output = Command::new(cargo)
        .args(["tree", "--manifest-path", manifest, "-p", "chat"])
        .args(["-e", "normal", "--prefix", "none", "--depth", "1"])
        .output()
        .expect("run cargo tree");
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let tree = String::from_utf8(output.stdout).expect("cargo tree prints UTF-8");
    // The first line is the package itself; each other line is `<name> v<version>`.
    let mut dependencies: Vec<&str> = tree
        .lines()
        .skip(1)
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    dependencies.sort_unstable();
    dependencies.dedup();
    assert_eq!(
        dependencies, DEFAULT_DEPENDENCIES,
        "cargo tree said:\n{tree}"
    );
}
