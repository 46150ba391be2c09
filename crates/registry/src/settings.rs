//! Reserved concurrency, runtime management and account settings.

use serde::Serialize;

use super::Registry;
use super::model::RuntimeManagement;
use crate::RegistryError;

/// The account's concurrency limit by default (Lambda's default quota).
pub const ACCOUNT_CONCURRENCY: u32 = 1000;
/// Concurrency that reserved concurrency may never take from the unreserved pool.
pub(super) const MIN_UNRESERVED: u32 = 100;

/// GetAccountSettings.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccountSettings {
    pub account_limit: AccountLimit,
    pub account_usage: AccountUsage,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccountLimit {
    pub total_code_size: u64,
    pub code_size_unzipped: u64,
    pub code_size_zipped: u64,
    pub concurrent_executions: u32,
    pub unreserved_concurrent_executions: u32,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccountUsage {
    pub total_code_size: u64,
    pub function_count: u64,
}

/// PutFunctionConcurrency's limit: `reserved` on top of the other functions' reservations
/// (`others`) must leave the account at least [`MIN_UNRESERVED`] unreserved. Summed in `u64`:
/// any `u32` is a valid request, and a wrapped sum would let a huge reservation through.
pub fn check_reservation(others: u32, reserved: u32, account_concurrency: u32) -> Result<(), RegistryError> {
    if u64::from(others) + u64::from(reserved) > u64::from(account_concurrency.saturating_sub(MIN_UNRESERVED))
    {
        return Err(RegistryError::Invalid(format!(
            "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [{MIN_UNRESERVED}]."
        )));
    }
    Ok(())
}

/// Concurrency reserved by every function but `except`, summed wide: no stored record, whatever
/// build wrote it, can overflow the sum.
pub fn reserved_by_others(
    functions: &std::collections::BTreeMap<String, super::FunctionRecord>,
    except: Option<&str>,
) -> u32 {
    let total: u64 = functions
        .iter()
        .filter(|(name, _)| Some(name.as_str()) != except)
        .filter_map(|(_, record)| record.reserved_concurrency)
        .map(u64::from)
        .sum();
    u32::try_from(total).unwrap_or(u32::MAX)
}

impl Registry {
    pub async fn put_concurrency(&self, name: &str, reserved: u32) -> Result<u32, RegistryError> {
        let _budget = self.budget_writer.lock().await;
        let _writer = self.writer(name).await;
        let mut record = self.stored(name)?;
        let others = reserved_by_others(&self.read().functions, Some(name));
        check_reservation(others, reserved, self.account_concurrency)?;
        record.reserved_concurrency = Some(reserved);
        self.persist(&record).await?;
        self.commit(record);
        Ok(reserved)
    }

    pub async fn get_concurrency(&self, name: &str) -> Result<Option<u32>, RegistryError> {
        let state = self.read();
        Ok(self.record(&state.functions, name)?.reserved_concurrency)
    }

    pub async fn delete_concurrency(&self, name: &str) -> Result<(), RegistryError> {
        let _writer = self.writer(name).await;
        let mut record = self.stored(name)?;
        record.reserved_concurrency = None;
        self.persist(&record).await?;
        self.commit(record);
        Ok(())
    }

    /// PutRuntimeManagementConfig (seed 001): `Manual` pins the version of the function's runtime
    /// this host provides.
    pub async fn put_runtime_management(
        &self,
        name: &str,
        update_runtime_on: &str,
        runtime_version_arn: Option<String>,
    ) -> Result<RuntimeManagement, RegistryError> {
        if !["Auto", "FunctionUpdate", "Manual"].contains(&update_runtime_on) {
            return Err(RegistryError::Invalid(format!(
                "1 validation error detected: Value '{update_runtime_on}' at 'updateRuntimeOn' failed to satisfy constraint: Member must satisfy enum value set: [Auto, Manual, FunctionUpdate]"
            )));
        }
        match (&runtime_version_arn, update_runtime_on) {
            (None, "Manual") => {
                return Err(RegistryError::Invalid(
                    "RuntimeVersionArn is required when UpdateRuntimeOn is Manual".into(),
                ));
            }
            (Some(_), "Auto" | "FunctionUpdate") => {
                return Err(RegistryError::Invalid(format!(
                    "RuntimeVersionArn can only be set when UpdateRuntimeOn is Manual, not {update_runtime_on}"
                )));
            }
            _ => {}
        }
        let _writer = self.writer(name).await;
        let mut record = self.stored(name)?;
        // The one version of the function's runtime this host provides.
        let provided = self.runtime_version_arn_of(&record.latest.configuration.runtime);
        if let Some(arn) = runtime_version_arn.as_ref().filter(|arn| **arn != provided) {
            return Err(RegistryError::Invalid(format!(
                "Runtime version {arn} is not provided by this host; it provides {provided}"
            )));
        }
        record.runtime_management = RuntimeManagement {
            update_runtime_on: update_runtime_on.to_string(),
            runtime_version_arn,
        };
        let config = record.runtime_management.clone();
        self.persist(&record).await?;
        self.commit(record);
        Ok(config)
    }

    pub async fn get_runtime_management(&self, name: &str) -> Result<RuntimeManagement, RegistryError> {
        let state = self.read();
        Ok(self.record(&state.functions, name)?.runtime_management.clone())
    }

    pub async fn account_settings(&self) -> AccountSettings {
        let state = self.read();
        let total_code_size: u64 = state
            .functions
            .values()
            .flat_map(|r| std::iter::once(&r.latest).chain(r.versions.values()))
            .map(|v| v.configuration.code_size)
            .sum();
        let reserved = reserved_by_others(&state.functions, None);
        AccountSettings {
            account_limit: AccountLimit {
                total_code_size: 80 * 1024 * 1024 * 1024,
                code_size_unzipped: super::package::MAX_UNZIPPED_BYTES,
                code_size_zipped: super::package::MAX_ZIPPED_BYTES as u64,
                concurrent_executions: self.account_concurrency,
                unreserved_concurrent_executions: self.account_concurrency.saturating_sub(reserved),
            },
            account_usage: AccountUsage {
                total_code_size,
                function_count: state.functions.len() as u64,
            },
        }
    }
}

impl Registry {
    /// GetFunctionRecursionConfig: `Terminate` unless set to `Allow`.
    pub fn recursion_config(&self, name: &str) -> Result<String, RegistryError> {
        let state = self.read();
        let record = self.record(&state.functions, name)?;
        Ok(record
            .recursive_loop
            .clone()
            .unwrap_or_else(|| "Terminate".into()))
    }

    /// PutFunctionRecursionConfig.
    pub async fn set_recursion_config(&self, name: &str, recursive_loop: &str) -> Result<(), RegistryError> {
        if recursive_loop != "Allow" && recursive_loop != "Terminate" {
            return Err(RegistryError::Invalid(format!(
                "1 validation error detected: Value '{recursive_loop}' at 'recursiveLoop' failed to satisfy constraint: Member must satisfy enum value set: [Allow, Terminate]"
            )));
        }
        self.change(name, |record| {
            record.recursive_loop = Some(recursive_loop.to_string());
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_leave_the_unreserved_minimum() {
        assert!(check_reservation(0, 900, ACCOUNT_CONCURRENCY).is_ok());
        assert!(check_reservation(300, 600, ACCOUNT_CONCURRENCY).is_ok());
        assert!(check_reservation(300, 601, ACCOUNT_CONCURRENCY).is_err());
    }

    /// Found with the api_json fuzz target: `others + reserved` overflowed (a panic with
    /// overflow checks; without them, a wrapped sum under the limit let ~4 billion through).
    #[test]
    fn a_huge_reservation_is_refused_not_wrapped() {
        assert!(check_reservation(300, u32::MAX, ACCOUNT_CONCURRENCY).is_err());
        assert!(check_reservation(1, u32::MAX - 0x10, ACCOUNT_CONCURRENCY).is_err());
        assert!(check_reservation(u32::MAX, u32::MAX, u32::MAX).is_err());
    }
}
