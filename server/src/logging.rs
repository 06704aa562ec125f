//! Log output: `text` for people, `json` (one object per line) for log shippers; level from
//! `RUST_LOG` (default `info`).
//!
//! Field values often come from callers (a JWT's `sub`, a Seven Bridges project, a path), so
//! none is written raw: in text, control characters (a newline that would start a forged log
//! line), Unicode format characters (bidirectional overrides) and `\`, `"` are escaped, and a
//! value holding a space, `=` or `"` is quoted, so it cannot pass for another field; in JSON,
//! every value is a JSON string or number. ANSI colours are used only when stdout is a
//! terminal, so log files hold plain text.

use std::fmt::{self, Write as _};
use std::io::IsTerminal;

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::{FormatEvent, FormatFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// The log line format (`--log-format`, `READSET_LOG_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// `TIME LEVEL span{fields}: target: message key=value ...`
    Text,
    /// `{"timestamp":...,"level":...,"target":...,"message":...,"key":value,...}`
    Json,
}

impl LogFormat {
    /// The format named by `READSET_LOG_FORMAT` (`json` or `text`), else text.
    pub fn from_env() -> Self {
        match std::env::var("READSET_LOG_FORMAT").as_deref().map(str::trim) {
            Ok(v) if v.eq_ignore_ascii_case("json") => LogFormat::Json,
            _ => LogFormat::Text,
        }
    }
}

/// Installs the process-wide subscriber writing `format` to stdout.
pub fn init(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match format {
        LogFormat::Text => builder.with_ansi(std::io::stdout().is_terminal()).fmt_fields(TextFields).try_init(),
        LogFormat::Json => builder.with_ansi(false).fmt_fields(JsonFields).event_format(JsonEvent).try_init(),
    };
}

/// Writes `value` for a text log line: escaped, and quoted when `quote_if_needed` and it holds
/// a character that would make it look like several fields (or it is empty).
pub fn escape_text(value: &str, quote_if_needed: bool) -> String {
    let quote = quote_if_needed && (value.is_empty() || value.chars().any(|c| c == ' ' || c == '=' || c == '"' || needs_escape(c)));
    let mut out = String::with_capacity(value.len() + 2);
    if quote {
        out.push('"');
    }
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' if quote => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    if quote {
        out.push('"');
    }
    out
}

/// Control characters, and the invisible format characters that reorder or hide text.
fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}')
}

/// Text field formatter: `message key=value key="quoted value"`, every value escaped.
struct TextFields;

impl<'w> FormatFields<'w> for TextFields {
    fn format_fields<R: RecordFields>(&self, mut writer: Writer<'w>, fields: R) -> fmt::Result {
        let mut visitor = TextVisitor { writer: &mut writer, first: true, result: Ok(()) };
        fields.record(&mut visitor);
        visitor.result
    }
}

struct TextVisitor<'a, 'w> {
    writer: &'a mut Writer<'w>,
    first: bool,
    result: fmt::Result,
}

impl TextVisitor<'_, '_> {
    fn put(&mut self, field: &Field, value: &str) {
        if self.result.is_err() {
            return;
        }
        let sep = if self.first { "" } else { " " };
        self.first = false;
        self.result = if field.name() == "message" {
            write!(self.writer, "{sep}{}", escape_text(value, false))
        } else {
            write!(self.writer, "{sep}{}={}", field.name(), escape_text(value, true))
        };
    }
}

impl Visit for TextVisitor<'_, '_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value);
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, &format!("{value:?}"));
    }
}

/// JSON field formatter for span fields: `"key":value,...` (the inside of an object).
struct JsonFields;

impl<'w> FormatFields<'w> for JsonFields {
    fn format_fields<R: RecordFields>(&self, mut writer: Writer<'w>, fields: R) -> fmt::Result {
        let mut map = serde_json::Map::new();
        fields.record(&mut JsonVisitor(&mut map));
        let object = serde_json::Value::Object(map).to_string();
        writer.write_str(&object[1..object.len() - 1])
    }

    fn add_fields(&self, current: &'w mut FormattedFields<Self>, fields: &tracing::span::Record<'_>) -> fmt::Result {
        if !current.fields.is_empty() {
            current.fields.push(',');
        }
        self.format_fields(current.as_writer(), fields)
    }
}

struct JsonVisitor<'a>(&'a mut serde_json::Map<String, serde_json::Value>);

impl Visit for JsonVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().into(), format!("{value:?}").into());
    }
}

/// One JSON object per event: time, level, target, the fields of the spans it is in (outer
/// first), then its own fields.
struct JsonEvent;

impl<S, N> FormatEvent<S, N> for JsonEvent
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let meta = event.metadata();
        let mut map = serde_json::Map::new();
        let now = time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
        map.insert("timestamp".into(), now.into());
        map.insert("level".into(), meta.level().as_str().into());
        map.insert("target".into(), meta.target().into());
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let extensions = span.extensions();
                let Some(fields) = extensions.get::<FormattedFields<N>>() else { continue };
                if let Ok(serde_json::Value::Object(m)) = serde_json::from_str(&format!("{{{}}}", fields.fields)) {
                    map.extend(m);
                }
            }
        }
        event.record(&mut JsonVisitor(&mut map));
        writeln!(writer, "{}", serde_json::Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_that_could_forge_lines_or_fields_are_escaped() {
        assert_eq!(escape_text("alice", true), "alice");
        assert_eq!(escape_text("a\nINFO forged", true), "\"a\\nINFO forged\"");
        assert_eq!(escape_text("a status=200", true), "\"a status=200\"");
        assert_eq!(escape_text("say \"hi\"\\", true), "\"say \\\"hi\\\"\\\\\"");
        assert_eq!(escape_text("x\u{1b}[31m\u{202e}", true), "\"x\\u{1b}[31m\\u{202e}\"");
        assert_eq!(escape_text("", true), "\"\"");
        assert_eq!(escape_text("msg with\r\nbreak", false), "msg with\\r\\nbreak");
    }
}
