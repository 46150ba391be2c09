//! AddLayerVersionPermission, RemoveLayerVersionPermission and GetLayerVersionPolicy: one
//! resource-based policy per layer version, granting `lambda:GetLayerVersion` to an account, to
//! everyone, or to everyone in an organization. Stored apart from the version's metadata (which
//! is GetLayerVersion's answer as it is) at `layer-policies/<name>/<version>.json`.

use object_store::path::Path as StorePath;
use serde::Deserialize;
use serde_json::{Value, json};

use super::policies::{Policy, check_revision, check_statement_id, document, required};
use super::{Registry, new_revision};
use crate::RegistryError;

/// The only action a layer version's policy can grant.
const GET_LAYER_VERSION: &str = "lambda:GetLayerVersion";

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LayerPermissionInput {
    pub statement_id: Option<String>,
    pub action: Option<String>,
    pub principal: Option<String>,
    pub organization_id: Option<String>,
}

/// The store key of a layer version's policy.
pub(crate) fn policy_key(name: &str, number: u64) -> StorePath {
    StorePath::from(format!("layer-policies/{name}/{number}.json"))
}

fn invalid(message: String) -> RegistryError {
    RegistryError::Invalid(message)
}

/// The statement AddLayerVersionPermission adds for the layer version `resource`.
fn statement(id: &str, input: &LayerPermissionInput, resource: &str) -> Result<Value, RegistryError> {
    let action = required(&input.action, "action")?;
    if action != GET_LAYER_VERSION {
        return Err(invalid(format!(
            "1 validation error detected: Value '{action}' at 'action' failed to satisfy constraint: Member must satisfy regular expression pattern: lambda:GetLayerVersion"
        )));
    }
    let given = required(&input.principal, "principal")?;
    let account = |p: &str| p.len() == 12 && p.bytes().all(|b| b.is_ascii_digit());
    let principal = match given {
        "*" => json!("*"),
        p if account(p) => json!({ "AWS": format!("arn:aws:iam::{p}:root") }),
        p if p
            .strip_prefix("arn:aws:iam::")
            .and_then(|rest| rest.strip_suffix(":root"))
            .is_some_and(account) =>
        {
            json!({ "AWS": p })
        }
        p => {
            return Err(invalid(format!(
                "1 validation error detected: Value '{p}' at 'principal' failed to satisfy constraint: Member must satisfy regular expression pattern: \\d{{12}}|\\*|arn:(aws[a-zA-Z-]*):iam::\\d{{12}}:root"
            )));
        }
    };
    let mut statement = json!({
        "Sid": id,
        "Effect": "Allow",
        "Principal": principal,
        "Action": action,
        "Resource": resource,
    });
    if let Some(org) = &input.organization_id {
        let valid = org.strip_prefix("o-").is_some_and(|rest| {
            (10..=32).contains(&rest.len())
                && rest.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
        if !valid {
            return Err(invalid(format!(
                "1 validation error detected: Value '{org}' at 'organizationId' failed to satisfy constraint: Member must satisfy regular expression pattern: o-[a-z0-9]{{10,32}}"
            )));
        }
        if given != "*" {
            return Err(invalid(
                "An organization can be given only with the principal '*'.".to_string(),
            ));
        }
        statement["Condition"] = json!({ "StringEquals": { "aws:PrincipalOrgID": org } });
    }
    Ok(statement)
}

impl Registry {
    /// The version's ARN, once it is known to exist.
    fn layer_version_arn(&self, name: &str, number: u64) -> Result<String, RegistryError> {
        let state = self.read();
        state
            .layers
            .get(name)
            .and_then(|versions| versions.get(&number))
            .map(|v| v.layer_version_arn.clone())
            .ok_or_else(|| self.layer_not_found(name, number))
    }

    async fn put_layer_policy(
        &self,
        name: &str,
        number: u64,
        policy: Option<&Policy>,
    ) -> Result<(), RegistryError> {
        self.put_document(&policy_key(name, number), policy).await?;
        Ok(())
    }

    /// AddLayerVersionPermission: the statement added (a JSON string) and the new RevisionId.
    pub async fn add_layer_version_permission(
        &self,
        name: &str,
        number: u64,
        input: LayerPermissionInput,
        revision_id: Option<&str>,
    ) -> Result<(String, String), RegistryError> {
        let id = required(&input.statement_id, "statementId")?;
        check_statement_id(id)?;
        let _writer = self.layer_writer.lock().await;
        let arn = self.layer_version_arn(name, number)?;
        let statement = statement(id, &input, &arn)?;
        let current = self
            .read()
            .layer_policies
            .get(&(name.to_string(), number))
            .cloned();
        check_revision(revision_id, current.as_ref())?;
        let mut policy = current.unwrap_or_else(|| Policy {
            revision_id: String::new(),
            statements: Vec::new(),
        });
        if policy.statements.iter().any(|s| s["Sid"] == id) {
            return Err(RegistryError::Conflict(format!(
                "The statement id ({id}) provided already exists. Please provide a new statement id, or remove the existing statement."
            )));
        }
        policy.statements.push(statement.clone());
        policy.revision_id = new_revision();
        self.put_layer_policy(name, number, Some(&policy)).await?;
        let revision = policy.revision_id.clone();
        self.write()
            .layer_policies
            .insert((name.to_string(), number), policy);
        Ok((statement.to_string(), revision))
    }

    /// RemoveLayerVersionPermission.
    pub async fn remove_layer_version_permission(
        &self,
        name: &str,
        number: u64,
        statement_id: &str,
        revision_id: Option<&str>,
    ) -> Result<(), RegistryError> {
        let _writer = self.layer_writer.lock().await;
        self.layer_version_arn(name, number)?;
        let key = (name.to_string(), number);
        let current = self.read().layer_policies.get(&key).cloned();
        check_revision(revision_id, current.as_ref())?;
        let mut policy = current.ok_or_else(|| self.no_layer_policy(name, number))?;
        let before = policy.statements.len();
        policy.statements.retain(|s| s["Sid"] != statement_id);
        if policy.statements.len() == before {
            return Err(RegistryError::NotFound(format!(
                "Statement {statement_id} is not found in resource policy."
            )));
        }
        policy.revision_id = new_revision();
        let kept = (!policy.statements.is_empty()).then_some(policy);
        self.put_layer_policy(name, number, kept.as_ref()).await?;
        let mut state = self.write();
        match kept {
            Some(policy) => state.layer_policies.insert(key, policy),
            None => state.layer_policies.remove(&key),
        };
        Ok(())
    }

    /// GetLayerVersionPolicy: the policy document (a JSON string) and its RevisionId.
    pub fn get_layer_version_policy(
        &self,
        name: &str,
        number: u64,
    ) -> Result<(String, String), RegistryError> {
        self.layer_version_arn(name, number)?;
        let state = self.read();
        let policy = state
            .layer_policies
            .get(&(name.to_string(), number))
            .ok_or_else(|| self.no_layer_policy(name, number))?;
        Ok((document(policy), policy.revision_id.clone()))
    }

    fn no_layer_policy(&self, name: &str, number: u64) -> RegistryError {
        RegistryError::NotFound(format!(
            "No policy is associated with the given resource: {}:{number}",
            self.layer_arn(name)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(principal: &str) -> LayerPermissionInput {
        LayerPermissionInput {
            statement_id: Some("s1".into()),
            action: Some(GET_LAYER_VERSION.into()),
            principal: Some(principal.into()),
            organization_id: None,
        }
    }

    const ARN: &str = "arn:aws:lambda:us-east-1:000000000000:layer:l:1";

    #[test]
    fn statements_are_rendered_as_lambda_writes_them() {
        let account = statement("s1", &input("210987654321"), ARN).expect("statement");
        assert_eq!(
            account,
            json!({
                "Sid": "s1", "Effect": "Allow",
                "Principal": { "AWS": "arn:aws:iam::210987654321:root" },
                "Action": "lambda:GetLayerVersion", "Resource": ARN,
            })
        );
        let mut org = input("*");
        org.organization_id = Some("o-abcdefghij".into());
        let org = statement("s1", &org, ARN).expect("statement");
        assert_eq!(org["Principal"], "*");
        assert_eq!(
            org["Condition"]["StringEquals"]["aws:PrincipalOrgID"],
            "o-abcdefghij"
        );
    }

    #[test]
    fn what_a_layer_policy_cannot_grant_is_refused() {
        let mut other_action = input("*");
        other_action.action = Some("lambda:InvokeFunction".into());
        assert!(statement("s1", &other_action, ARN).is_err());
        assert!(statement("s1", &input("s3.amazonaws.com"), ARN).is_err());
        assert!(statement("s1", &input("1234"), ARN).is_err());
        let mut org_for_an_account = input("210987654321");
        org_for_an_account.organization_id = Some("o-abcdefghij".into());
        assert!(statement("s1", &org_for_an_account, ARN).is_err());
        let mut bad_org = input("*");
        bad_org.organization_id = Some("org-1".into());
        assert!(statement("s1", &bad_org, ARN).is_err());
    }
}
