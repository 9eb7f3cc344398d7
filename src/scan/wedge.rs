//! USB keyboard-wedge scanners: they type the code and press Enter. This
//! collects keystrokes and yields the text when Enter arrives, telling a
//! scanner (keys milliseconds apart) from a person typing (slower).

use std::time::{Duration, Instant};

/// Tuning of [`KeyboardWedge`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WedgeConfig {
    /// Longest pause between two keys of one scan; a longer pause starts over.
    pub max_key_gap: Duration,
    /// Shortest text accepted as a scan.
    pub min_len: usize,
}

impl Default for WedgeConfig {
    fn default() -> Self {
        // Scanners type a key every 1-15 ms; people rarely under 60 ms.
        Self {
            max_key_gap: Duration::from_millis(40),
            min_len: 4,
        }
    }
}

/// One keystroke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// A printable character.
    Char(char),
    /// Enter / Return (also what a scanner's CR or LF suffix becomes).
    Enter,
}

/// Accumulates keystrokes into scanned texts.
#[derive(Debug, Clone)]
pub struct KeyboardWedge {
    config: WedgeConfig,
    buf: String,
    last_key: Option<Instant>,
}

impl KeyboardWedge {
    /// A wedge reader with this tuning.
    pub fn new(config: WedgeConfig) -> Self {
        Self {
            config,
            buf: String::new(),
            last_key: None,
        }
    }

    /// Feeds one keystroke at time `at`; returns the scanned text when an
    /// Enter completes a fast enough, long enough burst.
    pub fn feed(&mut self, key: Key, at: Instant) -> Option<String> {
        let slow = self
            .last_key
            .is_some_and(|t| at.saturating_duration_since(t) > self.config.max_key_gap);
        self.last_key = Some(at);
        match key {
            Key::Char(c) => {
                if slow {
                    // Whatever came before was typed by hand: start again.
                    self.buf.clear();
                }
                if !c.is_control() {
                    self.buf.push(c);
                }
                None
            }
            Key::Enter => {
                let text = std::mem::take(&mut self.buf);
                self.last_key = None;
                (!slow && text.chars().count() >= self.config.min_len).then_some(text)
            }
        }
    }

    /// Feeds a whole string typed at `start`, one key every `gap`, as a
    /// scanner would (used by tests, demos and the bench).
    pub fn feed_str(&mut self, s: &str, start: Instant, gap: Duration) -> Option<String> {
        let mut t = start;
        let mut out = None;
        for c in s.chars() {
            let key = if c == '\r' || c == '\n' {
                Key::Enter
            } else {
                Key::Char(c)
            };
            if let Some(text) = self.feed(key, t) {
                out = Some(text);
            }
            t += gap;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_burst_with_enter_yields_the_text() {
        let mut w = KeyboardWedge::new(WedgeConfig::default());
        let t = Instant::now();
        assert_eq!(
            w.feed_str("TC1:ABC\n", t, Duration::from_millis(5))
                .as_deref(),
            Some("TC1:ABC")
        );
    }

    #[test]
    fn slow_human_typing_is_not_a_scan() {
        let mut w = KeyboardWedge::new(WedgeConfig::default());
        let t = Instant::now();
        assert_eq!(w.feed_str("TC1:ABC\n", t, Duration::from_millis(150)), None);
    }

    #[test]
    fn human_keys_before_a_scan_are_dropped() {
        let mut w = KeyboardWedge::new(WedgeConfig::default());
        let t = Instant::now();
        assert_eq!(w.feed_str("xy", t, Duration::from_millis(200)), None);
        let t2 = t + Duration::from_secs(1);
        assert_eq!(
            w.feed_str("TC1:QQ\r", t2, Duration::from_millis(3))
                .as_deref(),
            Some("TC1:QQ")
        );
    }

    #[test]
    fn too_short_bursts_and_lone_enter_are_ignored() {
        let mut w = KeyboardWedge::new(WedgeConfig::default());
        let t = Instant::now();
        assert_eq!(w.feed_str("ab\n", t, Duration::from_millis(2)), None);
        assert_eq!(w.feed(Key::Enter, t + Duration::from_secs(1)), None);
    }
}
