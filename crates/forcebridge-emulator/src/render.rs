//! Records as JSON and CSV text, written straight into byte buffers.
//!
//! Query pages are the org's hottest path (the goal is hundreds of MB/s), so records are never
//! built as `serde_json::Value`s: values are written where they belong, strings escaped in runs.
//! The value forms follow Salesforce: datetimes `2024-01-15T10:30:00.000+0000` in JSON and
//! `...000Z` in CSV, numbers of double fields as Java prints doubles (`15000.0`, `1.0E7`),
//! compound address and location fields as nested objects, base64 fields as a blob URL.

use crate::ids::RecordId;
use crate::schema::{FieldDef, FieldType, ObjectDef, Storage};
use crate::store::{Row, id_of};
use crate::value::{self, Value};

/// Appends `s` as a JSON string.
pub(crate) fn write_json_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => {
                out.extend_from_slice(&bytes[start..i]);
                out.extend_from_slice(format!("\\u{b:04x}").as_bytes());
                start = i + 1;
                continue;
            }
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(escape);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Appends a double the way Java's `Double.toString` prints it, which is how Salesforce's JSON
/// shows double, currency and percent fields: `15000.0`, `0.25`, `1.0E7`, `1.5E-4`.
pub(crate) fn write_double(out: &mut Vec<u8>, d: f64) {
    if !d.is_finite() {
        out.extend_from_slice(b"null");
        return;
    }
    let magnitude = d.abs();
    if d == 0.0 || (1e-3..1e7).contains(&magnitude) {
        let text = format!("{d}");
        out.extend_from_slice(text.as_bytes());
        if !text.contains('.') {
            out.extend_from_slice(b".0");
        }
    } else {
        let text = format!("{d:e}");
        let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
        out.extend_from_slice(mantissa.as_bytes());
        if !mantissa.contains('.') {
            out.extend_from_slice(b".0");
        }
        out.push(b'E');
        out.extend_from_slice(exponent.as_bytes());
    }
}

/// Appends an id as a JSON string.
pub(crate) fn write_id(out: &mut Vec<u8>, id: RecordId) {
    out.push(b'"');
    id.write_18(out);
    out.push(b'"');
}

/// What the renderer needs to know about the request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RenderContext<'a> {
    /// The API version of the request, as in `60.0`; URLs use it.
    pub version: &'a str,
}

impl RenderContext<'_> {
    /// `/services/data/v60.0/sobjects/Account/001...`.
    pub(crate) fn record_url(&self, out: &mut Vec<u8>, object: &ObjectDef, id: RecordId) {
        out.extend_from_slice(b"/services/data/v");
        out.extend_from_slice(self.version.as_bytes());
        out.extend_from_slice(b"/sobjects/");
        out.extend_from_slice(object.name.as_bytes());
        out.push(b'/');
        id.write_18(out);
    }

    /// `"attributes":{"type":"Account","url":"..."}` (without braces around it).
    pub(crate) fn write_attributes(&self, out: &mut Vec<u8>, object: &ObjectDef, id: RecordId) {
        out.extend_from_slice(b"\"attributes\":{\"type\":");
        write_json_str(out, &object.name);
        out.extend_from_slice(b",\"url\":\"");
        self.record_url(out, object, id);
        out.extend_from_slice(b"\"}");
    }

    /// The JSON value of one field of a stored record.
    pub(crate) fn write_field(
        &self,
        out: &mut Vec<u8>,
        object: &ObjectDef,
        slot: u32,
        row: &Row,
        field: &FieldDef,
    ) {
        match field.storage {
            Storage::Id => write_id(out, id_of(object, slot)),
            Storage::Column(c) => self.write_value(out, object, slot, field, &row[c]),
            Storage::FullName => {
                let part = |name: &str| {
                    object
                        .field(name)
                        .and_then(|(_, f)| f.column())
                        .and_then(|c| row[c].as_text())
                        .unwrap_or("")
                };
                let full = [part("FirstName"), part("LastName")]
                    .iter()
                    .filter(|s| !s.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join(" ");
                if full.is_empty() {
                    out.extend_from_slice(b"null")
                } else {
                    write_json_str(out, &full)
                }
            }
            Storage::Address => self.write_address(out, object, row, field),
            Storage::Location => {
                let (lat, lon) = crate::schema::location_components(&field.name);
                let get = |name: &str| {
                    object
                        .field(name)
                        .and_then(|(_, f)| f.column())
                        .and_then(|c| row[c].as_f64())
                };
                match (get(&lat), get(&lon)) {
                    (None, None) => out.extend_from_slice(b"null"),
                    (lat, lon) => {
                        out.extend_from_slice(b"{\"latitude\":");
                        write_optional_double(out, lat);
                        out.extend_from_slice(b",\"longitude\":");
                        write_optional_double(out, lon);
                        out.push(b'}');
                    }
                }
            }
        }
    }

    /// The JSON form of a value of `field`: ints of `int` fields without a fraction, base64
    /// fields as the URL of their content, everything else as [`write_plain_value`] writes it.
    pub(crate) fn write_value(
        &self,
        out: &mut Vec<u8>,
        object: &ObjectDef,
        slot: u32,
        field: &FieldDef,
        value: &Value,
    ) {
        match value {
            Value::Double(d) if field.field_type == FieldType::Int => {
                out.extend_from_slice(format!("{}", d.round() as i64).as_bytes())
            }
            Value::Text(_) if field.field_type == FieldType::Base64 => {
                out.push(b'"');
                self.record_url(out, object, id_of(object, slot));
                out.push(b'/');
                out.extend_from_slice(field.name.as_bytes());
                out.push(b'"');
            }
            other => write_plain_value(out, other),
        }
    }

    fn write_address(&self, out: &mut Vec<u8>, object: &ObjectDef, row: &Row, field: &FieldDef) {
        let prefix = field.name.strip_suffix("Address").unwrap_or("");
        let get = |suffix: &str| {
            object
                .field(&format!("{prefix}{suffix}"))
                .and_then(|(_, f)| f.column())
                .map(|c| &row[c])
        };
        let parts = [
            ("city", "City"),
            ("country", "Country"),
            ("geocodeAccuracy", "GeocodeAccuracy"),
            ("latitude", "Latitude"),
            ("longitude", "Longitude"),
            ("postalCode", "PostalCode"),
            ("state", "State"),
            ("street", "Street"),
        ];
        if parts
            .iter()
            .all(|(_, suffix)| get(suffix).is_none_or(Value::is_null))
        {
            out.extend_from_slice(b"null");
            return;
        }
        out.push(b'{');
        for (i, (key, suffix)) in parts.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_json_str(out, key);
            out.push(b':');
            match get(suffix) {
                Some(Value::Double(d)) => write_double(out, *d),
                Some(Value::Text(s)) => write_json_str(out, s),
                _ => out.extend_from_slice(b"null"),
            }
        }
        out.push(b'}');
    }

    /// A whole record: attributes, then `fields` (indexes into the object's fields) in order.
    pub(crate) fn write_record(
        &self,
        out: &mut Vec<u8>,
        object: &ObjectDef,
        slot: u32,
        row: &Row,
        fields: &[usize],
    ) {
        out.push(b'{');
        self.write_attributes(out, object, id_of(object, slot));
        for &index in fields {
            let field = &object.fields[index];
            out.push(b',');
            write_json_str(out, &field.name);
            out.push(b':');
            self.write_field(out, object, slot, row, field);
        }
        out.push(b'}');
    }
}

/// The JSON form of a value, from its kind alone: strings escaped, doubles as Java prints
/// them, dates `2024-01-15`, datetimes `2024-01-15T10:30:00.000+0000`, times `10:30:00.000Z`.
pub(crate) fn write_plain_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Value::Double(d) => write_double(out, *d),
        Value::Text(s) => write_json_str(out, s),
        Value::Date(d) => {
            out.push(b'"');
            value::write_date(out, *d);
            out.push(b'"');
        }
        Value::DateTime(ms) => {
            out.push(b'"');
            value::write_datetime(out, *ms, "+0000");
            out.push(b'"');
        }
        Value::Time(ms) => {
            out.push(b'"');
            value::write_time(out, *ms);
            out.push(b'"');
        }
        Value::Ref(id) => write_id(out, *id),
    }
}

fn write_optional_double(out: &mut Vec<u8>, d: Option<f64>) {
    match d {
        Some(d) => write_double(out, d),
        None => out.extend_from_slice(b"null"),
    }
}

#[cfg(test)]
/// The CSV text of a value (Bulk API): empty for null, datetimes with `Z`, numbers plain.
pub(crate) fn csv_text(field: &FieldDef, value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Double(d) if field.field_type == FieldType::Int => format!("{}", d.round() as i64),
        Value::Double(d) => format!("{d}"),
        Value::Text(s) => s.to_string(),
        Value::Date(d) => value::format_date(*d),
        Value::DateTime(ms) => {
            let mut out = Vec::with_capacity(24);
            value::write_datetime(&mut out, *ms, "Z");
            String::from_utf8(out).unwrap_or_default()
        }
        Value::Time(ms) => {
            let mut out = Vec::with_capacity(13);
            value::write_time(&mut out, *ms);
            String::from_utf8(out).unwrap_or_default()
        }
        Value::Ref(id) => id.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn double(d: f64) -> String {
        let mut out = Vec::new();
        write_double(&mut out, d);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn doubles_print_as_java_does() {
        assert_eq!(double(15000.0), "15000.0");
        assert_eq!(double(0.25), "0.25");
        assert_eq!(double(-3.5), "-3.5");
        assert_eq!(double(0.0), "0.0");
        assert_eq!(double(1e7), "1.0E7");
        assert_eq!(double(350_000_000.0), "3.5E8");
        assert_eq!(double(0.00015), "1.5E-4");
        assert_eq!(double(9_999_999.5), "9999999.5");
    }

    #[test]
    fn strings_are_escaped_in_runs() {
        let mut out = Vec::new();
        write_json_str(&mut out, "a\"b\\c\nd\u{1}é");
        assert_eq!(String::from_utf8(out).unwrap(), r#""a\"b\\c\nd\u0001é""#);
    }
}
