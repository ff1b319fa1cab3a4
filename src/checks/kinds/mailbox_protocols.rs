//! The `mailbox-protocols` check kind: see [`KIND`].

use serde::Deserialize;
use serde_json::json;

use crate::checks::evidence;
use crate::checks::permissions::find_permissions;
use crate::checks::registry::{self, Kind, Param, Scope, Written};
use crate::checks::{Context, Outcomes, TenantCheck};
use crate::finding::{Subject, SubjectKind};
use crate::model::exchange::{CasMailbox, EwsSwitch, Protocols};
use crate::model::{PermissionClass, PermissionKind, Tenant};

/// The `mailbox-protocols` kind.
pub const KIND: Kind = Kind {
    name: "mailbox-protocols",
    scope: Scope::Tenant,
    written_in: Written::Anywhere,
    docs: "The protocols of each integration mailbox (`--mailbox`, or a vendor profile) against \
        what the integration's guide asks: some disabled (Sage CRM: every app except Outlook \
        desktop (MAPI) and IMAP), some enabled, and EWS on when an app in the tenant signs in \
        to EWS as that service account.",
    params: &[
        Param {
            name: "disable",
            ty: "list of protocols: ews, mapi, imap, pop, active-sync, owa, smtp",
            default: Some("[]"),
            meaning: "Protocols the guide says to turn off on the integration mailbox.",
        },
        Param {
            name: "enable",
            ty: "list of protocols (as for disable)",
            default: Some("[]"),
            meaning: "Protocols the integration needs on.",
        },
        Param {
            name: "ews_for_ews_apps",
            ty: "boolean",
            default: Some("false"),
            meaning: "Require EWS on when an app in the tenant signs in to EWS as that mailbox (delegated EWS, a service account).",
        },
    ],
    renamed_from: &[],
    build: |de, _| registry::tenant::<MailboxProtocols>(de),
    keys: registry::keys_of::<MailboxProtocols>,
};

/// A client protocol, as the admin center's "Manage email apps" lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Protocol {
    /// Exchange Web Services (EwsEnabled).
    Ews,
    /// Outlook desktop (MAPIEnabled).
    Mapi,
    Imap,
    Pop,
    /// Mobile, Exchange ActiveSync (ActiveSyncEnabled).
    ActiveSync,
    /// Outlook on the web (OWAEnabled).
    Owa,
    /// Authenticated SMTP (SmtpClientAuthenticationDisabled, inverted).
    Smtp,
}

impl Protocol {
    fn get(self, p: &Protocols) -> Option<bool> {
        match self {
            Protocol::Ews => p.ews,
            Protocol::Mapi => p.mapi,
            Protocol::Imap => p.imap,
            Protocol::Pop => p.pop,
            Protocol::ActiveSync => p.active_sync,
            Protocol::Owa => p.owa,
            Protocol::Smtp => p.smtp,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Protocol::Ews => "EWS",
            Protocol::Mapi => "MAPI (Outlook desktop)",
            Protocol::Imap => "IMAP",
            Protocol::Pop => "POP",
            Protocol::ActiveSync => "Exchange ActiveSync",
            Protocol::Owa => "Outlook on the web",
            Protocol::Smtp => "authenticated SMTP",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailboxProtocols {
    /// Protocols the guide says to turn off on the integration mailbox.
    #[serde(default)]
    disable: Vec<Protocol>,
    /// Protocols the guide needs on.
    #[serde(default)]
    enable: Vec<Protocol>,
    /// Require EWS on when an app in the tenant uses delegated EWS (a service account).
    #[serde(default)]
    ews_for_ews_apps: bool,
}

impl TenantCheck for MailboxProtocols {
    /// The apps are read only to find EWS apps for an integration mailbox.
    fn reads_apps(&self, inputs: &crate::checks::ScanInputs) -> bool {
        self.ews_for_ews_apps && !inputs.integration_mailboxes.is_empty()
    }

    fn evaluate(&self, tenant: &Tenant, cx: &Context<'_>, out: &mut Outcomes) {
        if cx.inputs.integration_mailboxes.is_empty() {
            out.not_evaluated(
                None,
                "no integration mailbox named (scan --mailbox ADDRESS, or a vendor profile)",
            );
            return;
        }
        let ews_apps: Vec<String> = if self.ews_for_ews_apps {
            tenant
                .apps
                .iter()
                .filter(|app| {
                    !find_permissions(app, cx, |p| {
                        p.kind == Some(PermissionKind::Delegated)
                            && p.classes.contains(&PermissionClass::Ews)
                    })
                    .list
                    .is_empty()
                })
                .map(|app| app.name().to_string())
                .collect()
        } else {
            Vec::new()
        };
        for address in &cx.inputs.integration_mailboxes {
            out.about(Subject::named(
                SubjectKind::Mailbox,
                Some(address.clone()),
                Some(address.clone()),
            ));
            let Some(mailbox) = cx.exchange.find_mailbox(address) else {
                let why = cx
                    .missing
                    .cas_mailboxes
                    .clone()
                    .unwrap_or_else(|| "the mailbox is not in casMailboxes.json".to_string());
                out.not_evaluated(None, why);
                continue;
            };
            self.check_mailbox(mailbox, &ews_apps, cx, out);
        }
    }
}

impl MailboxProtocols {
    fn check_mailbox(
        &self,
        mailbox: &CasMailbox,
        ews_apps: &[String],
        cx: &Context<'_>,
        out: &mut Outcomes,
    ) {
        let mut problems = 0;
        let mut rule =
            |protocol: Protocol, want: bool, why: String| match protocol.get(&mailbox.protocols) {
                None => {
                    problems += 1;
                    out.not_evaluated(
                        Some(protocol.name().to_string()),
                        format!(
                            "casMailboxes.json has no {} setting for {}",
                            protocol.name(),
                            mailbox.label()
                        ),
                    );
                }
                Some(actual) if actual != want => {
                    problems += 1;
                    out.fail(
                        Some(protocol.name().to_string()),
                        format!(
                            "Integration mailbox {} has {} {}; {why}",
                            mailbox.label(),
                            protocol.name(),
                            if actual { "enabled" } else { "disabled" }
                        ),
                        evidence(json!({
                            "mailbox": mailbox.label(),
                            "protocol": protocol,
                            "enabled": actual,
                            "expected": want,
                        })),
                    );
                }
                Some(_) => {}
            };
        for &p in &self.disable {
            rule(
                p,
                false,
                "the integration's guide says to turn it off".into(),
            );
        }
        for &p in &self.enable {
            rule(p, true, "the integration needs it".into());
        }
        if !ews_apps.is_empty() && !self.enable.contains(&Protocol::Ews) {
            let apps = ews_apps.join(", ");
            rule(
                Protocol::Ews,
                true,
                format!("{apps} sign in to EWS as a service account"),
            );
            if cx.tenant.ews_enabled == Some(EwsSwitch::Disabled) {
                problems += 1;
                out.fail(
                    Some("EWS (organization)".into()),
                    format!(
                        "EWS is disabled for the whole organization (EwsEnabled False), but {} is the EWS service account of {apps}",
                        mailbox.label()
                    ),
                    evidence(json!({"mailbox": mailbox.label(), "ews_enabled": "disabled", "apps": ews_apps})),
                );
            }
        }
        if problems == 0 {
            out.pass(|| (None, format!("{}: protocols as required", mailbox.label())));
        }
    }
}
