//! The layout promise: the repository root is the product. `cargo install --path .` ships one
//! binary, `m365audit`; what tests, fuzzers and benches need lives in `crates/` and reaches the
//! product only as dev-dependencies; no test hook is compiled into it.

use std::process::Command;

use serde_json::Value;

use crate::common;

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

/// The layers drawn in the crate doc (`src/lib.rs`), top first: each line's module names.
fn layers(lib: &str) -> Vec<Vec<String>> {
    let doc: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("//!"))
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect();
    let start = doc
        .iter()
        .position(|l| l.trim() == "```text")
        .expect("the crate doc draws the layers in a ```text block");
    doc[start + 1..]
        .iter()
        .take_while(|l| l.trim() != "```")
        .map(|l| {
            // Module names, then a description after two or more spaces.
            let names = l.split("  ").next().unwrap_or_default();
            names.split(',').map(|n| n.trim().to_string()).collect()
        })
        .collect()
}

/// Every `.rs` file under `dir`, with its module path below `src/` (`model/exchange/build.rs`
/// is `["model", "exchange", "build"]`; `mod.rs` is its folder's module).
fn modules(dir: &std::path::Path) -> Vec<(Vec<String>, String)> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(path) = pending.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path).expect("a readable folder") {
                pending.push(entry.expect("an entry").path());
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path.strip_prefix(dir).expect("under src");
            let mut parts: Vec<String> = rel
                .with_extension("")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if parts.last().is_some_and(|p| p == "mod") {
                parts.pop();
            }
            let text = std::fs::read_to_string(&path).expect("a source file");
            out.push((parts, text));
        }
    }
    out.sort();
    out
}

/// The paths a file's code names after `prefix` (`crate::` or `super::`), comments left
/// out; one level of `{a::B, c}` groups is expanded.
fn paths_after(text: &str, prefix: &str) -> Vec<Vec<String>> {
    let ident = |s: &str| -> usize {
        s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(s.len())
    };
    // A path: identifiers joined by `::`, ending before anything else.
    let path = |mut s: &str| -> (Vec<String>, usize) {
        let mut segments = Vec::new();
        let mut used = 0;
        loop {
            let n = ident(s);
            if n == 0 {
                break;
            }
            segments.push(s[..n].to_string());
            used += n;
            s = &s[n..];
            match s.strip_prefix("::") {
                Some(rest) if rest.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') => {
                    used += 2;
                    s = rest;
                }
                _ => break,
            }
        }
        (segments, used)
    };
    let mut found = Vec::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or_default();
        let mut rest = code;
        while let Some(at) = rest.find(prefix) {
            let after = &rest[at + prefix.len()..];
            let (head, used) = path(after);
            let tail = &after[used..];
            match tail.strip_prefix("::{") {
                Some(group) => {
                    let group = group.split('}').next().unwrap_or_default();
                    for item in group.split(',') {
                        let (more, _) = path(item.trim());
                        found.push(head.iter().cloned().chain(more).collect());
                    }
                }
                None => found.push(head),
            }
            rest = after;
        }
    }
    found.retain(|p: &Vec<String>| !p.is_empty());
    found
}

#[test]
fn modules_import_only_from_layers_below_their_own() {
    let src = common::root().join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("src/lib.rs");
    let layers = layers(&lib);
    let layer_of = |name: &str| layers.iter().position(|l| l.iter().any(|n| n == name));

    let declared: Vec<String> = lib
        .lines()
        .filter_map(|l| {
            l.strip_prefix("pub mod ")
                .or_else(|| l.strip_prefix("mod "))
        })
        .map(|l| l.trim_end_matches(';').to_string())
        .collect();
    let drawn: Vec<&String> = layers.iter().flatten().collect();
    for name in &declared {
        assert!(
            drawn.contains(&name),
            "module `{name}` is not in the crate doc's layers"
        );
    }
    for name in &drawn {
        assert!(
            declared.contains(name),
            "the crate doc's layers name `{name}`, which lib.rs does not declare"
        );
    }

    let mut upward = Vec::new();
    for (parts, text) in modules(&src) {
        let Some(own) = parts.first().filter(|p| *p != "lib" && *p != "main") else {
            continue;
        };
        let own_layer = layer_of(own).expect("every module is drawn");
        for path in paths_after(&text, "crate::") {
            let other = &path[0];
            if other == own {
                continue;
            }
            match layer_of(other) {
                Some(layer) if layer > own_layer => {}
                _ => upward.push(format!(
                    "src/{}.rs: `{own}` imports `crate::{}`",
                    parts.join("/"),
                    path.join("::")
                )),
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports from the same or a higher layer (see the crate doc):\n{}",
        upward.join("\n")
    );
}

#[test]
fn submodules_of_a_module_do_not_import_each_other_in_a_cycle() {
    use std::collections::{BTreeMap, BTreeSet};
    let files = modules(&common::root().join("src"));
    // Module path → the sibling submodules it (with everything under it) imports.
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (parts, text) in &files {
        // `super::x` from a file names a sibling of its module (or of itself, for mod.rs).
        let parent: Vec<String> = parts[..parts.len().saturating_sub(1)].to_vec();
        let mut named: Vec<Vec<String>> = paths_after(text, "crate::");
        for p in paths_after(text, "super::") {
            if p.first().is_none_or(|s| s != "super") {
                named.push(parent.iter().cloned().chain(p).collect());
            }
        }
        for target in named {
            // The nearest common ancestor's children on each side are the siblings.
            let common = parts
                .iter()
                .zip(&target)
                .take_while(|(a, b)| a == b)
                .count();
            if common >= parts.len() || common >= target.len() {
                continue; // a module naming itself, an ancestor or its own child
            }
            let from = parts[..=common].to_vec();
            let to = target[..=common].to_vec();
            if common > 0 {
                edges.entry(from).or_default().insert(to);
            }
        }
    }
    // Depth-first search for a cycle.
    fn visit(
        node: &Vec<String>,
        edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        stack: &mut Vec<Vec<String>>,
        done: &mut BTreeSet<Vec<String>>,
    ) -> Option<Vec<Vec<String>>> {
        if let Some(i) = stack.iter().position(|n| n == node) {
            return Some(stack[i..].iter().cloned().chain([node.clone()]).collect());
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.clone());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, stack, done) {
                return Some(cycle);
            }
        }
        stack.pop();
        done.insert(node.clone());
        None
    }
    let mut done = BTreeSet::new();
    for node in edges.keys() {
        if let Some(cycle) = visit(node, &edges, &mut Vec::new(), &mut done) {
            let names: Vec<String> = cycle.iter().map(|n| n.join("::")).collect();
            panic!(
                "submodules import each other in a cycle: {}",
                names.join(" → ")
            );
        }
    }
    assert!(
        edges.contains_key(&vec!["model".to_string(), "tenant".to_string()]),
        "the scan found the model's submodules' imports: {edges:?}"
    );
}
