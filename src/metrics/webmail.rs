//! Webmail errors into metrics: one counter child per configured category, plus `other`.

use prometheus::{IntCounter, IntCounterVec, Opts, Registry};

use crate::parse::webmail::{Classifier, WebmailEvent};

/// Pre-resolved webmail metric children.
pub struct WebmailMetrics {
    /// Indexed like [`Classifier::categories`].
    errors: Vec<IntCounter>,
}

impl WebmailMetrics {
    /// Registers the webmail metric with one child per category (exported at 0).
    pub fn new(registry: &Registry, classifier: &Classifier) -> prometheus::Result<WebmailMetrics> {
        let vec = IntCounterVec::new(
            Opts::new(
                "xmail_webmail_errors_total",
                "Nmail webmail errors by category: one per error; the lines of a PHP stack trace belong to the error before them.",
            ),
            &["category"],
        )?;
        registry.register(Box::new(vec.clone()))?;
        Ok(WebmailMetrics {
            errors: classifier
                .categories()
                .iter()
                .map(|c| vec.with_label_values(&[c.as_str()]))
                .collect(),
        })
    }

    /// Counts one webmail error.
    #[inline]
    pub fn record(&mut self, ev: &WebmailEvent<'_>) {
        if let Some(c) = self.errors.get(ev.category) {
            c.inc();
        }
    }
}
