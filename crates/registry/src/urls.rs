//! Create/Get/Update/Delete/ListFunctionUrlConfig(s): a function URL per `$LATEST` or alias,
//! with its AuthType, InvokeMode and Cors; and the lookup that serves a URL by its id.

use serde::Deserialize;

use super::functions::paginate;
use super::model::{AuthType, Cors, InvokeMode, UrlConfig};
use super::{Registry, iso_timestamp};
use crate::RegistryError;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UrlInput {
    pub auth_type: Option<String>,
    pub invoke_mode: Option<String>,
    pub cors: Option<Cors>,
}

/// What a request to a function URL invokes.
#[derive(Debug, Clone)]
pub struct UrlTarget {
    pub function: String,
    /// `$LATEST` or an alias.
    pub qualifier: String,
    pub config: UrlConfig,
}

const MAX_CORS_AGE: u32 = 86_400;

fn invalid(message: String) -> RegistryError {
    RegistryError::Invalid(message)
}

fn one_of(field: &str, value: &str, allowed: &[&str]) -> Result<(), RegistryError> {
    if allowed.contains(&value) {
        return Ok(());
    }
    Err(invalid(format!(
        "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
        allowed.join(", ")
    )))
}

pub fn check(input: &UrlInput) -> Result<(), RegistryError> {
    if let Some(auth) = &input.auth_type {
        one_of("authType", auth, AuthType::ALL)?;
    }
    if let Some(mode) = &input.invoke_mode {
        one_of("invokeMode", mode, InvokeMode::ALL)?;
    }
    let Some(cors) = &input.cors else {
        return Ok(());
    };
    if let Some(age) = cors.max_age {
        super::validate::in_range("cors.maxAge", age, (0, MAX_CORS_AGE))?;
    }
    for method in cors.allow_methods.iter().flatten() {
        let known = ["*", "GET", "PUT", "HEAD", "POST", "PATCH", "DELETE", "OPTIONS"];
        if !known.contains(&method.to_ascii_uppercase().as_str()) {
            return Err(invalid(format!(
                "1 validation error detected: Value '{method}' at 'cors.allowMethods' failed to satisfy constraint: Member must be an HTTP method or *"
            )));
        }
    }
    let lists = [
        &cors.allow_methods,
        &cors.allow_origins,
        &cors.allow_headers,
        &cors.expose_headers,
    ];
    if lists.iter().any(|l| l.as_ref().is_some_and(|l| l.len() > 100)) {
        return Err(invalid("Cors lists hold at most 100 entries".into()));
    }
    Ok(())
}

impl Registry {
    /// `$LATEST` or an alias of `name`: versions have no URLs.
    fn url_qualifier(&self, name: &str, qualifier: Option<&str>) -> Result<String, RegistryError> {
        let qualifier = qualifier.unwrap_or("$LATEST");
        if qualifier != "$LATEST" && qualifier.chars().all(|c| c.is_ascii_digit()) {
            return Err(invalid(format!(
                "Function URLs can be created for $LATEST or an alias, not for version {qualifier} of {name}"
            )));
        }
        Ok(qualifier.to_string())
    }

    fn no_url(&self, name: &str, qualifier: &str) -> RegistryError {
        RegistryError::NotFound(format!(
            "The resource you requested does not exist. (function URL of {}:{qualifier})",
            self.function_arn(name)
        ))
    }

    /// The ARN a URL config names: qualified for an alias.
    pub fn url_function_arn(&self, name: &str, qualifier: &str) -> String {
        match qualifier {
            "$LATEST" => self.function_arn(name),
            alias => format!("{}:{alias}", self.function_arn(name)),
        }
    }

    pub async fn create_url(
        &self,
        name: &str,
        qualifier: Option<&str>,
        input: UrlInput,
    ) -> Result<UrlConfig, RegistryError> {
        check(&input)?;
        let auth_type = input
            .auth_type
            .as_deref()
            .and_then(AuthType::parse)
            .ok_or_else(|| invalid("AuthType is required (NONE or AWS_IAM)".into()))?;
        let qualifier = self.url_qualifier(name, qualifier)?;
        let _writer = self.writer(name).await;
        let mut record = self.stored(name)?;
        self.resolve(&record, name, Some(&qualifier))?;
        if record.url_configs.contains_key(&qualifier) {
            return Err(RegistryError::Conflict(format!(
                "Failed to create function url config for [functionArn = {}]. Error message:  FunctionUrlConfig exists for this Lambda function",
                self.url_function_arn(name, &qualifier)
            )));
        }
        let now = iso_timestamp();
        let config = UrlConfig {
            url_id: uuid::Uuid::new_v4().simple().to_string(),
            auth_type,
            cors: input.cors,
            invoke_mode: input
                .invoke_mode
                .as_deref()
                .and_then(InvokeMode::parse)
                .unwrap_or(InvokeMode::Buffered),
            creation_time: now.clone(),
            last_modified_time: now,
        };
        record.url_configs.insert(qualifier.clone(), config.clone());
        self.persist(&record).await?;
        self.commit(record);
        self.write()
            .urls
            .insert(config.url_id.clone(), (name.to_string(), qualifier));
        Ok(config)
    }

    pub async fn get_url(&self, name: &str, qualifier: Option<&str>) -> Result<UrlConfig, RegistryError> {
        let qualifier = self.url_qualifier(name, qualifier)?;
        let state = self.read();
        let record = self.record(&state.functions, name)?;
        record
            .url_configs
            .get(&qualifier)
            .cloned()
            .ok_or_else(|| self.no_url(name, &qualifier))
    }

    pub async fn update_url(
        &self,
        name: &str,
        qualifier: Option<&str>,
        input: UrlInput,
    ) -> Result<UrlConfig, RegistryError> {
        check(&input)?;
        let qualifier = self.url_qualifier(name, qualifier)?;
        let _writer = self.writer(name).await;
        let mut record = self.stored(name)?;
        let config = record
            .url_configs
            .get_mut(&qualifier)
            .ok_or_else(|| self.no_url(name, &qualifier))?;
        // `check` refused any other value.
        if let Some(auth_type) = input.auth_type.as_deref().and_then(AuthType::parse) {
            config.auth_type = auth_type;
        }
        if let Some(mode) = input.invoke_mode.as_deref().and_then(InvokeMode::parse) {
            config.invoke_mode = mode;
        }
        if let Some(cors) = input.cors {
            config.cors = Some(cors);
        }
        config.last_modified_time = iso_timestamp();
        let config = config.clone();
        self.persist(&record).await?;
        self.commit(record);
        Ok(config)
    }

    pub async fn delete_url(&self, name: &str, qualifier: Option<&str>) -> Result<(), RegistryError> {
        let qualifier = self.url_qualifier(name, qualifier)?;
        let _writer = self.writer(name).await;
        let mut record = self.stored(name)?;
        let removed = record
            .url_configs
            .remove(&qualifier)
            .ok_or_else(|| self.no_url(name, &qualifier))?;
        self.persist(&record).await?;
        self.commit(record);
        self.write().urls.remove(&removed.url_id);
        Ok(())
    }

    pub async fn list_urls(
        &self,
        name: &str,
        marker: Option<&str>,
        max_items: usize,
    ) -> Result<(Vec<(String, UrlConfig)>, Option<String>), RegistryError> {
        let state = self.read();
        let record = self.record(&state.functions, name)?;
        let all = record
            .url_configs
            .iter()
            .map(|(q, c)| (q.clone(), c.clone()))
            .collect();
        Ok(paginate(all, marker, max_items))
    }

    /// The function URL with this id, if it (still) exists.
    pub async fn url_target(&self, url_id: &str) -> Option<UrlTarget> {
        let state = self.read();
        let (function, qualifier) = state.urls.get(url_id)?;
        let config = state
            .functions
            .get(function)?
            .url_configs
            .get(qualifier)
            .filter(|c| c.url_id == url_id)?;
        Some(UrlTarget {
            function: function.clone(),
            qualifier: qualifier.clone(),
            config: config.clone(),
        })
    }
}
