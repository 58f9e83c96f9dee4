//! Building blocks of the metric families: registering a counter family, and a label whose
//! values are not known in advance but whose series are capped ([`BoundedLabels`]).
//!
//! Owns only how a family is made; which families exist and what moves them is the rest of
//! [`super`]'s.

use prometheus::Registry;

/// The label value that collects what is over a cardinality cap.
pub const OTHER: &str = "other";

/// A counter family, registered in `registry`.
pub(crate) fn counter_vec(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> prometheus::Result<prometheus::IntCounterVec> {
    let v = prometheus::IntCounterVec::new(prometheus::Opts::new(name, help), labels)?;
    registry.register(Box::new(v.clone()))?;
    Ok(v)
}

/// A counter without labels, registered in `registry`.
pub(crate) fn counter(
    registry: &Registry,
    name: &str,
    help: &str,
) -> prometheus::Result<prometheus::IntCounter> {
    let c = prometheus::IntCounter::with_opts(prometheus::Opts::new(name, help))?;
    registry.register(Box::new(c.clone()))?;
    Ok(c)
}

/// A label whose values are not known in advance: the first `cap` distinct valid values get
/// a series each, everything after (and anything invalid) shares the `other` series.
pub struct BoundedLabels<T> {
    cap: usize,
    entries: Vec<(Box<[u8]>, T)>,
    other: Option<T>,
    make_other: Box<dyn Fn() -> T + Send>,
}

impl<T> BoundedLabels<T> {
    /// A table of at most `cap` values; `make_other` builds the shared overflow child.
    pub fn new(cap: usize, make_other: impl Fn() -> T + Send + 'static) -> BoundedLabels<T> {
        BoundedLabels {
            cap,
            entries: Vec::new(),
            other: None,
            make_other: Box::new(make_other),
        }
    }

    /// The child for `key`, creating it with `make` while under the cap.
    pub fn get(
        &mut self,
        key: &[u8],
        valid: fn(&[u8]) -> bool,
        make: impl FnOnce(&str) -> T,
    ) -> &T {
        if let Some(i) = self.entries.iter().position(|(k, _)| **k == *key) {
            return &self.entries[i].1;
        }
        if self.entries.len() < self.cap
            && valid(key)
            && key != OTHER.as_bytes()
            && let Ok(label) = std::str::from_utf8(key)
        {
            self.entries.push((key.into(), make(label)));
            return &self.entries[self.entries.len() - 1].1;
        }
        self.other.get_or_insert_with(&self.make_other)
    }

    /// How many distinct values have a series of their own.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// `true` when no value has a series of its own yet.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
