//! Credential helpers shared by the credential kinds: which credentials a rule looks at,
//! their dates and lifetimes, and how findings name them.

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};
use serde::Deserialize;
use serde_json::json;

use super::{Context, Outcomes};
use crate::dates::rfc3339;
use crate::finding::Evidence;
use crate::model::{App, AppKind, Credential, CredentialKind, CredentialSet, ServicePrincipal};

/// Which credentials a check looks at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CredentialFilter {
    #[default]
    Any,
    /// Client secrets (`passwordCredentials`).
    #[serde(alias = "password")]
    Secret,
    /// Certificates and other key credentials (`keyCredentials`).
    #[serde(alias = "key")]
    Certificate,
}

impl CredentialFilter {
    /// The credentials the filter selects, and why part of them is unknown, if it is.
    pub fn select(self, app: &App) -> (Vec<&Credential>, Option<&'static str>) {
        let mut out = Vec::new();
        let mut secrets_unknown = false;
        let mut keys_unknown = false;
        if self != CredentialFilter::Certificate {
            match &app.password_credentials {
                Some(list) => out.extend(list),
                None => secrets_unknown = true,
            }
        }
        if self != CredentialFilter::Secret {
            match &app.key_credentials {
                Some(list) => out.extend(list),
                None => keys_unknown = true,
            }
        }
        let reason = match (secrets_unknown, keys_unknown) {
            (false, false) => None,
            (true, false) => Some("the input has no passwordCredentials for this app"),
            (false, true) => Some("the input has no keyCredentials for this app"),
            (true, true) => {
                Some("the input has no passwordCredentials or keyCredentials for this app")
            }
        };
        (out, reason)
    }
}

/// Why a service principal's credentials are unknown although the service principal is
/// in the export, and how to export them.
///
/// Short on purpose: an export made without the properties gives this reason for every app.
pub const SP_CREDENTIALS_UNKNOWN: &str = "no keyCredentials/passwordCredentials in \
servicePrincipals.json: export it with all properties (Get-MgServicePrincipal -All, az ad sp \
list --all, m365audit collect)";

/// The item of findings about a service principal's credentials as a whole.
pub const SP_CREDENTIALS_ITEM: &str = "service principal credentials";

/// Where a credential is: on the app registration, or added to the service principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    Registration,
    ServicePrincipal,
    /// A SAML signing certificate set of the service principal, counted as one certificate.
    SamlSigning,
}

/// A credential with its end date, as the expiry checks need it.
#[derive(Debug, Clone, Copy)]
pub struct DatedCredential<'a> {
    pub credential: &'a Credential,
    pub end: DateTime<Utc>,
    pub place: Place,
}

impl DatedCredential<'_> {
    /// Points `out` at the subject this credential's outcomes are about: the app, or its
    /// service principal.
    pub fn about(&self, app: &App, cx: &Context<'_>, out: &mut Outcomes) {
        if self.place == Place::Registration {
            out.reset_subject();
        } else {
            out.about(cx.service_principal_subject(app));
        }
    }

    pub fn item(&self) -> String {
        let key = credential_item(self.credential);
        match self.place {
            Place::Registration => key,
            Place::ServicePrincipal => format!("service principal credential {key}"),
            Place::SamlSigning => format!("service principal SAML signing certificate {key}"),
        }
    }

    pub fn noun(&self) -> &'static str {
        match (self.place, self.credential.kind) {
            (Place::SamlSigning, _) => "SAML signing certificate",
            (Place::Registration, _) => credential_noun(self.credential),
            (Place::ServicePrincipal, CredentialKind::Secret) => "Service principal client secret",
            (Place::ServicePrincipal, CredentialKind::Certificate) => {
                "Service principal certificate"
            }
            (Place::ServicePrincipal, CredentialKind::SymmetricKey) => {
                "Service principal symmetric key"
            }
            (Place::ServicePrincipal, CredentialKind::OtherKey) => "Service principal key",
        }
    }

    pub fn evidence(&self) -> Evidence {
        let mut e = credential_evidence(self.credential);
        if self.place != Place::Registration {
            e.insert("on".into(), json!("service_principal"));
        }
        if self.place == Place::SamlSigning {
            e.insert("credential".into(), json!("saml_signing_certificate"));
            e.insert("end".into(), json!(rfc3339(self.end)));
        }
        e
    }

    /// Whether `other` is in the same place and of the same sort (for successors).
    pub fn same_sort(&self, other: &DatedCredential<'_>) -> bool {
        self.place == other.place && self.credential.kind == other.credential.kind
    }
}

/// Credentials with their end dates, as the expiry checks need them.
pub struct Dated<'a> {
    pub list: Vec<DatedCredential<'a>>,
    /// False when part of the data was missing (and recorded as not evaluated).
    pub complete: bool,
}

impl CredentialFilter {
    /// Whether the filter selects a credential (a SAML signing set is a certificate).
    fn selects(self, c: &Credential, place: Place) -> bool {
        let secret = place != Place::SamlSigning && c.kind == CredentialKind::Secret;
        match self {
            CredentialFilter::Any => true,
            CredentialFilter::Secret => secret,
            CredentialFilter::Certificate => !secret,
        }
    }

    /// The selected credentials that have an end date: the app registration's, then those
    /// of its service principal (each SAML signing set once). Records `not_evaluated` for a
    /// credential list the input lacks and for each credential without an end date; leaves
    /// `out` pointing at the app.
    pub fn dated<'a>(self, app: &'a App, cx: &Context<'_>, out: &mut Outcomes) -> Dated<'a> {
        let mut list = Vec::new();
        let mut complete = true;
        // A service principal without a registration here has none to look at.
        if app.kind == AppKind::Application {
            let (credentials, unknown) = self.select(app);
            if let Some(reason) = unknown {
                out.not_evaluated(None, reason);
            }
            for c in credentials {
                push(
                    &mut list,
                    &mut complete,
                    app,
                    cx,
                    out,
                    c,
                    c.end,
                    Place::Registration,
                );
            }
            complete &= unknown.is_none();
        }
        // Unknown for the whole tenant: said once, about the tenant (`sp_credentials_for_tenant`).
        let (no_sps, no_credentials) = (
            cx.missing.service_principals.is_some(),
            cx.missing.service_principal_credentials.is_some(),
        );
        let sp_known = match &app.service_principal {
            ServicePrincipal::Absent => true,
            ServicePrincipal::Unknown => {
                if !no_sps {
                    out.not_evaluated(
                        Some(SP_CREDENTIALS_ITEM.into()),
                        cx.service_principal_unknown(),
                    );
                }
                false
            }
            ServicePrincipal::Present(sp) if !sp.credentials_known() => {
                if !no_credentials {
                    out.about(cx.service_principal_subject(app));
                    out.not_evaluated(Some(SP_CREDENTIALS_ITEM.into()), SP_CREDENTIALS_UNKNOWN);
                }
                false
            }
            ServicePrincipal::Present(sp) => {
                for set in sp.credential_sets() {
                    let place = match set {
                        CredentialSet::Single(_) => Place::ServicePrincipal,
                        CredentialSet::SamlSigning { .. } => Place::SamlSigning,
                    };
                    if self.selects(set.credential(), place) {
                        let c = set.credential();
                        push(&mut list, &mut complete, app, cx, out, c, set.end(), place);
                    }
                }
                true
            }
        };
        out.reset_subject();
        Dated {
            list,
            complete: complete && sp_known,
        }
    }
}

/// Adds a credential to an expiry check's list, or records that its end date is unknown.
#[allow(clippy::too_many_arguments)] // the state of `dated`'s one loop
fn push<'a>(
    list: &mut Vec<DatedCredential<'a>>,
    complete: &mut bool,
    app: &App,
    cx: &Context<'_>,
    out: &mut Outcomes,
    credential: &'a Credential,
    end: Option<DateTime<Utc>>,
    place: Place,
) {
    let dated = DatedCredential {
        credential,
        end: end.unwrap_or(DateTime::<Utc>::MIN_UTC),
        place,
    };
    if end.is_some() {
        list.push(dated);
    } else {
        *complete = false;
        dated.about(app, cx, out);
        out.not_evaluated(
            Some(dated.item()),
            "the credential has no end date in the input",
        );
    }
}

/// For [`Check::not_evaluated_for_tenant`](super::Check::not_evaluated_for_tenant) of the
/// kinds that read service principals' credentials.
pub fn sp_credentials_for_tenant(missing: &crate::model::Missing) -> Option<String> {
    missing
        .all_service_principal_credentials()
        .map(|why| format!("service principal credentials: {why}"))
}

/// A credential's name in findings: its key id, else its display name.
pub fn credential_item(c: &Credential) -> String {
    c.key_id
        .clone()
        .or_else(|| c.display_name.clone())
        .unwrap_or_else(|| "(credential without key id)".into())
}

/// "Client secret", "Certificate", ... for messages.
pub fn credential_noun(c: &Credential) -> &'static str {
    match c.kind {
        CredentialKind::Secret => "Client secret",
        CredentialKind::Certificate => "Certificate",
        CredentialKind::SymmetricKey => "Symmetric key",
        CredentialKind::OtherKey => "Key credential",
    }
}

/// Standard evidence for a credential: kind, key id, name, hint, dates.
pub fn credential_evidence(c: &Credential) -> Evidence {
    let mut e = Evidence::new();
    e.insert("credential".into(), json!(c.kind.as_str()));
    e.insert("key_id".into(), json!(c.key_id));
    if let Some(name) = &c.display_name {
        e.insert("display_name".into(), json!(name));
    }
    if let Some(hint) = &c.hint {
        e.insert("hint".into(), json!(hint));
    }
    if let Some(usage) = &c.usage {
        e.insert("usage".into(), json!(usage));
    }
    e.insert("start".into(), json!(c.start.map(rfc3339)));
    e.insert("end".into(), json!(c.end.map(rfc3339)));
    e
}

/// Whole days from `from` to `to`, rounded toward zero.
pub fn days(from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    (to - from).num_days()
}

/// "1 day" / "3 days".
pub fn plural_days(n: i64) -> String {
    if n == 1 {
        "1 day".into()
    } else {
        format!("{n} days")
    }
}

/// Whether a credential can be used at `as_of`: started (or start unknown) and not ended.
/// `None` when its end date is unknown.
pub fn is_current(c: &Credential, as_of: DateTime<Utc>) -> Option<bool> {
    let end = c.end?;
    Some(end > as_of && c.start.is_none_or(|s| s <= as_of))
}

/// A credential's lifetime in days, not counting 29 February, so a "12 months" secret is
/// 365 days and a "24 months" secret 730 days whichever years it spans.
pub fn lifetime_days(start: DateTime<Utc>, end: DateTime<Utc>) -> i64 {
    let span = end - start;
    let leap_days = leap_days_between(start.date_naive(), end.date_naive());
    (span - TimeDelta::days(leap_days)).num_days()
}

/// Number of 29 Februaries in `(start, end]`.
fn leap_days_between(start: NaiveDate, end: NaiveDate) -> i64 {
    if end <= start {
        return 0;
    }
    (start.year()..=end.year())
        .filter_map(|y| NaiveDate::from_ymd_opt(y, 2, 29))
        .filter(|d| *d > start && *d <= end)
        .count() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        crate::dates::parse_datetime(s).unwrap()
    }

    #[test]
    fn lifetimes_ignore_leap_days() {
        assert_eq!(lifetime_days(at("2023-06-01"), at("2025-06-01")), 730);
        assert_eq!(lifetime_days(at("2024-03-01"), at("2026-03-01")), 730);
        assert_eq!(lifetime_days(at("2023-06-01"), at("2024-06-01")), 365);
        assert_eq!(lifetime_days(at("2023-06-01"), at("2024-06-02")), 366);
        assert_eq!(
            lifetime_days(at("2025-01-01T10:00:00Z"), at("2025-07-01T09:00:00Z")),
            180
        );
    }

    #[test]
    fn a_credential_is_current_between_start_and_end() {
        let c = Credential {
            kind: CredentialKind::Secret,
            key_id: None,
            display_name: None,
            hint: None,
            start: Some(at("2026-01-01")),
            end: Some(at("2026-12-31")),
            usage: None,
            custom_key_identifier: None,
            last_sign_in: None,
        };
        assert_eq!(is_current(&c, at("2026-06-01")), Some(true));
        assert_eq!(is_current(&c, at("2025-12-31")), Some(false));
        assert_eq!(is_current(&c, at("2026-12-31")), Some(false));
        let no_end = Credential { end: None, ..c };
        assert_eq!(is_current(&no_end, at("2026-06-01")), None);
    }
}
