//! The environment variables a function sees: its own plus Lambda's reserved ones.

use std::collections::BTreeMap;

use super::{FunctionSpec, Initialization, LogFormat};

/// What every environment of a function holds, computed once per prepared version: Lambda's
/// defaults, the function's variables (which may override the unreserved defaults), then the
/// reserved variables (which always win) but for the two of [`per_environment`].
pub fn function_environment(spec: &FunctionSpec) -> Vec<(String, String)> {
    let mut env: BTreeMap<String, String> = [
        ("LANG", "en_US.UTF-8"),
        ("TZ", ":UTC"),
        ("PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin"),
        (
            "LD_LIBRARY_PATH",
            "/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib",
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    env.extend(spec.environment.clone());
    let reserved = [
        ("_HANDLER", spec.handler.clone()),
        ("AWS_REGION", spec.region.clone()),
        ("AWS_DEFAULT_REGION", spec.region.clone()),
        ("AWS_LAMBDA_FUNCTION_NAME", spec.name.clone()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", spec.memory_mb.to_string()),
        ("AWS_LAMBDA_FUNCTION_VERSION", spec.version.clone()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", log_group(spec)),
        ("LAMBDA_TASK_ROOT", "/var/task".to_string()),
        ("LAMBDA_RUNTIME_DIR", "/var/runtime".to_string()),
    ];
    env.extend(reserved.into_iter().map(|(k, v)| (k.to_string(), v)));
    // The runtimes write JSON records at or above this level (Lambda sets both for JSON only).
    if let LogFormat::Json { application, .. } = spec.log_format {
        env.insert("AWS_LAMBDA_LOG_FORMAT".to_string(), "JSON".to_string());
        env.insert(
            "AWS_LAMBDA_LOG_LEVEL".to_string(),
            application.as_str().to_string(),
        );
    }
    if let Some((runtime, _)) = &spec.managed_runtime {
        env.insert("AWS_EXECUTION_ENV".into(), format!("AWS_Lambda_{runtime}"));
    }
    for own in PER_ENVIRONMENT {
        env.remove(own);
    }
    env.into_iter().collect()
}

/// The reserved variables that differ between one environment of a function and the next.
const PER_ENVIRONMENT: [&str; 2] = ["AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_STREAM_NAME"];

/// Their values for one environment, set after [`function_environment`].
pub fn per_environment(log_stream: &str, kind: Initialization) -> [(&'static str, &str); 2] {
    [
        (PER_ENVIRONMENT[0], kind.as_str()),
        (PER_ENVIRONMENT[1], log_stream),
    ]
}

pub fn log_group(spec: &FunctionSpec) -> String {
    spec.log_group.clone()
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
    fn reserved_variables_win_over_the_functions_own() {
        let mut spec = FunctionSpec::new("f", "eu-west-1", "000000000000");
        spec.environment = vars(&[
            ("TZ", "Europe/Paris"),
            ("AWS_REGION", "nowhere"),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "mine"),
        ]);
        let mut env: BTreeMap<_, _> = function_environment(&spec).into_iter().collect();
        assert!(
            !env.contains_key("AWS_LAMBDA_LOG_STREAM_NAME"),
            "set per environment"
        );
        for (key, value) in per_environment("stream", Initialization::OnDemand) {
            env.insert(key.to_string(), value.to_string());
        }
        assert_eq!(env["TZ"], "Europe/Paris");
        assert_eq!(env["AWS_REGION"], "eu-west-1");
        assert_eq!(env["AWS_LAMBDA_FUNCTION_NAME"], "f");
        assert_eq!(env["AWS_LAMBDA_LOG_STREAM_NAME"], "stream");
        assert_eq!(env["AWS_LAMBDA_INITIALIZATION_TYPE"], "on-demand");
    }
}
