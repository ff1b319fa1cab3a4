//! The `tenant-wide-delegated-mail-consent` check kind: see [`KIND`].

use serde::Deserialize;
use serde_json::json;

use crate::checks::consent::{
    Consent, UNVERIFIED_PUBLISHER, foreign_mail_consents, high, organization_evidence,
};
use crate::checks::registry::{self, Kind, Scope, Written};
use crate::checks::{Check, Context, Outcomes};
use crate::finding::Severity;
use crate::model::{App, AppKind};

/// The `tenant-wide-delegated-mail-consent` kind.
pub const KIND: Kind = Kind {
    name: "tenant-wide-delegated-mail-consent",
    scope: Scope::App,
    written_in: Written::Anywhere,
    docs: "Another organization's app holds a delegated permission grant for all users \
        (consentType AllPrincipals, admin consent) that includes mailbox scopes (the \
        mailbox-delegated class: Mail.*, Calendars.*, Contacts.*, MailboxSettings.*, \
        EWS.AccessAsUser.All, IMAP.AccessAsUser.All, POP.AccessAsUser.All, SMTP.Send, \
        EAS.AccessAsUser.All): every user who signs in to it lets it into their mailbox without \
        being asked. One finding per grant, listing the scopes and whether offline_access \
        comes with them. This tenant's and Microsoft's apps are not evaluated.",
    params: &[UNVERIFIED_PUBLISHER],
    renamed_from: &[],
    build: |de, _| registry::app::<TenantWideDelegatedMailConsent>(de),
    keys: registry::keys_of::<TenantWideDelegatedMailConsent>,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantWideDelegatedMailConsent {
    #[serde(default = "high")]
    unverified_publisher: Severity,
}

impl Check for TenantWideDelegatedMailConsent {
    fn evaluate(&self, app: &App, cx: &Context<'_>, out: &mut Outcomes) {
        let Some((org, consents)) = foreign_mail_consents(app, cx, out) else {
            return;
        };
        let mut found = false;
        for c in consents
            .iter()
            .filter(|c| c.consent == Some(Consent::AllUsers))
        {
            found = true;
            let severity = (org.verified != Some(true)).then_some(self.unverified_publisher);
            out.fail_at(
                severity,
                Some(c.resource().to_string()),
                format!(
                    "{} ({}) was granted {} on {} for all users{}",
                    app.name(),
                    org.short(),
                    c.scopes.join(", "),
                    c.resource(),
                    if c.offline_access {
                        ", with offline_access (refresh tokens)"
                    } else {
                        ""
                    }
                ),
                crate::checks::evidence(json!({
                    "consent_type": "AllPrincipals",
                    "resource": c.resource(),
                    "mailbox_scopes": c.scopes,
                    "all_scopes": c.grant.scopes,
                    "offline_access": c.offline_access,
                    "organization": organization_evidence(org),
                })),
            );
        }
        if !found {
            out.pass(|| (None, "no mailbox scope is consented for all users".into()));
        }
    }

    fn applies_to(&self, _kind: AppKind) -> bool {
        true
    }
}
