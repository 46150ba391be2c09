//! Function identifiers as the API accepts them: a name, a partial ARN
//! (`123456789012:function:name`), a full ARN, each optionally qualified (`:1`, `:alias`,
//! `:$LATEST`), and the `Qualifier` query parameter.

use crate::RegistryError;
use crate::{Registry, validate};

/// A function and the version or alias a request names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionRef {
    pub name: String,
    pub qualifier: Option<String>,
}

impl FunctionRef {
    /// Parses the `{FunctionName}` path segment, reconciled with a `Qualifier` parameter.
    pub fn parse(
        id: &str,
        qualifier: Option<&str>,
        registry: &Registry,
    ) -> Result<FunctionRef, RegistryError> {
        Self::parse_in(id, qualifier, registry.account_id(), registry.region())
    }

    /// [`FunctionRef::parse`] for the registry of `account_id` in `region`: an ARN naming
    /// another account or region is not found.
    pub fn parse_in(
        id: &str,
        qualifier: Option<&str>,
        account_id: &str,
        region: &str,
    ) -> Result<FunctionRef, RegistryError> {
        if id.is_empty() || id.len() > 256 {
            return Err(RegistryError::Invalid(format!(
                "1 validation error detected: Value '{id}' at 'functionName' failed to satisfy constraint: Member must have length between 1 and 256"
            )));
        }
        let parts: Vec<&str> = id.split(':').collect();
        let (account, arn_region, rest): (Option<&str>, Option<&str>, &[&str]) = match parts.as_slice() {
            ["arn", partition, "lambda", region, account, "function", rest @ ..]
                if partition.starts_with("aws") =>
            {
                (Some(account), Some(region), rest)
            }
            [account, "function", rest @ ..] => (Some(account), None, rest),
            rest => (None, None, rest),
        };
        let (name, from_id) = match rest {
            [name] => (*name, None),
            [name, q] => (*name, Some(*q)),
            _ => {
                return Err(RegistryError::Invalid(format!(
                    "Invalid function identifier: {id}"
                )));
            }
        };
        validate::function_name(name)?;
        if account.is_some_and(|a| a != account_id) || arn_region.is_some_and(|r| r != region) {
            return Err(RegistryError::NotFound(format!("Function not found: {id}")));
        }
        let qualifier = match (from_id, qualifier.filter(|q| !q.is_empty())) {
            (Some(a), Some(b)) if a != b => {
                return Err(RegistryError::Invalid(
                    "The derived qualifier from the function name does not match the specified qualifier."
                        .into(),
                ));
            }
            (a, b) => a.or(b).map(str::to_string),
        };
        if let Some(q) = &qualifier {
            validate::qualifier(q)?;
        }
        Ok(FunctionRef {
            name: name.to_string(),
            qualifier,
        })
    }

    /// For operations that take no qualifier.
    pub fn unqualified(self) -> Result<String, RegistryError> {
        match self.qualifier {
            None => Ok(self.name),
            Some(q) => Err(RegistryError::Invalid(format!(
                "This operation does not take a qualifier, got {q}"
            ))),
        }
    }
}
