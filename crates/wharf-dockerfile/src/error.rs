//! The crate's error: BuildKit's message text, byte for byte, plus the line range BuildKit
//! attaches (`parser.ErrorLocation`), which it shows beside the message rather than inside it.

use std::fmt;

/// Lines of the Dockerfile an error or warning is about (1-based, inclusive), as BuildKit's
/// `toRanges(start, end)`: an `end` before `start` is `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// First line.
    pub start: usize,
    /// Last line.
    pub end: usize,
}

impl Location {
    /// BuildKit's `toRanges` normalisation.
    pub fn new(start: usize, end: usize) -> Location {
        Location { start, end: end.max(start) }
    }
}

/// What went wrong, for callers that branch on it (the text is always BuildKit's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The Dockerfile's syntax (BuildKit's `parser` package).
    Syntax,
    /// An instruction's arguments or flags (BuildKit's `instructions` package).
    Instruction,
    /// Variable expansion (BuildKit's `shell` lexer).
    Expansion,
    /// A `.dockerignore` pattern.
    Pattern,
    /// One of this crate's own bounds (input size, line length, nesting), not a BuildKit error.
    Limit,
}

/// An error with BuildKit's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    location: Option<Location>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error { kind, message: message.into(), location: None }
    }

    pub(crate) fn syntax(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Syntax, message)
    }

    pub(crate) fn instruction(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Instruction, message)
    }

    pub(crate) fn limit(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Limit, message)
    }

    /// Attaches a location unless one is already there (BuildKit keeps the innermost).
    pub(crate) fn at(mut self, start: usize, end: usize) -> Error {
        if self.location.is_none() {
            self.location = Some(Location::new(start, end));
        }
        self
    }

    /// Replaces the message, keeping kind and location (BuildKit's `errors.Wrap`).
    pub(crate) fn with_message(mut self, message: String) -> Error {
        self.message = message;
        self
    }

    /// The kind of error.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// BuildKit's message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The lines BuildKit attaches, if any.
    pub fn location(&self) -> Option<Location> {
        self.location
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
