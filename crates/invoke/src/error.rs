//! Why an invocation could not start: the API layer turns each kind into the AWS wire error, and
//! the async worker decides from it whether to retry, fail the attempt or drop the event.

use lambkin_registry::RegistryError;

/// An invocation that did not reach the function. (A function that ran and failed is not an
/// error here: its outcome carries the function error.)
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    /// The function or qualifier does not resolve, or is not in a state to run.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// A concurrency limit is reached.
    #[error("Rate Exceeded.")]
    Throttled(ThrottleReason),
    /// The version's code cannot be prepared to run (it does not compile or link).
    #[error("{0}")]
    Unrunnable(String),
    /// lambkin itself failed (a task died, a store failed).
    #[error("{0}")]
    Internal(String),
}

/// Which limit throttled an invocation: the service model's `Reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottleReason {
    /// The function's reserved concurrency is in use.
    ReservedConcurrency,
    /// The account's unreserved concurrency is in use.
    AccountConcurrency,
    /// Every execution environment this node holds is busy or initialising.
    NodeCapacity,
}

impl ThrottleReason {
    pub fn as_str(self) -> &'static str {
        match self {
            ThrottleReason::ReservedConcurrency => "ReservedFunctionConcurrentInvocationLimitExceeded",
            // Lambda's Reason for a limit on invocations running at once, which the node's
            // environments are; SDKs back off and retry on it.
            ThrottleReason::AccountConcurrency | ThrottleReason::NodeCapacity => {
                "ConcurrentInvocationLimitExceeded"
            }
        }
    }
}

impl InvokeError {
    /// Whether an asynchronous delivery should back off and try again: the cause may pass.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            InvokeError::Throttled(_)
                | InvokeError::Internal(_)
                | InvokeError::Registry(
                    RegistryError::Conflict(_) | RegistryError::Raced(_) | RegistryError::Storage(_)
                )
        )
    }

    /// The errorType an invocation record gives an attempt that failed before the function ran.
    pub fn error_type(&self) -> &'static str {
        match self {
            InvokeError::Unrunnable(_) => "InvalidZipFileException",
            InvokeError::Throttled(_) => "TooManyRequestsException",
            InvokeError::Internal(_) => "ServiceException",
            InvokeError::Registry(RegistryError::Invalid(_)) => "InvalidParameterValueException",
            InvokeError::Registry(RegistryError::NotFound(_)) => "ResourceNotFoundException",
            InvokeError::Registry(_) => "ResourceConflictException",
        }
    }
}

/// The async queue's store failed.
#[derive(Debug, thiserror::Error)]
#[error("queue storage: {0}")]
pub struct QueueError(pub String);
