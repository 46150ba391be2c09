//! The CloudWatch Logs operations over the log store: inputs as the service names them, outputs
//! as its SDKs read them, its paging tokens.
//!
//! Tokens: group and stream listings page by position; events page by the (timestamp, sequence)
//! key of the last event returned, so events written meanwhile neither repeat nor shift a page.

use lambkin_logs::pattern::Pattern;
use lambkin_logs::store::Query;
use lambkin_logs::{Event, LogStore, LogsError, StoredEvent};
use serde::Deserialize;
use serde_json::{Value, json};

use super::LogsFault;

const MAX_EVENTS: usize = 10_000;

pub(super) struct Operations<'a> {
    pub store: &'a LogStore,
    /// `arn:aws:logs:<region>:<account>:log-group:`
    pub arn_prefix: &'a str,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub(super) struct DescribeGroups {
    log_group_name_prefix: Option<String>,
    log_group_name_pattern: Option<String>,
    limit: Option<usize>,
    next_token: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub(super) struct DescribeStreams {
    log_group_name: Option<String>,
    log_group_identifier: Option<String>,
    log_stream_name_prefix: Option<String>,
    order_by: Option<String>,
    descending: Option<bool>,
    limit: Option<usize>,
    next_token: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub(super) struct GetEvents {
    log_group_name: Option<String>,
    log_group_identifier: Option<String>,
    log_stream_name: String,
    start_time: Option<i64>,
    end_time: Option<i64>,
    limit: Option<usize>,
    start_from_head: Option<bool>,
    next_token: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub(super) struct FilterEvents {
    log_group_name: Option<String>,
    log_group_identifier: Option<String>,
    log_stream_names: Option<Vec<String>>,
    log_stream_name_prefix: Option<String>,
    start_time: Option<i64>,
    end_time: Option<i64>,
    filter_pattern: Option<String>,
    limit: Option<usize>,
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct GroupName {
    log_group_name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Retention {
    log_group_name: String,
    retention_in_days: u32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct StreamName {
    log_group_name: String,
    log_stream_name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PutEvents {
    log_group_name: String,
    log_stream_name: String,
    log_events: Vec<InputEvent>,
}

#[derive(Deserialize)]
pub(super) struct InputEvent {
    timestamp: i64,
    message: String,
}

impl Operations<'_> {
    pub fn describe_log_groups(&self, input: DescribeGroups) -> Result<Value, LogsFault> {
        let prefix = input.log_group_name_prefix.unwrap_or_default();
        let mut groups = self.store.groups(&prefix);
        if let Some(pattern) = input.log_group_name_pattern.filter(|p| !p.is_empty()) {
            let pattern = pattern.to_lowercase();
            groups.retain(|g| g.name.to_lowercase().contains(&pattern));
        }
        let limit = input.limit.unwrap_or(50).clamp(1, 50);
        let (page, next) = by_position(&groups, input.next_token.as_deref(), limit)?;
        let listed: Vec<Value> = page
            .iter()
            .map(|g| {
                let mut group = json!({
                    "logGroupName": g.name,
                    "creationTime": g.creation_time,
                    "metricFilterCount": 0,
                    "arn": format!("{}{}:*", self.arn_prefix, g.name),
                    "logGroupArn": format!("{}{}", self.arn_prefix, g.name),
                    "storedBytes": g.stored_bytes,
                    "logGroupClass": "STANDARD",
                });
                if let Some(days) = g.retention_days {
                    group["retentionInDays"] = json!(days);
                }
                group
            })
            .collect();
        Ok(with_token(json!({"logGroups": listed}), "nextToken", next))
    }

    pub fn describe_log_streams(&self, input: DescribeStreams) -> Result<Value, LogsFault> {
        let group = group_name(input.log_group_name, input.log_group_identifier)?;
        let prefix = input.log_stream_name_prefix.unwrap_or_default();
        let by_time = match input.order_by.as_deref() {
            None | Some("LogStreamName") => false,
            Some("LastEventTime") if prefix.is_empty() => true,
            Some("LastEventTime") => {
                return Err(LogsFault::invalid(
                    "Cannot order by LastEventTime with a logStreamNamePrefix.",
                ));
            }
            Some(other) => {
                return Err(LogsFault::invalid(format!(
                    "orderBy must be LogStreamName or LastEventTime, not {other}"
                )));
            }
        };
        let mut streams = self.store.streams(&group, &prefix)?;
        if by_time {
            streams.sort_by_key(|s| (s.last_event.unwrap_or(s.creation_time), s.name.clone()));
        }
        if input.descending.unwrap_or(false) {
            streams.reverse();
        }
        let limit = input.limit.unwrap_or(50).clamp(1, 50);
        let (page, next) = by_position(&streams, input.next_token.as_deref(), limit)?;
        let listed: Vec<Value> = page
            .iter()
            .map(|s| {
                let mut stream = json!({
                    "logStreamName": s.name,
                    "creationTime": s.creation_time,
                    "arn": format!("{}{group}:log-stream:{}", self.arn_prefix, s.name),
                    "storedBytes": s.stored_bytes,
                });
                for (field, value) in [
                    ("firstEventTimestamp", s.first_event),
                    ("lastEventTimestamp", s.last_event),
                    ("lastIngestionTime", s.last_ingestion),
                ] {
                    if let Some(value) = value {
                        stream[field] = json!(value);
                    }
                }
                stream
            })
            .collect();
        Ok(with_token(json!({"logStreams": listed}), "nextToken", next))
    }

    pub fn get_log_events(&self, input: GetEvents) -> Result<Value, LogsFault> {
        let group = group_name(input.log_group_name, input.log_group_identifier)?;
        if !self.store.has_stream(&group, &input.log_stream_name)? {
            return Err(LogsError::StreamNotFound.into());
        }
        let stream = input.log_stream_name.as_str();
        let events = self.store.events(
            &group,
            &Query {
                streams: &|name| name == stream,
                start: input.start_time,
                end: input.end_time,
                pattern: None,
            },
        )?;
        let limit = input.limit.unwrap_or(MAX_EVENTS).clamp(1, MAX_EVENTS);
        let (forward, key) = match input.next_token.as_deref() {
            Some(token) => {
                let (direction, key) = token
                    .split_once('/')
                    .ok_or_else(|| LogsFault::invalid("The specified nextToken is invalid."))?;
                (direction == "f", Some(parse_key(key)?))
            }
            None => (input.start_from_head.unwrap_or(false), None),
        };
        let page: &[StoredEvent] = match (forward, key) {
            (true, key) => {
                let from = key.map_or(0, |k| events.partition_point(|e| event_key(e) <= k));
                &events[from..(from + limit).min(events.len())]
            }
            (false, key) => {
                let to = key.map_or(events.len(), |k| events.partition_point(|e| event_key(e) < k));
                &events[to.saturating_sub(limit)..to]
            }
        };
        // At either end the token stays as it was given: that is how a reader knows it is done.
        let here = input
            .next_token
            .as_deref()
            .and_then(|t| t.split_once('/'))
            .map(|(_, k)| k.to_string());
        let edge = |event: Option<&StoredEvent>| {
            event
                .map(|e| format_key(event_key(e)))
                .or(here.clone())
                .unwrap_or_else(|| "0:0".into())
        };
        let listed: Vec<Value> = page
            .iter()
            .map(|e| json!({"timestamp": e.timestamp, "message": e.message, "ingestionTime": e.ingestion}))
            .collect();
        Ok(json!({
            "events": listed,
            "nextForwardToken": format!("f/{}", edge(page.last())),
            "nextBackwardToken": format!("b/{}", edge(page.first())),
        }))
    }

    pub fn filter_log_events(&self, input: FilterEvents) -> Result<Value, LogsFault> {
        let group = group_name(input.log_group_name, input.log_group_identifier)?;
        if input.log_stream_names.is_some() && input.log_stream_name_prefix.is_some() {
            return Err(LogsFault::invalid(
                "logStreamNames and logStreamNamePrefix are mutually exclusive",
            ));
        }
        let pattern = Pattern::parse(input.filter_pattern.as_deref().unwrap_or(""))?;
        let names = input.log_stream_names.unwrap_or_default();
        let prefix = input.log_stream_name_prefix.unwrap_or_default();
        let selected =
            |name: &str| (names.is_empty() || names.iter().any(|n| n == name)) && name.starts_with(&prefix);
        let events = self.store.events(
            &group,
            &Query {
                streams: &selected,
                start: input.start_time,
                end: input.end_time,
                pattern: Some(&pattern),
            },
        )?;
        let from = match input.next_token.as_deref() {
            Some(token) => {
                let key = parse_key(token)?;
                events.partition_point(|e| event_key(e) <= key)
            }
            None => 0,
        };
        let limit = input.limit.unwrap_or(MAX_EVENTS).clamp(1, MAX_EVENTS);
        let page = &events[from..(from + limit).min(events.len())];
        let next = (from + page.len() < events.len())
            .then(|| page.last().map(|e| format_key(event_key(e))))
            .flatten();
        let listed: Vec<Value> = page
            .iter()
            .map(|e| {
                json!({
                    "logStreamName": e.stream,
                    "timestamp": e.timestamp,
                    "message": e.message,
                    "ingestionTime": e.ingestion,
                    "eventId": e.seq.to_string(),
                })
            })
            .collect();
        let searched: Vec<Value> = self
            .store
            .streams(&group, &prefix)?
            .into_iter()
            .filter(|s| selected(&s.name))
            .map(|s| json!({"logStreamName": s.name, "searchedCompletely": true}))
            .collect();
        Ok(with_token(
            json!({"events": listed, "searchedLogStreams": searched}),
            "nextToken",
            next,
        ))
    }

    pub fn create_log_group(&self, input: GroupName) -> Result<Value, LogsFault> {
        check_group_name(&input.log_group_name)?;
        self.store.create_group(&input.log_group_name)?;
        Ok(json!({}))
    }

    pub fn delete_log_group(&self, input: GroupName) -> Result<Value, LogsFault> {
        self.store.delete_group(&input.log_group_name)?;
        Ok(json!({}))
    }

    pub fn put_retention_policy(&self, input: Retention) -> Result<Value, LogsFault> {
        self.store
            .set_retention(&input.log_group_name, Some(input.retention_in_days))?;
        Ok(json!({}))
    }

    pub fn delete_retention_policy(&self, input: GroupName) -> Result<Value, LogsFault> {
        self.store.set_retention(&input.log_group_name, None)?;
        Ok(json!({}))
    }

    pub fn create_log_stream(&self, input: StreamName) -> Result<Value, LogsFault> {
        check_stream_name(&input.log_stream_name)?;
        self.store
            .create_stream(&input.log_group_name, &input.log_stream_name)?;
        Ok(json!({}))
    }

    pub fn put_log_events(&self, input: PutEvents) -> Result<Value, LogsFault> {
        if input.log_events.is_empty() || input.log_events.len() > MAX_EVENTS {
            return Err(LogsFault::invalid("logEvents must hold 1 to 10000 events"));
        }
        if input
            .log_events
            .windows(2)
            .any(|w| w[1].timestamp < w[0].timestamp)
        {
            return Err(LogsFault::invalid(
                "Log events in a single PutLogEvents request must be in chronological order.",
            ));
        }
        let span = input.log_events.last().map_or(0, |l| l.timestamp)
            - input.log_events.first().map_or(0, |f| f.timestamp);
        if span > 86_400_000 {
            return Err(LogsFault::invalid(
                "The batch of log events in a single PutLogEvents request cannot span more than 24 hours.",
            ));
        }
        let events: Vec<Event> = input
            .log_events
            .into_iter()
            .map(|e| Event {
                timestamp: e.timestamp,
                message: e.message,
            })
            .collect();
        self.store
            .append(&input.log_group_name, &input.log_stream_name, &events, false)?;
        Ok(json!({}))
    }
}

/// The group a request names, by `logGroupName` or `logGroupIdentifier` (a name or an ARN).
fn group_name(name: Option<String>, identifier: Option<String>) -> Result<String, LogsFault> {
    match (name, identifier) {
        (Some(name), None) => Ok(name),
        (None, Some(id)) => Ok(match id.split_once(":log-group:") {
            Some((_, rest)) => rest.trim_end_matches(":*").to_string(),
            None => id,
        }),
        (Some(_), Some(_)) => Err(LogsFault::invalid(
            "LogGroupName and LogGroupIdentifier are mutually exclusive parameters.",
        )),
        (None, None) => Err(LogsFault::invalid(
            "Either the logGroupName or logGroupIdentifier parameter must be specified.",
        )),
    }
}

fn check_group_name(name: &str) -> Result<(), LogsFault> {
    let valid = (1..=512).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/#".contains(c));
    if valid {
        Ok(())
    } else {
        Err(LogsFault::invalid(format!(
            "1 validation error detected: Value '{name}' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+"
        )))
    }
}

fn check_stream_name(name: &str) -> Result<(), LogsFault> {
    if (1..=512).contains(&name.len()) && !name.contains([':', '*']) {
        Ok(())
    } else {
        Err(LogsFault::invalid(format!(
            "1 validation error detected: Value '{name}' at 'logStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*]*"
        )))
    }
}

/// One page of a listing, and the next page's token when there is one.
fn by_position<'a, T>(
    all: &'a [T],
    token: Option<&str>,
    limit: usize,
) -> Result<(&'a [T], Option<String>), LogsFault> {
    let from: usize = match token {
        Some(t) => t
            .parse()
            .map_err(|_| LogsFault::invalid("The specified nextToken is invalid."))?,
        None => 0,
    };
    let from = from.min(all.len());
    let to = (from + limit).min(all.len());
    Ok((&all[from..to], (to < all.len()).then(|| to.to_string())))
}

fn with_token(mut value: Value, field: &str, token: Option<String>) -> Value {
    if let Some(token) = token {
        value[field] = json!(token);
    }
    value
}

fn event_key(e: &StoredEvent) -> (i64, u64) {
    (e.timestamp, e.seq)
}

fn format_key((timestamp, seq): (i64, u64)) -> String {
    format!("{timestamp}:{seq}")
}

fn parse_key(token: &str) -> Result<(i64, u64), LogsFault> {
    token
        .split_once(':')
        .and_then(|(t, s)| Some((t.parse().ok()?, s.parse().ok()?)))
        .ok_or_else(|| LogsFault::invalid("The specified nextToken is invalid."))
}
