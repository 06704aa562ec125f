//! The `CompleteMultipartReadSetUpload` part list, assembled from confirmed parts only.
//!
//! Parts finish out of order (and, on resume, some come from the server's part list); they are
//! collected as they are confirmed and sorted once here, source by source, with the count
//! checked against the plan, so a completion never names a part the server did not confirm
//! and never leaves one out.

use std::collections::BTreeMap;

use crate::error::{Error, ErrorKind};
use crate::omics::CompletePart;
use crate::plan::Source;

/// Parts confirmed by the server, keyed by source and number; a later confirmation of the same
/// part (a re-upload) replaces the earlier one, as it does on the server.
#[derive(Debug, Clone, Default)]
pub struct Confirmed(BTreeMap<(Source, u32), String>);

impl Confirmed {
    /// Nothing confirmed yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the checksum the server returned (or listed) for a part.
    pub fn insert(&mut self, source: Source, number: u32, checksum: String) {
        self.0.insert((source, number), checksum);
    }

    /// Whether this part is confirmed.
    pub fn contains(&self, source: Source, number: u32) -> bool {
        self.0.contains_key(&(source, number))
    }

    /// The confirmed checksum of a part.
    pub fn get(&self, source: Source, number: u32) -> Option<&str> {
        self.0.get(&(source, number)).map(String::as_str)
    }

    /// Number of confirmed parts.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no part is confirmed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The Complete body's parts: SOURCE1 parts 1..=n1, then SOURCE2 parts 1..=n2, each with its
/// confirmed checksum. `planned` gives the number of parts per source. Fails (`protocol`) when
/// a planned part is not confirmed or a confirmed part was not planned.
pub fn assemble(confirmed: &Confirmed, planned: &[(Source, u32)]) -> Result<Vec<CompletePart>, Error> {
    let mut out = Vec::with_capacity(confirmed.len());
    let mut missing = Vec::new();
    let mut sources: Vec<(Source, u32)> = planned.to_vec();
    sources.sort_unstable(); // equal entries are identical: stability buys nothing (and costs 4 KB of wasm)
    for &(source, count) in &sources {
        for number in 1..=count {
            match confirmed.get(source, number) {
                Some(c) => out.push(CompletePart { part_source: source, part_number: number, checksum: c.to_string() }),
                None => missing.push(format!("{source} part {number}")),
            }
        }
    }
    if !missing.is_empty() {
        let shown: Vec<_> = missing.iter().take(5).cloned().collect();
        let more = if missing.len() > 5 { format!(" and {} more", missing.len() - 5) } else { String::new() };
        return Err(Error::new(
            ErrorKind::Protocol,
            format!("cannot complete: {} planned part(s) not confirmed: {}{more}", missing.len(), shown.join(", ")),
        ));
    }
    if out.len() != confirmed.len() {
        let extra: Vec<_> = confirmed
            .0
            .keys()
            .filter(|(s, n)| !sources.iter().any(|&(ps, c)| ps == *s && *n >= 1 && *n <= c))
            .map(|(s, n)| format!("{s} part {n}"))
            .collect();
        return Err(Error::new(
            ErrorKind::Protocol,
            format!("cannot complete: the upload holds parts outside the plan: {}", extra.join(", ")),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_confirmed_out_of_order_come_out_sorted_per_source() {
        let mut c = Confirmed::new();
        for (s, n) in [(Source::Source2, 2), (Source::Source1, 3), (Source::Source2, 1), (Source::Source1, 1), (Source::Source1, 2)] {
            c.insert(s, n, format!("{s}-{n}"));
        }
        let parts = assemble(&c, &[(Source::Source2, 2), (Source::Source1, 3)]).unwrap();
        let order: Vec<_> = parts.iter().map(|p| (p.part_source, p.part_number, p.checksum.as_str())).collect();
        assert_eq!(
            order,
            vec![
                (Source::Source1, 1, "SOURCE1-1"),
                (Source::Source1, 2, "SOURCE1-2"),
                (Source::Source1, 3, "SOURCE1-3"),
                (Source::Source2, 1, "SOURCE2-1"),
                (Source::Source2, 2, "SOURCE2-2"),
            ]
        );
    }

    #[test]
    fn a_missing_part_refuses_completion_and_names_it() {
        let mut c = Confirmed::new();
        c.insert(Source::Source1, 1, "a".into());
        c.insert(Source::Source1, 3, "c".into());
        let e = assemble(&c, &[(Source::Source1, 3)]).unwrap_err();
        assert_eq!(e.code(), "protocol");
        assert!(e.message.contains("SOURCE1 part 2"), "{}", e.message);
    }

    #[test]
    fn a_part_outside_the_plan_refuses_completion() {
        let mut c = Confirmed::new();
        c.insert(Source::Source1, 1, "a".into());
        c.insert(Source::Source1, 2, "stale".into());
        let e = assemble(&c, &[(Source::Source1, 1)]).unwrap_err();
        assert!(e.message.contains("SOURCE1 part 2"), "{}", e.message);
    }

    #[test]
    fn a_re_uploaded_part_keeps_only_its_latest_checksum() {
        let mut c = Confirmed::new();
        c.insert(Source::Source1, 1, "old".into());
        c.insert(Source::Source1, 1, "new".into());
        let parts = assemble(&c, &[(Source::Source1, 1)]).unwrap();
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].checksum, "new");
    }
}
