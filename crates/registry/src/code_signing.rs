//! Code signing configurations: Create/Get/Update/Delete/ListCodeSigningConfig(s),
//! ListFunctionsByCodeSigningConfig, and a function's Get/Put/DeleteFunctionCodeSigningConfig.
//! Stored and echoed as Lambda has them; lambkin checks no signatures (its code is wasm it
//! compiles itself), which the README says. Stored at `code-signing-configs/<id>.json`.

use object_store::path::Path as StorePath;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::functions::paginate;
use super::{Registry, now_timestamp};
use crate::RegistryError;

/// Lambda's limits on a configuration's signing profiles and description.
const MAX_SIGNING_PROFILES: usize = 20;
const MAX_DESCRIPTION_CHARS: usize = 256;

/// A configuration as the API shows it (`CodeSigningConfig`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CodeSigningConfig {
    pub code_signing_config_id: String,
    pub code_signing_config_arn: String,
    pub description: String,
    pub allowed_publishers: AllowedPublishers,
    pub code_signing_policies: CodeSigningPolicies,
    pub last_modified: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AllowedPublishers {
    #[serde(default)]
    pub signing_profile_version_arns: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CodeSigningPolicies {
    pub untrusted_artifact_on_deployment: String,
}

impl Default for CodeSigningPolicies {
    fn default() -> Self {
        CodeSigningPolicies {
            untrusted_artifact_on_deployment: "Warn".into(),
        }
    }
}

/// A configuration as stored: what the API shows, and its tags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct StoredCodeSigningConfig {
    #[serde(flatten)]
    pub config: CodeSigningConfig,
    #[serde(default, rename = "Tags", skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// CreateCodeSigningConfig's and UpdateCodeSigningConfig's body.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CodeSigningConfigInput {
    pub description: Option<String>,
    pub allowed_publishers: Option<AllowedPublishers>,
    pub code_signing_policies: Option<CodeSigningPolicies>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

fn invalid(message: String) -> RegistryError {
    RegistryError::Invalid(message)
}

fn check_input(input: &CodeSigningConfigInput) -> Result<(), RegistryError> {
    if let Some(description) = &input.description
        && description.chars().count() > MAX_DESCRIPTION_CHARS
    {
        return Err(invalid(format!(
            "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to {MAX_DESCRIPTION_CHARS}"
        )));
    }
    if let Some(publishers) = &input.allowed_publishers {
        let arns = &publishers.signing_profile_version_arns;
        if arns.is_empty() || arns.len() > MAX_SIGNING_PROFILES {
            return Err(invalid(format!(
                "1 validation error detected: Value at 'allowedPublishers.signingProfileVersionArns' failed to satisfy constraint: Member must have length between 1 and {MAX_SIGNING_PROFILES}"
            )));
        }
        if let Some(bad) = arns.iter().find(|arn| !arn.starts_with("arn:")) {
            return Err(invalid(format!(
                "1 validation error detected: Value '{bad}' at 'allowedPublishers.signingProfileVersionArns' failed to satisfy constraint: Member must be an ARN"
            )));
        }
    }
    if let Some(policies) = &input.code_signing_policies {
        let policy = &policies.untrusted_artifact_on_deployment;
        if policy != "Warn" && policy != "Enforce" {
            return Err(invalid(format!(
                "1 validation error detected: Value '{policy}' at 'codeSigningPolicies.untrustedArtifactOnDeployment' failed to satisfy constraint: Member must satisfy enum value set: [Warn, Enforce]"
            )));
        }
    }
    crate::tags::check(&input.tags, &BTreeMap::new())
}

/// A new configuration id: `csc-` and 17 lowercase hex digits, as Lambda's.
fn new_id() -> String {
    let hex = uuid::Uuid::new_v4().simple().to_string();
    format!("csc-{}", &hex[..17])
}

impl Registry {
    /// The id a configuration's ARN (of this region and account) names, checked against the
    /// model's pattern.
    pub(crate) fn code_signing_config_id(&self, arn: &str) -> Result<String, RegistryError> {
        let prefix = format!(
            "arn:aws:lambda:{}:{}:code-signing-config:",
            self.region(),
            self.account_id()
        );
        let id = arn.strip_prefix(&prefix).filter(|id| {
            id.strip_prefix("csc-").is_some_and(|rest| {
                rest.len() == 17 && rest.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            })
        });
        id.map(str::to_string).ok_or_else(|| {
            invalid(format!(
                "1 validation error detected: Value '{arn}' at 'codeSigningConfigArn' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:lambda:[a-z]{{2}}((-gov)|(-iso(b?)))?-[a-z]+-\\d{{1}}:\\d{{12}}:code-signing-config:csc-[a-z0-9]{{17}}"
            ))
        })
    }

    fn csc_not_found(&self, arn: &str) -> RegistryError {
        RegistryError::NotFound(format!(
            "The resource you requested does not exist. Code signing config {arn} not found"
        ))
    }

    pub(crate) fn stored_csc(&self, arn: &str) -> Result<StoredCodeSigningConfig, RegistryError> {
        let id = self.code_signing_config_id(arn)?;
        self.read()
            .code_signing_configs
            .get(&id)
            .cloned()
            .ok_or_else(|| self.csc_not_found(arn))
    }

    /// Stores `config` (or, with `None`, deletes `id`), then makes it visible.
    pub(crate) async fn put_csc(
        &self,
        id: &str,
        config: Option<StoredCodeSigningConfig>,
    ) -> Result<(), RegistryError> {
        let key = StorePath::from(format!("code-signing-configs/{id}.json"));
        self.put_document(&key, config.as_ref()).await?;
        let mut state = self.write();
        match config {
            Some(config) => state.code_signing_configs.insert(id.to_string(), config),
            None => state.code_signing_configs.remove(id),
        };
        Ok(())
    }

    /// CreateCodeSigningConfig.
    pub async fn create_code_signing_config(
        &self,
        input: CodeSigningConfigInput,
    ) -> Result<CodeSigningConfig, RegistryError> {
        check_input(&input)?;
        let Some(allowed_publishers) = input.allowed_publishers else {
            return Err(invalid(
                "1 validation error detected: Value null at 'allowedPublishers' failed to satisfy constraint: Member must not be null".into(),
            ));
        };
        let id = new_id();
        let config = CodeSigningConfig {
            code_signing_config_arn: format!(
                "arn:aws:lambda:{}:{}:code-signing-config:{id}",
                self.region(),
                self.account_id()
            ),
            code_signing_config_id: id.clone(),
            description: input.description.unwrap_or_default(),
            allowed_publishers,
            code_signing_policies: input.code_signing_policies.unwrap_or_default(),
            last_modified: now_timestamp(),
        };
        let _writer = self.csc_writer.lock().await;
        let stored = StoredCodeSigningConfig {
            config: config.clone(),
            tags: input.tags,
        };
        self.put_csc(&id, Some(stored)).await?;
        Ok(config)
    }

    /// GetCodeSigningConfig.
    pub fn get_code_signing_config(&self, arn: &str) -> Result<CodeSigningConfig, RegistryError> {
        Ok(self.stored_csc(arn)?.config)
    }

    /// UpdateCodeSigningConfig: what the input names changes; tags are TagResource's.
    pub async fn update_code_signing_config(
        &self,
        arn: &str,
        input: CodeSigningConfigInput,
    ) -> Result<CodeSigningConfig, RegistryError> {
        check_input(&input)?;
        let _writer = self.csc_writer.lock().await;
        let mut stored = self.stored_csc(arn)?;
        let config = &mut stored.config;
        if let Some(description) = input.description {
            config.description = description;
        }
        if let Some(publishers) = input.allowed_publishers {
            config.allowed_publishers = publishers;
        }
        if let Some(policies) = input.code_signing_policies {
            config.code_signing_policies = policies;
        }
        config.last_modified = now_timestamp();
        let config = config.clone();
        self.put_csc(&config.code_signing_config_id, Some(stored)).await?;
        Ok(config)
    }

    /// DeleteCodeSigningConfig: refused while a function uses it, as Lambda's.
    pub async fn delete_code_signing_config(&self, arn: &str) -> Result<(), RegistryError> {
        let _writer = self.csc_writer.lock().await;
        let stored = self.stored_csc(arn)?;
        if !self.functions_using_csc(arn).is_empty() {
            return Err(RegistryError::Conflict(format!(
                "The code signing config {arn} is attached to one or more functions; detach it first"
            )));
        }
        self.put_csc(&stored.config.code_signing_config_id, None).await
    }

    /// ListCodeSigningConfigs.
    pub fn list_code_signing_configs(
        &self,
        marker: Option<&str>,
        max_items: usize,
    ) -> (Vec<CodeSigningConfig>, Option<String>) {
        let configs = self
            .read()
            .code_signing_configs
            .values()
            .map(|stored| stored.config.clone())
            .collect();
        paginate(configs, marker, max_items)
    }

    fn functions_using_csc(&self, arn: &str) -> Vec<String> {
        let state = self.read();
        state
            .functions
            .iter()
            .filter(|(_, record)| record.code_signing_config_arn.as_deref() == Some(arn))
            .map(|(name, _)| self.function_arn(name))
            .collect()
    }

    /// ListFunctionsByCodeSigningConfig: the unqualified ARNs of the functions using it.
    pub fn list_functions_by_code_signing_config(
        &self,
        arn: &str,
        marker: Option<&str>,
        max_items: usize,
    ) -> Result<(Vec<String>, Option<String>), RegistryError> {
        self.stored_csc(arn)?;
        Ok(paginate(self.functions_using_csc(arn), marker, max_items))
    }

    /// GetFunctionCodeSigningConfig: the ARN, if one is set.
    pub fn code_signing_config(&self, name: &str) -> Result<Option<String>, RegistryError> {
        let state = self.read();
        Ok(self
            .record(&state.functions, name)?
            .code_signing_config_arn
            .clone())
    }

    /// The configuration a function is to use exists (CodeSigningConfigNotFoundException
    /// otherwise); the guard returned keeps a DeleteCodeSigningConfig from passing its in-use
    /// check until the function's record is stored.
    pub(crate) async fn code_signing_config_in_use(
        &self,
        arn: &str,
    ) -> Result<tokio::sync::MutexGuard<'_, ()>, RegistryError> {
        let writer = self.csc_writer.lock().await;
        self.stored_csc(arn).map_err(|e| match e {
            RegistryError::NotFound(m) => RegistryError::CodeSigningConfigNotFound(m),
            e => e,
        })?;
        Ok(writer)
    }

    /// PutFunctionCodeSigningConfig (or, with `None`, Delete): the configuration must exist
    /// (CodeSigningConfigNotFoundException otherwise).
    pub async fn set_code_signing_config(
        &self,
        name: &str,
        arn: Option<String>,
    ) -> Result<(), RegistryError> {
        let _writer = match &arn {
            Some(arn) => self.code_signing_config_in_use(arn).await?,
            None => self.csc_writer.lock().await,
        };
        self.change(name, |record| {
            record.code_signing_config_arn = arn;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_as_lambdas() {
        let id = new_id();
        assert_eq!(id.len(), 21, "{id}");
        assert!(id.starts_with("csc-"));
        assert!(
            id[4..]
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
    }

    #[test]
    fn inputs_are_checked_against_the_model() {
        let publishers = |arns: &[&str]| {
            Some(AllowedPublishers {
                signing_profile_version_arns: arns.iter().map(|a| a.to_string()).collect(),
            })
        };
        let profile = "arn:aws:signer:us-east-1:123456789012:/signing-profiles/p/abc";
        let good = CodeSigningConfigInput {
            allowed_publishers: publishers(&[profile]),
            ..CodeSigningConfigInput::default()
        };
        assert!(check_input(&good).is_ok());
        let none = CodeSigningConfigInput {
            allowed_publishers: publishers(&[]),
            ..CodeSigningConfigInput::default()
        };
        assert!(check_input(&none).is_err());
        let not_an_arn = CodeSigningConfigInput {
            allowed_publishers: publishers(&["profile"]),
            ..CodeSigningConfigInput::default()
        };
        assert!(check_input(&not_an_arn).is_err());
        let bad_policy = CodeSigningConfigInput {
            code_signing_policies: Some(CodeSigningPolicies {
                untrusted_artifact_on_deployment: "Ignore".into(),
            }),
            ..CodeSigningConfigInput::default()
        };
        assert!(check_input(&bad_policy).is_err());
    }
}
