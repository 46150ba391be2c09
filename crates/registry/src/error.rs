//! What the registry refuses, and why: the API layer turns each kind into the AWS wire error.

/// A refused or failed registry operation. The message is the one the caller sees.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// A parameter breaks the service model's rules (InvalidParameterValueException).
    #[error("{0}")]
    Invalid(String),
    /// The function, version, alias or configuration does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A provisioned concurrency configuration does not exist (its own not-found code).
    #[error("{0}")]
    ProvisionedConfigNotFound(String),
    /// A code signing configuration a function is to use does not exist (its own code).
    #[error("{0}")]
    CodeSigningConfigNotFound(String),
    /// The resource exists, or is in a state that does not allow the operation.
    #[error("{0}")]
    Conflict(String),
    /// Another node changed the same function at the same moment and its write won.
    #[error("{0}")]
    Raced(String),
    /// The RevisionId given is not the current one.
    #[error("{0}")]
    PreconditionFailed(String),
    /// A package or document is larger than the operation allows.
    #[error("{0}")]
    TooLarge(String),
    /// A package that cannot be read (not a zip, not a component).
    #[error("{0}")]
    InvalidPackage(String),
    /// A cap on what the account may keep (functions, versions, layer versions) is reached.
    #[error("{0}")]
    StorageExceeded(String),
    /// The store failed (or held a document that cannot be read).
    #[error("{0}")]
    Storage(String),
}

impl From<object_store::Error> for RegistryError {
    fn from(e: object_store::Error) -> Self {
        RegistryError::Storage(format!("storage: {e}"))
    }
}
