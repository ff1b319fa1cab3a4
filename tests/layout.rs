//! The layout promise: the repository root is the product. `cargo install --path .` ships one
//! binary, `m365audit`; what tests, fuzzers and benches need lives in `crates/` and reaches the
//! product only as dev-dependencies; no test hook is compiled into it.

mod common;

use std::process::Command;

use serde_json::Value;

#[test]
fn the_root_package_ships_one_binary_and_nothing_for_tests() {
    let out = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(common::root())
        .output()
        .expect("cargo metadata runs");
    assert!(out.status.success(), "{}", common::stderr(&out));
    let meta: Value = serde_json::from_slice(&out.stdout).expect("metadata is JSON");
    let packages = meta["packages"].as_array().expect("packages");
    let product = packages
        .iter()
        .find(|p| p["name"] == "m365audit")
        .expect("the m365audit package");
    assert_eq!(
        product["manifest_path"].as_str().map(std::path::Path::new),
        Some(common::root().join("Cargo.toml").as_path()),
        "the product is the root package"
    );
    let bins: Vec<&str> = product["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .filter(|t| {
            t["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "bin"))
        })
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(bins, ["m365audit"]);

    let members: Vec<&str> = packages.iter().filter_map(|p| p["name"].as_str()).collect();
    let support: Vec<&str> = members
        .iter()
        .copied()
        .filter(|&n| n != "m365audit")
        .collect();
    assert!(
        support.contains(&"fake-graph") && support.contains(&"m365audit-testkit"),
        "{members:?}"
    );
    for dep in product["dependencies"].as_array().expect("dependencies") {
        let name = dep["name"].as_str().unwrap_or_default();
        if support.contains(&name) || name == "httparse" {
            assert_eq!(dep["kind"], "dev", "{name} is for tests only");
        }
    }
    for dir in ["src", "rules", "tests", "reports"] {
        assert!(common::root().join(dir).is_dir(), "{dir}/ at the top level");
    }
}

/// Test hooks are environment variables the shipped binary would obey; there are none.
#[test]
fn no_test_hook_is_compiled_into_the_product() {
    let mut files = vec![common::root().join("src")];
    let mut hooks = Vec::new();
    while let Some(path) = files.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path).expect("src is readable") {
                files.push(entry.expect("an entry").path());
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).expect("a source file");
            if text.contains("M365AUDIT_TEST") {
                hooks.push(path.display().to_string());
            }
        }
    }
    assert!(hooks.is_empty(), "test hooks in {hooks:?}");
}
