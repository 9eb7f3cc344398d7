//! What a file holds that is not on disk yet: the writes and truncations
//! since its last sync, as the process sees them (reads go through it),
//! and what a sync hands to the real file. Pure data, no I/O.

use std::collections::BTreeMap;

/// A file's unsynced changes. Empty after every sync.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Overlay {
    /// Real bytes at or past this offset are gone (a truncation not
    /// synced yet); they read as zeros.
    cut: Option<u64>,
    /// Unsynced writes by offset, never overlapping: a later write
    /// replaces what it covers of earlier ones.
    extents: BTreeMap<u64, Vec<u8>>,
    /// The file's size as the process sees it, when it differs from the
    /// real file's.
    size: Option<u64>,
}

/// What a sync makes durable, in the order it must be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flush {
    /// First cut the real file to this size, if set.
    pub cut: Option<u64>,
    /// Then write these bytes at these offsets.
    pub extents: Vec<(u64, Vec<u8>)>,
    /// Then set the file to this size, if set (a truncation that grew
    /// the file, or one after the writes).
    pub size: Option<u64>,
}

impl Overlay {
    /// Nothing unsynced.
    pub fn is_empty(&self) -> bool {
        self.cut.is_none() && self.extents.is_empty() && self.size.is_none()
    }

    /// The size the process sees, given the real file's.
    pub fn size(&self, real_size: u64) -> u64 {
        self.size.unwrap_or(real_size)
    }

    /// Records a write of `data` at `offset`.
    pub fn write(&mut self, real_size: u64, offset: u64, data: &[u8]) {
        let end = offset + data.len() as u64;
        self.remove_range(offset, end);
        if !data.is_empty() {
            self.extents.insert(offset, data.to_vec());
        }
        let size = self.size(real_size).max(end);
        self.size = (size != real_size || self.size.is_some()).then_some(size);
    }

    /// Records a truncation (or extension) to `size` bytes.
    pub fn truncate(&mut self, real_size: u64, size: u64) {
        self.remove_range(size, u64::MAX);
        if size < real_size {
            self.cut = Some(self.cut.map_or(size, |cut| cut.min(size)));
        }
        // Bytes past an earlier, smaller size stay gone: `cut` keeps them
        // hidden even if this truncation grows the file again.
        self.size = Some(size);
    }

    /// Puts what the process sees into `out`, which holds the real file's
    /// bytes from `offset` (zeros past its end). Returns whether the whole
    /// of `out` lies within the file; if not, the bytes past the end are
    /// zeros.
    pub fn read(&self, real_size: u64, offset: u64, out: &mut [u8]) -> bool {
        let end = offset + out.len() as u64;
        if let Some(cut) = self.cut
            && cut < end
        {
            let len = out.len();
            let from = (cut.saturating_sub(offset) as usize).min(len);
            out[from..].fill(0);
        }
        for (&start, data) in self.overlapping(offset, end) {
            let stop = start + data.len() as u64;
            let (lo, hi) = (start.max(offset), stop.min(end));
            out[(lo - offset) as usize..(hi - offset) as usize]
                .copy_from_slice(&data[(lo - start) as usize..(hi - start) as usize]);
        }
        let size = self.size(real_size);
        if end > size {
            let len = out.len();
            let from = (size.saturating_sub(offset) as usize).min(len);
            out[from..].fill(0);
            return false;
        }
        true
    }

    /// Takes everything unsynced out, to be made durable; the overlay is
    /// empty afterwards.
    pub fn take(&mut self) -> Flush {
        let taken = std::mem::take(self);
        Flush {
            cut: taken.cut,
            extents: taken.extents.into_iter().collect(),
            size: taken.size,
        }
    }

    /// The extents overlapping `[from, to)`.
    fn overlapping(&self, from: u64, to: u64) -> impl Iterator<Item = (&u64, &Vec<u8>)> {
        // Extents never overlap, so their ends rise with their starts:
        // walking back from the last one starting before `to`, the first
        // that ends at or before `from` ends the walk.
        let mut hits: Vec<_> = self
            .extents
            .range(..to)
            .rev()
            .take_while(move |(start, data)| **start + data.len() as u64 > from)
            .collect();
        hits.reverse();
        hits.into_iter()
    }

    /// Drops what the extents hold of `[from, to)`, keeping their parts
    /// outside it.
    fn remove_range(&mut self, from: u64, to: u64) {
        let hit: Vec<u64> = self
            .overlapping(from, to)
            .map(|(start, _)| *start)
            .collect();
        for start in hit {
            let Some(data) = self.extents.remove(&start) else {
                continue;
            };
            let stop = start + data.len() as u64;
            if start < from {
                self.extents
                    .insert(start, data[..(from - start) as usize].to_vec());
            }
            if stop > to {
                self.extents
                    .insert(to, data[(to - start) as usize..].to_vec());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The file the process sees: `real` with the overlay over it.
    fn view(overlay: &Overlay, real: &[u8]) -> Vec<u8> {
        let size = overlay.size(real.len() as u64) as usize;
        let mut out = vec![0u8; size];
        let n = real.len().min(size);
        out[..n].copy_from_slice(&real[..n]);
        assert!(overlay.read(real.len() as u64, 0, &mut out));
        out
    }

    /// The real file after a sync.
    fn flushed(overlay: &mut Overlay, real: &[u8]) -> Vec<u8> {
        let flush = overlay.take();
        let mut file = real.to_vec();
        if let Some(cut) = flush.cut {
            file.resize(cut as usize, 0);
        }
        for (offset, data) in flush.extents {
            let end = offset as usize + data.len();
            if file.len() < end {
                file.resize(end, 0);
            }
            file[offset as usize..end].copy_from_slice(&data);
        }
        if let Some(size) = flush.size {
            file.resize(size as usize, 0);
        }
        file
    }

    #[test]
    fn reads_see_unsynced_writes_and_a_sync_makes_the_same_file() {
        let real = b"abcdefghij".to_vec();
        let mut o = Overlay::default();
        o.write(10, 2, b"XYZ");
        o.write(10, 4, b"12");
        o.write(10, 12, b"tail");
        assert_eq!(view(&o, &real), b"abXY12ghij\0\0tail");
        let seen = view(&o, &real);
        assert_eq!(flushed(&mut o, &real), seen);
        assert!(o.is_empty());
    }

    #[test]
    fn a_truncation_hides_the_real_bytes_past_it_even_when_the_file_grows_again() {
        let real = b"abcdefghij".to_vec();
        let mut o = Overlay::default();
        o.write(10, 6, b"WXYZ");
        o.truncate(10, 4);
        assert_eq!(view(&o, &real), b"abcd");
        o.write(10, 6, b"12");
        assert_eq!(view(&o, &real), b"abcd\x00\x0012");
        let seen = view(&o, &real);
        assert_eq!(flushed(&mut o, &real), seen);
    }

    #[test]
    fn a_read_past_the_end_is_short_with_zeros() {
        let mut o = Overlay::default();
        o.write(4, 4, b"ef");
        let mut out = *b"abcdXXXX";
        assert!(!o.read(4, 0, &mut out));
        assert_eq!(&out, b"abcdef\0\0");
        let mut inside = *b"cd\0\0";
        assert!(o.read(4, 2, &mut inside));
        assert_eq!(&inside, b"cdef");
    }

    #[test]
    fn nothing_unsynced_reads_the_real_file() {
        let o = Overlay::default();
        let real = b"abc".to_vec();
        assert_eq!(view(&o, &real), real);
        assert_eq!(o.size(3), 3);
        assert!(o.is_empty());
    }
}
