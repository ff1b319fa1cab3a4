//! `m365audit reach`: which apps can reach which mailboxes, and how far.

use std::io::Write;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};
use serde_json::json;

use super::{CommandError, exit, read_source, today};
use crate::cli::{ReachArgs, ReachFormat};
use crate::model::consent::{Consent, MailConsent, mail_consents};
use crate::model::{App, AppKind, Catalog, Reach, Tenant, Via};

/// Apps with mailbox access, app-only or delegated (or with `--app`, the one asked for),
/// worst reach first.
fn rows<'t>(tenant: &'t Tenant, wanted: Option<&str>, catalog: &Catalog) -> Vec<&'t App> {
    let matches = |a: &App| match wanted {
        None => {
            !a.mailbox_access.paths.is_empty()
                || mail_consents(a, catalog).is_some_and(|c| !c.is_empty())
        }
        Some(w) => {
            let w_lower = w.to_ascii_lowercase();
            a.app_id.as_deref() == Some(w_lower.as_str())
                || a.object_id.as_deref() == Some(w_lower.as_str())
                || a.display_name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(w))
        }
    };
    let mut apps: Vec<&App> = tenant.apps.iter().filter(|a| matches(a)).collect();
    let rank = |a: &App| match a.mailbox_access.overall() {
        Reach::AllMailboxes => 0,
        Reach::AllExcept { .. } => 1,
        Reach::Unknown { .. } => 2,
        Reach::ScopedTo { .. } => 3,
        Reach::NotGranted => 4,
    };
    apps.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.name().cmp(b.name())));
    apps
}

/// Whether an Entra path is requested; RBAC assignments and service principals whose
/// registration is in another tenant request nothing here.
fn requested(p: &crate::model::AccessPath, app: &App) -> &'static str {
    match (p.via, app.kind) {
        (Via::Rbac, _) | (_, AppKind::ServicePrincipal) => "-",
        (Via::Entra, AppKind::Application) => yes_no(p.requested),
    }
}

fn yes_no(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "yes",
        Some(false) => "no",
        None => "unknown",
    }
}

pub fn run(args: ReachArgs) -> Result<u8, CommandError> {
    let catalog = Catalog::builtin().map_err(|e| CommandError::Runtime(e.to_string()))?;
    let mut out = Vec::new();
    let mut failed = 0;
    let mut documents = Vec::new();
    let mut csv_header_written = false;
    let mut found_app = false;
    for path in &args.sources {
        let scanned = read_source(path, &catalog, today());
        failed += scanned.summary.errors.len();
        let Some(tenant) = &scanned.tenant else {
            continue;
        };
        let apps = rows(tenant, args.app.as_deref(), &catalog);
        found_app |= !apps.is_empty();
        match args.format {
            ReachFormat::Json => documents.push(json!({
                "source": scanned.summary.path,
                "tenant": tenant.info.tenant,
                "apps": apps.iter().map(|a| json!({
                    "kind": a.kind,
                    "app_id": a.app_id,
                    "object_id": a.object_id,
                    "display_name": a.display_name,
                    "organization": a.organization,
                    "reach": a.mailbox_access.overall().label(),
                    "mailbox_access": a.mailbox_access,
                    "delegated_consent": mail_consents(a, &catalog).map(|list| {
                        list.iter().map(|c| json!({
                            "resource": c.resource(),
                            "consent": consent_label(c),
                            "consent_type": c.grant.consent_type,
                            "principal_id": c.grant.principal_id,
                            "scopes": c.scopes,
                            "offline_access": c.offline_access,
                        })).collect::<Vec<_>>()
                    }),
                })).collect::<Vec<_>>(),
            })),
            ReachFormat::Csv => {
                let mut w = csv::Writer::from_writer(&mut out);
                if !csv_header_written {
                    csv_header_written = true;
                    w.write_record([
                        "source",
                        "app",
                        "app_id",
                        "kind",
                        "organization",
                        "via",
                        "permission",
                        "requested",
                        "granted",
                        "assignment",
                        "reach",
                    ])
                    .map_err(|e| CommandError::Runtime(e.to_string()))?;
                }
                for a in &apps {
                    let kind = serde_json::to_value(a.kind).unwrap_or_default();
                    let organization = a.organization.short();
                    let row = |via: &str,
                               permission: String,
                               requested: &str,
                               granted: String,
                               assignment: String,
                               reach: String| {
                        [
                            scanned.summary.path.clone(),
                            a.name().to_string(),
                            a.app_id.clone().unwrap_or_default(),
                            kind.as_str().unwrap_or_default().to_string(),
                            organization.clone(),
                            via.to_string(),
                            permission,
                            requested.to_string(),
                            granted,
                            assignment,
                            reach,
                        ]
                    };
                    let mut rows: Vec<[String; 11]> = a
                        .mailbox_access
                        .paths
                        .iter()
                        .map(|p| {
                            row(
                                via(p.via),
                                p.permission.clone(),
                                requested(p, a),
                                yes_no(p.is_granted()).to_string(),
                                p.assignment.clone().unwrap_or_default(),
                                p.reach.label(),
                            )
                        })
                        .collect();
                    for (permission, consent) in delegated_rows(a, &catalog) {
                        let reach = format!("mailboxes of consenting users ({consent})");
                        rows.push(row(
                            DELEGATED,
                            permission,
                            "-",
                            consent,
                            String::new(),
                            reach,
                        ));
                    }
                    for row in rows {
                        w.write_record(
                            row.iter()
                                .map(|c| crate::report::neutralize(c).into_owned()),
                        )
                        .map_err(|e| CommandError::Runtime(e.to_string()))?;
                    }
                }
                w.flush()
                    .map_err(|e| CommandError::Runtime(e.to_string()))?;
                documents.push(serde_json::Value::Null);
            }
            ReachFormat::Table => table(&mut out, &scanned.summary.path, tenant, &apps, &catalog)
                .map_err(|e| CommandError::Runtime(e.to_string()))?,
        }
    }
    if args.format == ReachFormat::Json {
        let text = serde_json::to_string_pretty(&documents)
            .map_err(|e| CommandError::Runtime(e.to_string()))?;
        writeln!(out, "{text}").map_err(|e| CommandError::Runtime(e.to_string()))?;
    }
    std::io::stdout()
        .lock()
        .write_all(&out)
        .map_err(|e| CommandError::Runtime(format!("cannot write to standard output: {e}")))?;
    if let (Some(wanted), false) = (&args.app, found_app) {
        return Err(CommandError::Input(format!(
            "no app with app id, object id or display name {wanted:?}"
        )));
    }
    Ok(if failed > 0 { exit::INPUT } else { exit::OK })
}

/// The `Via` of delegated consent rows.
const DELEGATED: &str = "delegated consent";

/// "all users" or "N users", for one grant.
fn consent_label(c: &MailConsent<'_>) -> &'static str {
    match c.consent {
        Some(Consent::AllUsers) => "all users",
        Some(Consent::OneUser) => "one user",
        None => "unknown consent type",
    }
}

/// The app's delegated mailbox consent as (permission, consent) rows: one per resource for
/// admin consent, one per resource for user consent with the number of users.
fn delegated_rows(app: &App, catalog: &Catalog) -> Vec<(String, String)> {
    let Some(consents) = mail_consents(app, catalog) else {
        return Vec::new();
    };
    let mut rows: Vec<(String, String)> = Vec::new();
    let mut users: std::collections::BTreeMap<
        String,
        (
            std::collections::BTreeSet<&str>,
            std::collections::BTreeSet<&str>,
        ),
    > = std::collections::BTreeMap::new();
    for c in &consents {
        match c.consent {
            Some(Consent::OneUser) => {
                let entry = users.entry(c.resource().to_string()).or_default();
                entry.0.extend(c.scopes.iter().copied());
                entry
                    .1
                    .insert(c.grant.principal_id.as_deref().unwrap_or("?"));
            }
            _ => rows.push((
                format!("{} {}", c.resource(), c.scopes.join(" ")),
                consent_label(c).to_string(),
            )),
        }
    }
    for (resource, (scopes, principals)) in users {
        let n = principals.len();
        rows.push((
            format!(
                "{resource} {}",
                scopes.into_iter().collect::<Vec<_>>().join(" ")
            ),
            format!("{n} user{}", if n == 1 { "" } else { "s" }),
        ));
    }
    rows
}

fn via(v: Via) -> &'static str {
    match v {
        Via::Entra => "Entra grant",
        Via::Rbac => "RBAC for Applications",
    }
}

fn table(
    out: &mut Vec<u8>,
    source: &str,
    tenant: &Tenant,
    apps: &[&App],
    catalog: &Catalog,
) -> std::io::Result<()> {
    writeln!(out, "Mailbox reach in {source}")?;
    if apps.is_empty() {
        writeln!(
            out,
            "No app has app-only access to mailboxes or delegated mailbox consent."
        )?;
    } else {
        let mut t = Table::new();
        t.load_style(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_header([
                "App",
                "Reach (overall)",
                "Via",
                "Permission",
                "Requested",
                "Granted",
                "Reach",
            ]);
        if !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
            t.force_no_tty().set_width(160);
        }
        for app in apps {
            let overall = if app.mailbox_access.paths.is_empty() {
                "no app-only access".to_string()
            } else {
                app.mailbox_access.overall().label()
            };
            let name = match (&app.app_id, app.kind) {
                (Some(id), AppKind::Application) => format!("{}\n{id}", app.name()),
                (Some(id), AppKind::ServicePrincipal) => {
                    format!("{}\n{id}\n(service principal)", app.name())
                }
                (None, _) => app.name().to_string(),
            };
            let name = format!("{name}\n{}", app.organization.short());
            let mut rows: Vec<[String; 7]> = app
                .mailbox_access
                .paths
                .iter()
                .map(|p| {
                    let permission = match &p.assignment {
                        Some(a) => format!("{}\n({a})", p.permission),
                        None => p.permission.clone(),
                    };
                    [
                        String::new(),
                        String::new(),
                        via(p.via).to_string(),
                        permission,
                        requested(p, app).to_string(),
                        yes_no(p.is_granted()).to_string(),
                        p.reach.label(),
                    ]
                })
                .collect();
            for (permission, consent) in delegated_rows(app, catalog) {
                rows.push([
                    String::new(),
                    String::new(),
                    DELEGATED.to_string(),
                    permission,
                    "-".into(),
                    consent.clone(),
                    format!("mailboxes of consenting users ({consent})"),
                ]);
            }
            for (i, mut row) in rows.into_iter().enumerate() {
                if i == 0 {
                    row[0] = name.clone();
                    row[1] = overall.clone();
                }
                // Names, permissions and scope names come from the tenant.
                t.add_row(row.map(|cell| crate::report::defused(&cell)));
            }
        }
        writeln!(out, "{t}")?;
    }
    let unseen: Vec<&str> = tenant
        .apps
        .iter()
        .flat_map(|a| a.mailbox_access.unseen())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    for why in unseen {
        writeln!(out, "Not shown: access the input does not reveal ({why}).")?;
    }
    let all = apps
        .iter()
        .filter(|a| a.mailbox_access.overall().is_tenant_wide())
        .count();
    writeln!(
        out,
        "{} app(s) with app-only mailbox access; {all} reach every mailbox (or all but some).",
        apps.iter()
            .filter(|a| !a.mailbox_access.paths.is_empty())
            .count()
    )?;
    let delegated = apps
        .iter()
        .filter(|a| mail_consents(a, catalog).is_some_and(|c| !c.is_empty()))
        .count();
    writeln!(
        out,
        "{delegated} app(s) with delegated mailbox consent (they reach the mailboxes of the users who sign in to them).\n"
    )?;
    Ok(())
}
