//! Turning raw application properties into model fields: where formats differ (legacy vs
//! Microsoft Graph manifests, camelCase vs PascalCase) and what a missing or null value means.

use super::app::{ImplicitGrant, Owner, Platform, RedirectUri};
use super::credential::{Credential, CredentialKind};
use super::id::norm;
use crate::snapshot::RawApplication;
use crate::snapshot::de::PublicClientField;
use crate::snapshot::graph::{RawCredential, RawDirectoryObject, RawRedirects};

pub(super) fn redirect_uris(raw: &RawApplication) -> Option<Vec<RedirectUri>> {
    let mut out = Vec::new();
    let mut push = |uris: &Option<Vec<Option<String>>>, platform: Platform| {
        for uri in uris.iter().flatten().flatten() {
            out.push(RedirectUri {
                uri: uri.clone(),
                platform,
            });
        }
    };
    if let Some(list) = &raw.reply_urls_with_type {
        for entry in list {
            let Some(url) = &entry.url else { continue };
            let platform = match entry
                .kind
                .as_deref()
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                Some("web") => Platform::Web,
                Some("spa") => Platform::Spa,
                Some("installedclient") => Platform::PublicClient,
                _ => Platform::Unspecified,
            };
            out.push(RedirectUri {
                uri: url.clone(),
                platform,
            });
        }
        return Some(out);
    }
    let public_client = match &raw.public_client {
        Some(PublicClientField::Platform(p)) => Some(p),
        _ => None,
    };
    let platforms = [
        raw.web.is_some(),
        raw.spa.is_some(),
        public_client.is_some(),
    ];
    if platforms.contains(&true) {
        // Graph returns web, spa and publicClient on every application and the portal
        // manifest carries all three, so one absent was not exported (a narrower $select,
        // a hand-made file): its URIs are unknown, and a rule that saw only the others
        // would pass on part of the data.
        if platforms.contains(&false) {
            return None;
        }
        push(
            &raw.web.as_ref().and_then(|w| w.redirect_uris.clone()),
            Platform::Web,
        );
        push(
            &raw.spa.as_ref().and_then(|s| s.redirect_uris.clone()),
            Platform::Spa,
        );
        push(
            &public_client.and_then(|p: &RawRedirects| p.redirect_uris.clone()),
            Platform::PublicClient,
        );
        return Some(out);
    }
    let list = raw.reply_urls.as_ref()?;
    Some(
        list.0
            .iter()
            .map(|uri| RedirectUri {
                uri: uri.clone(),
                platform: Platform::Unspecified,
            })
            .collect(),
    )
}

/// An explicit `null` is the documented default (false); an absent property is unknown.
fn flag(v: Option<Option<bool>>) -> Option<bool> {
    v.map(|inner| inner.unwrap_or(false))
}

pub(super) fn implicit_grant(raw: &RawApplication) -> ImplicitGrant {
    let settings = raw
        .web
        .as_ref()
        .and_then(|w| w.implicit_grant_settings.as_ref());
    ImplicitGrant {
        access_tokens: flag(settings.and_then(|s| s.enable_access_token_issuance))
            .or(flag(raw.oauth2_allow_implicit_flow)),
        id_tokens: flag(settings.and_then(|s| s.enable_id_token_issuance))
            .or(flag(raw.oauth2_allow_id_token_implicit_flow)),
    }
}

pub(super) fn fallback_public_client(raw: &RawApplication) -> Option<bool> {
    flag(raw.is_fallback_public_client)
        .or(flag(raw.allow_public_client))
        .or(match &raw.public_client {
            // The oldest manifests: "publicClient": true/false/null.
            Some(PublicClientField::Flag(f)) => Some(f.unwrap_or(false)),
            _ => None,
        })
}

/// A credential list: `None` when the export lacks the property or says `null` (Graph
/// always writes a list, so `null` comes from a tool that did not read it).
pub(super) fn credentials(
    list: &Option<Option<Vec<RawCredential>>>,
    password: bool,
) -> Option<Vec<Credential>> {
    list.as_ref()
        .and_then(Option::as_ref)
        .map(|l| l.iter().map(|c| credential(c, password)).collect())
}

pub(super) fn credential(c: &RawCredential, password: bool) -> Credential {
    let kind = if password {
        CredentialKind::Secret
    } else {
        match c.kind.as_deref().map(str::to_ascii_lowercase).as_deref() {
            Some("asymmetricx509cert" | "x509certandpassword") => CredentialKind::Certificate,
            Some("symmetric") => CredentialKind::SymmetricKey,
            _ => CredentialKind::OtherKey,
        }
    };
    Credential {
        kind,
        key_id: c.key_id.as_deref().map(norm),
        display_name: c.display_name.clone(),
        hint: c.hint.clone(),
        start: c.start_date_time.or(c.start_date),
        end: c.end_date_time.or(c.end_date),
        usage: c.usage.clone(),
        custom_key_identifier: c.custom_key_identifier.clone(),
        last_sign_in: None,
    }
}

pub(super) fn owner(o: &RawDirectoryObject) -> Owner {
    let extra = o.additional_properties.as_deref();
    let odata_type = o
        .odata_type
        .as_deref()
        .or(extra.and_then(|e| e.odata_type.as_deref()));
    Owner {
        id: o.id.as_deref().map(norm),
        display_name: o
            .display_name
            .clone()
            .or_else(|| extra.and_then(|e| e.display_name.clone()))
            .or_else(|| o.user_principal_name.clone())
            .or_else(|| extra.and_then(|e| e.user_principal_name.clone())),
        kind: odata_type.map(|t| t.trim_start_matches("#microsoft.graph.").to_string()),
    }
}
