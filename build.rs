//! Embeds the shipped rule files (`rules/<area>/<ID>.<slug>.toml`) in the binary so it works
//! from any directory, and the vendor profiles (`rules/profiles/<id>.toml`) beside them.
//! `rules/catalog` (data) and `rules/profiles` (checklists) are not rules.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

const NOT_RULES: &[&str] = &["catalog", "profiles"];

fn main() {
    let root =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let rules = root.join("rules");
    println!("cargo:rerun-if-changed=rules");
    let mut files = Vec::new();
    collect(&rules, &mut files);
    files.sort();
    embed(
        &root,
        &files,
        "embedded_rules.rs",
        "EMBEDDED_RULES",
        "Shipped rule files",
    );

    // Vendor profiles: rules/profiles/*.toml, in name order.
    let mut profiles: Vec<PathBuf> = fs::read_dir(rules.join("profiles"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    profiles.retain(|p| p.extension().is_some_and(|e| e == "toml"));
    profiles.sort();
    embed(
        &root,
        &profiles,
        "embedded_profiles.rs",
        "EMBEDDED_PROFILES",
        "Shipped vendor profiles",
    );
}

/// Writes `OUT_DIR/<file>` declaring `static <name>: &[(path, contents)]`.
fn embed(root: &Path, files: &[PathBuf], file: &str, name: &str, doc: &str) {
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join(file);
    let mut f = fs::File::create(&out).expect("cannot write into OUT_DIR");
    writeln!(f, "/// {doc}: (path relative to the crate, contents).").expect("write");
    writeln!(f, "pub static {name}: &[(&str, &str)] = &[").expect("write");
    for path in files {
        let rel = path.strip_prefix(root).expect("a file under the crate");
        let rel = rel.to_string_lossy().replace('\\', "/");
        writeln!(
            f,
            "    ({rel:?}, include_str!({:?})),",
            path.to_string_lossy()
        )
        .expect("write");
    }
    writeln!(f, "];").expect("write");
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            let name = entry.file_name();
            if dir.file_name().is_some_and(|d| d == "rules") && NOT_RULES.iter().any(|n| name == *n)
            {
                continue;
            }
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
}
