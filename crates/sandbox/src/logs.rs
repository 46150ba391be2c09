//! The function's log: its stdout and stderr captured per invocation, framed in Lambda's
//! START / END / REPORT lines.

use bytes::Bytes;
use serde_json::json;
use std::fmt::Write as _;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};

use crate::log_format::LogFormat;

/// Most of a guest's output kept per invocation; the rest is dropped, with a note, so a chatty or
/// hostile guest cannot make the host hold unbounded memory.
pub const MAX_LOG_BYTES: usize = 1 << 20;

/// Where the guest's stdout and stderr go: one buffer per execution environment, drained after
/// each phase (Init, every invocation).
#[derive(Clone, Default)]
pub struct LogBuffer {
    inner: Arc<Mutex<LogState>>,
}

#[derive(Default)]
struct LogState {
    bytes: Vec<u8>,
    dropped: usize,
}

impl LogBuffer {
    fn append(&self, data: &[u8]) {
        let mut state = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let room = MAX_LOG_BYTES.saturating_sub(state.bytes.len());
        let kept = room.min(data.len());
        state.bytes.extend_from_slice(&data[..kept]);
        state.dropped += data.len() - kept;
    }

    /// A line lambkin adds to the function's log itself: `<time>\tWARN\t<message>`.
    pub(crate) fn warn(&self, message: &str) {
        let now = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        self.append(format!("{now}\tWARN\t{message}\n").as_bytes());
    }

    /// Takes what was written since the last call.
    pub fn take(&self) -> String {
        let mut state = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut text = String::from_utf8_lossy(&state.bytes).into_owned();
        if state.dropped > 0 {
            let _ = writeln!(text, "[lambkin: {} bytes of output dropped]", state.dropped);
        }
        state.bytes.clear();
        state.dropped = 0;
        text
    }
}

impl IsTerminal for LogBuffer {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for LogBuffer {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl OutputStream for LogBuffer {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        self.append(&bytes);
        Ok(())
    }
    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }
    fn check_write(&mut self) -> Result<usize, StreamError> {
        // Always ready: output past the cap is counted and dropped, never blocks the guest.
        Ok(64 * 1024)
    }
}

#[async_trait::async_trait]
impl Pollable for LogBuffer {
    async fn ready(&mut self) {}
}

impl AsyncWrite for LogBuffer {
    fn poll_write(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        self.append(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// The figures of one REPORT line.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub request_id: String,
    pub duration: Duration,
    pub memory_size_mb: u32,
    pub max_memory_used_mb: u32,
    /// Present on a cold start: the Init phase of the environment this invocation started.
    pub init_duration: Option<Duration>,
    /// Present on the first invocation of an environment restored from a SnapStart snapshot.
    pub restore_duration: Option<Duration>,
}

impl Report {
    /// Lambda bills whole milliseconds, Init included for OS-only (`provided`) runtimes.
    pub fn billed_duration_ms(&self) -> u64 {
        billed_ms(self.duration + self.init_duration.unwrap_or_default())
    }

    pub fn line(&self) -> String {
        let mut line = String::with_capacity(192);
        self.write_line(&mut line);
        line
    }

    /// [`Report::line`], written onto the end of `out`.
    pub fn write_line(&self, out: &mut String) {
        let _ = write!(
            out,
            "REPORT RequestId: {}\tDuration: {:.2} ms\tBilled Duration: {} ms\tMemory Size: {} MB\tMax Memory Used: {} MB",
            self.request_id,
            millis(self.duration),
            self.billed_duration_ms(),
            self.memory_size_mb,
            self.max_memory_used_mb,
        );
        if let Some(init) = self.init_duration {
            let _ = write!(out, "\tInit Duration: {:.2} ms", millis(init));
        }
        // SnapStart bills the restore apart from the invocation.
        if let Some(restore) = self.restore_duration {
            let _ = write!(
                out,
                "\tRestore Duration: {:.2} ms\tBilled Restore Duration: {} ms",
                millis(restore),
                billed_ms(restore)
            );
        }
    }
}

impl Report {
    /// Lambda's `platform.report` record.
    fn record(&self, status: &str) -> serde_json::Value {
        let mut metrics = json!({
            "durationMs": round2(millis(self.duration)),
            "billedDurationMs": self.billed_duration_ms(),
            "memorySizeMB": self.memory_size_mb,
            "maxMemoryUsedMB": self.max_memory_used_mb,
        });
        if let Some(init) = self.init_duration {
            metrics["initDurationMs"] = json!(round2(millis(init)));
        }
        if let Some(restore) = self.restore_duration {
            metrics["restoreDurationMs"] = json!(round2(millis(restore)));
            metrics["billedRestoreDurationMs"] = json!(billed_ms(restore));
        }
        json!({ "requestId": self.request_id, "metrics": metrics, "status": status })
    }
}

/// Assembles one invocation's log in Lambda's order, in the function's log format.
pub fn invocation_log(
    format: &LogFormat,
    version: &str,
    output: &str,
    error_line: Option<&str>,
    report: &Report,
    failed: bool,
) -> String {
    let mut log = String::with_capacity(output.len() + 256);
    if format.is_json() {
        let status = if failed { "error" } else { "success" };
        let id = &report.request_id;
        log.extend(format.platform("platform.start", json!({ "requestId": id, "version": version })));
        push_output(&mut log, &format.application_output(output));
        if let Some(error) = error_line {
            let _ = writeln!(log, "{error}");
        }
        log.extend(format.platform(
            "platform.runtimeDone",
            json!({ "requestId": id, "status": status }),
        ));
        log.extend(format.platform("platform.report", report.record(status)));
        return log;
    }
    let _ = writeln!(log, "START RequestId: {} Version: {}", report.request_id, version);
    push_output(&mut log, output);
    if let Some(error) = error_line {
        let _ = writeln!(log, "{error}");
    }
    let _ = writeln!(log, "END RequestId: {}", report.request_id);
    report.write_line(&mut log);
    log.push('\n');
    log
}

/// What the Init (or Restore) lines of an environment name.
#[derive(Debug, Clone, Copy)]
pub struct Phase<'a> {
    pub format: &'a LogFormat,
    /// Restoring a SnapStart snapshot rather than running Init.
    pub restore: bool,
    pub initialization_type: &'a str,
    pub runtime_version: &'a str,
    pub runtime_version_arn: &'a str,
    pub function_name: &'a str,
    pub function_version: &'a str,
}

impl Phase<'_> {
    /// The phase's part of the log: INIT_START (RESTORE_START), then whatever it printed.
    pub fn start_log(&self, output: &str) -> String {
        let output = self.format.application_output(output);
        if self.format.is_json() {
            let (kind, phase) = match self.restore {
                true => ("platform.restoreStart", "restore"),
                false => ("platform.initStart", "init"),
            };
            let record = json!({
                "initializationType": self.initialization_type,
                "phase": phase,
                "runtimeVersion": self.runtime_version,
                "runtimeVersionArn": self.runtime_version_arn,
                "functionName": self.function_name,
                "functionVersion": self.function_version,
            });
            let mut log = self.format.platform(kind, record).unwrap_or_default();
            push_output(&mut log, &output);
            return log;
        }
        let phase = if self.restore {
            "RESTORE_START"
        } else {
            "INIT_START"
        };
        let mut log = format!(
            "{phase} Runtime Version: {}\tRuntime Version ARN: {}\n",
            self.runtime_version, self.runtime_version_arn
        );
        push_output(&mut log, &output);
        log
    }

    /// INIT_REPORT (RESTORE_REPORT), written when the phase fails (the environment never
    /// serves an invocation).
    pub fn failure_line(&self, duration: Duration, error_type: &str) -> String {
        if self.format.is_json() {
            let kind = if self.restore {
                "platform.restoreReport"
            } else {
                "platform.initReport"
            };
            let record = json!({
                "initializationType": self.initialization_type,
                "phase": if self.restore { "restore" } else { "init" },
                "status": "error",
                "errorType": error_type,
                "metrics": { "durationMs": round2(millis(duration)) },
            });
            return self.format.platform(kind, record).unwrap_or_default();
        }
        if self.restore {
            return format!(
                "RESTORE_REPORT Restore Duration: {:.2} ms\tStatus: error\tError Type: {error_type}\n",
                millis(duration)
            );
        }
        format!(
            "INIT_REPORT Init Duration: {:.2} ms\tPhase: init\tStatus: error\tError Type: {error_type}\n",
            millis(duration)
        )
    }
}

/// Milliseconds to two decimals, as the platform records print them.
fn round2(ms: f64) -> f64 {
    (ms * 100.0).round() / 100.0
}

fn push_output(log: &mut String, output: &str) {
    log.push_str(output);
    if !output.is_empty() && !output.ends_with('\n') {
        log.push('\n');
    }
}

/// Whole milliseconds, rounded up, at least one: how Lambda bills.
fn billed_ms(d: Duration) -> u64 {
    (d.as_nanos().div_ceil(1_000_000) as u64).max(1)
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Megabytes, rounded up, as REPORT prints memory.
pub fn megabytes(bytes: usize) -> u32 {
    bytes.div_ceil(1 << 20) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_line_has_lambdas_fields_and_rounds_billing_up() {
        let report = Report {
            request_id: "r-1".into(),
            duration: Duration::from_micros(1_234),
            memory_size_mb: 128,
            max_memory_used_mb: 18,
            init_duration: Some(Duration::from_micros(520)),
            restore_duration: None,
        };
        assert_eq!(report.billed_duration_ms(), 2);
        assert_eq!(
            report.line(),
            "REPORT RequestId: r-1\tDuration: 1.23 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 18 MB\tInit Duration: 0.52 ms"
        );
    }

    #[test]
    fn a_restored_environment_reports_and_bills_its_restore_apart() {
        let report = Report {
            request_id: "r-2".into(),
            duration: Duration::from_micros(200),
            memory_size_mb: 128,
            max_memory_used_mb: 18,
            init_duration: None,
            restore_duration: Some(Duration::from_micros(4_310)),
        };
        assert_eq!(report.billed_duration_ms(), 1);
        assert_eq!(
            report.line(),
            "REPORT RequestId: r-2\tDuration: 0.20 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 18 MB\tRestore Duration: 4.31 ms\tBilled Restore Duration: 5 ms"
        );
    }

    #[test]
    fn log_buffer_caps_output_and_says_so() {
        let buffer = LogBuffer::default();
        buffer.append(&vec![b'x'; MAX_LOG_BYTES + 10]);
        let text = buffer.take();
        assert!(text.ends_with("[lambkin: 10 bytes of output dropped]\n"));
        assert_eq!(buffer.take(), "");
    }
}
