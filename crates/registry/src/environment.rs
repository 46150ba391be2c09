//! A function's environment variables as Lambda accepts them in its configuration.

use std::collections::BTreeMap;

/// Keys the runtime sets; a function's configuration may not set them.
pub const RESERVED_KEYS: &[&str] = &[
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
];

/// Lambda's limit on the total size of a function's variables (keys + values).
pub const MAX_ENVIRONMENT_BYTES: usize = 4 * 1024;

/// Checks a function's variables as Lambda does: keys start with a letter, are at least two
/// characters of letters, digits and `_`, are not reserved, and all of it fits in 4 KB.
pub fn validate_environment(vars: &BTreeMap<String, String>) -> Result<(), String> {
    for key in vars.keys() {
        let mut chars = key.chars();
        let well_formed = key.len() >= 2
            && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !well_formed {
            return Err(format!(
                "Environment variable key '{key}' is invalid: keys start with a letter and contain only letters, numbers and '_' (at least two characters)"
            ));
        }
        if RESERVED_KEYS.contains(&key.as_str()) {
            return Err(format!(
                "Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: {key}"
            ));
        }
    }
    let size: usize = vars.iter().map(|(k, v)| k.len() + v.len()).sum();
    if size > MAX_ENVIRONMENT_BYTES {
        return Err(format!(
            "Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. Size: {size} bytes"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn accepts_ordinary_keys_and_refuses_reserved_malformed_and_oversized() {
        assert!(validate_environment(&vars(&[("GREETING", "hi"), ("A1_B", "x")])).is_ok());
        assert!(
            validate_environment(&vars(&[("AWS_REGION", "x")]))
                .unwrap_err()
                .contains("reserved")
        );
        assert!(validate_environment(&vars(&[("1ABC", "x")])).is_err());
        assert!(validate_environment(&vars(&[("A", "x")])).is_err());
        assert!(validate_environment(&vars(&[("A-B", "x")])).is_err());
        let big = "v".repeat(MAX_ENVIRONMENT_BYTES);
        assert!(
            validate_environment(&vars(&[("BIG", &big)]))
                .unwrap_err()
                .contains("4KB")
        );
    }
}
