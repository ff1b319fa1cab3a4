//! Embeds the shipped rule files (`rules/<area>/<ID>.<slug>.toml`) in the binary so it works
//! from any directory. `rules/catalog` (data) and `rules/profiles` (checklists) are not rules.

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
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("embedded_rules.rs");
    let mut f = fs::File::create(&out).expect("cannot write embedded_rules.rs");
    writeln!(
        f,
        "/// Shipped rule files: (path relative to the crate, contents)."
    )
    .expect("write");
    writeln!(f, "pub static EMBEDDED_RULES: &[(&str, &str)] = &[").expect("write");
    for path in &files {
        let rel = path.strip_prefix(&root).expect("rule file under the crate");
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
