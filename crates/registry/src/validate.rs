//! Lambda's rules for names, identifiers and configuration values (service model + seed 000).

use crate::RegistryError;

/// Runtimes lambkin runs: the OS-only `provided` family, as Lambda uses for compiled functions.
pub const RUNTIMES: &[&str] = &["provided.al2023", "provided.al2", "provided"];

pub const MEMORY_MB: (u32, u32) = (128, 10240);
pub const TIMEOUT_S: (u32, u32) = (1, 900);
pub const EPHEMERAL_MB: (u32, u32) = (512, 10240);

fn invalid(message: String) -> RegistryError {
    RegistryError::Invalid(message)
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// A function name: 1-64 of letters, digits, `-` and `_`.
pub fn function_name(name: &str) -> Result<(), RegistryError> {
    if name.is_empty() || name.len() > 64 || !name.chars().all(is_name_char) {
        return Err(invalid(format!(
            "1 validation error detected: Value '{name}' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9-_]{{1,64}}"
        )));
    }
    Ok(())
}

/// An alias name: 1-128 of letters, digits, `-`, `_`, and not purely numeric (that is a version).
pub fn alias_name(name: &str) -> Result<(), RegistryError> {
    let well_formed = !name.is_empty() && name.len() <= 128 && name.chars().all(is_name_char);
    if !well_formed || name.chars().all(|c| c.is_ascii_digit()) {
        return Err(invalid(format!(
            "1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)"
        )));
    }
    Ok(())
}

/// A qualifier: `$LATEST`, a version number or an alias name.
pub fn qualifier(q: &str) -> Result<(), RegistryError> {
    if q.is_empty() || q.len() > 128 || !q.chars().all(|c| is_name_char(c) || c == '$') {
        return Err(invalid(format!(
            "1 validation error detected: Value '{q}' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)"
        )));
    }
    Ok(())
}

/// A runtime lambkin knows: the `provided` family (the code is a component) or a managed one
/// (the code is sources; whether this build carries it is the registry's to say).
pub fn runtime(runtime: &str) -> Result<(), RegistryError> {
    let managed = crate::runtimes::MANAGED_RUNTIMES;
    if !RUNTIMES.contains(&runtime) && !managed.contains(&runtime) {
        return Err(invalid(format!(
            "The runtime parameter of {runtime} is not supported by lambkin: a function is a WebAssembly component on a provided runtime ({}), or sources on a managed one ({})",
            RUNTIMES.join(", "),
            managed.join(", ")
        )));
    }
    Ok(())
}

pub fn in_range(field: &str, value: u32, (min, max): (u32, u32)) -> Result<(), RegistryError> {
    if value < min || value > max {
        return Err(invalid(format!(
            "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: Member must have value between {min} and {max}"
        )));
    }
    Ok(())
}

pub fn description(text: &str) -> Result<(), RegistryError> {
    if text.chars().count() > 256 {
        return Err(invalid(
            "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 256".into(),
        ));
    }
    Ok(())
}

pub fn handler(handler: &str) -> Result<(), RegistryError> {
    if handler.is_empty() || handler.len() > 128 || handler.chars().any(char::is_whitespace) {
        return Err(invalid(format!(
            "1 validation error detected: Value '{handler}' at 'handler' failed to satisfy constraint: Member must satisfy regular expression pattern: [^\\s]+ and have length at most 128"
        )));
    }
    Ok(())
}

/// An IAM role ARN (lambkin stores it; it grants nothing here).
pub fn role(role: &str) -> Result<(), RegistryError> {
    let ok = role
        .strip_prefix("arn:")
        .and_then(|rest| rest.split_once(":iam::"))
        .and_then(|(partition, rest)| partition.starts_with("aws").then_some(rest))
        .and_then(|rest| rest.split_once(":role/"))
        .is_some_and(|(account, name)| {
            account.len() == 12 && account.chars().all(|c| c.is_ascii_digit()) && !name.is_empty()
        });
    if !ok {
        return Err(invalid(format!(
            "1 validation error detected: Value '{role}' at 'role' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\\d{{12}}:role/?[a-zA-Z_0-9+=,.@\\-_/]+"
        )));
    }
    Ok(())
}

pub fn snap_start_apply_on(value: &str) -> Result<(), RegistryError> {
    if !["PublishedVersions", "None"].contains(&value) {
        return Err(invalid(format!(
            "1 validation error detected: Value '{value}' at 'snapStart.applyOn' failed to satisfy constraint: Member must satisfy enum value set: [PublishedVersions, None]"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_model() {
        assert!(function_name("my-fn_1").is_ok());
        assert!(function_name("").is_err());
        assert!(function_name(&"a".repeat(65)).is_err());
        assert!(function_name("has space").is_err());
        assert!(function_name("dots.not.ok").is_err());
        assert!(alias_name("live").is_ok());
        assert!(alias_name("v2-blue").is_ok());
        assert!(alias_name("123").is_err());
        assert!(alias_name("").is_err());
        assert!(qualifier("$LATEST").is_ok());
        assert!(qualifier("a/b").is_err());
    }

    #[test]
    fn ranges_and_enums() {
        assert!(in_range("memorySize", 128, MEMORY_MB).is_ok());
        assert!(in_range("memorySize", 10240, MEMORY_MB).is_ok());
        assert!(in_range("memorySize", 127, MEMORY_MB).is_err());
        assert!(in_range("memorySize", 10241, MEMORY_MB).is_err());
        assert!(in_range("timeout", 0, TIMEOUT_S).is_err());
        assert!(in_range("timeout", 901, TIMEOUT_S).is_err());
        assert!(in_range("ephemeralStorage.size", 511, EPHEMERAL_MB).is_err());
        assert!(runtime("provided.al2023").is_ok());
        assert!(runtime("python3.12").is_err());
        assert!(role("arn:aws:iam::000000000000:role/lambda-role").is_ok());
        assert!(role("arn:aws:iam::0000:role/x").is_err());
        assert!(role("not-an-arn").is_err());
        assert!(handler("hello.wasm").is_ok());
        assert!(handler("has space").is_err());
        assert!(description(&"d".repeat(257)).is_err());
    }
}
