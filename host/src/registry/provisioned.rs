//! Put/Get/Delete/ListProvisionedConcurrencyConfig(s) (seed 002): how many environments to keep
//! initialised for a published version or an alias. The registry keeps the request; the
//! invoker's environment pools allocate it and report its status.

use super::functions::paginate;
use super::model::ProvisionedConfig;
use super::settings::MIN_UNRESERVED;
use super::{Registry, iso_timestamp};
use crate::api::ApiError;

/// What a provisioned concurrency configuration asks for, for the invoker to allocate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionedTarget {
    pub function: String,
    pub qualifier: String,
    pub requested: u32,
}

fn invalid(message: String) -> ApiError {
    ApiError::InvalidParameterValue(message)
}

impl Registry {
    /// A version or alias of `name` that exists: `$LATEST` never gets provisioned concurrency.
    fn provisioned_qualifier<'a>(&self, qualifier: Option<&'a str>) -> Result<&'a str, ApiError> {
        match qualifier {
            None => Err(invalid(
                "1 validation error detected: Value null at 'qualifier' failed to satisfy constraint: Member must not be null".into(),
            )),
            Some("$LATEST") => Err(invalid(
                "Provisioned Concurrency Configs cannot be applied to unpublished function versions.".into(),
            )),
            Some(q) => Ok(q),
        }
    }

    fn no_provisioned(&self, name: &str, qualifier: &str) -> ApiError {
        ApiError::ProvisionedConcurrencyConfigNotFound(format!(
            "No Provisioned Concurrency Config found for this function ({}:{qualifier})",
            self.function_arn(name)
        ))
    }

    pub async fn put_provisioned(
        &self,
        name: &str,
        qualifier: Option<&str>,
        requested: Option<u32>,
    ) -> Result<ProvisionedConfig, ApiError> {
        let qualifier = self.provisioned_qualifier(qualifier)?;
        let requested = match requested {
            Some(n) if n >= 1 => n,
            other => {
                return Err(invalid(format!(
                    "1 validation error detected: Value '{}' at 'provisionedConcurrentExecutions' failed to satisfy constraint: Member must have value greater than or equal to 1",
                    other.map_or("null".to_string(), |n| n.to_string())
                )));
            }
        };
        let mut state = self.state.lock().await;
        let mut record = self.record(&state.functions, name)?.clone();
        self.resolve(&record, name, Some(qualifier))?;
        let others: u32 = record
            .provisioned
            .iter()
            .filter(|(q, _)| q.as_str() != qualifier)
            .map(|(_, c)| c.requested)
            .sum();
        match record.reserved_concurrency {
            Some(reserved) if others + requested > reserved => {
                return Err(invalid(format!(
                    "Requested Provisioned Concurrency ({}) should not be greater than the reservedConcurrentExecution ({reserved}) for function",
                    others + requested
                )));
            }
            Some(_) => {}
            None => {
                let reserved: u32 = state
                    .functions
                    .values()
                    .filter_map(|r| r.reserved_concurrency)
                    .sum();
                let unreserved = self.account_concurrency.saturating_sub(reserved);
                if others + requested > unreserved.saturating_sub(MIN_UNRESERVED) {
                    return Err(invalid(format!(
                        "Specified ConcurrentExecutions for function is greater than account's unreserved concurrency [{unreserved}] minus its minimum of [{MIN_UNRESERVED}]."
                    )));
                }
            }
        }
        let config = ProvisionedConfig {
            requested,
            last_modified: iso_timestamp(),
        };
        record.provisioned.insert(qualifier.to_string(), config.clone());
        self.persist(&record).await?;
        state.functions.insert(name.to_string(), record);
        Ok(config)
    }

    pub async fn get_provisioned(
        &self,
        name: &str,
        qualifier: Option<&str>,
    ) -> Result<ProvisionedConfig, ApiError> {
        let qualifier = self.provisioned_qualifier(qualifier)?;
        let state = self.state.lock().await;
        let record = self.record(&state.functions, name)?;
        record
            .provisioned
            .get(qualifier)
            .cloned()
            .ok_or_else(|| self.no_provisioned(name, qualifier))
    }

    pub async fn delete_provisioned(&self, name: &str, qualifier: Option<&str>) -> Result<(), ApiError> {
        let qualifier = self.provisioned_qualifier(qualifier)?;
        let mut state = self.state.lock().await;
        let mut record = self.record(&state.functions, name)?.clone();
        if record.provisioned.remove(qualifier).is_none() {
            return Err(self.no_provisioned(name, qualifier));
        }
        self.persist(&record).await?;
        state.functions.insert(name.to_string(), record);
        Ok(())
    }

    pub async fn list_provisioned(
        &self,
        name: &str,
        marker: Option<&str>,
        max_items: usize,
    ) -> Result<(Vec<(String, ProvisionedConfig)>, Option<String>), ApiError> {
        let state = self.state.lock().await;
        let record = self.record(&state.functions, name)?;
        let all = record
            .provisioned
            .iter()
            .map(|(q, c)| (q.clone(), c.clone()))
            .collect();
        Ok(paginate(all, marker, max_items))
    }

    /// Every provisioned concurrency configuration, for the invoker to allocate.
    pub async fn provisioned_targets(&self) -> Vec<ProvisionedTarget> {
        let state = self.state.lock().await;
        state
            .functions
            .iter()
            .flat_map(|(name, record)| {
                record
                    .provisioned
                    .iter()
                    .map(|(qualifier, config)| ProvisionedTarget {
                        function: name.clone(),
                        qualifier: qualifier.clone(),
                        requested: config.requested,
                    })
            })
            .collect()
    }
}
