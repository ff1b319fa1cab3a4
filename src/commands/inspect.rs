//! `m365audit inspect SOURCE`: the normalized apps, as rules see them.

use super::{CommandError, exit};
use crate::cli::InspectArgs;
use crate::model::{self, Catalog};
use crate::report::defused;
use crate::source;

pub fn run(args: InspectArgs) -> Result<u8, CommandError> {
    let catalog = Catalog::builtin().map_err(|e| CommandError::Runtime(e.to_string()))?;
    let loaded = source::load(&args.source).map_err(|e| CommandError::Input(e.to_string()))?;
    for w in &loaded.warnings {
        eprintln!("warning: {}", defused(w));
    }
    for e in &loaded.errors {
        eprintln!("error: {}", defused(&e.to_string()));
    }
    let tenant = model::build(loaded.snapshot, &catalog);
    let apps: Vec<&model::App> = match &args.app {
        None => tenant.apps.iter().collect(),
        Some(wanted) => {
            let wanted_lower = wanted.to_ascii_lowercase();
            let matches: Vec<_> = tenant
                .apps
                .iter()
                .filter(|a| {
                    a.app_id.as_deref() == Some(wanted_lower.as_str())
                        || a.object_id.as_deref() == Some(wanted_lower.as_str())
                        || a.display_name
                            .as_deref()
                            .is_some_and(|n| n.eq_ignore_ascii_case(wanted))
                })
                .collect();
            if matches.is_empty() {
                return Err(CommandError::Input(format!(
                    "{}: no app with app id, object id or display name {wanted:?}",
                    args.source.display()
                )));
            }
            matches
        }
    };
    let doc = serde_json::json!({
        "source": args.source.display().to_string(),
        "kind": loaded.kind.as_str(),
        "tenant": tenant.info,
        "missing": {
            "service_principals": tenant.missing.service_principals,
            "app_role_assignments": tenant.missing.app_role_assignments,
            "delegated_grants": tenant.missing.delegated_grants,
        },
        "apps": apps,
    });
    let text =
        serde_json::to_string_pretty(&doc).map_err(|e| CommandError::Runtime(e.to_string()))?;
    println!("{text}");
    Ok(if loaded.errors.is_empty() {
        exit::OK
    } else {
        exit::INPUT
    })
}
