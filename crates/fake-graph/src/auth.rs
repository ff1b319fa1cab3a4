//! The fake's token endpoint: client credentials with a secret or a certificate-signed
//! client assertion (PS256, `x5t#S256`), verified as Entra verifies them, and the bearer
//! check on API calls.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use ring::signature::{RSA_PSS_2048_8192_SHA256, UnparsedPublicKey};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde_json::{Value, json};

/// A certificate whose key may sign client assertions.
pub struct TrustedCert {
    thumbprint_s256: String,
    /// PKCS#1 RSAPublicKey, as ring verifies with.
    public_key: Vec<u8>,
}

impl TrustedCert {
    pub fn load(path: &Path) -> Result<Self, String> {
        let der = CertificateDer::from_pem_file(path)
            .map_err(|e| format!("{}: no certificate: {e}", path.display()))?;
        let thumb = ring::digest::digest(&ring::digest::SHA256, der.as_ref());
        let public_key = rsa_public_key(der.as_ref())
            .ok_or_else(|| format!("{}: not an RSA certificate", path.display()))?;
        Ok(TrustedCert {
            thumbprint_s256: B64URL.encode(thumb.as_ref()),
            public_key,
        })
    }
}

/// Reads one DER TLV: (tag, content, rest).
fn tlv(d: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *d.first()?;
    let first = *d.get(1)? as usize;
    let (len, head) = if first < 0x80 {
        (first, 2)
    } else {
        let n = first & 0x7f;
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | *d.get(2 + i)? as usize;
        }
        (len, 2 + n)
    };
    let content = d.get(head..head + len)?;
    Some((tag, content, &d[head + len..]))
}

/// Certificate → tbsCertificate → subjectPublicKeyInfo → BIT STRING (the RSAPublicKey).
fn rsa_public_key(cert: &[u8]) -> Option<Vec<u8>> {
    let (_, certificate, _) = tlv(cert)?;
    let (_, tbs, _) = tlv(certificate)?;
    let mut rest = tbs;
    let (tag, _, r) = tlv(rest)?;
    if tag == 0xa0 {
        rest = r; // explicit version
    }
    // serial, signature algorithm, issuer, validity, subject
    for _ in 0..5 {
        rest = tlv(rest)?.2;
    }
    let (_, spki, _) = tlv(rest)?;
    let (_, _algorithm, r) = tlv(spki)?;
    let (tag, bits, _) = tlv(r)?;
    (tag == 0x03 && bits.first() == Some(&0)).then(|| bits[1..].to_vec())
}

struct Issued {
    audience: String,
    expires: Instant,
    generation: u64,
}

pub struct Auth {
    client_id: String,
    secret: Option<String>,
    cert: Option<TrustedCert>,
    lifetime: Duration,
    revoke_after: Option<u64>,
    /// The right secret is answered as expired.
    secret_expired: bool,
    revoked: AtomicBool,
    generation: AtomicU64,
    tokens: Mutex<HashMap<String, Issued>>,
    seen_jti: Mutex<HashSet<String>>,
}

fn error(code: &str, aadsts: &str, description: &str) -> (u16, Value) {
    (
        if code == "invalid_client" { 401 } else { 400 },
        json!({"error": code, "error_description": format!("{aadsts}: {description}"),
               "error_codes": [aadsts.trim_start_matches("AADSTS").parse::<u64>().unwrap_or(0)],
               "timestamp": "2026-01-01 00:00:00Z", "trace_id": "00000000-0000-0000-0000-000000000000",
               "correlation_id": "00000000-0000-0000-0000-000000000000"}),
    )
}

impl Auth {
    pub fn new(
        client_id: String,
        secret: Option<String>,
        cert: Option<TrustedCert>,
        lifetime: u64,
        revoke_after: Option<u64>,
        secret_expired: bool,
    ) -> Self {
        Auth {
            secret_expired,
            client_id,
            secret,
            cert,
            lifetime: Duration::from_secs(lifetime),
            revoke_after,
            revoked: AtomicBool::new(false),
            generation: AtomicU64::new(0),
            tokens: Mutex::new(HashMap::new()),
            seen_jti: Mutex::new(HashSet::new()),
        }
    }

    /// `POST /{tenant}/oauth2/v2.0/token`; `token_url` is the URL the client posted to
    /// (the assertion's audience).
    pub fn token(&self, form: &[(String, String)], token_url: &str) -> Result<Value, (u16, Value)> {
        let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        if get("grant_type") != Some("client_credentials") {
            return Err(error(
                "unsupported_grant_type",
                "AADSTS70003",
                "grant type not supported",
            ));
        }
        if get("client_id") != Some(self.client_id.as_str()) {
            return Err(error(
                "unauthorized_client",
                "AADSTS700016",
                "Application was not found in the directory",
            ));
        }
        let Some(scope) = get("scope") else {
            return Err(error(
                "invalid_request",
                "AADSTS900144",
                "The request body must contain: 'scope'",
            ));
        };
        let Some(audience) = scope.strip_suffix("/.default") else {
            return Err(error(
                "invalid_scope",
                "AADSTS1002012",
                "scope must end with /.default",
            ));
        };
        match (get("client_secret"), get("client_assertion")) {
            (Some(s), None) => {
                if self.secret.as_deref() != Some(s) {
                    return Err(error(
                        "invalid_client",
                        "AADSTS7000215",
                        "Invalid client secret provided",
                    ));
                }
                if self.secret_expired {
                    return Err(error(
                        "invalid_client",
                        "AADSTS7000222",
                        "The provided client secret keys for app are expired",
                    ));
                }
            }
            (None, Some(jwt)) => {
                if get("client_assertion_type")
                    != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
                {
                    return Err(error(
                        "invalid_request",
                        "AADSTS50027",
                        "bad client_assertion_type",
                    ));
                }
                self.verify_assertion(jwt, token_url)
                    .map_err(|why| error("invalid_client", "AADSTS700027", &why))?;
            }
            _ => {
                return Err(error(
                    "invalid_client",
                    "AADSTS7000218",
                    "The request body must contain 'client_assertion' or 'client_secret'",
                ));
            }
        }
        let token = format!("fake-{}", random_hex());
        self.tokens
            .lock()
            .map_err(|_| error("temporarily_unavailable", "AADSTS90033", "lock"))?
            .insert(
                token.clone(),
                Issued {
                    audience: audience.to_string(),
                    expires: Instant::now() + self.lifetime,
                    generation: self.generation.load(Ordering::SeqCst),
                },
            );
        Ok(
            json!({"token_type": "Bearer", "expires_in": self.lifetime.as_secs(),
                  "ext_expires_in": self.lifetime.as_secs(), "access_token": token}),
        )
    }

    fn verify_assertion(&self, jwt: &str, token_url: &str) -> Result<(), String> {
        let cert = self.cert.as_ref().ok_or("no certificate is registered")?;
        let mut parts = jwt.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("client assertion is not a JWS".into());
        };
        let decode = |x: &str| B64URL.decode(x).map_err(|e| format!("base64url: {e}"));
        let header: Value = serde_json::from_slice(&decode(h)?).map_err(|e| e.to_string())?;
        let claims: Value = serde_json::from_slice(&decode(p)?).map_err(|e| e.to_string())?;
        if header["alg"] != "PS256" {
            return Err(format!("alg {} is not PS256", header["alg"]));
        }
        if header["x5t#S256"] != cert.thumbprint_s256.as_str() {
            return Err("x5t#S256 names a certificate not registered on the app".into());
        }
        UnparsedPublicKey::new(&RSA_PSS_2048_8192_SHA256, &cert.public_key)
            .verify(format!("{h}.{p}").as_bytes(), &decode(s)?)
            .map_err(|_| "signature does not verify".to_string())?;
        if claims["aud"] != token_url {
            return Err(format!("aud {} is not {token_url}", claims["aud"]));
        }
        if claims["iss"] != self.client_id.as_str() || claims["sub"] != self.client_id.as_str() {
            return Err("iss and sub must be the client id".into());
        }
        let now = chrono::Utc::now().timestamp();
        let (Some(nbf), Some(exp)) = (claims["nbf"].as_i64(), claims["exp"].as_i64()) else {
            return Err("nbf and exp are required".into());
        };
        if nbf > now + 300 || exp < now || exp - nbf > 3600 {
            return Err("assertion is not valid now".into());
        }
        let jti = claims["jti"].as_str().ok_or("jti is required")?;
        if !self
            .seen_jti
            .lock()
            .map_err(|_| "lock")?
            .insert(jti.to_string())
        {
            return Err("assertion replayed (jti seen before)".into());
        }
        Ok(())
    }

    /// Checks a bearer token for an audience; `api_requests` drives the one-time revocation.
    pub fn check(
        &self,
        authorization: Option<&str>,
        audience_ok: impl Fn(&str) -> bool,
        api_requests: u64,
    ) -> Result<(), &'static str> {
        if let Some(n) = self.revoke_after
            && api_requests >= n
            && !self.revoked.swap(true, Ordering::SeqCst)
        {
            self.generation.fetch_add(1, Ordering::SeqCst);
        }
        let token = authorization
            .and_then(|h| h.strip_prefix("Bearer "))
            .ok_or("InvalidAuthenticationToken: Access token is empty.")?;
        let tokens = self.tokens.lock().map_err(|_| "lock")?;
        let issued = tokens
            .get(token)
            .ok_or("InvalidAuthenticationToken: Access token validation failure.")?;
        if issued.expires < Instant::now()
            || issued.generation < self.generation.load(Ordering::SeqCst)
        {
            return Err(
                "InvalidAuthenticationToken: Lifetime validation failed, the token is expired.",
            );
        }
        if !audience_ok(&issued.audience) {
            return Err("InvalidAuthenticationToken: Invalid audience.");
        }
        Ok(())
    }
}

fn random_hex() -> String {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 24];
    let _ = ring::rand::SystemRandom::new().fill(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}
