//! `m365audit checklist` and `m365audit profiles`.

use std::collections::BTreeMap;
use std::io::Write;

use chrono::{DateTime, Utc};

use super::{CommandError, exit, load_rules, read_source, today, write_atomically};
use crate::checks::ScanInputs;
use crate::cli::{ChecklistArgs, ProfileShowArgs, ProfilesCommand};
use crate::engine::{EvalOptions, Evaluation, RuleSet, evaluate};
use crate::finding::Outcome;
use crate::model::{App, AppKind, Catalog};
use crate::profile::{self, Profile, StepResult};
use crate::report::checklist::{self as report, Checklist, ChecklistApp, Counts, GeneralFinding};
use crate::report::defused;

pub(super) fn catalog() -> Result<Catalog, CommandError> {
    Catalog::builtin().map_err(|e| CommandError::Runtime(e.to_string()))
}

pub(super) fn shipped(catalog: &Catalog) -> Result<Vec<Profile>, CommandError> {
    profile::builtin(catalog).map_err(|errors| {
        CommandError::Runtime(
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
        )
    })
}

/// The profile named on the command line: a shipped one, or a file.
fn chosen(
    name: Option<&str>,
    file: Option<&std::path::Path>,
    catalog: &Catalog,
) -> Result<Profile, CommandError> {
    if let Some(path) = file {
        return profile::load_file(path, catalog).map_err(|e| CommandError::Input(e.to_string()));
    }
    let name = name.unwrap_or_default();
    let all = shipped(catalog)?;
    let ids: Vec<String> = all.iter().map(|p| p.id.clone()).collect();
    all.into_iter()
        .find(|p| p.id.eq_ignore_ascii_case(name))
        .ok_or_else(|| {
            CommandError::Input(format!(
                "unknown profile {name:?}: expected one of {} (or --profile-file PATH)",
                ids.join(", ")
            ))
        })
}

pub fn profiles(cmd: ProfilesCommand) -> Result<u8, CommandError> {
    let catalog = catalog()?;
    match cmd {
        ProfilesCommand::List => {
            let mut out = std::io::stdout().lock();
            for p in shipped(&catalog)? {
                let _ = writeln!(
                    out,
                    "{:<24} {:<18} {:>2} steps  {}",
                    p.id,
                    p.vendor,
                    p.steps.len(),
                    p.title
                );
            }
            Ok(exit::OK)
        }
        ProfilesCommand::Show(ProfileShowArgs { name, profile_file }) => {
            let p = chosen(name.as_deref(), profile_file.as_deref(), &catalog)?;
            let mut out = std::io::stdout().lock();
            let _ = show(&p, &mut out);
            Ok(exit::OK)
        }
    }
}

fn show(p: &Profile, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "{} ({})\nGuide: {}", p.title, p.id, p.guide)?;
    if let Some(s) = &p.summary {
        writeln!(out, "\n{}", crate::engine::rule::wrap(s, 100, ""))?;
    }
    if !p.placeholders.is_empty() {
        writeln!(out, "\nPlaceholders (--set KEY=VALUE):")?;
        for (k, v) in &p.placeholders {
            writeln!(out, "  {k:<12} {v}")?;
        }
    }
    for s in &p.steps {
        let how = if s.checks.is_empty() {
            "manual"
        } else {
            "checked"
        };
        writeln!(out, "\n{}. {} [{how}]", s.number, s.title)?;
        writeln!(
            out,
            "{}",
            crate::engine::rule::wrap(&format!("guide: {}", s.guide), 100, "   ")
        )?;
        if let Some(a) = &s.advice {
            let kind = format!("{:?}", a.kind).to_lowercase();
            writeln!(
                out,
                "{}",
                crate::engine::rule::wrap(&format!("{kind}: {}", a.text), 100, "   ")
            )?;
        }
    }
    Ok(())
}

pub fn run(args: ChecklistArgs) -> Result<u8, CommandError> {
    let catalog = catalog()?;
    let profile = chosen(
        args.profile.as_deref(),
        args.profile_file.as_deref(),
        &catalog,
    )?;
    let mut settings = BTreeMap::new();
    for (k, v) in &args.settings {
        if !profile.placeholders.contains_key(k) {
            let known: Vec<&str> = profile.placeholders.keys().map(String::as_str).collect();
            return Err(CommandError::Input(format!(
                "--set {k}: profile {} has {}",
                profile.id,
                if known.is_empty() {
                    "no placeholders".to_string()
                } else {
                    format!("the placeholders {}", known.join(", "))
                }
            )));
        }
        settings.insert(k.clone(), v.clone());
    }
    let as_of = args.as_of.unwrap_or_else(today);
    let scanned = read_source(&args.source, &catalog, as_of);
    let Some(tenant) = scanned.tenant else {
        return Err(CommandError::Input(format!(
            "{}: cannot be read (above)",
            args.source.display()
        )));
    };
    let registrations: Vec<&App> = tenant
        .apps
        .iter()
        .filter(|a| a.kind == AppKind::Application)
        .collect();
    let Some(wanted) = &args.app else {
        list_candidates(&profile, &registrations);
        return Err(CommandError::Input(
            "choose the app with --app (application id, object id or display name)".into(),
        ));
    };
    let app = pick(&registrations, wanted)?;

    let inputs = ScanInputs {
        integration_mailboxes: args.mailboxes.clone(),
    };
    let steps = profile::evaluate(&profile, app, &tenant, &inputs, &settings, as_of, &catalog);

    // The app's general findings: the full rule pack, failing and not evaluated only.
    let rules = load_rules(&[])?;
    let opts = EvalOptions {
        as_of,
        keep_passed: false,
        inputs,
    };
    let evaluation = evaluate(&rules, &tenant, 0, &opts, &catalog);
    let checklist = assemble(
        &profile,
        app,
        steps,
        &rules,
        &evaluation,
        scanned.summary.path.clone(),
        as_of,
    );
    match &args.output {
        Some(path) => write_atomically(path, |w| report::write(&checklist, args.format, w))?,
        None => {
            let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
            let written =
                report::write(&checklist, args.format, &mut stdout).and_then(|()| stdout.flush());
            if let Err(e) = written
                && e.kind() != std::io::ErrorKind::BrokenPipe
            {
                return Err(CommandError::Runtime(format!(
                    "cannot write to standard output: {e}"
                )));
            }
        }
    }
    Ok(if checklist.counts.fail > 0 {
        exit::FINDINGS
    } else {
        exit::OK
    })
}

/// The checklist of `app`: the profile's `steps`, then the app's failing and not-evaluated
/// findings from `evaluation` (of the full rule pack, over the tenant `source` names).
pub fn assemble(
    profile: &Profile,
    app: &App,
    steps: Vec<StepResult>,
    rules: &RuleSet,
    evaluation: &Evaluation,
    source: String,
    as_of: DateTime<Utc>,
) -> Checklist {
    let mut findings: Vec<_> = evaluation
        .findings
        .iter()
        .filter(|f| f.subject.app_id.is_some() && f.subject.app_id == app.app_id)
        .filter(|f| f.outcome != Outcome::Pass)
        .collect();
    findings.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.rule.cmp(&b.rule)));
    let findings = findings
        .into_iter()
        .map(|f| {
            let rule = &rules.rules[f.rule];
            GeneralFinding {
                rule_id: rule.id.clone(),
                slug: rule.slug.clone(),
                severity: f.severity.as_str().to_string(),
                outcome: f.outcome.as_str().to_string(),
                message: f.message.to_string(),
            }
        })
        .collect();
    Checklist {
        schema: "m365audit/checklist/v1",
        profile: profile.id.clone(),
        vendor: profile.vendor.clone(),
        title: profile.title.clone(),
        guide: profile.guide.clone(),
        summary: profile.summary.clone(),
        app: ChecklistApp {
            display_name: app.display_name.clone(),
            app_id: app.app_id.clone(),
            object_id: app.object_id.clone(),
            organization: app.organization.clone(),
        },
        source,
        as_of: crate::dates::rfc3339(as_of),
        counts: Counts::of(&steps),
        steps,
        findings,
    }
}

/// The registration `--app` names: by app id or object id, else by exact display name.
fn pick<'a>(apps: &[&'a App], wanted: &str) -> Result<&'a App, CommandError> {
    let w = wanted.trim();
    let by_id = apps.iter().find(|a| {
        a.app_id
            .as_deref()
            .is_some_and(|id| id.eq_ignore_ascii_case(w))
            || a.object_id
                .as_deref()
                .is_some_and(|id| id.eq_ignore_ascii_case(w))
    });
    if let Some(a) = by_id {
        return Ok(a);
    }
    let named: Vec<&&App> = apps
        .iter()
        .filter(|a| {
            a.display_name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(w))
        })
        .collect();
    match named.as_slice() {
        [one] => Ok(one),
        [] => Err(CommandError::Input(format!(
            "--app {w:?}: no app registration with that application id, object id or display name"
        ))),
        many => Err(CommandError::Input(format!(
            "--app {w:?}: {} app registrations have that name; use the application id: {}",
            many.len(),
            many.iter()
                .filter_map(|a| a.app_id.as_deref())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// Registrations that look like the profile's integration: by name, and by how many of the
/// guide's permissions they request.
fn list_candidates(profile: &Profile, apps: &[&App]) {
    let listed = &profile.listed;
    let mut scored: Vec<(usize, bool, &App)> = apps
        .iter()
        .map(|app| {
            let name = app
                .display_name
                .as_deref()
                .unwrap_or_default()
                .to_lowercase();
            let named = profile.name_hints.iter().any(|h| name.contains(h));
            let matching = listed
                .iter()
                .filter(|p| {
                    app.requested_permissions
                        .as_ref()
                        .is_some_and(|r| r.iter().any(|q| p.is(q)))
                })
                .count();
            (matching, named, *app)
        })
        .filter(|(m, named, _)| *named || *m > 0)
        .collect();
    scored.sort_by_key(|s| std::cmp::Reverse((s.1, s.0)));
    if scored.is_empty() {
        eprintln!(
            "no app registration looks like a {} integration (by name or requested permissions)",
            profile.vendor
        );
        return;
    }
    eprintln!(
        "Candidates for profile {} (name match, then the guide's permissions requested):",
        profile.id
    );
    for (matching, named, app) in scored {
        eprintln!(
            "  {}  {} ({})  {}/{} permissions{}",
            app.app_id.as_deref().unwrap_or("(no app id)"),
            defused(app.display_name.as_deref().unwrap_or("(unnamed)")),
            defused(&app.organization.short()),
            matching,
            listed.len(),
            if named { ", name matches" } else { "" }
        );
    }
}
