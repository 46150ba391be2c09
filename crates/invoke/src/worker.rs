//! Delivers queued events (seed 003, "Asynchronous invocation"): invokes the function; retries a
//! function error after Lambda's delays (1 min, then 2 min) up to MaximumRetryAttempts; retries a
//! throttle or system error with exponential backoff (1 s doubling to 5 min) until the event is
//! older than MaximumEventAgeInSeconds; then sends the invocation record to the OnSuccess or
//! OnFailure destination — another function (invoked asynchronously) or an HTTP(S) webhook.

use bytes::Bytes;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tracing::Instrument as _;

use crate::error::{InvokeError, QueueError};
use crate::queue::{AsyncQueue, QueuedEvent, Target, now_ms};
use crate::record::{AttemptResponse, Condition, invocation_record};
use crate::{Invoker, SyncResult};
use lambkin_registry::event_config::{AsyncPolicy, EVENT_AGE_SECONDS};
use lambkin_registry::{FunctionRef, Registry, RegistryError};
use lambkin_sandbox::{FunctionError, InvokeRequest};

/// Lambda's waits before the second and the third attempt after a function error.
const RETRY_DELAYS: [Duration; 2] = [Duration::from_secs(60), Duration::from_secs(120)];
/// Backoff after a throttle or system error: from one second, doubling, up to five minutes.
const BACKOFF_FIRST: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(300);
/// How long a webhook delivery is retried.
const WEBHOOK_MAX_AGE: Duration = Duration::from_secs(EVENT_AGE_SECONDS.1 as u64);

/// How the worker paces itself.
#[derive(Debug, Clone)]
pub struct AsyncSettings {
    /// Multiplies every delay and every maximum event age: 0.001 turns minutes into
    /// milliseconds so tests of retries run in seconds.
    pub time_scale: f64,
    /// Deliveries in flight at once.
    pub workers: usize,
}

impl Default for AsyncSettings {
    fn default() -> Self {
        AsyncSettings {
            time_scale: 1.0,
            workers: 64,
        }
    }
}

pub struct Worker {
    queue: Arc<AsyncQueue>,
    invoker: Arc<Invoker>,
    registry: Arc<Registry>,
    settings: AsyncSettings,
    /// For webhook destinations.
    http: reqwest::Client,
}

/// The running worker. Dropping it stops it taking events; [`WorkerHandle::stop`] also waits for
/// the deliveries in flight. Either way the queue stays consistent: an event is removed only once
/// its delivery is done, so one cut short is delivered again after a restart.
pub struct WorkerHandle {
    task: tokio::task::JoinHandle<()>,
    /// One per delivery in flight: all of them back means none is.
    permits: Arc<Semaphore>,
    workers: u32,
}

impl WorkerHandle {
    /// Takes no more events, then waits until every delivery in flight has finished.
    pub async fn stop(&self) {
        self.task.abort();
        // The loop's pending permit goes back as the aborted task is dropped.
        let _ = self.permits.acquire_many(self.workers).await;
    }
}

impl Drop for WorkerHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Worker {
    /// Starts delivering what `queue` holds, `settings.workers` events at a time.
    pub fn spawn(
        queue: Arc<AsyncQueue>,
        invoker: Arc<Invoker>,
        registry: Arc<Registry>,
        settings: AsyncSettings,
    ) -> anyhow::Result<WorkerHandle> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()?;
        let workers = settings.workers.clamp(1, Semaphore::MAX_PERMITS) as u32;
        let permits = Arc::new(Semaphore::new(workers as usize));
        let deliveries = permits.clone();
        let worker = Arc::new(Worker {
            queue,
            invoker,
            registry,
            settings,
            http,
        });
        let task = tokio::spawn(async move {
            // A permit first, then an event: events wait in the queue, not in memory here.
            while let Ok(permit) = deliveries.clone().acquire_owned().await {
                let event = worker.queue.next_due().await;
                let worker = worker.clone();
                // The event's id is the request id the 202 named: the delivery's lines carry it.
                // ERROR level, as the API's request span, so no filter leaves the lines without it.
                let span = tracing::error_span!("delivery", request_id = %event.id);
                tokio::spawn(
                    async move {
                        worker.deliver(event).await;
                        drop(permit);
                    }
                    .instrument(span),
                );
            }
        });
        Ok(WorkerHandle {
            task,
            permits,
            workers,
        })
    }

    async fn deliver(&self, event: QueuedEvent) {
        let outcome = match event.target.clone() {
            Target::Function { name, qualifier } => self.invoke(event, &name, qualifier.as_deref()).await,
            Target::Webhook { url } => self.post(event, &url).await,
        };
        if let Err(e) = outcome {
            tracing::error!("asynchronous delivery: {e}");
        }
    }

    async fn invoke(
        &self,
        mut event: QueuedEvent,
        name: &str,
        qualifier: Option<&str>,
    ) -> Result<(), QueueError> {
        let policy = match self.registry.async_policy(name, qualifier).await {
            Ok(policy) => policy,
            Err(RegistryError::NotFound(message)) => {
                self.target_gone(&event);
                return self.drop_event(&event, &message).await;
            }
            Err(_) => return self.back_off(event).await,
        };
        let max_age = Duration::from_secs(u64::from(policy.maximum_event_age_seconds));
        if self.too_old(&event, max_age) {
            return self.finish(event, &policy, Condition::EventAgeExceeded).await;
        }
        if policy.reserved_concurrency == Some(0) {
            return self
                .finish(event, &policy, Condition::ZeroReservedConcurrency)
                .await;
        }
        let age = Duration::from_millis(now_ms().saturating_sub(event.accepted_ms));
        self.invoker.telemetry().metrics.async_event_delivered(name, age);
        let request = InvokeRequest {
            payload: Bytes::from(event.payload.clone()),
            request_id: Some(event.id.clone()),
            trace_id: event.trace.clone(),
            ..InvokeRequest::default()
        };
        let outcome = match self.invoker.invoke(name, qualifier, request).await {
            Ok(outcome) => outcome,
            Err(InvokeError::Registry(RegistryError::NotFound(message))) => {
                self.target_gone(&event);
                return self.drop_event(&event, &message).await;
            }
            Err(transient) if transient.is_transient() => return self.back_off(event).await,
            // Code that cannot run fails the attempt, as a runtime error would.
            Err(other) => SyncResult {
                executed_version: qualifier.unwrap_or("$LATEST").to_string(),
                request_id: event.id.clone(),
                result: Err(FunctionError {
                    error_type: other.error_type().to_string(),
                    error_message: other.to_string(),
                    stack_trace: Vec::new(),
                }),
                log: String::new(),
            },
        };
        event.attempts += 1;
        event.backoffs = 0;
        let failed = outcome.result.is_err();
        event.last_response = Some(AttemptResponse::new(outcome.executed_version, &outcome.result));
        if !failed {
            return self.finish(event, &policy, Condition::Success).await;
        }
        match RETRY_DELAYS.get(event.attempts as usize - 1) {
            Some(delay) if event.attempts <= policy.maximum_retry_attempts => {
                event.due_ms = now_ms() + self.scaled(*delay).as_millis() as u64;
                self.queue.retry(event).await
            }
            _ => self.finish(event, &policy, Condition::RetriesExhausted).await,
        }
    }

    /// The event is done: its record goes to the destination the condition calls for, if any.
    async fn finish(
        &self,
        event: QueuedEvent,
        policy: &AsyncPolicy,
        condition: Condition,
    ) -> Result<(), QueueError> {
        let function = function_name(&event);
        if condition != Condition::Success {
            self.invoker.telemetry().metrics.async_event_dropped(function);
        }
        let destination = match condition {
            Condition::Success => &policy.on_success,
            _ => &policy.on_failure,
        };
        let Some(destination) = destination else {
            if condition != Condition::Success {
                tracing::warn!(condition = condition.as_str(), "asynchronous event discarded");
            }
            return self.queue.complete(&event.id).await;
        };
        let target = match self.destination(destination) {
            Ok(target) => target,
            Err(e) => {
                self.invoker
                    .telemetry()
                    .metrics
                    .destination_delivery_failed(function);
                return self
                    .drop_event(&event, &format!("destination {destination}: {e}"))
                    .await;
            }
        };
        let record = invocation_record(
            &event.id,
            &policy.function_arn,
            condition,
            event.attempts,
            &event.payload,
            event.last_response.as_ref(),
        );
        let mut follow_up = QueuedEvent::new(uuid::Uuid::new_v4().to_string(), target, record.to_string());
        follow_up.source_function = Some(function.to_string());
        follow_up.trace = event.trace.clone();
        self.queue.hand_over(&event.id, follow_up).await
    }

    /// A function ARN or a webhook URL (both checked when the config was stored).
    fn destination(&self, destination: &str) -> Result<Target, RegistryError> {
        if destination.starts_with("http://") || destination.starts_with("https://") {
            return Ok(Target::Webhook {
                url: destination.to_string(),
            });
        }
        let function = FunctionRef::parse(destination, None, &self.registry)?;
        Ok(Target::Function {
            name: function.name,
            qualifier: function.qualifier,
        })
    }

    async fn post(&self, event: QueuedEvent, url: &str) -> Result<(), QueueError> {
        if self.too_old(&event, WEBHOOK_MAX_AGE) {
            return self
                .drop_event(&event, &format!("webhook {url} never accepted the record"))
                .await;
        }
        let sent = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .body(event.payload.clone())
            .send()
            .await;
        match sent {
            Ok(response) if response.status().is_success() => self.queue.complete(&event.id).await,
            Ok(response) => {
                tracing::warn!(%url, status = %response.status(), "webhook destination refused a record; retrying");
                self.destination_failed(&event);
                self.back_off(event).await
            }
            Err(e) => {
                tracing::warn!(%url, "webhook destination unreachable ({e}); retrying");
                self.destination_failed(&event);
                self.back_off(event).await
            }
        }
    }

    /// Schedules the event again after the next backoff step.
    async fn back_off(&self, mut event: QueuedEvent) -> Result<(), QueueError> {
        let delay = BACKOFF_FIRST
            .saturating_mul(1u32 << event.backoffs.min(16))
            .min(BACKOFF_MAX);
        event.backoffs += 1;
        event.due_ms = now_ms() + self.scaled(delay).as_millis() as u64;
        self.queue.retry(event).await
    }

    /// Counts a record that did not reach its destination (for records only: an event the
    /// caller sent is no destination's).
    fn destination_failed(&self, event: &QueuedEvent) {
        if let Some(function) = &event.source_function {
            self.invoker
                .telemetry()
                .metrics
                .destination_delivery_failed(function);
        }
    }

    /// The function an event was for no longer exists: a record fails its destination, an
    /// event is dropped.
    fn target_gone(&self, event: &QueuedEvent) {
        match &event.source_function {
            Some(_) => self.destination_failed(event),
            None => self
                .invoker
                .telemetry()
                .metrics
                .async_event_dropped(function_name(event)),
        }
    }

    async fn drop_event(&self, event: &QueuedEvent, why: &str) -> Result<(), QueueError> {
        tracing::warn!("asynchronous event dropped: {why}");
        self.queue.complete(&event.id).await
    }

    fn too_old(&self, event: &QueuedEvent, max_age: Duration) -> bool {
        let age = now_ms().saturating_sub(event.accepted_ms);
        u128::from(age) > self.scaled(max_age).as_millis()
    }

    fn scaled(&self, delay: Duration) -> Duration {
        delay.mul_f64(self.settings.time_scale.max(0.0))
    }
}

/// The function an event is for (a record on its way to a webhook: the function it is about).
fn function_name(event: &QueuedEvent) -> &str {
    match (&event.target, &event.source_function) {
        (Target::Function { name, .. }, _) => name,
        (Target::Webhook { .. }, Some(source)) => source,
        (Target::Webhook { url }, None) => url,
    }
}
