//! The most recent refusals, for the mail desk: a bounded ring of the raw SMTP lines the
//! serving [`crate::metrics::Recorder`] counted as refused (see [`crate::meaning`]).
//!
//! It holds personal data (addresses), so it exists only with `--web.enable-console`, only
//! in memory, and only [`RECENT_REFUSALS`] lines: the oldest is overwritten. A slot keeps
//! its buffer, so once the ring has gone round, keeping a line allocates nothing. Lines
//! longer than [`MAX_LINE`] (no refusal XMail writes is) are not kept. What a line says is
//! decided when the desk shows it ([`crate::parse`], [`crate::explain`]), not here.

use std::sync::Mutex;

/// How many refusals are kept.
pub const RECENT_REFUSALS: usize = 200;

/// Longer lines are not kept.
pub const MAX_LINE: usize = 4096;

/// The ring. Shared between the tail thread (which pushes) and the desk (which reads).
#[derive(Debug, Default)]
pub struct Recent {
    ring: Mutex<Ring>,
}

#[derive(Debug, Default)]
struct Ring {
    slots: Vec<Vec<u8>>,
    /// The slot the next line goes to, once every slot is used.
    next: usize,
    /// Lines pushed in all.
    pushed: u64,
}

impl Recent {
    /// An empty ring.
    pub fn new() -> Recent {
        Recent::default()
    }

    /// Keeps a copy of `line`, dropping the oldest when full.
    pub fn push(&self, line: &[u8]) {
        if line.len() > MAX_LINE {
            return;
        }
        let mut r = self.ring.lock().unwrap_or_else(|e| e.into_inner());
        r.pushed += 1;
        if r.slots.len() < RECENT_REFUSALS {
            r.slots.push(line.to_vec());
            return;
        }
        let i = r.next;
        r.next = (i + 1) % RECENT_REFUSALS;
        let slot = &mut r.slots[i];
        slot.clear();
        slot.extend_from_slice(line);
    }

    /// The lines kept, newest first, and how many were pushed in all.
    pub fn newest_first(&self) -> (Vec<Vec<u8>>, u64) {
        let r = self.ring.lock().unwrap_or_else(|e| e.into_inner());
        let n = r.slots.len();
        let newest = if n < RECENT_REFUSALS { n } else { r.next };
        let lines = (0..n)
            .map(|k| r.slots[(newest + n - 1 - k) % n].clone())
            .collect();
        (lines, r.pushed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_in_order() {
        let r = Recent::new();
        for i in 0..RECENT_REFUSALS + 5 {
            r.push(format!("line {i}").as_bytes());
        }
        let (lines, pushed) = r.newest_first();
        assert_eq!(pushed, RECENT_REFUSALS as u64 + 5);
        assert_eq!(lines.len(), RECENT_REFUSALS);
        assert_eq!(lines[0], format!("line {}", RECENT_REFUSALS + 4).as_bytes());
        assert_eq!(lines[RECENT_REFUSALS - 1], b"line 5");
        r.push(&vec![b'x'; MAX_LINE + 1]);
        assert_eq!(r.newest_first().1, RECENT_REFUSALS as u64 + 5);
    }

    #[test]
    fn before_it_is_full() {
        let r = Recent::new();
        r.push(b"a");
        r.push(b"b");
        assert_eq!(r.newest_first().0, [b"b".to_vec(), b"a".to_vec()]);
    }
}
