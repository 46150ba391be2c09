//! AddPermission, RemovePermission and GetPolicy: a function's resource-based policy, one per
//! function and one per qualifier (a version or an alias), each with its own RevisionId. The
//! statements are stored and rendered as Lambda writes them (`Principal` as `*`, `{"Service"}`
//! or `{"AWS"}`, the optional source conditions); what they grant on a lambkin node is said in
//! the README.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::Registry;
use super::new_revision;
use crate::RegistryError;

/// Lambda's limit on one policy document.
const MAX_POLICY_BYTES: usize = 20 * 1024;

/// One policy as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Policy {
    pub revision_id: String,
    pub statements: Vec<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PermissionInput {
    pub statement_id: Option<String>,
    pub action: Option<String>,
    pub principal: Option<String>,
    pub source_arn: Option<String>,
    pub source_account: Option<String>,
    pub event_source_token: Option<String>,
    #[serde(rename = "PrincipalOrgID")]
    pub principal_org_id: Option<String>,
    pub function_url_auth_type: Option<String>,
    pub revision_id: Option<String>,
}

fn invalid(message: String) -> RegistryError {
    RegistryError::Invalid(message)
}

pub(crate) fn required<'a>(value: &'a Option<String>, field: &str) -> Result<&'a str, RegistryError> {
    value
        .as_deref()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| invalid(format!("1 validation error detected: Value null at '{field}' failed to satisfy constraint: Member must not be null")))
}

pub(crate) fn check_statement_id(id: &str) -> Result<(), RegistryError> {
    let valid = (1..=100).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid {
        return Ok(());
    }
    Err(invalid(format!(
        "1 validation error detected: Value '{id}' at 'statementId' failed to satisfy constraint: Member must satisfy regular expression pattern: ([a-zA-Z0-9-_]+)"
    )))
}

fn check_action(action: &str) -> Result<(), RegistryError> {
    let operation = action.strip_prefix("lambda:");
    let valid = action == "*"
        || operation
            .is_some_and(|op| op == "*" || (!op.is_empty() && op.chars().all(|c| c.is_ascii_alphabetic())));
    if valid {
        return Ok(());
    }
    Err(invalid(format!(
        "1 validation error detected: Value '{action}' at 'action' failed to satisfy constraint: Member must satisfy regular expression pattern: (lambda:[*]|lambda:[a-zA-Z]+|[*])"
    )))
}

/// The statement's `Principal` as Lambda renders it.
fn principal(principal: &str) -> Result<Value, RegistryError> {
    if principal == "*" {
        return Ok(json!("*"));
    }
    if principal.len() == 12 && principal.chars().all(|c| c.is_ascii_digit()) {
        return Ok(json!({ "AWS": format!("arn:aws:iam::{principal}:root") }));
    }
    if principal.starts_with("arn:") {
        return Ok(json!({ "AWS": principal }));
    }
    let service = principal.contains('.')
        && principal
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-".contains(c));
    if service {
        return Ok(json!({ "Service": principal }));
    }
    Err(invalid(format!(
        "The provided principal was invalid. Please check the principal and try again: {principal}"
    )))
}

/// The statement AddPermission adds for `resource`.
fn statement(id: &str, input: &PermissionInput, resource: &str) -> Result<Value, RegistryError> {
    let action = required(&input.action, "action")?;
    check_action(action)?;
    let mut statement = json!({
        "Sid": id,
        "Effect": "Allow",
        "Principal": principal(required(&input.principal, "principal")?)?,
        "Action": action,
        "Resource": resource,
    });
    let mut equals = serde_json::Map::new();
    let conditions = [
        ("AWS:SourceAccount", &input.source_account),
        ("lambda:EventSourceToken", &input.event_source_token),
        ("aws:PrincipalOrgID", &input.principal_org_id),
    ];
    for (key, value) in conditions {
        if let Some(value) = value {
            equals.insert(key.into(), json!(value));
        }
    }
    if let Some(auth) = &input.function_url_auth_type {
        if auth != "NONE" && auth != "AWS_IAM" {
            return Err(invalid(format!(
                "1 validation error detected: Value '{auth}' at 'functionUrlAuthType' failed to satisfy constraint: Member must satisfy enum value set: [NONE, AWS_IAM]"
            )));
        }
        equals.insert("lambda:FunctionUrlAuthType".into(), json!(auth));
    }
    let mut condition = serde_json::Map::new();
    if !equals.is_empty() {
        condition.insert("StringEquals".into(), Value::Object(equals));
    }
    if let Some(arn) = &input.source_arn {
        condition.insert("ArnLike".into(), json!({ "AWS:SourceArn": arn }));
    }
    if !condition.is_empty() {
        statement["Condition"] = Value::Object(condition);
    }
    Ok(statement)
}

/// The policy document of `policy`, as GetPolicy returns it (a JSON string).
pub fn document(policy: &Policy) -> String {
    json!({ "Version": "2012-10-17", "Id": "default", "Statement": policy.statements }).to_string()
}

pub(crate) fn check_revision(given: Option<&str>, policy: Option<&Policy>) -> Result<(), RegistryError> {
    match (given, policy) {
        (Some(given), Some(policy)) if given != policy.revision_id => Err(RegistryError::PreconditionFailed(
            "The Revision Id provided does not match the latest Revision Id. Call the GetPolicy API to retrieve the latest Revision Id".into(),
        )),
        _ => Ok(()),
    }
}

impl Registry {
    /// The key a qualifier's policy is stored under, once the qualifier is known to exist.
    fn policy_key(
        &self,
        record: &crate::FunctionRecord,
        name: &str,
        qualifier: Option<&str>,
    ) -> Result<String, RegistryError> {
        match qualifier {
            None => Ok(String::new()),
            Some(q) => {
                self.resolve(record, name, Some(q))?;
                Ok(q.to_string())
            }
        }
    }

    fn no_policy(&self) -> RegistryError {
        RegistryError::NotFound("The resource you requested does not exist.".into())
    }

    /// AddPermission: the statement added, as a JSON string.
    pub async fn add_permission(
        &self,
        name: &str,
        qualifier: Option<&str>,
        input: PermissionInput,
    ) -> Result<String, RegistryError> {
        let id = required(&input.statement_id, "statementId")?;
        check_statement_id(id)?;
        self.change(name, |record| {
            let key = self.policy_key(record, name, qualifier)?;
            check_revision(input.revision_id.as_deref(), record.policies.get(&key))?;
            let resource = match qualifier {
                Some(q) => format!("{}:{q}", self.function_arn(name)),
                None => self.function_arn(name),
            };
            let statement = statement(id, &input, &resource)?;
            let policy = record.policies.entry(key).or_insert_with(|| Policy {
                revision_id: new_revision(),
                statements: Vec::new(),
            });
            if policy.statements.iter().any(|s| s["Sid"] == id) {
                return Err(RegistryError::Conflict(format!(
                    "The statement id ({id}) provided already exists. Please provide a new statement id, or remove the existing statement."
                )));
            }
            policy.statements.push(statement.clone());
            if document(policy).len() > MAX_POLICY_BYTES {
                return Err(RegistryError::TooLarge(format!(
                    "The final policy size is bigger than the limit of {MAX_POLICY_BYTES} bytes."
                )));
            }
            policy.revision_id = new_revision();
            Ok(statement.to_string())
        })
        .await
    }

    /// RemovePermission.
    pub async fn remove_permission(
        &self,
        name: &str,
        qualifier: Option<&str>,
        statement_id: &str,
        revision_id: Option<&str>,
    ) -> Result<(), RegistryError> {
        self.change(name, |record| {
            let key = self.policy_key(record, name, qualifier)?;
            check_revision(revision_id, record.policies.get(&key))?;
            let policy = record.policies.get_mut(&key).ok_or_else(|| self.no_policy())?;
            let before = policy.statements.len();
            policy.statements.retain(|s| s["Sid"] != statement_id);
            if policy.statements.len() == before {
                return Err(RegistryError::NotFound(format!(
                    "No policy is associated with the given resource: statement {statement_id}"
                )));
            }
            policy.revision_id = new_revision();
            if policy.statements.is_empty() {
                record.policies.remove(&key);
            }
            Ok(())
        })
        .await
    }

    /// GetPolicy: the policy document (a JSON string) and its RevisionId.
    pub fn get_policy(&self, name: &str, qualifier: Option<&str>) -> Result<(String, String), RegistryError> {
        let state = self.read();
        let record = self.record(&state.functions, name)?;
        let key = self.policy_key(record, name, qualifier)?;
        let policy = record.policies.get(&key).ok_or_else(|| self.no_policy())?;
        Ok((document(policy), policy.revision_id.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(principal: &str) -> PermissionInput {
        PermissionInput {
            statement_id: Some("s1".into()),
            action: Some("lambda:InvokeFunction".into()),
            principal: Some(principal.into()),
            ..PermissionInput::default()
        }
    }

    #[test]
    fn statements_are_rendered_as_lambda_writes_them() {
        let arn = "arn:aws:lambda:us-east-1:000000000000:function:f";
        let everyone = statement("s1", &input("*"), arn).expect("statement");
        assert_eq!(everyone["Principal"], "*");
        let account = statement("s1", &input("123456789012"), arn).expect("statement");
        assert_eq!(account["Principal"]["AWS"], "arn:aws:iam::123456789012:root");
        let mut service = input("s3.amazonaws.com");
        service.source_arn = Some("arn:aws:s3:::bucket".into());
        service.source_account = Some("123456789012".into());
        let service = statement("s1", &service, arn).expect("statement");
        assert_eq!(service["Principal"]["Service"], "s3.amazonaws.com");
        assert_eq!(
            service["Condition"]["ArnLike"]["AWS:SourceArn"],
            "arn:aws:s3:::bucket"
        );
        assert_eq!(
            service["Condition"]["StringEquals"]["AWS:SourceAccount"],
            "123456789012"
        );
        assert!(everyone.get("Condition").is_none());
    }

    #[test]
    fn bad_statement_ids_actions_and_principals_are_refused() {
        assert!(check_statement_id("allow-s3_1").is_ok());
        assert!(check_statement_id("no spaces").is_err());
        assert!(check_statement_id("").is_err());
        assert!(check_action("lambda:InvokeFunction").is_ok());
        assert!(check_action("lambda:*").is_ok());
        assert!(check_action("s3:GetObject").is_err());
        assert!(principal("not a principal").is_err());
    }
}
