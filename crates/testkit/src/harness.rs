//! Entry points for the fuzz targets in `fuzz/` and for `tests/inputs/fuzz_corpus.rs`, which
//! replays every input the fuzzers were seeded with or kept. Each target takes arbitrary bytes,
//! runs them through the code the CLI runs (file reading, decoding, parsing, the model, the
//! rules, every report format) and panics only when an invariant breaks. A panic here is a bug,
//! whichever of the two finds it.
//!
//! Inputs are written to a scratch folder first: the loaders read files (BOM and UTF-16
//! sniffing, the block reader), and that is what should be fuzzed.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Utc};

use m365audit::checks::ScanInputs;
use m365audit::engine::{EvalOptions, Evaluation, RuleSet, evaluate};
use m365audit::finding::Outcome;
use m365audit::model::{Catalog, Tenant, build};
use m365audit::pipeline::{STREAM_BATCH, evaluate_stream};
use m365audit::report::{Format, Report, SourceSummary};
use m365audit::source;

/// A fuzz target: arbitrary bytes in, a panic only for a broken invariant.
pub type Target = fn(&[u8]);

/// Every target by name; the name is also its folder under `fuzz/fuzz_targets/` and
/// `fuzz/corpus/`.
pub const TARGETS: &[(&str, Target)] = &[
    ("export_file", export_file),
    ("application_file", application_file),
    ("rule_file", rule_file),
    ("profile_file", profile_file),
    ("report_writers", report_writers),
];

/// Called once by each fuzz binary before its first input. Rayon's global pool becomes the
/// fuzzer's own thread and no other, so the scan's parallel parts run inline: a pool of
/// workers on the demo's 14 apps only handed work back and forth, and under AddressSanitizer
/// its idle workers' spinning was a sixth of all CPU time. Not for `cargo test`, whose
/// threads share the pool: with the only worker busy elsewhere, they would wait forever.
pub fn fuzz_init() {
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .use_current_thread()
        .build_global();
}

/// The demo tenant's files, the export every target starts from.
const DEMO: &[(&str, &[u8])] = &[
    (
        "applications.json",
        include_bytes!("../../../examples/demo-tenant/applications.json"),
    ),
    (
        "servicePrincipals.json",
        include_bytes!("../../../examples/demo-tenant/servicePrincipals.json"),
    ),
    (
        "appRoleAssignments.json",
        include_bytes!("../../../examples/demo-tenant/appRoleAssignments.json"),
    ),
    (
        "oauth2PermissionGrants.json",
        include_bytes!("../../../examples/demo-tenant/oauth2PermissionGrants.json"),
    ),
    (
        "groups.json",
        include_bytes!("../../../examples/demo-tenant/groups.json"),
    ),
    (
        "snapshot.json",
        include_bytes!("../../../examples/demo-tenant/snapshot.json"),
    ),
    (
        "exchange/applicationAccessPolicies.json",
        include_bytes!("../../../examples/demo-tenant/exchange/applicationAccessPolicies.json"),
    ),
    (
        "exchange/casMailboxes.json",
        include_bytes!("../../../examples/demo-tenant/exchange/casMailboxes.json"),
    ),
    (
        "exchange/managementRoleAssignments.json",
        include_bytes!("../../../examples/demo-tenant/exchange/managementRoleAssignments.json"),
    ),
    (
        "exchange/managementScopes.json",
        include_bytes!("../../../examples/demo-tenant/exchange/managementScopes.json"),
    ),
    (
        "exchange/organizationConfig.json",
        include_bytes!("../../../examples/demo-tenant/exchange/organizationConfig.json"),
    ),
    (
        "exchange/servicePrincipals.json",
        include_bytes!("../../../examples/demo-tenant/exchange/servicePrincipals.json"),
    ),
];

/// The example Rego user rule, so user-rule evaluation runs on every fuzzed app.
const REGO_RULE: (&str, &str) = (
    "ORG-001.mail-app-two-owners.toml",
    include_str!("../../../examples/rules/ORG-001.mail-app-two-owners.toml"),
);

/// A mailbox in the demo tenant, so the mailbox-reach rules run too.
const MAILBOX: &str = "crm-service@contoso.com";

/// `export_file`: the first byte picks one file of the demo export, the rest replaces it.
/// The streamed scan (what `scan DIR` runs) and the whole read must agree finding for
/// finding, and the reports must write. Only the findings the unchanged demo does not give
/// are rendered: the others carry no fuzzed byte, and the report writers render a finding
/// the same whatever else the input holds (rendering the whole demo's every time took half
/// of each run).
pub fn export_file(data: &[u8]) {
    let Some((&pick, content)) = data.split_first() else {
        return;
    };
    let (name, original) = DEMO[usize::from(pick) % DEMO.len()];
    with_scratch(|dir| {
        let export = dir.join("export");
        let file = export.join(name);
        write(&file, content);
        let shared = shared();
        let opts = options();
        let whole = source::load(&export);
        let streamed = source::load_streaming(&export, STREAM_BATCH, |snapshot, batches| {
            evaluate_stream(
                &shared.rules,
                snapshot,
                batches,
                0,
                &opts,
                &shared.catalog,
                |_| (),
            )
        });
        match (whole, streamed) {
            (Ok(whole), Ok((streamed, scan))) => {
                let summary = summary(&export, &whole);
                let tenant = build(whole.snapshot, &shared.catalog);
                let expected = evaluate(&shared.rules, &tenant, 0, &opts, &shared.catalog);
                assert_eq!(scan.apps, tenant.apps.len(), "{name}: app count");
                assert_eq!(scan.info, tenant.info, "{name}: tenant facts");
                assert_eq!(streamed.warnings, summary.warnings, "{name}: warnings");
                assert_eq!(
                    streamed.errors.len(),
                    summary.errors.len(),
                    "{name}: errors"
                );
                assert_eq!(scan.evaluation.passed, expected.passed, "{name}: passes");
                let lines = finding_lines(&expected, &shared.rules);
                assert_eq!(
                    finding_lines(&scan.evaluation, &shared.rules),
                    lines,
                    "{name}: streamed and whole scans differ"
                );
                check_reasons(&expected, &shared.rules);
                let fresh = Evaluation {
                    findings: (expected.findings.into_iter().zip(&lines))
                        .filter(|(_, line)| !shared.demo_lines.contains(*line))
                        .map(|(f, _)| f)
                        .collect(),
                    passed: expected.passed,
                };
                write_reports(&shared.rules, summary, fresh);
            }
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{name}: errors"),
            (a, b) => panic!(
                "{name}: the whole read gave {:?} but the streamed one {:?}",
                a.map(|_| ()),
                b.map(|_| ())
            ),
        }
        write(&file, original);
    });
}

/// `application_file`: the bytes as a single file, sniffed as an application list or a
/// portal manifest, scanned with the built-in rules and the example Rego rule; the reports must write.
pub fn application_file(data: &[u8]) {
    with_scratch(|dir| {
        let file = dir.join("applications.json");
        write(&file, data);
        let shared = shared();
        if let Ok(loaded) = source::load(&file) {
            let summary = summary(&file, &loaded);
            let tenant = build(loaded.snapshot, &shared.catalog);
            let evaluation = evaluate(&shared.with_rego, &tenant, 0, &options(), &shared.catalog);
            check_reasons(&evaluation, &shared.with_rego);
            write_reports(&shared.with_rego, summary, evaluation);
        }
    });
}

/// `rule_file`: the bytes as a user rule file; a rule that loads is evaluated on the demo
/// tenant and its examples are run (`rules test`).
pub fn rule_file(data: &[u8]) {
    with_scratch(|dir| {
        let rules_dir = dir.join("rules");
        write(&rules_dir.join("USR-001.fuzz.toml"), data);
        let shared = shared();
        if let Ok(rules) = RuleSet::load_user_only(&[rules_dir]) {
            let evaluation = evaluate(&rules, &shared.demo, 0, &options(), &shared.catalog);
            check_reasons(&evaluation, &rules);
            for rule in &rules.rules {
                m365audit::commands::run_examples(rule, as_of(), &shared.catalog);
            }
            write_reports(&rules, demo_summary(shared), evaluation);
        }
    });
}

/// `profile_file`: the bytes as a vendor profile; a profile that loads is evaluated on every
/// app of the demo tenant, as `checklist` does.
pub fn profile_file(data: &[u8]) {
    with_scratch(|dir| {
        let file = dir.join("profile.toml");
        write(&file, data);
        let shared = shared();
        if let Ok(profile) = m365audit::profile::load_file(&file, &shared.catalog) {
            let settings = profile
                .placeholders
                .keys()
                .map(|k| (k.clone(), "fuzz".to_string()))
                .collect();
            for app in &shared.demo.apps {
                m365audit::profile::evaluate(
                    &profile,
                    app,
                    &shared.demo,
                    &options().inputs,
                    &settings,
                    as_of(),
                    &shared.catalog,
                );
            }
        }
    });
}

/// `report_writers`: lines of the bytes become the display names of the demo tenant's apps.
/// The table, Markdown and JUnit must carry nothing [`shown_raw`] (line breaks and tabs
/// aside), the HTML no markup character (`<`, `>`, `"`, `'`) from a name, the CSV no cell a
/// spreadsheet would evaluate, and the JSON and SARIF must parse; so must one app's go-live
/// checklist in every format. Each format is rendered once per input.
pub fn report_writers(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let names: Vec<&str> = text.split('\n').take(MAX_NAMES).collect();
    with_scratch(|dir| {
        let file = dir.join("applications.json");
        write(&file, demo_app_list(names.len(), &names).as_bytes());
        let shared = shared();
        let (summary, tenant, evaluation) = scan_list(&file);
        // The bytes pick the app and profile of the checklist, so the fuzzer reaches each
        // name under each profile; every app here carries a fuzzed name.
        let pick = data
            .iter()
            .fold(0usize, |sum, &b| sum.wrapping_add(usize::from(b)));
        if let Some(app) = tenant.apps.get(pick % tenant.apps.len().max(1)) {
            let profile = &shared.profiles[pick / tenant.apps.len() % shared.profiles.len()];
            check_checklist(shared, &tenant, app, profile, &evaluation);
        }
        let report = report(&shared.rules, summary, evaluation);
        let table = render(&report, Format::Table);
        if let Some(c) = table.chars().find(|&c| shown_raw(c, "\n")) {
            panic!("the table carries {c:?}");
        }
        for format in [Format::Markdown, Format::Junit] {
            let text = render(&report, format);
            if let Some(c) = text.chars().find(|&c| shown_raw(c, "\n\r\t")) {
                panic!("the {format:?} report carries {c:?}");
            }
        }
        let html = render(&report, Format::Html);
        assert_eq!(
            html.matches("<script").count(),
            1,
            "the HTML has a script besides its own"
        );
        // Escaped, a name adds no markup character: the HTML holds exactly as many as the
        // same apps' report under plain names. (Looking for a name verbatim is not enough,
        // and can be wrong: the name `a<` is in `a</td>` when another name is `a`.) An
        // apostrophe is left as it is: every attribute is in double quotes, so it ends none.
        let plain = html_of_plain_names(names.len());
        for c in ['<', '>', '"'] {
            assert_eq!(
                html.matches(c).count(),
                plain.matches(c).count(),
                "a name put {c:?} into the HTML unescaped"
            );
        }
        check_csv(&render(&report, Format::Csv));
        for format in [Format::Json, Format::Sarif] {
            check_json(
                render(&report, format).as_bytes(),
                &format!("{format:?} report"),
            );
        }
    });
}

/// Whether `c`, other than those in `allowed`, would reach a reader of a format for
/// people as itself: a control character, or a bidirectional override or isolate.
fn shown_raw(c: char, allowed: &str) -> bool {
    let bidi = matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    (c.is_control() || bidi) && !allowed.contains(c)
}

/// The go-live checklist of `app` under `profile`: the table and Markdown carry nothing
/// [`shown_raw`], the CSV no cell a spreadsheet would evaluate, and the JSON parses.
fn check_checklist(
    shared: &Shared,
    tenant: &Tenant,
    app: &m365audit::model::App,
    profile: &m365audit::profile::Profile,
    evaluation: &Evaluation,
) {
    use m365audit::report::checklist::{ChecklistFormat, write};
    let opts = options();
    let steps = m365audit::profile::evaluate(
        profile,
        app,
        tenant,
        &opts.inputs,
        &std::collections::BTreeMap::new(),
        as_of(),
        &shared.catalog,
    );
    let checklist = m365audit::commands::checklist::assemble(
        profile,
        app,
        steps,
        &shared.rules,
        evaluation,
        "applications.json".into(),
        as_of(),
    );
    for format in [
        ChecklistFormat::Table,
        ChecklistFormat::Markdown,
        ChecklistFormat::Csv,
        ChecklistFormat::Json,
    ] {
        let mut out = Vec::new();
        write(&checklist, format, &mut out).expect("writing to memory");
        let text = String::from_utf8(out).expect("checklists are UTF-8");
        match format {
            ChecklistFormat::Table | ChecklistFormat::Markdown => {
                if let Some(c) = text.chars().find(|&c| shown_raw(c, "\n")) {
                    panic!("the {format:?} checklist carries {c:?}");
                }
            }
            ChecklistFormat::Csv => check_csv(&text),
            ChecklistFormat::Json => check_json(text.as_bytes(), "checklist JSON"),
        }
    }
}

/// `text` is one well-formed JSON value. Checked without building it: a `Value` tree of a
/// report with every rule's text took a third of `report_writers`'s time.
fn check_json(text: &[u8], what: &str) {
    serde_json::from_slice::<serde::de::IgnoredAny>(text)
        .unwrap_or_else(|e| panic!("the {what} does not parse: {e}"));
}

/// Every cell of a CSV report parses and is one a spreadsheet shows as text (the hostile
/// suite checks the CLI's CSV with this too).
pub fn check_csv(text: &str) {
    let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    for record in reader.records() {
        let record = record.expect("the CSV parses");
        for cell in &record {
            assert_eq!(
                m365audit::report::neutralize(cell),
                cell,
                "a CSV cell a spreadsheet would evaluate"
            );
        }
    }
}

/// What every target shares, built once per process.
struct Shared {
    catalog: Catalog,
    /// The built-in rules.
    rules: RuleSet,
    /// The built-in rules and the example Rego rule.
    with_rego: RuleSet,
    /// The demo tenant, built.
    demo: Tenant,
    /// The [`finding_lines`] of the demo tenant's scan: what an unchanged export gives.
    demo_lines: std::collections::HashSet<String>,
    /// The shipped vendor profiles.
    profiles: Vec<m365audit::profile::Profile>,
}

fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let catalog = Catalog::builtin().expect("the built-in catalogue loads");
        let rules = RuleSet::load(&[]).expect("the built-in rules load");
        let rego_dir = scratch_root().join("example-rules");
        write(&rego_dir.join(REGO_RULE.0), REGO_RULE.1.as_bytes());
        let with_rego = RuleSet::load(&[rego_dir]).expect("the example Rego rule loads");
        let export = scratch_root().join("demo");
        for (name, bytes) in DEMO {
            write(&export.join(name), bytes);
        }
        let demo = build(
            source::load(&export)
                .expect("the demo tenant loads")
                .snapshot,
            &catalog,
        );
        let profiles = m365audit::profile::builtin(&catalog).expect("the shipped profiles load");
        let demo_lines = finding_lines(&evaluate(&rules, &demo, 0, &options(), &catalog), &rules)
            .into_iter()
            .collect();
        Shared {
            catalog,
            rules,
            with_rego,
            demo,
            demo_lines,
            profiles,
        }
    })
}

/// The audit date of every target: fixed, so a kept input replays the same way.
fn as_of() -> DateTime<Utc> {
    "2026-06-01T00:00:00Z"
        .parse()
        .expect("a fixed RFC 3339 date")
}

fn options() -> EvalOptions {
    EvalOptions {
        as_of: as_of(),
        // Passes are counted either way; keeping them would only make every run slower.
        keep_passed: false,
        inputs: ScanInputs {
            integration_mailboxes: vec![MAILBOX.to_string()],
        },
    }
}

/// A `not_evaluated` finding must say why: the reason is all an admin gets.
fn check_reasons(evaluation: &Evaluation, rules: &RuleSet) {
    for f in &evaluation.findings {
        if f.outcome == Outcome::NotEvaluated {
            assert!(
                !f.message.trim().is_empty(),
                "{}: not_evaluated without a reason",
                rules.rules[f.rule].id
            );
        }
    }
}

/// One line per finding: everything a report shows of it. Two scans that should agree must
/// give the same lines, in the same order.
pub fn finding_lines(evaluation: &Evaluation, rules: &RuleSet) -> Vec<String> {
    evaluation
        .findings
        .iter()
        .map(|f| {
            format!(
                "{} {:?} {:?} {:?} {:?} {} {} {}",
                rules.rules[f.rule].id,
                f.outcome,
                f.severity,
                f.subject,
                f.item,
                f.fingerprint,
                f.message,
                f.evidence.raw().get()
            )
        })
        .collect()
}

/// The report of one source's evaluation, as `scan` makes it (passes counted, not kept).
fn report(rules: &RuleSet, summary: SourceSummary, evaluation: Evaluation) -> Report<'_> {
    Report::new(
        rules,
        vec![summary],
        evaluation.findings,
        evaluation.passed,
        as_of(),
        as_of(),
        false,
    )
}

/// The summary of the demo tenant, scanned as an export folder.
fn demo_summary(shared: &Shared) -> SourceSummary {
    SourceSummary {
        path: "demo".into(),
        kind: Some("export-directory"),
        tenant: None,
        collected_at: None,
        apps: shared.demo.apps.len(),
        errors: Vec::new(),
        warnings: Vec::new(),
    }
}

fn summary(path: &Path, loaded: &source::Loaded) -> SourceSummary {
    SourceSummary {
        path: path.display().to_string(),
        kind: Some(loaded.kind.as_str()),
        tenant: loaded.snapshot.meta.tenant.clone(),
        collected_at: None,
        apps: loaded.snapshot.applications.len(),
        errors: loaded.errors.iter().map(ToString::to_string).collect(),
        warnings: loaded.warnings.clone(),
    }
}

/// Writes the report as JSON (which must parse), CSV and the table: what scheduled audits
/// use. The other formats are `report_writers`'s, whose hostile names reach them faster than
/// a fuzzed export would; writing and re-reading all seven here took two thirds of each run.
fn write_reports(rules: &RuleSet, summary: SourceSummary, evaluation: Evaluation) {
    let report = report(rules, summary, evaluation);
    for format in [Format::Json, Format::Csv, Format::Table] {
        let mut out = Vec::new();
        m365audit::report::write(&report, format, &mut out, true).expect("writing to memory");
        if format == Format::Json {
            check_json(&out, "JSON report");
        }
    }
}

fn render(report: &Report, format: Format) -> String {
    let mut out = Vec::new();
    m365audit::report::write(report, format, &mut out, false).expect("writing to memory");
    String::from_utf8(out).expect("reports are UTF-8")
}

/// How many display names `report_writers` takes from an input: one per demo app it renames.
const MAX_NAMES: usize = 8;

/// The demo tenant's first `count` apps as a Graph page of applications, the first of them
/// renamed to `names`. Only the renamed apps are scanned: the others' findings carry no
/// fuzzed text, and rendering them made each run several times slower.
fn demo_app_list(count: usize, names: &[&str]) -> String {
    static DEMO_APPS: OnceLock<serde_json::Value> = OnceLock::new();
    let mut list = DEMO_APPS
        .get_or_init(|| serde_json::from_slice(DEMO[0].1).expect("the demo applications parse"))
        .clone();
    let apps = list["value"].as_array_mut().expect("a Graph page");
    apps.truncate(count);
    for (app, name) in apps.iter_mut().zip(names) {
        app["displayName"] = serde_json::Value::from(*name);
    }
    list.to_string()
}

/// An application list file scanned as `scan FILE` scans it.
fn scan_list(file: &Path) -> (SourceSummary, Tenant, Evaluation) {
    let shared = shared();
    let loaded = source::load(file).expect("a Graph page of apps loads");
    let summary = summary(file, &loaded);
    let tenant = build(loaded.snapshot, &shared.catalog);
    let evaluation = evaluate(&shared.rules, &tenant, 0, &options(), &shared.catalog);
    (summary, tenant, evaluation)
}

/// The HTML report of the first `count` demo apps under their own names: text that is in it
/// comes from the template or the tenant, not from a fuzzed name. (The same apps, so the
/// same counts: `data-count="23"` is the template's, whatever the names.)
fn html_of_plain_names(count: usize) -> &'static str {
    static HTML: [OnceLock<String>; MAX_NAMES + 1] = [const { OnceLock::new() }; MAX_NAMES + 1];
    HTML[count].get_or_init(|| {
        let file = scratch_root().join(format!("plain-{count}.json"));
        write(&file, demo_app_list(count, &[]).as_bytes());
        let (summary, _, evaluation) = scan_list(&file);
        render(&report(&shared().rules, summary, evaluation), Format::Html)
    })
}

/// The folder every scratch folder of this process lives in.
fn scratch_root() -> PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        std::env::temp_dir().join(format!("m365audit-harness-{}", std::process::id()))
    })
    .clone()
}

/// A scratch folder per thread (tests replay inputs on several threads), holding a copy of
/// the demo export; removed when the thread ends.
fn with_scratch(f: impl FnOnce(&Path)) {
    struct Scratch(PathBuf);
    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    thread_local! {
        static SCRATCH: RefCell<Option<Scratch>> = const { RefCell::new(None) };
    }
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    SCRATCH.with(|cell| {
        let mut slot = cell.borrow_mut();
        let scratch = slot.get_or_insert_with(|| {
            let dir = scratch_root().join(NEXT.fetch_add(1, Ordering::Relaxed).to_string());
            for (name, bytes) in DEMO {
                write(&dir.join("export").join(name), bytes);
            }
            Scratch(dir)
        });
        f(&scratch.0);
    });
}

fn write(path: &Path, bytes: &[u8]) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", parent.display()));
    }
    std::fs::write(path, bytes).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}
