//! The one path of a response that may stream: the chunks a function writes, in order and as it
//! writes them, then how it ended — with the stream's size cap applied here, once, for every
//! front end (InvokeWithResponseStream, buffered and streamed function URLs, `lambkin invoke`).

use bytes::Bytes;
use std::future::Future;
use std::pin::Pin;
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};

use crate::SyncResult;
use lambkin_sandbox::{FunctionError, Invocation, Streamed};

/// The error type a stream past its cap ends with, as Lambda names it.
pub const RESPONSE_SIZE_TOO_LARGE: &str = "Function.ResponseSizeTooLarge";

/// How an invocation that may stream ended; its result is what the function returned.
pub trait Outcome {
    fn result_mut(&mut self) -> &mut Result<Vec<u8>, FunctionError>;
}

impl Outcome for SyncResult {
    fn result_mut(&mut self) -> &mut Result<Vec<u8>, FunctionError> {
        &mut self.result
    }
}

impl Outcome for Invocation {
    fn result_mut(&mut self) -> &mut Result<Vec<u8>, FunctionError> {
        &mut self.result
    }
}

/// What a [`ResponseStream`] yields.
pub enum StreamEvent<T> {
    /// Bytes the function wrote, within the cap.
    Chunk(Bytes),
    /// The function passed the cap: what it writes from now on is dropped, and the stream ends
    /// with [`RESPONSE_SIZE_TOO_LARGE`] once the function returns. Yielded once.
    CutOff,
    /// The function returned; nothing follows. The result's bytes (what it returned after any
    /// chunks) fit in the cap, or the result is [`RESPONSE_SIZE_TOO_LARGE`].
    End(T),
}

/// An invocation running, read as a stream of [`StreamEvent`]s. It runs only while it is read:
/// a front end whose client goes away keeps reading (and dropping) to let the function finish.
pub struct ResponseStream<F: Future> {
    invocation: Pin<Box<F>>,
    chunks: UnboundedReceiver<Streamed>,
    /// What the function said its stream is, if it said (before its first chunk).
    content_type: Option<String>,
    outcome: Option<F::Output>,
    cap: usize,
    sent: usize,
    cut_off: bool,
    ended: bool,
}

impl<F> ResponseStream<F>
where
    F: Future,
    F::Output: Outcome,
{
    /// Starts reading the invocation `start` makes, given the sender its chunks go to, under a
    /// cap of `cap` bytes for chunks and return value together.
    pub fn new(cap: usize, start: impl FnOnce(UnboundedSender<Streamed>) -> F) -> ResponseStream<F> {
        let (sender, chunks) = mpsc::unbounded_channel();
        ResponseStream {
            invocation: Box::pin(start(sender)),
            chunks,
            content_type: None,
            outcome: None,
            cap,
            sent: 0,
            cut_off: false,
            ended: false,
        }
    }

    /// The next event; `None` after [`StreamEvent::End`].
    pub async fn next(&mut self) -> Option<StreamEvent<F::Output>> {
        loop {
            if self.ended {
                return None;
            }
            // Chunks sent before the function returned come before its end.
            if self.outcome.is_some() {
                match self.chunks.try_recv() {
                    Ok(chunk) => match self.admit(chunk) {
                        Some(event) => return Some(event),
                        None => continue,
                    },
                    Err(_) => return self.outcome.take().map(|outcome| self.end(outcome)),
                }
            }
            tokio::select! {
                Some(chunk) = self.chunks.recv() => {
                    if let Some(event) = self.admit(chunk) {
                        return Some(event);
                    }
                }
                outcome = &mut self.invocation => self.outcome = Some(outcome),
            }
        }
    }

    /// The Content-Type the function gave its stream, once it has (it does so before its first
    /// chunk); `None` if it has not.
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }

    /// A chunk as it goes out: counted against the cap, dropped past it.
    fn admit(&mut self, streamed: Streamed) -> Option<StreamEvent<F::Output>> {
        let chunk = match streamed {
            Streamed::ContentType(content_type) => {
                self.content_type = Some(content_type);
                return None;
            }
            Streamed::Chunk(chunk) => chunk,
        };
        if chunk.is_empty() || self.cut_off {
            return None;
        }
        if self.sent + chunk.len() > self.cap {
            self.cut_off = true;
            return Some(StreamEvent::CutOff);
        }
        self.sent += chunk.len();
        Some(StreamEvent::Chunk(chunk))
    }

    fn end(&mut self, mut outcome: F::Output) -> StreamEvent<F::Output> {
        self.ended = true;
        let result = outcome.result_mut();
        let returned = result.as_ref().map_or(0, Vec::len);
        if self.cut_off || self.sent + returned > self.cap {
            *result = Err(FunctionError {
                error_type: RESPONSE_SIZE_TOO_LARGE.to_string(),
                error_message: format!(
                    "Response payload size exceeded maximum allowed payload size ({} bytes).",
                    self.cap
                ),
                stack_trace: Vec::new(),
            });
        }
        StreamEvent::End(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Returned(Result<Vec<u8>, FunctionError>);

    impl Outcome for Returned {
        fn result_mut(&mut self) -> &mut Result<Vec<u8>, FunctionError> {
            &mut self.0
        }
    }

    /// A function that writes `chunks` then returns `returned`, read to the end under `cap`.
    async fn read(cap: usize, chunks: &'static [&'static str], returned: &'static str) -> Vec<String> {
        read_paced(cap, chunks, returned, true).await
    }

    /// As [`read`]; with `pause`, the function yields after each chunk, else it writes them all
    /// and returns at once.
    async fn read_paced(
        cap: usize,
        chunks: &'static [&'static str],
        returned: &'static str,
        pause: bool,
    ) -> Vec<String> {
        let mut stream = ResponseStream::new(cap, |sender| async move {
            for chunk in chunks {
                let _ = sender.send(Streamed::Chunk(Bytes::from_static(chunk.as_bytes())));
                if pause {
                    tokio::task::yield_now().await;
                }
            }
            Returned(Ok(returned.as_bytes().to_vec()))
        });
        let mut events = Vec::new();
        while let Some(event) = stream.next().await {
            events.push(match event {
                StreamEvent::Chunk(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                StreamEvent::CutOff => "<cut off>".to_string(),
                StreamEvent::End(Returned(Ok(bytes))) => format!("<end {}>", String::from_utf8_lossy(&bytes)),
                StreamEvent::End(Returned(Err(e))) => format!("<end {}>", e.error_type),
            });
        }
        events
    }

    #[tokio::test]
    async fn chunks_come_in_order_then_the_end() {
        let events = read(100, &["a", "", "bc"], "d").await;
        assert_eq!(events, ["a", "bc", "<end d>"]);
    }

    #[tokio::test]
    async fn exactly_at_the_cap_is_within_it() {
        let events = read(4, &["ab", "c"], "d").await;
        assert_eq!(events, ["ab", "c", "<end d>"]);
    }

    #[tokio::test]
    async fn a_chunk_past_the_cap_cuts_the_stream_off_once() {
        let events = read(3, &["ab", "cd", "e"], "").await;
        assert_eq!(events, ["ab", "<cut off>", "<end Function.ResponseSizeTooLarge>"]);
    }

    #[tokio::test]
    async fn a_return_value_past_the_cap_ends_the_stream_too_large() {
        let events = read(3, &["ab"], "cd").await;
        assert_eq!(events, ["ab", "<end Function.ResponseSizeTooLarge>"]);
    }

    #[tokio::test]
    async fn chunks_sent_just_before_returning_are_not_lost() {
        let events = read_paced(100, &["x", "y", "z"], "", false).await;
        assert_eq!(events, ["x", "y", "z", "<end >"]);
    }

    #[tokio::test]
    async fn the_content_type_is_known_by_the_first_chunk_and_is_not_a_chunk() {
        let mut stream = ResponseStream::new(100, |sender| async move {
            let _ = sender.send(Streamed::ContentType("text/plain".into()));
            let _ = sender.send(Streamed::Chunk(Bytes::from_static(b"hi")));
            Returned(Ok(Vec::new()))
        });
        assert!(stream.content_type().is_none());
        match stream.next().await {
            Some(StreamEvent::Chunk(chunk)) => assert_eq!(&chunk[..], b"hi"),
            _ => panic!("the chunk first"),
        }
        assert_eq!(stream.content_type(), Some("text/plain"));
        assert!(matches!(stream.next().await, Some(StreamEvent::End(_))));
    }
}
