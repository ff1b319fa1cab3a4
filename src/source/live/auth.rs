//! OAuth 2.0 client credentials against the Microsoft identity platform: a client secret, or
//! a certificate whose key signs a JWT client assertion (PS256 with `x5t#S256`, as Microsoft's
//! certificate-credentials page specifies). Tokens are cached per scope and refreshed before
//! they expire; a token the API rejected with 401 is dropped and fetched again once.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use ring::rand::SystemRandom;
use ring::signature::{RSA_PSS_SHA256, RsaKeyPair};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::json;

use super::error::CollectError;
use super::http::{Http, Outcome, check_origin, path_of, redirect_error};
use super::origin::BaseUrl;

/// Refresh this long before a token's stated expiry, so no request carries a token that
/// expires in flight.
const REFRESH_MARGIN: Duration = Duration::from_secs(300);
/// Client assertions are valid for ten minutes (Microsoft: 5-10 minutes after `nbf`).
const ASSERTION_LIFETIME: i64 = 600;

/// A secret string: never printed, never serialized.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: String) -> Self {
        Secret(s)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// How the app proves who it is.
pub enum ClientCredential {
    Secret(Secret),
    Certificate(Box<CertificateCredential>),
}

impl fmt::Debug for ClientCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientCredential::Secret(_) => f.write_str("Secret([redacted])"),
            ClientCredential::Certificate(c) => write!(f, "Certificate({})", c.path.display()),
        }
    }
}

/// A certificate registered on the app and its RSA private key.
pub struct CertificateCredential {
    path: PathBuf,
    /// base64url SHA-256 of the certificate's DER: the `x5t#S256` header.
    thumbprint_s256: String,
    key: RsaKeyPair,
}

impl CertificateCredential {
    /// Loads a PEM certificate and its private key (PKCS#8 or PKCS#1 PEM; `key` may be the
    /// same file as `cert`).
    pub fn load(cert: &Path, key: &Path) -> Result<Self, CollectError> {
        let setup = |what: String| CollectError::Setup(what);
        let der = CertificateDer::from_pem_file(cert)
            .map_err(|e| setup(format!("{}: no PEM certificate: {e}", cert.display())))?;
        let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| {
            setup(format!(
                "{}: no PEM private key: {e} (a PKCS#8 'PRIVATE KEY' or PKCS#1 'RSA PRIVATE KEY' block)",
                key.display()
            ))
        })?;
        let pair = match &key_der {
            PrivateKeyDer::Pkcs8(k) => RsaKeyPair::from_pkcs8(k.secret_pkcs8_der()),
            PrivateKeyDer::Pkcs1(k) => RsaKeyPair::from_der(k.secret_pkcs1_der()),
            _ => {
                return Err(setup(format!(
                    "{}: not an RSA key; Entra certificate credentials are signed with RSA",
                    key.display()
                )));
            }
        }
        .map_err(|e| setup(format!("{}: unusable RSA key: {e}", key.display())))?;
        // The certificate's SubjectPublicKeyInfo holds the RSAPublicKey DER verbatim, so a
        // byte search is an exact match test without an X.509 parser.
        let public = pair.public().as_ref();
        if !der.as_ref().windows(public.len()).any(|w| w == public) {
            return Err(setup(format!(
                "{} does not belong to the certificate {}",
                key.display(),
                cert.display()
            )));
        }
        let thumb = ring::digest::digest(&ring::digest::SHA256, der.as_ref());
        Ok(CertificateCredential {
            path: cert.to_path_buf(),
            thumbprint_s256: B64URL.encode(thumb.as_ref()),
            key: pair,
        })
    }

    /// A signed client assertion for `token_url`, valid from `now` (Unix seconds).
    ///
    /// Written here rather than with a JWT crate: the assertion is one fixed header, six
    /// claims and one PS256 signature with `ring` (already built for rustls), and the JWT
    /// crates pull in a second crypto stack or more algorithms than this ever signs with.
    fn assertion(
        &self,
        client_id: &str,
        token_url: &str,
        now: i64,
    ) -> Result<String, CollectError> {
        let header = json!({"alg": "PS256", "typ": "JWT", "x5t#S256": self.thumbprint_s256});
        let claims = json!({
            "aud": token_url, "iss": client_id, "sub": client_id, "jti": uuid::Uuid::new_v4().to_string(),
            "nbf": now, "iat": now, "exp": now + ASSERTION_LIFETIME,
        });
        let signing_input = format!(
            "{}.{}",
            B64URL.encode(header.to_string()),
            B64URL.encode(claims.to_string())
        );
        let mut sig = vec![0u8; self.key.public().modulus_len()];
        self.key
            .sign(
                &RSA_PSS_SHA256,
                &SystemRandom::new(),
                signing_input.as_bytes(),
                &mut sig,
            )
            .map_err(|_| CollectError::Setup("cannot sign the client assertion".into()))?;
        Ok(format!("{signing_input}.{}", B64URL.encode(sig)))
    }
}

struct Cached {
    token: Secret,
    refresh_at: Instant,
}

/// Tokens for one app in one tenant, cached per scope.
pub struct TokenSource<'c> {
    /// `--login-url`: the secret and assertions go there and nowhere else.
    login: &'c BaseUrl,
    token_url: String,
    client_id: String,
    credential: &'c ClientCredential,
    /// The tenant id (`tid`) read from the last token, when it is a readable JWT.
    tid: std::sync::Mutex<Option<String>>,
    /// One lock for fetch and cache: concurrent requests wait for one fetch instead of
    /// stampeding the token endpoint.
    cache: tokio::sync::Mutex<HashMap<String, Cached>>,
}

impl<'c> TokenSource<'c> {
    /// `tenant` is a tenant id or domain, checked by the caller to hold no `/`, `?`, `#`:
    /// the token URL stays on `login`'s origin.
    pub fn new(
        login: &'c BaseUrl,
        tenant: &str,
        client_id: &str,
        credential: &'c ClientCredential,
    ) -> Self {
        TokenSource {
            login,
            token_url: format!("{}/{tenant}/oauth2/v2.0/token", login.as_str()),
            client_id: client_id.to_string(),
            credential,
            tid: std::sync::Mutex::new(None),
            cache: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The tenant id the token endpoint issued tokens for, if the tokens said.
    pub fn tenant_id(&self) -> Option<String> {
        self.tid.lock().ok().and_then(|t| t.clone())
    }

    /// A token for `scope`. `rejected` is a token the API just answered 401 to: it is dropped
    /// and a new one fetched (unless another request already replaced it).
    pub async fn token(
        &self,
        http: &Http,
        scope: &str,
        rejected: Option<&Secret>,
    ) -> Result<Secret, CollectError> {
        let mut cache = self.cache.lock().await;
        if let Some(c) = cache.get(scope) {
            let stale = rejected.is_some_and(|r| r.expose() == c.token.expose());
            if !stale && Instant::now() < c.refresh_at {
                return Ok(c.token.clone());
            }
        }
        let (token, lifetime) = self.fetch(http, scope).await?;
        let refresh_at = Instant::now() + lifetime.saturating_sub(REFRESH_MARGIN).max(lifetime / 2);
        cache.insert(
            scope.to_string(),
            Cached {
                token: token.clone(),
                refresh_at,
            },
        );
        Ok(token)
    }

    async fn fetch(&self, http: &Http, scope: &str) -> Result<(Secret, Duration), CollectError> {
        let request = format!("POST {}", path_of(&self.token_url));
        let target = reqwest::Url::parse(&self.token_url).map_err(|e| {
            CollectError::Setup(format!(
                "{request}: not a URL: {e}; check --tenant and --login-url"
            ))
        })?;
        // The secret goes to --login-url's origin only, whatever the tenant name holds.
        check_origin(self.login, &request, "the request", &target)?;
        // Built per attempt: a retried request must not replay a client assertion's `jti`.
        let build = |client: &reqwest::Client| -> Result<reqwest::RequestBuilder, CollectError> {
            let mut form: Vec<(&str, String)> = vec![
                ("grant_type", "client_credentials".into()),
                ("client_id", self.client_id.clone()),
                ("scope", scope.to_string()),
            ];
            match self.credential {
                ClientCredential::Secret(s) => form.push(("client_secret", s.expose().to_string())),
                ClientCredential::Certificate(c) => {
                    let now = chrono::Utc::now().timestamp();
                    form.push((
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into(),
                    ));
                    form.push((
                        "client_assertion",
                        c.assertion(&self.client_id, &self.token_url, now)?,
                    ));
                }
            }
            Ok(client.post(target.clone()).form(&form))
        };
        let body = match http.send("POST", &self.token_url, &build).await? {
            Outcome::Ok(v) => v,
            Outcome::Rejected { status, body } => {
                return Err(token_error(status, &body, &self.token_url));
            }
            Outcome::Redirected { status, location } => {
                return Err(redirect_error(
                    self.login,
                    &request,
                    &self.token_url,
                    status,
                    location,
                ));
            }
        };
        let token = body["access_token"]
            .as_str()
            .ok_or_else(|| CollectError::Changed {
                what: format!(
                    "the token response from {} has no access_token",
                    path_of(&self.token_url)
                ),
            })?;
        let lifetime = body["expires_in"]
            .as_u64()
            .or_else(|| body["expires_in"].as_str().and_then(|s| s.parse().ok()))
            .unwrap_or(3599);
        if let Some(tid) = super::tid_of(token)
            && let Ok(mut t) = self.tid.lock()
        {
            *t = Some(tid);
        }
        Ok((
            Secret::new(token.to_string()),
            Duration::from_secs(lifetime),
        ))
    }
}

/// An Entra error answer, with what to do about the common ones.
fn token_error(status: u16, body: &serde_json::Value, url: &str) -> CollectError {
    let code = body["error"]
        .as_str()
        .unwrap_or("unknown_error")
        .to_string();
    let description = body["error_description"]
        .as_str()
        .unwrap_or("(no description)")
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    let hint = [
        ("AADSTS7000222", "the client secret has expired: create a new one (or use a certificate)"),
        ("AADSTS7000215", "the client secret is wrong: check the environment variable or file it is read from"),
        ("AADSTS700016", "no app with this client id in the tenant: check --client-id and --tenant, and that the app was consented in this tenant"),
        ("AADSTS700027", "the certificate assertion was rejected: is this certificate uploaded to the app registration?"),
        ("AADSTS90002", "the tenant was not found: check --tenant"),
        ("AADSTS500011", "the resource is not in the tenant: check --graph-url / --exchange-url"),
    ]
    .iter()
    .find(|(c, _)| description.contains(c))
    .map(|(_, h)| h.to_string());
    CollectError::Token {
        path: path_of(url).to_string(),
        status,
        code,
        description,
        hint,
    }
}
