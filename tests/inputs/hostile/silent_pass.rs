//! No silent pass: removing any export file, or any property from every object of a file,
//! may only turn outcomes into `not_evaluated`. A pass or a failure that the complete export
//! did not give is a rule that decided without the data it needed.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::demo_copy;
use crate::common::{Scan, TempDir};

/// A mailbox of the demo tenant, so the mailbox rules run too.
const MAILBOX: &str = "crm-service@contoso.com";

/// (rule, subject, item) → outcome, passes included. Subjects are named by object id, or by
/// app id when the property removed is `id`, so that removing one keeps the other.
type Outcomes = BTreeMap<(String, String, String), String>;

fn outcomes(export: &Path, removed: &str) -> Outcomes {
    let run = Scan::new(export)
        .format("json")
        .args(["--include-passed", "--mailbox", MAILBOX])
        .run();
    let err = run.stderr();
    assert!(!err.contains("panicked"), "{removed}: {err}");
    let report: Value = serde_json::from_str(&run.stdout())
        .unwrap_or_else(|e| panic!("{removed}: no JSON report ({e}): {err}"));
    crate::common::validate_report(&report);
    let anchor = if removed.ends_with(" id") {
        "app_id"
    } else {
        "object_id"
    };
    crate::common::findings(&report)
        .iter()
        .map(|f| {
            let s = &f["subject"];
            let subject = [anchor, "app_id", "identity", "display_name"]
                .iter()
                .map(|k| &s[*k])
                .find(|v| !v.is_null())
                .map(Value::to_string)
                .unwrap_or_default();
            (
                (
                    f["rule_id"].as_str().expect("rule id").to_string(),
                    format!("{} {subject}", s["kind"]),
                    f["item"].to_string(),
                ),
                f["outcome"].as_str().expect("outcome").to_string(),
            )
        })
        .collect()
}

/// Checks the property; returns how many outcomes became `not_evaluated`.
fn compare(complete: &Outcomes, partial: &Outcomes, removed: &str) -> usize {
    let mut violations = Vec::new();
    for (key, outcome) in partial {
        if outcome != "not_evaluated" && complete.get(key) != Some(outcome) {
            violations.push(format!(
                "{key:?}: {outcome} (complete export: {})",
                complete.get(key).map_or("absent", String::as_str)
            ));
        }
    }
    assert!(
        violations.is_empty(),
        "without {removed}, outcomes the complete export did not give:\n{}",
        violations.join("\n")
    );
    partial
        .iter()
        .filter(|(k, o)| {
            *o == "not_evaluated" && complete.get(*k).is_none_or(|c| c != "not_evaluated")
        })
        .count()
}

/// The objects of a file: a list, a Graph page's `value`, or one object.
fn objects(doc: &mut Value) -> Vec<&mut serde_json::Map<String, Value>> {
    let paged = doc.get("value").is_some();
    let list = if paged { &mut doc["value"] } else { doc };
    match list {
        Value::Array(items) => items.iter_mut().filter_map(Value::as_object_mut).collect(),
        Value::Object(m) => vec![m],
        _ => Vec::new(),
    }
}

fn data_files(export: &Path) -> Vec<String> {
    let mut files: Vec<String> = ["", "exchange/"]
        .iter()
        .flat_map(|sub| {
            std::fs::read_dir(export.join(sub))
                .expect("read the export")
                .map(|e| e.expect("an entry").path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .map(|p| format!("{sub}{}", p.file_name().expect("a name").to_string_lossy()))
                .collect::<Vec<_>>()
        })
        .filter(|f| f != "snapshot.json")
        .collect();
    files.sort();
    files
}

/// Files no `scan` rule reads for the demo tenant. applications.json: without it the source
/// is refused (exit 2), so there are no outcomes to compare. exchange/managementScopes.json:
/// a scope's filter only says *which* mailboxes a scoped assignment reaches (`reach`), and
/// no scan rule decides on it.
const NOT_READ_BY_SCAN: [&str; 2] = ["applications.json", "exchange/managementScopes.json"];

#[test]
fn removing_a_file_only_ever_gives_not_evaluated() {
    let tmp = TempDir::new("silent-pass-files");
    let export = demo_copy(&tmp);
    let complete = outcomes(&export, "nothing");
    assert!(complete.values().any(|o| o == "pass") && complete.values().any(|o| o == "fail"));
    let snapshot = std::fs::read_to_string(export.join("snapshot.json")).expect("snapshot.json");
    for file in data_files(&export) {
        let original = std::fs::read(export.join(&file)).expect("the file");
        std::fs::remove_file(export.join(&file)).expect("remove");
        // Collected without it: snapshot.json no longer lists it.
        let mut meta: Value = serde_json::from_str(&snapshot).expect("snapshot.json");
        meta["parts"]
            .as_array_mut()
            .expect("parts")
            .retain(|p| p.as_str() != Some(file.as_str()));
        std::fs::write(export.join("snapshot.json"), meta.to_string()).expect("write");
        let changed = compare(&complete, &outcomes(&export, &file), &file);
        assert!(
            changed > 0 || NOT_READ_BY_SCAN.contains(&file.as_str()),
            "no rule noticed that {file} is missing"
        );
        std::fs::write(export.join(&file), original).expect("restore");
    }
    std::fs::write(export.join("snapshot.json"), &snapshot).expect("restore");
}

#[test]
fn removing_a_property_only_ever_gives_not_evaluated() {
    let tmp = TempDir::new("silent-pass-fields");
    let export = demo_copy(&tmp);
    let complete = outcomes(&export, "nothing");
    let complete_by_app_id = outcomes(&export, "nothing id");
    let mut checked = 0;
    for file in data_files(&export) {
        let original = std::fs::read_to_string(export.join(&file)).expect("the file");
        let mut doc: Value = serde_json::from_str(&original).expect("demo JSON");
        let mut keys: Vec<String> = objects(&mut doc)
            .iter()
            .flat_map(|o| o.keys().cloned())
            .collect();
        keys.sort();
        keys.dedup();
        for key in keys {
            let mut doc: Value = serde_json::from_str(&original).expect("demo JSON");
            for object in objects(&mut doc) {
                object.remove(&key);
            }
            std::fs::write(export.join(&file), doc.to_string()).expect("write");
            let removed = format!("{file}: {key}");
            let (removed, complete) = if key == "id" {
                (format!("{removed} id"), &complete_by_app_id)
            } else {
                (removed, &complete)
            };
            compare(complete, &outcomes(&export, &removed), &removed);
            checked += 1;
        }
        std::fs::write(export.join(&file), &original).expect("restore");
    }
    assert!(checked > 80, "{checked} properties");
}
