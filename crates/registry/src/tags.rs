//! TagResource, UntagResource and ListTags, and the `Tags` of CreateFunction and GetFunction.
//! Lambda tags functions (by their unqualified ARN) and code signing configurations; its limits:
//! 50 tags, keys of 1–128 and values of up to 256 characters, the `aws:` prefix reserved for AWS.

use std::collections::BTreeMap;

use super::Registry;
use crate::RegistryError;

pub const MAX_TAGS: usize = 50;

/// The tag whose value names the operator's egress profile a function's network goes through.
pub const EGRESS_TAG: &str = "lambkin:egress";
const MAX_KEY_CHARS: usize = 128;
const MAX_VALUE_CHARS: usize = 256;

fn invalid(message: String) -> RegistryError {
    RegistryError::Invalid(message)
}

/// Checks tags to add, alone and merged into `existing`.
pub fn check(
    tags: &BTreeMap<String, String>,
    existing: &BTreeMap<String, String>,
) -> Result<(), RegistryError> {
    for (key, value) in tags {
        let key_chars = key.chars().count();
        if key_chars == 0 || key_chars > MAX_KEY_CHARS {
            return Err(invalid(format!(
                "1 validation error detected: Value '{key}' at 'tags' failed to satisfy constraint: Member must have length between 1 and {MAX_KEY_CHARS} (a tag key)"
            )));
        }
        if value.chars().count() > MAX_VALUE_CHARS {
            return Err(invalid(format!(
                "1 validation error detected: the value of tag '{key}' failed to satisfy constraint: Member must have length less than or equal to {MAX_VALUE_CHARS}"
            )));
        }
        if key.to_ascii_lowercase().starts_with("aws:") {
            return Err(invalid(format!(
                "Tag keys starting with 'aws:' are reserved for AWS use: {key}"
            )));
        }
    }
    let total = existing
        .keys()
        .chain(tags.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    if total > MAX_TAGS {
        return Err(invalid(format!(
            "A resource holds at most {MAX_TAGS} tags; this request would leave {total}"
        )));
    }
    Ok(())
}

/// What a tagged ARN names.
enum Tagged {
    Function(String),
    CodeSigningConfig(String),
}

impl Registry {
    /// The resource an ARN names for tagging: an unqualified function or a code signing
    /// configuration, of this region and account.
    fn tagged(&self, arn: &str) -> Result<Tagged, RegistryError> {
        let base = format!("arn:aws:lambda:{}:{}:", self.region(), self.account_id());
        let rest = arn.strip_prefix(&base);
        if rest.is_some_and(|r| r.starts_with("code-signing-config:")) {
            return Ok(Tagged::CodeSigningConfig(arn.to_string()));
        }
        let name = rest.and_then(|r| r.strip_prefix("function:")).ok_or_else(|| {
            invalid(format!(
                "1 validation error detected: Value '{arn}' at 'resource' failed to satisfy constraint: Member must be the ARN of a function or a code signing config in {} of account {}",
                self.region(),
                self.account_id()
            ))
        })?;
        if name.contains(':') {
            return Err(invalid(format!(
                "Tags on function aliases and versions are not supported. Please specify a function ARN: {arn}"
            )));
        }
        Ok(Tagged::Function(name.to_string()))
    }

    /// Changes the tags of what `arn` names and stores it.
    async fn retag(
        &self,
        arn: &str,
        change: impl FnOnce(&mut BTreeMap<String, String>) -> Result<(), RegistryError>,
    ) -> Result<(), RegistryError> {
        match self.tagged(arn)? {
            Tagged::Function(name) => self.change(&name, |record| change(&mut record.tags)).await,
            Tagged::CodeSigningConfig(arn) => {
                let _writer = self.csc_writer.lock().await;
                let mut stored = self.stored_csc(&arn)?;
                change(&mut stored.tags)?;
                let id = stored.config.code_signing_config_id.clone();
                self.put_csc(&id, Some(stored)).await
            }
        }
    }

    pub async fn tag_resource(&self, arn: &str, tags: BTreeMap<String, String>) -> Result<(), RegistryError> {
        self.retag(arn, |existing| {
            check(&tags, existing)?;
            existing.extend(tags);
            Ok(())
        })
        .await
    }

    pub async fn untag_resource(&self, arn: &str, keys: &[String]) -> Result<(), RegistryError> {
        self.retag(arn, |existing| {
            for key in keys {
                existing.remove(key);
            }
            Ok(())
        })
        .await
    }

    pub fn list_tags(&self, arn: &str) -> Result<BTreeMap<String, String>, RegistryError> {
        match self.tagged(arn)? {
            Tagged::Function(name) => {
                let state = self.read();
                Ok(self.record(&state.functions, &name)?.tags.clone())
            }
            Tagged::CodeSigningConfig(arn) => Ok(self.stored_csc(&arn)?.tags),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn tags_are_checked_against_lambdas_limits() {
        let none = BTreeMap::new();
        assert!(check(&tags(&[("team", "core"), ("empty", "")]), &none).is_ok());
        assert!(check(&tags(&[("", "x")]), &none).is_err());
        assert!(check(&tags(&[("aws:owner", "x")]), &none).is_err());
        assert!(check(&tags(&[("AWS:owner", "x")]), &none).is_err());
        let long_key = "k".repeat(129);
        assert!(check(&tags(&[(long_key.as_str(), "x")]), &none).is_err());
        let long_value = "v".repeat(257);
        assert!(check(&tags(&[("k", long_value.as_str())]), &none).is_err());
        let fifty: BTreeMap<String, String> = (0..50).map(|i| (format!("k{i}"), String::new())).collect();
        assert!(check(&fifty, &none).is_ok());
        // Replacing an existing key does not count twice; a 51st key does.
        assert!(check(&tags(&[("k0", "new")]), &fifty).is_ok());
        assert!(check(&tags(&[("k50", "")]), &fifty).is_err());
    }
}
