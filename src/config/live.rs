//! [`Current`]: a handle on the current value of something a reload
//! replaces, so a stage holds only the piece it needs (the access keys, the
//! routing, the model list) and still sees every reload.

use std::sync::Arc;

/// The current value of a reloadable piece; cheap to clone. Each call to
/// [`Current::now`] takes the value as it is at that moment, and a caller
/// keeps what it took for as long as it needs it (a request its whole way).
pub struct Current<T: ?Sized>(Arc<dyn Fn() -> Arc<T> + Send + Sync>);

impl<T: ?Sized> Clone for Current<T> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<T: ?Sized> std::fmt::Debug for Current<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Current")
    }
}

impl<T: ?Sized + Send + Sync + 'static> Current<T> {
    /// A handle that asks `now` for the value.
    pub fn new(now: impl Fn() -> Arc<T> + Send + Sync + 'static) -> Self {
        Self(Arc::new(now))
    }

    /// A handle on a value that never changes.
    pub fn fixed(value: Arc<T>) -> Self {
        Self::new(move || Arc::clone(&value))
    }

    /// The value now.
    pub fn now(&self) -> Arc<T> {
        (self.0)()
    }
}
