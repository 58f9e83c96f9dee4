//! SMAIL records into metrics: one counter child per (type, origin), resolved at start. A
//! record says what XMail did with a copy (delivered it, ran a filter or a program, queued a
//! redirect); which records are deliveries is decided in [`crate::meaning`] and counted by
//! [`super::mail`].

use prometheus::local::LocalIntCounter;
use prometheus::{IntCounterVec, Opts, Registry};

use crate::parse::smail::{DeliveryType, Origin, SmailEvent};

/// Pre-resolved SMAIL metric children.
pub struct SmailMetrics {
    /// `[type][origin]`, ordered like [`DeliveryType::ALL`] and [`Origin::ALL`]; added up
    /// here and published by [`SmailMetrics::flush`].
    deliveries: [[LocalIntCounter; Origin::COUNT]; DeliveryType::COUNT],
}

impl SmailMetrics {
    /// Registers the SMAIL metrics and resolves every child (exported at 0).
    pub fn new(registry: &Registry) -> prometheus::Result<SmailMetrics> {
        let vec = IntCounterVec::new(
            Opts::new(
                "xmail_smail_records_total",
                "SMAIL records by type and message origin, one per record of the smail-* files (deliveries, filters, programs, redirects; origin bounce: XMail's own notifications).",
            ),
            &["type", "origin"],
        )?;
        registry.register(Box::new(vec.clone()))?;
        Ok(SmailMetrics {
            deliveries: DeliveryType::ALL.map(|t| {
                Origin::ALL.map(|o| vec.with_label_values(&[t.as_str(), o.as_str()]).local())
            }),
        })
    }

    /// Counts one record.
    #[inline]
    pub fn record(&mut self, ev: &SmailEvent<'_>) {
        self.deliveries[ev.delivery.index()][ev.origin().index()].inc();
    }

    /// Adds the records counted since the last flush to the exported counters.
    pub fn flush(&self) {
        self.deliveries
            .iter()
            .flatten()
            .for_each(LocalIntCounter::flush);
    }
}
