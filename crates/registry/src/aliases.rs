//! Aliases: CreateAlias, GetAlias, UpdateAlias, DeleteAlias, ListAliases, and the checks of an
//! alias's target and weighted routing ("Lambda function aliases").

use serde::Deserialize;

use super::functions::{check_revision, paginate};
use super::model::{AliasConfiguration, FunctionRecord, RoutingConfig};
use super::{Registry, new_revision, validate};
use crate::RegistryError;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AliasInput {
    pub name: Option<String>,
    pub function_version: Option<String>,
    pub description: Option<String>,
    pub routing_config: Option<RoutingConfig>,
    pub revision_id: Option<String>,
}

fn invalid(message: impl Into<String>) -> RegistryError {
    RegistryError::Invalid(message.into())
}

/// CreateAlias's checks that need no state: a valid Name, a FunctionVersion, a valid
/// Description. Returns the three (the description defaulted to empty).
pub fn check_new_alias(input: &AliasInput) -> Result<(String, String, String), RegistryError> {
    let alias = input.name.clone().ok_or_else(|| invalid("Name is required"))?;
    validate::alias_name(&alias)?;
    let version = input
        .function_version
        .clone()
        .ok_or_else(|| invalid("FunctionVersion is required"))?;
    let description = input.description.clone().unwrap_or_default();
    validate::description(&description)?;
    Ok((alias, version, description))
}

/// UpdateAlias's changes to `config`, checked (RevisionId, Description); the target is checked
/// by [`check_routing`] after.
pub fn apply_alias_update(config: &mut AliasConfiguration, input: AliasInput) -> Result<(), RegistryError> {
    check_revision(input.revision_id.as_deref(), &config.revision_id)?;
    if let Some(version) = input.function_version {
        config.function_version = version;
    }
    if let Some(description) = input.description {
        validate::description(&description)?;
        config.description = description;
    }
    if let Some(routing) = input.routing_config {
        config.routing_config = Some(routing).filter(|r| !r.additional_version_weights.is_empty());
    }
    Ok(())
}

/// An alias's target and routing, given that `version` exists in `record`: a version ($LATEST or
/// a number) and at most one other published version with a weight in [0, 1].
/// `function_arn` is the unqualified ARN, for the messages.
pub fn check_routing(
    record: &FunctionRecord,
    function_arn: &str,
    version: &str,
    routing: Option<&RoutingConfig>,
) -> Result<(), RegistryError> {
    if version != "$LATEST" && !version.chars().all(|c| c.is_ascii_digit()) {
        return Err(invalid(format!(
            "An alias must point at a version ($LATEST or a number), not {version}"
        )));
    }
    let Some(weights) = routing
        .map(|r| &r.additional_version_weights)
        .filter(|w| !w.is_empty())
    else {
        return Ok(());
    };
    if weights.len() > 1 {
        return Err(invalid("RoutingConfig supports at most one additional version"));
    }
    if version == "$LATEST" {
        return Err(invalid(
            "$LATEST is not supported for an alias pointing to more than 1 version",
        ));
    }
    for (extra, weight) in weights {
        if extra == "$LATEST" {
            return Err(invalid(
                "$LATEST is not supported for an alias pointing to more than 1 version",
            ));
        }
        if extra == version {
            return Err(invalid(format!(
                "Alias's primary version {version} cannot also be its additional version"
            )));
        }
        let known = extra
            .parse::<u64>()
            .ok()
            .is_some_and(|n| record.versions.contains_key(&n));
        if !known {
            return Err(RegistryError::NotFound(format!(
                "Function not found: {function_arn}:{extra}"
            )));
        }
        if !(0.0..=1.0).contains(weight) {
            return Err(invalid(format!(
                "Invalid weight {weight}: weights are between 0.0 and 1.0"
            )));
        }
    }
    Ok(())
}

impl Registry {
    /// Checks an alias's target and routing against the function's versions.
    fn check_alias_target(
        &self,
        record: &FunctionRecord,
        name: &str,
        version: &str,
        routing: Option<&RoutingConfig>,
    ) -> Result<(), RegistryError> {
        self.resolve(record, name, Some(version)).map_err(|_| {
            RegistryError::NotFound(format!(
                "Function not found: {}:{version}",
                self.function_arn(name)
            ))
        })?;
        check_routing(record, &self.function_arn(name), version, routing)
    }

    pub async fn create_alias(
        &self,
        name: &str,
        input: AliasInput,
    ) -> Result<AliasConfiguration, RegistryError> {
        let (alias, version, description) = check_new_alias(&input)?;
        let _writer = self.writer(name).await;
        let mut record = self.stored(name)?;
        self.check_alias_target(&record, name, &version, input.routing_config.as_ref())?;
        if record.aliases.contains_key(&alias) {
            return Err(RegistryError::Conflict(format!(
                "Alias already exists: {}:{alias}",
                self.function_arn(name)
            )));
        }
        let config = AliasConfiguration {
            alias_arn: format!("{}:{alias}", self.function_arn(name)),
            name: alias.clone(),
            function_version: version,
            description,
            routing_config: input
                .routing_config
                .filter(|r| !r.additional_version_weights.is_empty()),
            revision_id: new_revision(),
        };
        record.aliases.insert(alias, config.clone());
        self.persist(&record).await?;
        self.commit(record);
        Ok(config)
    }

    pub async fn get_alias(&self, name: &str, alias: &str) -> Result<AliasConfiguration, RegistryError> {
        let state = self.read();
        let record = self.record(&state.functions, name)?;
        record
            .aliases
            .get(alias)
            .cloned()
            .ok_or_else(|| self.alias_not_found(name, alias))
    }

    fn alias_not_found(&self, name: &str, alias: &str) -> RegistryError {
        RegistryError::NotFound(format!("Alias not found: {}:{alias}", self.function_arn(name)))
    }

    pub async fn update_alias(
        &self,
        name: &str,
        alias: &str,
        input: AliasInput,
    ) -> Result<AliasConfiguration, RegistryError> {
        let _writer = self.writer(name).await;
        let mut record = self.stored(name)?;
        let mut config = record
            .aliases
            .get(alias)
            .cloned()
            .ok_or_else(|| self.alias_not_found(name, alias))?;
        apply_alias_update(&mut config, input)?;
        self.check_alias_target(
            &record,
            name,
            &config.function_version,
            config.routing_config.as_ref(),
        )?;
        config.revision_id = new_revision();
        record.aliases.insert(alias.to_string(), config.clone());
        self.persist(&record).await?;
        self.commit(record);
        Ok(config)
    }

    pub async fn delete_alias(&self, name: &str, alias: &str) -> Result<(), RegistryError> {
        let _writer = self.writer(name).await;
        let mut record = self.stored(name)?;
        if record.aliases.remove(alias).is_none() {
            // Lambda answers 204 for an alias that is already gone.
            return Ok(());
        }
        // The alias's URL and provisioned concurrency go with it.
        record.url_configs.remove(alias);
        record.provisioned.remove(alias);
        self.persist(&record).await?;
        self.commit(record);
        Ok(())
    }

    pub async fn list_aliases(
        &self,
        name: &str,
        function_version: Option<&str>,
        marker: Option<&str>,
        max_items: usize,
    ) -> Result<(Vec<AliasConfiguration>, Option<String>), RegistryError> {
        let state = self.read();
        let record = self.record(&state.functions, name)?;
        let all = record
            .aliases
            .values()
            .filter(|a| function_version.is_none_or(|v| a.function_version == v))
            .cloned()
            .collect();
        Ok(paginate(all, marker, max_items))
    }
}
