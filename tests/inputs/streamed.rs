//! `scan` evaluates an export folder's applications while `applications.json` is still being
//! parsed (`source::load_streaming` + `pipeline::evaluate_stream`). That must give exactly what
//! reading everything first gives (`source::load` + `model::build` + `engine::evaluate`):
//! the same findings in the same order, passes, app count, warnings and errors, whether
//! built apps are kept for a tenant check (`--mailbox`) or not, and whatever envelope the
//! file uses.

use std::path::Path;

use crate::common::{self, TempDir, copy_dir};
use m365audit::checks::ScanInputs;
use m365audit::engine::{EvalOptions, RuleSet, evaluate};
use m365audit::model::{Catalog, build};
use m365audit::pipeline::{STREAM_BATCH, evaluate_stream};
use m365audit::source::{load, load_streaming};
use m365audit_testkit::harness::finding_lines;

fn assert_same(dir: &Path, mailboxes: &[&str]) {
    let catalog = Catalog::builtin().expect("catalogue");
    let rules = RuleSet::load(&[]).expect("built-in rules");
    let opts = EvalOptions {
        as_of: "2026-06-01T00:00:00Z".parse().expect("date"),
        keep_passed: true,
        inputs: ScanInputs {
            integration_mailboxes: mailboxes.iter().map(|m| m.to_string()).collect(),
        },
    };
    let whole = load(dir).expect("loads");
    let (warnings, errors) = (whole.warnings.clone(), whole.errors.len());
    let tenant = build(whole.snapshot, &catalog);
    let expected = evaluate(&rules, &tenant, 0, &opts, &catalog);

    let (streamed, scan) = load_streaming(dir, STREAM_BATCH, |snapshot, batches| {
        evaluate_stream(&rules, snapshot, batches, 0, &opts, &catalog, |_| ())
    })
    .expect("loads streamed");
    let what = format!("{} with mailboxes {mailboxes:?}", dir.display());
    assert_eq!(scan.apps, tenant.apps.len(), "{what}: apps");
    assert_eq!(scan.info, tenant.info, "{what}: tenant");
    assert_eq!(streamed.warnings, warnings, "{what}: warnings");
    assert_eq!(streamed.errors.len(), errors, "{what}: errors");
    assert_eq!(scan.evaluation.passed, expected.passed, "{what}: passes");
    assert!(
        !expected.findings.is_empty(),
        "{what}: no findings to compare"
    );
    assert_eq!(
        finding_lines(&scan.evaluation, &rules),
        finding_lines(&expected, &rules),
        "{what}: findings"
    );
}

#[test]
fn the_demo_tenant_streamed_is_the_demo_tenant_read_whole() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo-tenant");
    assert_same(&demo, &[]);
    // With an integration mailbox, EXO-004 reads every app: they are kept.
    assert_same(&demo, &["crm-service@contoso.com"]);
}

#[test]
fn a_generated_tenant_streamed_is_the_tenant_read_whole() {
    let tmp = TempDir::new("streamed");
    let dir = tmp.path().join("tenant");
    // More apps than a few batches, so batches finish out of order.
    common::gen_tenant(3000, 11, &dir);
    assert_same(&dir, &[]);
    assert_same(&dir, &["crm-service@contoso.com"]);

    // A Graph page instead of a bare array: parsed whole, then handed over in batches.
    let apps = dir.join("applications.json");
    let text = std::fs::read_to_string(&apps).expect("applications.json");
    std::fs::write(&apps, format!("{{\"value\": {text}}}")).expect("rewrite");
    assert_same(&dir, &[]);
}

#[test]
fn a_broken_applications_file_ends_the_streamed_source_with_its_error() {
    let tmp = TempDir::new("streamed-broken");
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo-tenant");
    let dir = tmp.path().join("tenant");
    copy_dir(&demo, &dir);
    let apps = dir.join("applications.json");
    let text = std::fs::read_to_string(&apps).expect("applications.json");
    // Cut inside the last app: items before it were already streamed.
    let cut = text.trim_end().len() - 20;
    std::fs::write(&apps, &text[..cut]).expect("truncate");
    let whole = load(&dir).expect_err("truncated").to_string();
    let streamed = load_streaming(&dir, 2, |_, batches| batches.into_iter().count())
        .expect_err("truncated")
        .to_string();
    assert_eq!(streamed, whole);
    assert!(streamed.contains("applications.json:"), "{streamed}");
}
