//! Put/Get/Delete/ListProvisionedConcurrencyConfig(s) (seed 002): how many environments to keep
//! initialised for a published version or an alias. The registry keeps the request; the
//! invoker's environment pools allocate it and report its status.

use super::functions::paginate;
use super::model::ProvisionedConfig;
use super::settings::MIN_UNRESERVED;
use super::{Registry, iso_timestamp};
use crate::RegistryError;

/// What a provisioned concurrency configuration asks for, for the invoker to allocate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionedTarget {
    pub function: String,
    pub qualifier: String,
    pub requested: u32,
}

fn invalid(message: String) -> RegistryError {
    RegistryError::Invalid(message)
}

/// The qualifier of a provisioned concurrency request: a version or alias, never `$LATEST`.
fn provisioned_qualifier(qualifier: Option<&str>) -> Result<&str, RegistryError> {
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

/// PutProvisionedConcurrencyConfig's checks that need no state: the qualifier, and at least one
/// environment requested.
pub fn check_provisioned_request(
    qualifier: Option<&str>,
    requested: Option<u32>,
) -> Result<(&str, u32), RegistryError> {
    let qualifier = provisioned_qualifier(qualifier)?;
    match requested {
        Some(n) if n >= 1 => Ok((qualifier, n)),
        other => Err(invalid(format!(
            "1 validation error detected: Value '{}' at 'provisionedConcurrentExecutions' failed to satisfy constraint: Member must have value greater than or equal to 1",
            other.map_or("null".to_string(), |n| n.to_string())
        ))),
    }
}

/// `requested` on top of what the function's other qualifiers have (`others`) must fit in its
/// reserved concurrency, or without one, in the account's unreserved pool (`unreserved`) minus
/// its minimum. Summed in `u64`: any `u32` is a valid request, and a wrapped sum would let a huge
/// one through.
pub fn check_provisioned_capacity(
    others: u32,
    requested: u32,
    reserved: Option<u32>,
    unreserved: u32,
) -> Result<(), RegistryError> {
    let total = u64::from(others) + u64::from(requested);
    match reserved {
        Some(reserved) if total > u64::from(reserved) => Err(invalid(format!(
            "Requested Provisioned Concurrency ({total}) should not be greater than the reservedConcurrentExecution ({reserved}) for function"
        ))),
        Some(_) => Ok(()),
        None if total > u64::from(unreserved.saturating_sub(MIN_UNRESERVED)) => Err(invalid(format!(
            "Specified ConcurrentExecutions for function is greater than account's unreserved concurrency [{unreserved}] minus its minimum of [{MIN_UNRESERVED}]."
        ))),
        None => Ok(()),
    }
}

impl Registry {
    fn no_provisioned(&self, name: &str, qualifier: &str) -> RegistryError {
        RegistryError::ProvisionedConfigNotFound(format!(
            "No Provisioned Concurrency Config found for this function ({}:{qualifier})",
            self.function_arn(name)
        ))
    }

    pub async fn put_provisioned(
        &self,
        name: &str,
        qualifier: Option<&str>,
        requested: Option<u32>,
    ) -> Result<ProvisionedConfig, RegistryError> {
        let (qualifier, requested) = check_provisioned_request(qualifier, requested)?;
        let _budget = self.budget_writer.lock().await;
        let _writer = self.writer(name).await;
        let mut record = self.stored(name)?;
        self.resolve(&record, name, Some(qualifier))?;
        let others: u32 = record
            .provisioned
            .iter()
            .filter(|(q, _)| q.as_str() != qualifier)
            .map(|(_, c)| c.requested)
            .sum();
        let reserved = super::settings::reserved_by_others(&self.read().functions, None);
        let unreserved = self.account_concurrency.saturating_sub(reserved);
        check_provisioned_capacity(others, requested, record.reserved_concurrency, unreserved)?;
        let config = ProvisionedConfig {
            requested,
            last_modified: iso_timestamp(),
        };
        record.provisioned.insert(qualifier.to_string(), config.clone());
        self.persist(&record).await?;
        self.commit(record);
        Ok(config)
    }

    pub async fn get_provisioned(
        &self,
        name: &str,
        qualifier: Option<&str>,
    ) -> Result<ProvisionedConfig, RegistryError> {
        let qualifier = provisioned_qualifier(qualifier)?;
        let state = self.read();
        let record = self.record(&state.functions, name)?;
        record
            .provisioned
            .get(qualifier)
            .cloned()
            .ok_or_else(|| self.no_provisioned(name, qualifier))
    }

    pub async fn delete_provisioned(&self, name: &str, qualifier: Option<&str>) -> Result<(), RegistryError> {
        let qualifier = provisioned_qualifier(qualifier)?;
        let _writer = self.writer(name).await;
        let mut record = self.stored(name)?;
        if record.provisioned.remove(qualifier).is_none() {
            return Err(self.no_provisioned(name, qualifier));
        }
        self.persist(&record).await?;
        self.commit(record);
        Ok(())
    }

    pub async fn list_provisioned(
        &self,
        name: &str,
        marker: Option<&str>,
        max_items: usize,
    ) -> Result<(Vec<(String, ProvisionedConfig)>, Option<String>), RegistryError> {
        let state = self.read();
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
        let state = self.read();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provisioned_requests_need_a_published_qualifier_and_one_environment() {
        assert!(check_provisioned_request(Some("live"), Some(1)).is_ok());
        assert!(check_provisioned_request(Some("$LATEST"), Some(1)).is_err());
        assert!(check_provisioned_request(None, Some(1)).is_err());
        assert!(check_provisioned_request(Some("1"), Some(0)).is_err());
        assert!(check_provisioned_request(Some("1"), None).is_err());
    }

    #[test]
    fn provisioned_concurrency_fits_the_reservation_or_the_unreserved_pool() {
        assert!(check_provisioned_capacity(10, 290, Some(300), 700).is_ok());
        assert!(check_provisioned_capacity(10, 291, Some(300), 700).is_err());
        assert!(check_provisioned_capacity(10, 590, None, 700).is_ok());
        assert!(check_provisioned_capacity(10, 591, None, 700).is_err());
    }

    /// Found with the api_json fuzz target: `others + requested` overflowed (a panic with
    /// overflow checks; without them, a wrapped sum let ~4 billion environments through).
    #[test]
    fn a_huge_request_is_refused_not_wrapped() {
        assert!(check_provisioned_capacity(10, u32::MAX, Some(300), 700).is_err());
        assert!(check_provisioned_capacity(10, u32::MAX, None, 700).is_err());
        assert!(check_provisioned_capacity(u32::MAX, u32::MAX, Some(u32::MAX), u32::MAX).is_err());
    }
}
