//! Put/Get/Update/Delete/ListFunctionEventInvokeConfig(s): how asynchronous invocations of a
//! function (or of one version or alias) are retried and where their outcome goes.

use serde::Deserialize;

use super::Registry;
use super::functions::paginate;
use super::model::{DestinationConfig, EventInvokeConfig};
use crate::RegistryError;

/// Lambda's bounds (seed "Asynchronous invocation").
pub const MAX_RETRY_ATTEMPTS: u32 = 2;
pub const EVENT_AGE_SECONDS: (u32, u32) = (60, 21600);

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventInvokeConfigInput {
    pub maximum_retry_attempts: Option<u32>,
    pub maximum_event_age_in_seconds: Option<u32>,
    pub destination_config: Option<DestinationConfig>,
}

fn invalid(message: String) -> RegistryError {
    RegistryError::Invalid(message)
}

/// A destination lambkin can deliver to: a Lambda function ARN, or an HTTP(S) webhook (lambkin's
/// stand-in for SQS, SNS and EventBridge targets).
fn check_destination(destination: &str) -> Result<(), RegistryError> {
    let webhook = destination.starts_with("http://") || destination.starts_with("https://");
    let function = destination.starts_with("arn:") && destination.split(':').nth(5) == Some("function");
    if destination.is_empty() || webhook || function {
        return Ok(());
    }
    // Not worded "The destination ARN ...": Terraform's provider retries that message for minutes
    // (it reads it as IAM still propagating), where this refusal is final.
    Err(invalid(format!(
        "lambkin cannot deliver to {destination}: destinations are Lambda function ARNs and HTTP(S) webhook URLs"
    )))
}

pub fn check(input: &EventInvokeConfigInput) -> Result<(), RegistryError> {
    if let Some(retries) = input.maximum_retry_attempts
        && retries > MAX_RETRY_ATTEMPTS
    {
        return Err(invalid(format!(
            "1 validation error detected: Value '{retries}' at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value less than or equal to {MAX_RETRY_ATTEMPTS}"
        )));
    }
    if let Some(age) = input.maximum_event_age_in_seconds {
        super::validate::in_range("maximumEventAgeInSeconds", age, EVENT_AGE_SECONDS)?;
    }
    if let Some(config) = &input.destination_config {
        for destination in [&config.on_success, &config.on_failure].into_iter().flatten() {
            check_destination(destination.destination.as_deref().unwrap_or(""))?;
        }
    }
    Ok(())
}

fn now_seconds() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| (d.as_millis() as f64) / 1000.0)
        .unwrap_or_default()
}

impl Registry {
    /// Put (replace) or, with `merge`, Update an event invoke config.
    pub async fn put_event_invoke_config(
        &self,
        name: &str,
        qualifier: Option<&str>,
        input: EventInvokeConfigInput,
        merge: bool,
    ) -> Result<EventInvokeConfig, RegistryError> {
        check(&input)?;
        let _writer = self.writer(name).await;
        let mut record = self.stored(name)?;
        let qualifier = qualifier.unwrap_or("$LATEST").to_string();
        self.resolve(&record, name, Some(&qualifier))?;
        let existing = record.event_invoke_configs.get(&qualifier);
        if merge && existing.is_none() {
            return Err(self.no_event_invoke_config(name, &qualifier));
        }
        let keep = |new: Option<u32>, old: Option<u32>| if merge { new.or(old) } else { new };
        let config = EventInvokeConfig {
            last_modified: now_seconds(),
            function_arn: format!("{}:{qualifier}", self.function_arn(name)),
            maximum_retry_attempts: keep(
                input.maximum_retry_attempts,
                existing.and_then(|c| c.maximum_retry_attempts),
            ),
            maximum_event_age_in_seconds: keep(
                input.maximum_event_age_in_seconds,
                existing.and_then(|c| c.maximum_event_age_in_seconds),
            ),
            destination_config: match (merge, input.destination_config) {
                (_, Some(new)) => Some(new),
                (true, None) => existing.and_then(|c| c.destination_config.clone()),
                (false, None) => None,
            },
        };
        record.event_invoke_configs.insert(qualifier, config.clone());
        self.persist(&record).await?;
        self.commit(record);
        Ok(config)
    }

    fn no_event_invoke_config(&self, name: &str, qualifier: &str) -> RegistryError {
        RegistryError::NotFound(format!(
            "The function {}:{qualifier} doesn't have an EventInvokeConfig",
            self.function_arn(name)
        ))
    }

    pub async fn get_event_invoke_config(
        &self,
        name: &str,
        qualifier: Option<&str>,
    ) -> Result<EventInvokeConfig, RegistryError> {
        let state = self.read();
        let record = self.record(&state.functions, name)?;
        let qualifier = qualifier.unwrap_or("$LATEST");
        record
            .event_invoke_configs
            .get(qualifier)
            .cloned()
            .ok_or_else(|| self.no_event_invoke_config(name, qualifier))
    }

    pub async fn delete_event_invoke_config(
        &self,
        name: &str,
        qualifier: Option<&str>,
    ) -> Result<(), RegistryError> {
        let _writer = self.writer(name).await;
        let mut record = self.stored(name)?;
        let qualifier = qualifier.unwrap_or("$LATEST");
        if record.event_invoke_configs.remove(qualifier).is_none() {
            return Err(self.no_event_invoke_config(name, qualifier));
        }
        self.persist(&record).await?;
        self.commit(record);
        Ok(())
    }

    pub async fn list_event_invoke_configs(
        &self,
        name: &str,
        marker: Option<&str>,
        max_items: usize,
    ) -> Result<(Vec<EventInvokeConfig>, Option<String>), RegistryError> {
        let state = self.read();
        let record = self.record(&state.functions, name)?;
        let all = record.event_invoke_configs.values().cloned().collect();
        Ok(paginate(all, marker, max_items))
    }
}

/// How asynchronous invocations of one qualifier are handled: its event-invoke config, with
/// Lambda's defaults where unset, and the function's reserved concurrency.
#[derive(Debug, Clone, PartialEq)]
pub struct AsyncPolicy {
    /// The qualified ARN the records name (`…:function:<name>:<qualifier or $LATEST>`).
    pub function_arn: String,
    pub maximum_retry_attempts: u32,
    pub maximum_event_age_seconds: u32,
    pub on_success: Option<String>,
    pub on_failure: Option<String>,
    pub reserved_concurrency: Option<u32>,
}

impl Registry {
    /// The policy for asynchronous invocations of `qualifier` (none: `$LATEST`).
    pub async fn async_policy(
        &self,
        name: &str,
        qualifier: Option<&str>,
    ) -> Result<AsyncPolicy, RegistryError> {
        let state = self.read();
        let record = self.record(&state.functions, name)?;
        let qualifier = qualifier.unwrap_or("$LATEST");
        self.resolve(record, name, Some(qualifier))?;
        let config = record.event_invoke_configs.get(qualifier);
        let destination = |pick: fn(&DestinationConfig) -> &Option<super::model::Destination>| {
            config
                .and_then(|c| c.destination_config.as_ref())
                .and_then(|d| pick(d).as_ref())
                .and_then(|d| d.destination.clone())
                .filter(|d| !d.is_empty())
        };
        Ok(AsyncPolicy {
            function_arn: format!("{}:{qualifier}", self.function_arn(name)),
            maximum_retry_attempts: config
                .and_then(|c| c.maximum_retry_attempts)
                .unwrap_or(MAX_RETRY_ATTEMPTS),
            maximum_event_age_seconds: config
                .and_then(|c| c.maximum_event_age_in_seconds)
                .unwrap_or(EVENT_AGE_SECONDS.1),
            on_success: destination(|d| &d.on_success),
            on_failure: destination(|d| &d.on_failure),
            reserved_concurrency: record.reserved_concurrency,
        })
    }
}
