//! Who may call the API: AWS Signature Version 4, verified against the access keys lambkin was
//! given, the way the AWS CLI and SDKs sign (Authorization header or presigned query, payload
//! hash, 15-minute clock skew). The canonical request and string to sign are
//! scratchstack-aws-signature's; the signing key is derived here, so any secret works.
//!
//! With no keys configured lambkin is anonymous: it accepts any request, and [`check_exposure`]
//! keeps such a server on loopback unless the operator says otherwise.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::Uri;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta, Utc};
use hmac::{Hmac, Mac};
use scratchstack_aws_signature::canonical::CanonicalRequest;
use scratchstack_aws_signature::{NO_ADDITIONAL_SIGNED_HEADERS, SignatureError, SignatureOptions};
use sha2::Sha256;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use crate::ApiError;
use crate::server::AppState;

/// The service in the credential scope of Lambda requests (function URLs' too).
const SERVICE: &str = "lambda";
/// The service in the credential scope of CloudWatch Logs requests.
const LOGS_SERVICE: &str = "logs";
/// How far a signature's timestamp may be from the server's clock, either way (AWS: 15 minutes).
const CLOCK_SKEW_MINUTES: i64 = 15;
/// Longest life of a presigned request (AWS: 7 days).
const MAX_PRESIGNED_SECONDS: i64 = 7 * 24 * 3600;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("reading {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{0}")]
    Invalid(String),
}

/// The access keys lambkin accepts, each with its secret access key.
#[derive(Clone, Default)]
pub struct Credentials {
    keys: HashMap<String, String>,
}

impl std::fmt::Debug for Credentials {
    /// Names the access keys, never the secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_keys", &self.keys.keys())
            .finish()
    }
}

impl Credentials {
    /// The keys of `--credentials-file` (an AWS shared credentials file: every profile with
    /// `aws_access_key_id` and `aws_secret_access_key`) plus `LAMBKIN_ACCESS_KEY_ID` /
    /// `LAMBKIN_SECRET_ACCESS_KEY`.
    pub fn load(
        file: Option<&Path>,
        access_key_id: Option<&str>,
        secret_access_key: Option<&str>,
    ) -> Result<Self, CredentialsError> {
        let mut credentials = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| CredentialsError::Read {
                    path: path.display().to_string(),
                    source,
                })?;
                Self::from_shared_file(&text)
                    .map_err(|e| CredentialsError::Invalid(format!("{}: {e}", path.display())))?
            }
            None => Credentials::default(),
        };
        match (access_key_id, secret_access_key) {
            (Some(id), Some(secret)) => credentials.add(id, secret)?,
            (None, None) => {}
            _ => {
                return Err(CredentialsError::Invalid(
                    "LAMBKIN_ACCESS_KEY_ID and LAMBKIN_SECRET_ACCESS_KEY go together: give both or neither"
                        .into(),
                ));
            }
        }
        Ok(credentials)
    }

    /// Parses the INI text of an AWS shared credentials file.
    pub fn from_shared_file(text: &str) -> Result<Self, CredentialsError> {
        let mut credentials = Credentials::default();
        let mut profiles: Vec<(String, Option<String>, Option<String>)> = Vec::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                profiles.push((name.trim().to_string(), None, None));
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                return Err(CredentialsError::Invalid(format!(
                    "line {}: expected key = value",
                    number + 1
                )));
            };
            let Some(profile) = profiles.last_mut() else {
                return Err(CredentialsError::Invalid(format!(
                    "line {}: a setting before any [profile]",
                    number + 1
                )));
            };
            match key.trim() {
                "aws_access_key_id" => profile.1 = Some(value.trim().to_string()),
                "aws_secret_access_key" => profile.2 = Some(value.trim().to_string()),
                _ => {}
            }
        }
        for (name, id, secret) in profiles {
            match (id, secret) {
                (Some(id), Some(secret)) => credentials.add(&id, &secret)?,
                (None, None) => {}
                _ => {
                    return Err(CredentialsError::Invalid(format!(
                        "profile [{name}] needs both aws_access_key_id and aws_secret_access_key"
                    )));
                }
            }
        }
        Ok(credentials)
    }

    pub fn add(&mut self, access_key_id: &str, secret_access_key: &str) -> Result<(), CredentialsError> {
        if access_key_id.is_empty() || !access_key_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(CredentialsError::Invalid(format!(
                "access key id {access_key_id:?} must be letters and digits"
            )));
        }
        if secret_access_key.is_empty() {
            return Err(CredentialsError::Invalid(format!(
                "the secret access key of {access_key_id} is empty (any other string will do: AWS issues 40 characters; LocalStack's habit, `test`, works too)"
            )));
        }
        self.keys
            .insert(access_key_id.to_string(), secret_access_key.to_string());
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// Secure defaults: an anonymous server answers only on loopback, unless `--allow-anonymous`.
pub fn check_exposure(
    listen: SocketAddr,
    credentials: &Credentials,
    allow_anonymous: bool,
) -> Result<(), String> {
    if !credentials.is_empty() || allow_anonymous || listen.ip().is_loopback() {
        return Ok(());
    }
    Err(format!(
        "refusing to serve on {listen} without credentials: anyone who can reach it could deploy and run \
         code. Give --credentials-file or LAMBKIN_ACCESS_KEY_ID and LAMBKIN_SECRET_ACCESS_KEY, listen on a \
         loopback address, or pass --allow-anonymous to accept unsigned requests from anywhere"
    ))
}

/// Verifies SigV4 signatures against the configured keys.
pub struct Authenticator {
    /// Access key id → secret access key.
    keys: Arc<HashMap<String, String>>,
    /// The region signatures must be scoped to: the server's.
    region: String,
}

impl Authenticator {
    /// `None` when there are no keys: the server is anonymous.
    pub fn new(credentials: &Credentials, region: &str) -> Option<Self> {
        if credentials.is_empty() {
            return None;
        }
        Some(Authenticator {
            keys: Arc::new(credentials.keys.clone()),
            region: region.to_string(),
        })
    }

    /// Reads the body (at most `body_limit` bytes: it is part of the signature), checks the
    /// signature, and hands back the request as it came.
    pub async fn verify(&self, request: Request, body_limit: usize) -> Result<Request, ApiError> {
        let (parts, body) = request.into_parts();
        let body = axum::body::to_bytes(body, body_limit).await.map_err(|_| {
            ApiError::RequestEntityTooLarge(format!(
                "Request must be smaller than {body_limit} bytes for the operation"
            ))
        })?;
        let mut signed = axum::http::Request::new(body.clone());
        *signed.method_mut() = parts.method.clone();
        *signed.uri_mut() = as_signed(&parts.uri)?;
        *signed.headers_mut() = parts.headers.clone();
        let now = Utc::now();
        let service = if crate::logs::is_logs_request(&parts.headers) {
            LOGS_SERVICE
        } else {
            SERVICE
        };
        match Presigned::of(&parts) {
            Some(presigned) => self.verify_presigned(presigned, signed, now)?,
            None => self.verify_header(signed, now, service).await?,
        }
        Ok(Request::from_parts(parts, Body::from(body)))
    }

    /// The Authorization header form: the verifier's canonical request, checks of the
    /// credential scope and the clock, and string to sign; the signing key is derived here, so
    /// that a secret of any length works.
    async fn verify_header(
        &self,
        signed: axum::http::Request<Bytes>,
        now: DateTime<Utc>,
        service: &str,
    ) -> Result<(), ApiError> {
        let refuse = |e: SignatureError| refusal(Box::new(e));
        let (parts, body) = signed.into_parts();
        let (canonical, _, _) =
            CanonicalRequest::from_request_parts(parts, body, SignatureOptions::default()).map_err(refuse)?;
        let authenticator = canonical
            .get_authenticator(&NO_ADDITIONAL_SIGNED_HEADERS)
            .map_err(refuse)?;
        authenticator
            .prevalidate(&self.region, service, now, TimeDelta::minutes(CLOCK_SKEW_MINUTES))
            .map_err(refuse)?;
        let access_key = authenticator.credential().split('/').next().unwrap_or_default();
        let Some(secret) = self.keys.get(access_key) else {
            return Err(refuse(SignatureError::InvalidClientTokenId(String::new())));
        };
        let day = authenticator.request_timestamp().date_naive();
        let key = signing_key(secret, day, &self.region, service);
        check_signature(
            &key,
            &authenticator.get_string_to_sign(),
            authenticator.signature(),
        )
    }

    /// The presigned query form. The verifier reads `X-Amz-Credential` without decoding it
    /// (`%2F` stays, so no real credential has its five parts), so the parameters are checked
    /// here and only the canonical request is the verifier's.
    fn verify_presigned(
        &self,
        presigned: Presigned,
        signed: axum::http::Request<Bytes>,
        now: DateTime<Utc>,
    ) -> Result<(), ApiError> {
        let invalid = |message: String| ApiError::NotAuthenticated("InvalidSignatureException", message);
        if presigned.algorithm != "AWS4-HMAC-SHA256" {
            return Err(refusal(Box::new(SignatureError::MissingAuthenticationToken(
                String::new(),
            ))));
        }
        let scope: Vec<&str> = presigned.credential.split('/').collect();
        let [access_key, day, region, service, terminator] = scope[..] else {
            return Err(ApiError::NotAuthenticated(
                "IncompleteSignatureException",
                format!(
                    "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, \
                     got '{}'",
                    presigned.credential
                ),
            ));
        };
        if region != self.region || service != SERVICE || terminator != "aws4_request" {
            return Err(invalid(format!(
                "Credential should be scoped to {}/{SERVICE}/aws4_request, not '{region}/{service}/{terminator}'",
                self.region
            )));
        }
        let Some(secret) = self.keys.get(access_key) else {
            return Err(refusal(Box::new(SignatureError::InvalidClientTokenId(
                String::new(),
            ))));
        };
        let signed_at = parse_amz_date(&presigned.date)?;
        let scope_day = chrono::NaiveDate::parse_from_str(day, "%Y%m%d")
            .ok()
            .filter(|d| *d == signed_at.date_naive())
            .ok_or_else(|| {
                invalid(format!(
                    "Date in Credential scope does not match YYYYMMDD from X-Amz-Date: {day}"
                ))
            })?;
        check_presigned_window(signed_at, presigned.expires.as_deref(), now)?;
        let mut headers: Vec<String> = presigned
            .signed_headers
            .split(';')
            .map(str::to_ascii_lowercase)
            .collect();
        headers.sort();
        if !headers.iter().any(|h| h == "host") {
            return Err(invalid(
                "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.".into(),
            ));
        }
        let (parts, body) = signed.into_parts();
        let (canonical, _, _) =
            CanonicalRequest::from_request_parts(parts, body, SignatureOptions::default())
                .map_err(|e| refusal(Box::new(e)))?;
        let string_to_sign = format!(
            "AWS4-HMAC-SHA256\n{}\n{day}/{region}/{service}/aws4_request\n{}",
            presigned.date,
            hex::encode(canonical.canonical_request_sha256(&headers))
        );
        let key = signing_key(secret, scope_day, region, service);
        check_signature(&key, string_to_sign.as_bytes(), &presigned.signature)
    }
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length (longer ones are hashed first, RFC 2104).
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// SigV4's signing key: the HMAC chain from "AWS4" + the secret over the day, region, service
/// and "aws4_request".
fn signing_key(secret: &str, day: NaiveDate, region: &str, service: &str) -> [u8; 32] {
    let day = day.format("%Y%m%d").to_string();
    let mut key = hmac_sha256(format!("AWS4{secret}").as_bytes(), day.as_bytes());
    for part in [region, service, "aws4_request"] {
        key = hmac_sha256(&key, part.as_bytes());
    }
    key
}

/// Whether `claimed` (hex) is the signature of `string_to_sign` under `key`, compared in
/// constant time.
fn check_signature(key: &[u8; 32], string_to_sign: &[u8], claimed: &str) -> Result<(), ApiError> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(string_to_sign);
    let claimed = hex::decode(claimed).unwrap_or_default();
    mac.verify_slice(&claimed)
        .map_err(|_| refusal(Box::new(SignatureError::SignatureDoesNotMatch(None))))
}

/// The SigV4 parameters of a presigned request's query string (missing ones empty: they then
/// fail the checks in AWS's words).
struct Presigned {
    algorithm: String,
    credential: String,
    signature: String,
    signed_headers: String,
    date: String,
    expires: Option<String>,
}

impl Presigned {
    /// `None` unless the request is presigned: `X-Amz-Algorithm` in the query and no
    /// Authorization header (with both, the verifier refuses the request).
    fn of(parts: &axum::http::request::Parts) -> Option<Presigned> {
        if parts.headers.contains_key(axum::http::header::AUTHORIZATION) {
            return None;
        }
        let mut found: HashMap<String, String> = HashMap::new();
        for (key, value) in form_urlencoded::parse(parts.uri.query()?.as_bytes()) {
            if key.starts_with("X-Amz-") {
                // The first value of each, as AWS reads them.
                found
                    .entry(key.into_owned())
                    .or_insert_with(|| value.into_owned());
            }
        }
        let algorithm = found.remove("X-Amz-Algorithm")?;
        let mut take = |key: &str| found.remove(key).unwrap_or_default();
        Some(Presigned {
            algorithm,
            credential: take("X-Amz-Credential"),
            signature: take("X-Amz-Signature"),
            signed_headers: take("X-Amz-SignedHeaders"),
            date: take("X-Amz-Date"),
            expires: found.remove("X-Amz-Expires"),
        })
    }
}

fn parse_amz_date(text: &str) -> Result<DateTime<Utc>, ApiError> {
    NaiveDateTime::parse_from_str(text, "%Y%m%dT%H%M%SZ")
        .map(|t| t.and_utc())
        .map_err(|_| {
            ApiError::NotAuthenticated(
                "InvalidSignatureException",
                format!("Invalid X-Amz-Date: {text:?}"),
            )
        })
}

/// A presigned request is good from its `X-Amz-Date` (less the clock skew) until `X-Amz-Expires`
/// seconds after it (without one, 15 minutes either side, as a signed header).
fn check_presigned_window(
    signed_at: DateTime<Utc>,
    expires: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let skew = TimeDelta::minutes(CLOCK_SKEW_MINUTES);
    let lifetime = match expires {
        None => skew,
        Some(text) => text
            .parse()
            .ok()
            .filter(|s| (1..=MAX_PRESIGNED_SECONDS).contains(s))
            .map(TimeDelta::seconds)
            .ok_or_else(|| {
                ApiError::NotAuthenticated(
                    "InvalidSignatureException",
                    format!("X-Amz-Expires must be a number of seconds from 1 to {MAX_PRESIGNED_SECONDS}"),
                )
            })?,
    };
    let stamp = |t: DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
    if now < signed_at - skew {
        return Err(ApiError::NotAuthenticated(
            "InvalidSignatureException",
            format!(
                "Signature not yet current: {} is still later than {}",
                stamp(signed_at),
                stamp(now + skew)
            ),
        ));
    }
    if now > signed_at + lifetime {
        return Err(ApiError::NotAuthenticated(
            "InvalidSignatureException",
            format!(
                "Signature expired: {} is now earlier than {}",
                stamp(signed_at + lifetime),
                stamp(now)
            ),
        ));
    }
    Ok(())
}

/// Middleware: every API request must be signed when the server has keys. `/health`, `/metrics`
/// (scrapers cannot sign; it holds names and counts, no function's data) and function URLs
/// (public or checked by their own AuthType) are let through.
pub async fn require_signature(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let Some(auth) = app.auth.as_ref() else {
        return next.run(request).await;
    };
    let path = request.uri().path();
    if path == "/health" || path == "/metrics" || path.starts_with("/lambda-url/") {
        return next.run(request).await;
    }
    match auth.verify(request, crate::server::MAX_BODY_BYTES).await {
        Ok(request) => next.run(request).await,
        Err(refused) => refused.into_response(),
    }
}

/// The URI as the client's signer saw it. AWS SDKs encode the path once to send it and once more
/// to sign it (every service but S3), so `%3A` on the wire is `%253A` in the canonical request;
/// the verifier normalises one level, so it is given the path with `%` escaped.
fn as_signed(uri: &Uri) -> Result<Uri, ApiError> {
    let path = uri.path().replace('%', "%25");
    let text = match uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path,
    };
    Uri::from_str(&text)
        .map_err(|_| ApiError::NotAuthenticated("InvalidSignatureException", "Malformed request URI".into()))
}

/// The verifier's error as Lambda answers it (403 and its error codes).
fn refusal(error: BoxError) -> ApiError {
    let error = match error.downcast::<SignatureError>() {
        Ok(error) => *error,
        Err(other) => return ApiError::Service(format!("verifying the signature: {other}")),
    };
    let (code, message) = match &error {
        SignatureError::InvalidClientTokenId(_) => (
            "UnrecognizedClientException",
            "The security token included in the request is invalid.".to_string(),
        ),
        SignatureError::MissingAuthenticationToken(_) => (
            "MissingAuthenticationTokenException",
            "Missing Authentication Token".to_string(),
        ),
        SignatureError::IncompleteSignature(_) => ("IncompleteSignatureException", error.to_string()),
        SignatureError::ExpiredToken(_) => ("ExpiredTokenException", error.to_string()),
        SignatureError::SignatureDoesNotMatch(None) => (
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. Check your AWS \
             Secret Access Key and signing method. Consult the service documentation for details."
                .to_string(),
        ),
        SignatureError::IO(_) | SignatureError::InternalServiceError(_) => {
            return ApiError::Service(format!("verifying the signature: {error}"));
        }
        _ => ("InvalidSignatureException", error.to_string()),
    };
    ApiError::NotAuthenticated(code, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_credentials_files_give_every_complete_profile() {
        let text = "# keys\n[default]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = \
                    wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\nregion = us-east-1\n\n[ci]\n\
                    aws_access_key_id=AKIDCI\naws_secret_access_key=0123456789012345678901234567890123456789\n[empty]\n";
        let credentials = Credentials::from_shared_file(text).expect("parses");
        assert_eq!(credentials.keys.len(), 2);
        assert_eq!(
            credentials.keys["AKIDCI"],
            "0123456789012345678901234567890123456789"
        );
        assert!(Credentials::default().add("AKID", "test").is_ok());
        assert!(Credentials::default().add("AKID", "").is_err());
        assert!(Credentials::default().add("AKID", &"x".repeat(200)).is_ok());
        assert!(Credentials::from_shared_file("[p]\naws_access_key_id = A\n").is_err());
        assert!(Credentials::from_shared_file("aws_access_key_id = A\n").is_err());
        assert!(Credentials::load(None, Some("AKID"), None).is_err());
    }

    /// The signing key of AWS's own example ("Examples of how to derive a signing key for
    /// Signature Version 4").
    #[test]
    fn the_signing_key_is_sigv4s() {
        let day = NaiveDate::from_ymd_opt(2012, 2, 15).expect("a date");
        let key = signing_key(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            day,
            "us-east-1",
            "iam",
        );
        assert_eq!(
            hex::encode(key),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
        // Any length: a short secret and one longer than HMAC's block give keys of their own.
        let short = signing_key("test", day, "us-east-1", "lambda");
        let long = signing_key(&"s".repeat(100), day, "us-east-1", "lambda");
        assert_ne!(short, long);
        assert_ne!(long, signing_key(&"s".repeat(101), day, "us-east-1", "lambda"));
    }

    #[test]
    fn anonymous_servers_stay_on_loopback_unless_told() {
        let anonymous = Credentials::default();
        let mut keyed = Credentials::default();
        keyed
            .add("AKID", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
            .expect("valid");
        let any: SocketAddr = "0.0.0.0:9001".parse().expect("address");
        let loopback: SocketAddr = "127.0.0.1:9001".parse().expect("address");
        let loopback6: SocketAddr = "[::1]:9001".parse().expect("address");
        assert!(check_exposure(any, &anonymous, false).is_err());
        assert!(check_exposure(any, &anonymous, true).is_ok());
        assert!(check_exposure(any, &keyed, false).is_ok());
        assert!(check_exposure(loopback, &anonymous, false).is_ok());
        assert!(check_exposure(loopback6, &anonymous, false).is_ok());
    }

    #[test]
    fn paths_are_escaped_once_more_for_the_verifier() {
        let uri = Uri::from_static(
            "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A0%3Afunction%3Af/invocations?Qualifier=1",
        );
        assert_eq!(
            as_signed(&uri).expect("valid").to_string(),
            "/2015-03-31/functions/arn%253Aaws%253Alambda%253Aus-east-1%253A0%253Afunction%253Af/invocations?Qualifier=1"
        );
    }

    #[test]
    fn presigned_requests_live_from_their_date_until_they_expire() {
        let now = parse_amz_date("20261123T120000Z").expect("date");
        let at = |text: &str| parse_amz_date(text).expect("date");
        // Signed an hour ago for two hours: good; for one second less than an hour: expired.
        assert!(check_presigned_window(at("20261123T110000Z"), Some("7200"), now).is_ok());
        assert!(check_presigned_window(at("20261123T110000Z"), Some("3599"), now).is_err());
        // Signed ten minutes in the future (a fast clock): good; twenty: not yet current.
        assert!(check_presigned_window(at("20261123T121000Z"), Some("60"), now).is_ok());
        assert!(check_presigned_window(at("20261123T122000Z"), Some("60"), now).is_err());
        // Without X-Amz-Expires, the header form's 15 minutes; nonsense expiries are refused.
        assert!(check_presigned_window(at("20261123T114600Z"), None, now).is_ok());
        assert!(check_presigned_window(at("20261123T114400Z"), None, now).is_err());
        for bad in ["0", "-5", "604801", "soon"] {
            assert!(
                check_presigned_window(at("20261123T115959Z"), Some(bad), now).is_err(),
                "{bad}"
            );
        }
        assert!(parse_amz_date("yesterday").is_err());
    }
}
