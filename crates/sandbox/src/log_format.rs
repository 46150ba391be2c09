//! LoggingConfig's formats: Lambda's plain-text lines, or its JSON records — the platform's
//! (`{"time","type":"platform.start","record":{…}}`) and the application's, filtered by
//! ApplicationLogLevel and SystemLogLevel.
//!
//! The runtimes format the application's records themselves (they are told
//! `AWS_LAMBDA_LOG_FORMAT` and `AWS_LAMBDA_LOG_LEVEL`); lambkin drops the JSON lines below the
//! application's level whoever wrote them, as Lambda does for any runtime, and keeps lines that
//! are not JSON as they are.

use serde_json::{Value, json};

/// How a function's log is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json {
        application: Level,
        system: Level,
    },
}

/// Lambda's log levels, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Fatal,
}

impl Level {
    pub fn parse(text: &str) -> Option<Level> {
        Some(match text.to_ascii_uppercase().as_str() {
            "TRACE" => Level::Trace,
            "DEBUG" => Level::Debug,
            "INFO" => Level::Info,
            "WARN" | "WARNING" => Level::Warn,
            "ERROR" => Level::Error,
            "FATAL" | "CRITICAL" => Level::Fatal,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Trace => "TRACE",
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
            Level::Fatal => "FATAL",
        }
    }
}

impl LogFormat {
    /// From LoggingConfig's fields (already validated; an unknown level is INFO, as Lambda's
    /// default).
    pub fn from_config(format: &str, application: Option<&str>, system: Option<&str>) -> LogFormat {
        if format != "JSON" {
            return LogFormat::Text;
        }
        let level = |l: Option<&str>| l.and_then(Level::parse).unwrap_or(Level::Info);
        LogFormat::Json {
            application: level(application),
            system: level(system),
        }
    }

    pub fn is_json(&self) -> bool {
        matches!(self, LogFormat::Json { .. })
    }

    /// One platform record as a line (`type` is Lambda's, e.g. `platform.start`); `None` when
    /// SystemLogLevel is above INFO, the level of every platform record written here.
    pub(crate) fn platform(&self, kind: &str, record: Value) -> Option<String> {
        match self {
            LogFormat::Json { system, .. } if *system <= Level::Info => {
                let time = time::OffsetDateTime::now_utc()
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default();
                Some(json!({ "time": time, "type": kind, "record": record }).to_string() + "\n")
            }
            _ => None,
        }
    }

    /// The function's output with the JSON records below ApplicationLogLevel left out.
    pub(crate) fn application_output<'a>(&self, output: &'a str) -> std::borrow::Cow<'a, str> {
        let LogFormat::Json { application, .. } = *self else {
            return output.into();
        };
        if application == Level::Trace {
            return output.into();
        }
        let below = |line: &str| {
            let line = line.trim_start();
            line.starts_with('{')
                && serde_json::from_str::<Value>(line)
                    .ok()
                    .and_then(|v| v.get("level").and_then(Value::as_str).and_then(Level::parse))
                    .is_some_and(|level| level < application)
        };
        if !output.lines().any(below) {
            return output.into();
        }
        output
            .split_inclusive('\n')
            .filter(|line| !below(line))
            .collect::<String>()
            .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_need_json_and_default_to_info() {
        assert_eq!(
            LogFormat::from_config("Text", Some("DEBUG"), None),
            LogFormat::Text
        );
        assert_eq!(
            LogFormat::from_config("JSON", None, Some("WARN")),
            LogFormat::Json {
                application: Level::Info,
                system: Level::Warn
            }
        );
    }

    #[test]
    fn platform_records_are_json_and_follow_the_system_level() {
        let json = LogFormat::from_config("JSON", None, None);
        let line = json
            .platform(
                "platform.start",
                json!({ "requestId": "r1", "version": "$LATEST" }),
            )
            .expect("INFO keeps platform records");
        let record: Value = serde_json::from_str(&line).expect("one JSON object");
        assert_eq!(record["type"], "platform.start");
        assert_eq!(record["record"]["requestId"], "r1");
        assert!(record["time"].as_str().is_some_and(|t| t.ends_with('Z')));
        assert!(line.ends_with('\n'));
        let warn = LogFormat::from_config("JSON", None, Some("WARN"));
        assert_eq!(warn.platform("platform.start", json!({})), None);
        assert_eq!(LogFormat::Text.platform("platform.start", json!({})), None);
    }

    #[test]
    fn application_records_below_the_level_are_left_out() {
        let warn = LogFormat::from_config("JSON", Some("WARN"), None);
        let output = concat!(
            "{\"level\":\"INFO\",\"message\":\"hidden\"}\n",
            "{\"level\":\"ERROR\",\"message\":\"kept\"}\n",
            "plain print output\n",
            "{\"level\":\"WARN\",\"message\":\"kept too\"}\n",
        );
        assert_eq!(
            warn.application_output(output),
            concat!(
                "{\"level\":\"ERROR\",\"message\":\"kept\"}\n",
                "plain print output\n",
                "{\"level\":\"WARN\",\"message\":\"kept too\"}\n",
            )
        );
        assert_eq!(LogFormat::Text.application_output(output), output);
    }
}
