//! The `user-consented-mail-scope` check kind: see [`KIND`].

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::json;

use crate::checks::consent::{
    Consent, UNVERIFIED_PUBLISHER, foreign_mail_consents, high, organization_evidence,
};
use crate::checks::registry::{self, Kind, Scope, Written};
use crate::checks::{Check, Context, Outcomes};
use crate::finding::Severity;
use crate::model::{App, AppKind};

/// The `user-consented-mail-scope` kind.
pub const KIND: Kind = Kind {
    name: "user-consented-mail-scope",
    scope: Scope::App,
    written_in: Written::Anywhere,
    docs: "Users consented for themselves (consentType Principal) to mailbox scopes for another \
        organization's app: the illicit-consent pattern when the app is not one the \
        organization chose. One finding per app, counting the users and listing the scopes. \
        This tenant's and Microsoft's apps are not evaluated.",
    params: &[UNVERIFIED_PUBLISHER],
    renamed_from: &[],
    build: |de, _| registry::app::<UserConsentedMailScope>(de),
    keys: registry::keys_of::<UserConsentedMailScope>,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConsentedMailScope {
    #[serde(default = "high")]
    unverified_publisher: Severity,
}

impl Check for UserConsentedMailScope {
    fn evaluate(&self, app: &App, cx: &Context<'_>, out: &mut Outcomes) {
        let Some((org, consents)) = foreign_mail_consents(app, cx, out) else {
            return;
        };
        let mut users = BTreeSet::new();
        let mut scopes = BTreeSet::new();
        let mut grants = 0;
        let mut offline_access = false;
        for c in consents
            .iter()
            .filter(|c| c.consent == Some(Consent::OneUser))
        {
            grants += 1;
            if let Some(user) = &c.grant.principal_id {
                users.insert(user.as_str());
            }
            scopes.extend(c.scopes.iter().map(|s| format!("{} {s}", c.resource())));
            offline_access |= c.offline_access;
        }
        if grants == 0 {
            out.pass(|| (None, "no user consented to a mailbox scope".into()));
            return;
        }
        let severity = (org.verified != Some(true)).then_some(self.unverified_publisher);
        let scopes: Vec<String> = scopes.into_iter().collect();
        let count = users.len();
        out.fail_at(
            severity,
            None,
            format!(
                "{} user{} consented to {} for {} ({}){}",
                count,
                if count == 1 { "" } else { "s" },
                scopes.join(", "),
                app.name(),
                org.short(),
                if offline_access {
                    ", with offline_access (refresh tokens)"
                } else {
                    ""
                }
            ),
            crate::checks::evidence(json!({
                "consent_type": "Principal",
                "users": count,
                "grants": grants,
                "mailbox_scopes": scopes,
                "offline_access": offline_access,
                "organization": organization_evidence(org),
            })),
        );
    }

    fn applies_to(&self, _kind: AppKind) -> bool {
        true
    }
}
