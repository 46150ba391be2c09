//! Response streaming: chunks written here reach the client as they are written.
//!
//! On wasm each write goes to the host's `stream-write`; natively (unit tests) chunks are kept in a
//! thread-local buffer that [`ResponseStream::take_written`] returns.

use std::cell::Cell;
use std::io;

thread_local! {
    /// Set when the current invocation streamed anything: its `null` return value is then not
    /// sent. Per thread, so native tests running side by side do not see each other's streams.
    static STREAMED: Cell<bool> = const { Cell::new(false) };
}

/// The writer behind [`stream`]. Implements [`std::io::Write`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ResponseStream;

/// The current invocation's response stream.
pub fn stream() -> ResponseStream {
    ResponseStream
}

#[cfg(not(target_arch = "wasm32"))]
thread_local! {
    static WRITTEN: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl ResponseStream {
    /// Sends one chunk to the client.
    pub fn send(&self, chunk: &[u8]) {
        STREAMED.with(|s| s.set(true));
        #[cfg(target_arch = "wasm32")]
        crate::bindings::lambkin::function::runtime::stream_write(chunk);
        #[cfg(not(target_arch = "wasm32"))]
        WRITTEN.with(|w| w.borrow_mut().extend_from_slice(chunk));
    }

    /// Sets the stream's Content-Type (Lambda's `responseStream.setContentType`); call it before
    /// the first chunk. Without it the stream is `application/octet-stream`.
    pub fn set_content_type(&self, content_type: &str) {
        #[cfg(target_arch = "wasm32")]
        crate::bindings::lambkin::function::runtime::stream_content_type(content_type);
        #[cfg(not(target_arch = "wasm32"))]
        let _ = content_type;
    }

    /// Natively, what this thread has streamed so far (and forgets it).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn take_written() -> Vec<u8> {
        WRITTEN.with(|w| std::mem::take(&mut *w.borrow_mut()))
    }
}

impl io::Write for ResponseStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.send(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
    /// One `write!` is one chunk, not one per formatted piece.
    fn write_fmt(&mut self, args: std::fmt::Arguments<'_>) -> io::Result<()> {
        self.send(std::fmt::format(args).as_bytes());
        Ok(())
    }
}

/// Resets the "has streamed" mark at the start of an invocation; returns whether it was set.
pub(crate) fn take_streamed() -> bool {
    STREAMED.with(|s| s.replace(false))
}
