//! Hostile inputs: each gets a clear error naming the file, or is handled correctly, in
//! bounded memory, and never panics. The inputs are made here rather than kept as files:
//! some are hundreds of megabytes.

mod encodings;
mod shapes;
mod silent_pass;
mod text;

pub use crate::common::demo_copy;
use crate::common::root;

/// The demo tenant's applications, as JSON values.
pub fn demo_apps() -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(root().join("examples/demo-tenant/applications.json"))
        .expect("the demo applications");
    let page: serde_json::Value = serde_json::from_str(&text).expect("a Graph page");
    page["value"].as_array().expect("a list").clone()
}

/// The findings of a JSON report, each as rule id, subject and message: what a comparison
/// of two scans of the same tenant should find equal.
pub fn report_lines(report: &str) -> Vec<String> {
    let json: serde_json::Value = serde_json::from_str(report).expect("a JSON report");
    crate::common::validate_report(&json);
    crate::common::findings(&json)
        .iter()
        .map(|f| {
            format!(
                "{} {} {} {}",
                f["rule_id"], f["subject"]["app_id"], f["item"], f["message"]
            )
        })
        .collect()
}
