//! S3 locations in job rules and job requests: one strict syntax for both, so a prefix match is
//! a plain string comparison on path-segment boundaries.
//!
//! Nothing is normalised: a location with `..` or `.` segments, an empty segment (`//`), a
//! `%` escape, a backslash, `?`, `#`, a control or non-ASCII character is refused rather than
//! interpreted, because HealthOmics, S3 and the local store might each read it differently.

/// Longest S3 object key (bytes).
const MAX_KEY_BYTES: usize = 1024;

/// Why `value` is not a clean `s3://bucket/key` location, or `None` when it is one.
/// `folder`: the location must end with `/` (a configured prefix).
pub(crate) fn problem(value: &str, folder: bool) -> Option<&'static str> {
    let Some(rest) = value.strip_prefix("s3://") else {
        return Some("does not start with s3://");
    };
    let (bucket, key) = match rest.split_once('/') {
        Some((b, k)) => (b, k),
        None => (rest, ""),
    };
    let bucket_ok = (3..=63).contains(&bucket.len())
        && bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && !bucket.starts_with(['-', '.'])
        && !bucket.ends_with(['-', '.'])
        && !bucket.contains("..");
    if !bucket_ok {
        return Some("does not name an S3 bucket (3 to 63 of a-z 0-9 . -, starting and ending with a letter or digit)");
    }
    if !rest.contains('/') {
        return Some("has no `/` after the bucket name");
    }
    if key.len() > MAX_KEY_BYTES {
        return Some("has a key longer than 1024 bytes");
    }
    if let Some(bad) = key.chars().find(|c| !c.is_ascii() || c.is_ascii_control() || matches!(c, '%' | '\\' | '?' | '#')) {
        return Some(match bad {
            '%' => "contains `%` (percent-escapes are not accepted)",
            '\\' => "contains a backslash",
            '?' | '#' => "contains `?` or `#`",
            _ => "contains a control or non-ASCII character",
        });
    }
    if folder && !value.ends_with('/') {
        return Some("does not end with `/` (a prefix is a folder: s3://bucket/folder/)");
    }
    if folder && key.contains(' ') {
        return Some("contains a space");
    }
    if key.is_empty() {
        return None;
    }
    let segments: Vec<&str> = key.split('/').collect();
    let last = segments.len() - 1;
    for (i, seg) in segments.iter().enumerate() {
        match *seg {
            "" if i == last => {}
            "" => return Some("has an empty path segment (`//`)"),
            "." | ".." => return Some("has a `.` or `..` path segment"),
            _ => {}
        }
    }
    None
}

/// Whether the clean location `value` lies under one of the clean `prefixes` (each ending with
/// `/`, so the match is on a segment boundary: `s3://b/exports/` does not cover
/// `s3://b/exports-other/`).
pub(crate) fn under<'a>(value: &str, prefixes: &'a [String]) -> Option<&'a str> {
    prefixes.iter().map(String::as_str).find(|p| p.ends_with('/') && value.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_prefixes_are_accepted() {
        for p in ["s3://readset-exports/", "s3://lab.a-1/exports/2026/", "s3://abc/a/b/c/"] {
            assert_eq!(problem(p, true), None, "{p}");
        }
    }

    #[test]
    fn malformed_prefixes_are_refused_with_the_reason() {
        let cases = [
            ("https://bucket/x/", "does not start with s3://"),
            ("S3://bucket/x/", "does not start with s3://"),
            ("s3://Bucket/x/", "does not name an S3 bucket"),
            ("s3://ab/x/", "does not name an S3 bucket"),
            ("s3://-bucket/x/", "does not name an S3 bucket"),
            ("s3://a..b/x/", "does not name an S3 bucket"),
            ("s3://bucket", "has no `/` after the bucket name"),
            ("s3://bucket/x", "does not end with `/`"),
            ("s3://bucket/x//y/", "empty path segment"),
            ("s3://bucket//", "empty path segment"),
            ("s3://bucket/../y/", "`..` path segment"),
            ("s3://bucket/x/./", "`..` path segment"),
            ("s3://bucket/x%2f/", "percent-escapes"),
            ("s3://bucket/x\\y/", "backslash"),
            ("s3://bucket/x?y/", "`?` or `#`"),
            ("s3://bucket/x\ny/", "control or non-ASCII"),
            ("s3://bucket/\u{ff0f}x/", "control or non-ASCII"),
            ("s3://bucket/a b/", "contains a space"),
        ];
        for (p, why) in cases {
            let got = problem(p, true).unwrap_or_else(|| panic!("{p:?} accepted"));
            assert!(got.contains(why), "{p:?}: {got}");
        }
    }

    #[test]
    fn requested_locations_are_checked_without_normalising() {
        assert_eq!(problem("s3://readset-exports/1234567890/", false), None);
        assert_eq!(problem("s3://readset-imports/run 1/r1.fastq.gz", false), None);
        assert_eq!(problem("s3://readset-exports/x", false), None);
        for bad in [
            "s3://readset-exports/../loot/",
            "s3://readset-exports/a/../../loot/",
            "s3://readset-exports//loot/",
            "s3://readset-exports/%2e%2e/loot/",
            "s3://readset-exports/.\\loot/",
            "s3://readset-exports/./x",
        ] {
            assert!(problem(bad, false).is_some(), "{bad} accepted");
        }
    }

    #[test]
    fn prefixes_match_on_segment_boundaries_only() {
        let prefixes = vec!["s3://readset-exports/lab-a/".to_string()];
        assert_eq!(under("s3://readset-exports/lab-a/", &prefixes), Some("s3://readset-exports/lab-a/"));
        assert_eq!(under("s3://readset-exports/lab-a/x/y", &prefixes), Some("s3://readset-exports/lab-a/"));
        assert_eq!(under("s3://readset-exports/lab-a", &prefixes), None);
        assert_eq!(under("s3://readset-exports/lab-ab/", &prefixes), None);
        assert_eq!(under("s3://readset-exports/lab-a-other/x", &prefixes), None);
        assert_eq!(under("s3://readset-exports-evil/lab-a/", &prefixes), None);
        assert_eq!(under("s3://readset-exports/LAB-A/", &prefixes), None);
        // A prefix without its trailing `/` never matches (the file loader refuses it too).
        assert_eq!(under("s3://b/xy/", &["s3://b/x".to_string()]), None);
    }
}
