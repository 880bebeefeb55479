//! Dynamic records: a record as Salesforce sends it, for code that does not know its fields at
//! compile time. Typed code deserializes its own structs instead (any `DeserializeOwned`).
//!
//! A query page holds up to 2,000 records with the same fields in the same order, so a
//! [`Record`] keeps its field names in a shape shared by every record of that shape read on the
//! same thread: reading a record allocates its values, not its names. Parent records nested
//! in a record (`Owner` under an Account) are records of their own, and child relationships
//! (`Contacts` under an Account) are lists of records, so neither goes through a generic JSON
//! map.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;

/// The string type of [`Value::String`], re-exported so that callers need not name the crate.
pub use compact_str::CompactString;
use serde::de::{self, DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Number};

use crate::error::{Error, Result};

/// A record: its fields in the order Salesforce sent them, with parent relationships as nested
/// records (`Account` under a Contact) and child relationships as nested query results.
///
/// ```
/// # use forcebridge_client::Record;
/// let record: Record = serde_json::from_str(r#"{
///     "attributes": {"type": "Contact", "url": "/services/data/v60.0/sobjects/Contact/003000000000001AAA"},
///     "Id": "003000000000001AAA",
///     "LastName": "Ng",
///     "Account": {"attributes": {"type": "Account"}, "Name": "Acme"}
/// }"#).unwrap();
/// assert_eq!(record.sobject_type(), Some("Contact"));
/// assert_eq!(record.get_str("Account.Name"), Some("Acme"));
/// assert_eq!(record.get_str("account.name"), Some("Acme")); // field names ignore case
/// assert_eq!(record.get("Account").and_then(|a| a.as_record()).and_then(|a| a.sobject_type()), Some("Account"));
/// ```
#[derive(Clone, Default)]
pub struct Record {
    shape: Arc<Shape>,
    /// `attributes.url`.
    url: Option<Url>,
    /// Any other key of `attributes`, kept so that the record is written back as it came.
    other_attributes: Option<Box<Map<String, serde_json::Value>>>,
    /// One per name of the shape.
    values: Vec<Value>,
}

/// A record's object type and field names, in order.
#[derive(Debug, Clone, PartialEq, Default)]
struct Shape {
    sobject_type: Option<Box<str>>,
    names: Vec<Box<str>>,
    /// What the `attributes.url` of records of this shape start with
    /// (`/services/data/v60.0/sobjects/Account/`), so that each keeps only the rest.
    url_prefix: Option<Box<str>>,
}

/// `attributes.url`: whole, or the part after the shape's `url_prefix` (an id, held in place).
#[derive(Debug, Clone)]
enum Url {
    Tail(CompactString),
    Whole(Box<str>),
}

/// The longest part of a URL after the shape's prefix that is kept as a tail.
const URL_TAIL: usize = 24;

impl PartialEq for Record {
    fn eq(&self, other: &Record) -> bool {
        self.sobject_type() == other.sobject_type()
            && self.url() == other.url()
            && self.other_attributes == other.other_attributes
            && self.shape.names == other.shape.names
            && self.values == other.values
    }
}

/// A field's value.
///
/// ```
/// # use forcebridge_client::{Record, record::Value};
/// let mut lead = Record::new();
/// lead.set("LastName", "Ng")
///     .set("Company", "Acme")
///     .set("NumberOfEmployees", 40)
///     .set("Phone", None::<&str>);
/// assert_eq!(lead.get("NumberOfEmployees").and_then(Value::as_i64), Some(40));
/// assert!(lead.get("phone").is_some_and(Value::is_null));
/// assert_eq!(
///     serde_json::to_string(&lead).unwrap(),
///     r#"{"LastName":"Ng","Company":"Acme","NumberOfEmployees":40,"Phone":null}"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// `null`: an empty field, or a parent relationship with no parent.
    #[default]
    Null,
    /// A checkbox.
    Bool(bool),
    /// Any number (Salesforce sends whole numbers of number fields as `12.0` at times).
    Number(Number),
    /// Text: up to 24 bytes are held in place, without allocating, which is most field
    /// values (ids, names, picklist values, dates).
    String(CompactString),
    /// A parent record (`Account` under a Contact).
    Record(Box<Record>),
    /// A child relationship (`Contacts` under an Account): the first page of the subquery.
    Children(Box<Children>),
    /// Anything else, as JSON: compound address and location fields, arrays.
    Json(Box<serde_json::Value>),
}

/// The records of a child relationship, as Salesforce nests them in their parent.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Children {
    /// How many child records the subquery matched (`totalSize`).
    pub total_size: u64,
    /// Whether `records` holds them all (`done`).
    pub done: bool,
    /// Where the rest is, when the subquery returned more than one page.
    pub next_records_url: Option<String>,
    /// The child records of this page.
    pub records: Vec<Record>,
}

impl Record {
    /// An empty record, to fill with [`Record::set`] and send.
    pub fn new() -> Record {
        Record::default()
    }

    /// The object type from `attributes.type` (`AggregateResult` for aggregate rows).
    pub fn sobject_type(&self) -> Option<&str> {
        self.shape.sobject_type.as_deref()
    }

    /// `attributes.url`: where the record is in the REST API.
    pub fn url(&self) -> Option<Cow<'_, str>> {
        Some(match self.url.as_ref()? {
            Url::Whole(url) => Cow::Borrowed(url),
            Url::Tail(tail) => {
                let prefix = self.shape.url_prefix.as_deref().unwrap_or_default();
                Cow::Owned(format!("{prefix}{tail}"))
            }
        })
    }

    /// The record's id: its `Id` field, or the last segment of `attributes.url`.
    pub fn id(&self) -> Option<&str> {
        if let Some(Value::String(id)) = self.field("Id") {
            return Some(id);
        }
        match self.url.as_ref()? {
            Url::Tail(tail) => Some(tail),
            Url::Whole(url) => url.rsplit('/').next(),
        }
    }

    /// A field by name, or a dotted path through parent relationships and compound fields
    /// (`Account.Owner.Name`, `BillingAddress.city`). Names are matched without regard to
    /// case, as SOQL does. A null parent gives `None`.
    pub fn get(&self, path: &str) -> Option<&Value> {
        match path.split_once('.') {
            None => self.field(path),
            Some((first, rest)) => match self.field(first)? {
                Value::Record(parent) => parent.get(rest),
                // The parts of a compound field are JSON: the typed getters reach them.
                _ => None,
            },
        }
    }

    /// The text at `path`; `None` when it is absent, null or not text.
    pub fn get_str(&self, path: &str) -> Option<&str> {
        match self.get(path) {
            Some(value) => value.as_str(),
            None => self.json_at(path)?.as_str(),
        }
    }

    /// The number at `path`; `None` when it is absent, null or not a number.
    pub fn get_f64(&self, path: &str) -> Option<f64> {
        match self.get(path) {
            Some(value) => value.as_f64(),
            None => self.json_at(path)?.as_f64(),
        }
    }

    /// A whole number; a number sent as `12.0` reads as 12.
    pub fn get_i64(&self, path: &str) -> Option<i64> {
        match self.get(path) {
            Some(value) => value.as_i64(),
            None => json_as_i64(self.json_at(path)?),
        }
    }

    /// The checkbox at `path`; `None` when it is absent, null or not a boolean.
    pub fn get_bool(&self, path: &str) -> Option<bool> {
        match self.get(path) {
            Some(value) => value.as_bool(),
            None => self.json_at(path)?.as_bool(),
        }
    }

    /// A field read as any deserializable type; `Ok(None)` when it is absent or null.
    pub fn get_as<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>> {
        let json = match self.get(path) {
            None | Some(Value::Null) => match self.json_at(path) {
                None | Some(serde_json::Value::Null) => return Ok(None),
                Some(json) => json.clone(),
            },
            Some(value) => value.to_json(),
        };
        T::deserialize(json)
            .map(Some)
            .map_err(|e| Error::decode(format!("field {path} cannot be read as asked"), e))
    }

    /// The records of a child relationship (`Contacts` under an Account): the first page of
    /// the subquery, as Salesforce nested it. Empty when there are none.
    pub fn children(&self, relationship: &str) -> &[Record] {
        match self.field(relationship) {
            Some(Value::Children(children)) => &children.records,
            _ => &[],
        }
    }

    /// Sets a field (replacing a field of the same name, whatever its case).
    pub fn set(&mut self, name: &str, value: impl Into<Value>) -> &mut Record {
        let value = value.into();
        match self.position(name) {
            Some(i) => self.values[i] = value,
            None => {
                Arc::make_mut(&mut self.shape).names.push(name.into());
                self.values.push(value);
            }
        }
        self
    }

    /// Takes a field out of the record (whatever the case of its name).
    pub fn remove(&mut self, name: &str) -> Option<Value> {
        let i = self.position(name)?;
        Arc::make_mut(&mut self.shape).names.remove(i);
        Some(self.values.remove(i))
    }

    /// The fields, without `attributes`, in the order they came.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.shape.names.iter().map(|n| &**n).zip(&self.values)
    }

    /// How many fields the record has, `attributes` aside.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the record has no fields (`attributes` aside).
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The record as a JSON object, `attributes` included.
    pub fn to_map(&self) -> Map<String, serde_json::Value> {
        let mut map = Map::new();
        if let Some(attributes) = self.attributes_json() {
            map.insert("attributes".into(), attributes);
        }
        for (name, value) in self.fields() {
            map.insert(name.into(), value.to_json());
        }
        map
    }

    /// [`Record::to_map`], consuming the record.
    pub fn into_map(self) -> Map<String, serde_json::Value> {
        self.to_map()
    }

    /// Reads the record as a typed struct.
    pub fn to_typed<T: DeserializeOwned>(&self) -> Result<T> {
        T::deserialize(serde_json::Value::Object(self.to_map()))
            .map_err(|e| Error::decode("record cannot be read as asked".to_string(), e))
    }

    fn has_attributes(&self) -> bool {
        self.shape.sobject_type.is_some() || self.url.is_some() || self.other_attributes.is_some()
    }

    fn attributes_json(&self) -> Option<serde_json::Value> {
        if !self.has_attributes() {
            return None;
        }
        let mut attributes = Map::new();
        if let Some(sobject_type) = self.sobject_type() {
            attributes.insert("type".into(), sobject_type.into());
        }
        if let Some(url) = self.url() {
            attributes.insert("url".into(), url.into_owned().into());
        }
        if let Some(other) = &self.other_attributes {
            attributes.extend(other.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        Some(attributes.into())
    }

    fn position(&self, name: &str) -> Option<usize> {
        let names = &self.shape.names;
        names
            .iter()
            .position(|n| **n == *name)
            .or_else(|| names.iter().position(|n| n.eq_ignore_ascii_case(name)))
    }

    fn field(&self, name: &str) -> Option<&Value> {
        self.position(name).map(|i| &self.values[i])
    }

    /// The JSON at a path that leads into a compound field (`BillingAddress.city`).
    fn json_at(&self, path: &str) -> Option<&serde_json::Value> {
        let (first, rest) = path.split_once('.')?;
        match self.field(first)? {
            Value::Record(parent) => parent.json_at(rest),
            Value::Json(json) => {
                let mut json: &serde_json::Value = json;
                for part in rest.split('.') {
                    json = json_field(json.as_object()?, part)?;
                }
                Some(json)
            }
            _ => None,
        }
    }
}

fn json_field<'a>(
    object: &'a Map<String, serde_json::Value>,
    name: &str,
) -> Option<&'a serde_json::Value> {
    object.get(name).or_else(|| {
        object
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

fn json_as_i64(json: &serde_json::Value) -> Option<i64> {
    json.as_i64().or_else(|| whole(json.as_f64()?))
}

/// A float that holds a whole number in `i64`'s range, as that number.
fn whole(f: f64) -> Option<i64> {
    (f.fract() == 0.0 && f.abs() < 9.2e18).then_some(f as i64)
}

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Fields<'a>(&'a Record);
        impl fmt::Debug for Fields<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_map().entries(self.0.fields()).finish()
            }
        }
        let mut debug = f.debug_struct("Record");
        if let Some(sobject_type) = self.sobject_type() {
            debug.field("type", &sobject_type);
        }
        debug.field("fields", &Fields(self)).finish()
    }
}

impl Value {
    /// Whether the value is null (an empty field).
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null) || matches!(self, Value::Json(json) if json.is_null())
    }

    /// The text, for a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean, for a checkbox.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The number, as a float.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => n.as_f64(),
            _ => None,
        }
    }

    /// A whole number; a number sent as `12.0` reads as 12.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Number(n) => n.as_i64().or_else(|| whole(n.as_f64()?)),
            _ => None,
        }
    }

    /// The parent record, for a relationship field.
    pub fn as_record(&self) -> Option<&Record> {
        match self {
            Value::Record(record) => Some(record),
            _ => None,
        }
    }

    /// The child records, for a child relationship.
    pub fn as_children(&self) -> Option<&Children> {
        match self {
            Value::Children(children) => Some(children),
            _ => None,
        }
    }

    /// The value as JSON, as Salesforce wrote it.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => (*b).into(),
            Value::Number(n) => serde_json::Value::Number(n.clone()),
            Value::String(s) => s.as_str().into(),
            Value::Record(record) => record.to_map().into(),
            Value::Children(children) => children.to_json(),
            Value::Json(json) => (**json).clone(),
        }
    }
}

impl Children {
    fn to_json(&self) -> serde_json::Value {
        let mut map = Map::new();
        map.insert("totalSize".into(), self.total_size.into());
        map.insert("done".into(), self.done.into());
        if let Some(url) = &self.next_records_url {
            map.insert("nextRecordsUrl".into(), url.as_str().into());
        }
        let records = self.records.iter().map(|r| r.to_map().into()).collect();
        map.insert("records".into(), serde_json::Value::Array(records));
        map.into()
    }
}

macro_rules! value_from {
    ($($t:ty => $variant:ident($convert:expr)),* $(,)?) => {
        $(impl From<$t> for Value {
            fn from(v: $t) -> Value {
                Value::$variant($convert(v))
            }
        })*
    };
}

value_from! {
    bool => Bool(std::convert::identity),
    i32 => Number(Number::from),
    i64 => Number(Number::from),
    u32 => Number(Number::from),
    u64 => Number(Number::from),
    String => String(CompactString::from),
    &str => String(CompactString::new),
    CompactString => String(std::convert::identity),
    Record => Record(Box::new),
}

impl From<f64> for Value {
    /// A finite number; NaN and the infinities, which JSON cannot carry, become null.
    fn from(v: f64) -> Value {
        Number::from_f64(v).map_or(Value::Null, Value::Number)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}

impl From<serde_json::Value> for Value {
    /// Objects with `attributes` become records, and objects with `records` and `totalSize`
    /// child relationships, as when Salesforce's JSON is read.
    fn from(json: serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => Value::Number(n),
            serde_json::Value::String(s) => Value::String(s.into()),
            serde_json::Value::Object(map) if map.contains_key("attributes") => {
                Value::Record(Box::new(Record::from(map)))
            }
            serde_json::Value::Object(map)
                if map.contains_key("records") && map.contains_key("totalSize") =>
            {
                Value::Children(Box::new(Children::from_json(map)))
            }
            other => Value::Json(Box::new(other)),
        }
    }
}

impl Children {
    fn from_json(mut map: Map<String, serde_json::Value>) -> Children {
        let records = match map.remove("records") {
            Some(serde_json::Value::Array(records)) => records
                .into_iter()
                .filter_map(|r| match r {
                    serde_json::Value::Object(map) => Some(Record::from(map)),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        Children {
            total_size: map.get("totalSize").and_then(|v| v.as_u64()).unwrap_or(0),
            done: map.get("done").and_then(|v| v.as_bool()).unwrap_or(true),
            next_records_url: map
                .get("nextRecordsUrl")
                .and_then(|v| v.as_str())
                .map(str::to_string),
            records,
        }
    }
}

impl From<Map<String, serde_json::Value>> for Record {
    fn from(map: Map<String, serde_json::Value>) -> Record {
        let mut shape = Shape::default();
        let mut record = Record::default();
        for (key, value) in map {
            match (key.as_str(), value) {
                ("attributes", serde_json::Value::Object(attributes)) => {
                    for (key, value) in attributes {
                        match (key.as_str(), value) {
                            ("type", serde_json::Value::String(t)) => {
                                shape.sobject_type = Some(t.into())
                            }
                            ("url", serde_json::Value::String(url)) => {
                                record.url = Some(Url::Whole(url.into()))
                            }
                            (_, value) => {
                                record
                                    .other_attributes
                                    .get_or_insert_default()
                                    .insert(key, value);
                            }
                        }
                    }
                }
                (_, value) => {
                    shape.names.push(key.into());
                    record.values.push(value.into());
                }
            }
        }
        record.shape = Arc::new(shape);
        record
    }
}

// Writing: the JSON Salesforce sent, `attributes` first.

impl Serialize for Record {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let attributes = self.has_attributes();
        let mut map = serializer.serialize_map(Some(self.len() + usize::from(attributes)))?;
        if attributes {
            map.serialize_entry("attributes", &Attributes(self))?;
        }
        for (name, value) in self.fields() {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

struct Attributes<'a>(&'a Record);

impl Serialize for Attributes<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let record = self.0;
        let mut map = serializer.serialize_map(None)?;
        if let Some(sobject_type) = record.sobject_type() {
            map.serialize_entry("type", sobject_type)?;
        }
        if let Some(url) = record.url() {
            map.serialize_entry("url", &*url)?;
        }
        for (key, value) in record.other_attributes.iter().flat_map(|m| m.iter()) {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Value::Null => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Number(n) => n.serialize(serializer),
            Value::String(s) => serializer.serialize_str(s),
            Value::Record(record) => record.serialize(serializer),
            Value::Children(children) => children.serialize(serializer),
            Value::Json(json) => json.serialize(serializer),
        }
    }
}

impl Serialize for Children {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("totalSize", &self.total_size)?;
        map.serialize_entry("done", &self.done)?;
        if let Some(url) = &self.next_records_url {
            map.serialize_entry("nextRecordsUrl", url)?;
        }
        map.serialize_entry("records", &self.records)?;
        map.end()
    }
}

// Reading. The hot path of a dynamic query: names are compared with the shape the last record
// of the same type had, and only a record whose names differ allocates a new shape.

thread_local! {
    /// Shapes recently read on this thread, the most recent first.
    static SHAPES: RefCell<Vec<Arc<Shape>>> = const { RefCell::new(Vec::new()) };
}

/// How many shapes a thread remembers: enough for a query's record and its parents.
const REMEMBERED_SHAPES: usize = 16;

/// The remembered shape of an object type, the most recent first.
fn remembered(sobject_type: &str) -> Option<Arc<Shape>> {
    SHAPES.with_borrow(|shapes| {
        shapes
            .iter()
            .find(|s| s.sobject_type.as_deref() == Some(sobject_type))
            .cloned()
    })
}

/// A remembered shape of the type that starts with `names` and goes on with `next`.
fn remembered_with(
    sobject_type: Option<&str>,
    names: &[Box<str>],
    next: &str,
) -> Option<Arc<Shape>> {
    SHAPES.with_borrow(|shapes| {
        shapes
            .iter()
            .find(|s| {
                s.sobject_type.as_deref() == sobject_type
                    && s.names.len() > names.len()
                    && s.names[..names.len()] == *names
                    && *s.names[names.len()] == *next
            })
            .cloned()
    })
}

/// Puts a shape first among the remembered ones.
fn remember(shape: &Arc<Shape>) {
    SHAPES.with_borrow_mut(
        |shapes| match shapes.iter().position(|s| Arc::ptr_eq(s, shape)) {
            Some(0) => {}
            Some(i) => shapes[..=i].rotate_right(1),
            None => {
                if shapes.len() == REMEMBERED_SHAPES {
                    shapes.pop();
                }
                shapes.insert(0, Arc::clone(shape));
            }
        },
    );
}

/// An object type as read from `attributes.type`.
enum TypeIn {
    /// The type of a remembered shape (no need to allocate its name again).
    Remembered(Arc<Shape>),
    New(Option<Box<str>>),
}

/// The names of the record being read, following a remembered shape while they agree with it.
/// (A record read as its shape was remembered costs one reference count, and no allocation.)
#[derive(Default)]
struct ShapeReader {
    /// The remembered shape whose first `len` names are the names read so far.
    following: Option<Arc<Shape>>,
    /// Whether the object type is that of `following`; else it is `own_type`.
    type_followed: bool,
    own_type: Option<Box<str>>,
    /// When the type is `own_type`: the URL prefix a [`Url::Tail`] was read against.
    own_url_prefix: Option<Box<str>>,
    /// The names read so far, once they left every remembered shape.
    own: Option<Vec<Box<str>>>,
    len: usize,
}

impl ShapeReader {
    fn sobject_type(&self) -> Option<&str> {
        if self.type_followed {
            self.following.as_ref()?.sobject_type.as_deref()
        } else {
            self.own_type.as_deref()
        }
    }

    fn set_type(&mut self, sobject_type: TypeIn) {
        match sobject_type {
            TypeIn::Remembered(shape) if self.len == 0 => {
                self.following = Some(shape);
                self.type_followed = true;
            }
            TypeIn::Remembered(shape) => {
                self.own_type = shape.sobject_type.clone();
                self.own_url_prefix = shape.url_prefix.clone();
                self.type_followed = false;
            }
            TypeIn::New(name) => {
                self.own_type = name;
                self.own_url_prefix = None;
                self.type_followed = false;
            }
        }
    }

    /// The prefix a [`Url::Tail`] of this record was read against.
    fn tail_base(&self) -> Option<&str> {
        if self.type_followed {
            self.following.as_ref()?.url_prefix.as_deref()
        } else {
            self.own_url_prefix.as_deref()
        }
    }

    /// The name the shape being followed has next.
    fn expected(&self) -> Option<&str> {
        let shape = self.following.as_ref()?;
        shape.names.get(self.len).map(|n| &**n)
    }

    fn matched(&mut self) {
        self.len += 1;
    }

    fn other(&mut self, name: Box<str>) {
        if let Some(own) = &mut self.own {
            own.push(name);
        } else {
            // The shape being followed may change: the type no longer comes from it.
            if self.type_followed {
                self.own_type = self.sobject_type().map(Into::into);
                self.own_url_prefix = self.tail_base().map(Into::into);
                self.type_followed = false;
            }
            let read: &[Box<str>] = match &self.following {
                Some(shape) => &shape.names[..self.len],
                None => &[],
            };
            match remembered_with(self.sobject_type(), read, &name) {
                Some(shape) => self.following = Some(shape),
                None => {
                    let mut own = read.to_vec();
                    own.push(name);
                    self.own = Some(own);
                    self.following = None;
                }
            }
        }
        self.len += 1;
    }

    /// The record's shape: the one followed when the record matches it, else a new one. A
    /// whole `url` becomes a tail when it can be.
    fn finish(self, url: &mut Option<Url>) -> Arc<Shape> {
        let sobject_type = self.sobject_type();
        let tail_base = self.tail_base();
        if self.own.is_none()
            && let Some(shape) = &self.following
            && shape.names.len() == self.len
            && shape.sobject_type.as_deref() == sobject_type
            && (!matches!(url, Some(Url::Tail(_))) || shape.url_prefix.as_deref() == tail_base)
        {
            remember(shape);
            return self.following.expect("just matched");
        }
        let url_prefix = match url {
            Some(Url::Whole(whole)) => match whole.rsplit_once('/') {
                Some((head, tail)) if tail.len() <= URL_TAIL => {
                    let prefix = whole[..=head.len()].into();
                    *url = Some(Url::Tail(tail.into()));
                    Some(prefix)
                }
                _ => None,
            },
            _ => tail_base.map(Into::into),
        };
        let sobject_type = sobject_type.map(Into::into);
        let names = match (self.own, &self.following) {
            (Some(own), _) => own,
            (None, Some(shape)) => shape.names[..self.len].to_vec(),
            (None, None) => Vec::new(),
        };
        let shape = Arc::new(Shape {
            sobject_type,
            names,
            url_prefix,
        });
        remember(&shape);
        shape
    }
}

/// Makes a visitor its own seed: it asks the deserializer for `$how` and visits the answer.
macro_rules! seed_visits_itself {
    ($seed:ident $(<$lt:lifetime>)?, $how:ident) => {
        impl<'de $(, $lt)?> DeserializeSeed<'de> for $seed $(<$lt>)? {
            type Value = <Self as Visitor<'de>>::Value;

            fn deserialize<D: Deserializer<'de>>(
                self,
                d: D,
            ) -> std::result::Result<Self::Value, D::Error> {
                d.$how(self)
            }
        }
    };
}

/// A key of a record: `attributes`, the name the shape expects, or another.
enum Key {
    Attributes,
    Expected,
    Other(Box<str>),
}

struct KeySeed<'a> {
    expected: Option<&'a str>,
}

seed_visits_itself!(KeySeed<'a>, deserialize_str);

impl Visitor<'_> for KeySeed<'_> {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> std::result::Result<Key, E> {
        Ok(if self.expected == Some(name) {
            Key::Expected
        } else if name == "attributes" {
            Key::Attributes
        } else {
            Key::Other(name.into())
        })
    }
}

/// A key that is one of a few known names (its index), or another, read without allocating
/// for the known ones.
enum Name {
    Known(usize),
    Other(String),
}

struct NameSeed(&'static [&'static str]);

seed_visits_itself!(NameSeed, deserialize_str);

impl Visitor<'_> for NameSeed {
    type Value = Name;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> std::result::Result<Name, E> {
        Ok(match self.0.iter().position(|known| *known == name) {
            Some(i) => Name::Known(i),
            None => Name::Other(name.to_string()),
        })
    }
}

/// `attributes.type`, looked up among the remembered shapes while it is borrowed.
struct TypeSeed;

seed_visits_itself!(TypeSeed, deserialize_any);

impl Visitor<'_> for TypeSeed {
    type Value = TypeIn;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object type")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> std::result::Result<TypeIn, E> {
        Ok(match remembered(name) {
            Some(shape) => TypeIn::Remembered(shape),
            None => TypeIn::New(Some(name.into())),
        })
    }

    fn visit_unit<E: de::Error>(self) -> std::result::Result<TypeIn, E> {
        Ok(TypeIn::New(None))
    }
}

/// `attributes.url`, kept as its tail when it starts with the prefix of its type's shape.
struct UrlSeed<'a>(Option<&'a str>);

seed_visits_itself!(UrlSeed<'a>, deserialize_any);

impl Visitor<'_> for UrlSeed<'_> {
    type Value = Option<Url>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a record URL")
    }

    fn visit_str<E: de::Error>(self, url: &str) -> std::result::Result<Option<Url>, E> {
        Ok(Some(
            match self.0.and_then(|prefix| url.strip_prefix(prefix)) {
                Some(tail) if tail.len() <= URL_TAIL && !tail.contains('/') => {
                    Url::Tail(CompactString::new(tail))
                }
                _ => Url::Whole(url.into()),
            },
        ))
    }

    fn visit_unit<E: de::Error>(self) -> std::result::Result<Option<Url>, E> {
        Ok(None)
    }
}

/// Reads the rest of a record's map; `attributes_next` when its first key, `attributes`, has
/// been read already.
fn read_record<'de, A: MapAccess<'de>>(
    mut map: A,
    attributes_next: bool,
) -> std::result::Result<Record, A::Error> {
    let mut shape = ShapeReader::default();
    let mut record = Record::default();
    if attributes_next {
        read_attributes(&mut map, &mut shape, &mut record)?;
    }
    if let Some(following) = &shape.following {
        record.values.reserve_exact(following.names.len());
    }
    loop {
        let key = map.next_key_seed(KeySeed {
            expected: shape.expected(),
        })?;
        match key {
            None => break,
            Some(Key::Attributes) => read_attributes(&mut map, &mut shape, &mut record)?,
            Some(Key::Expected) => {
                shape.matched();
                record.values.push(map.next_value()?);
            }
            Some(Key::Other(name)) => {
                shape.other(name);
                record.values.push(map.next_value()?);
            }
        }
    }
    record.shape = shape.finish(&mut record.url);
    Ok(record)
}

fn read_attributes<'de, A: MapAccess<'de>>(
    map: &mut A,
    shape: &mut ShapeReader,
    record: &mut Record,
) -> std::result::Result<(), A::Error> {
    if let Some(attributes) = map.next_value::<Option<AttributesIn>>()? {
        if let Some(sobject_type) = attributes.sobject_type {
            shape.set_type(sobject_type);
        }
        record.url = attributes.url;
        record.other_attributes = attributes.other;
    }
    Ok(())
}

/// `attributes`, as read.
struct AttributesIn {
    sobject_type: Option<TypeIn>,
    url: Option<Url>,
    other: Option<Box<Map<String, serde_json::Value>>>,
}

impl<'de> Deserialize<'de> for AttributesIn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<AttributesIn, D::Error> {
        d.deserialize_map(AttributesVisitor)
    }
}

struct AttributesVisitor;

impl<'de> Visitor<'de> for AttributesVisitor {
    type Value = AttributesIn;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the attributes of a record")
    }

    fn visit_map<A: MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<AttributesIn, A::Error> {
        let mut attributes = AttributesIn {
            sobject_type: None,
            url: None,
            other: None,
        };
        while let Some(key) = map.next_key_seed(NameSeed(&["type", "url"]))? {
            match key {
                Name::Known(0) => attributes.sobject_type = Some(map.next_value_seed(TypeSeed)?),
                Name::Known(_) => {
                    let prefix = match &attributes.sobject_type {
                        Some(TypeIn::Remembered(shape)) => shape.url_prefix.as_deref(),
                        _ => None,
                    };
                    attributes.url = map.next_value_seed(UrlSeed(prefix))?;
                }
                Name::Other(key) => {
                    let value = map.next_value()?;
                    attributes.other.get_or_insert_default().insert(key, value);
                }
            }
        }
        Ok(attributes)
    }
}

impl<'de> Deserialize<'de> for Record {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Record, D::Error> {
        d.deserialize_map(RecordVisitor)
    }
}

struct RecordVisitor;

impl<'de> Visitor<'de> for RecordVisitor {
    type Value = Record;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a record")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> std::result::Result<Record, A::Error> {
        read_record(map, false)
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field value")
    }

    fn visit_bool<E>(self, v: bool) -> std::result::Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> std::result::Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> std::result::Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> std::result::Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> std::result::Result<Value, E> {
        Ok(Value::String(CompactString::new(v)))
    }

    fn visit_string<E>(self, v: String) -> std::result::Result<Value, E> {
        Ok(Value::String(v.into()))
    }

    fn visit_unit<E>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Value, D::Error> {
        Value::deserialize(d)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> std::result::Result<Value, A::Error> {
        let array = Deserialize::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
        Ok(Value::Json(Box::new(serde_json::Value::Array(array))))
    }

    /// The first key tells a record (`attributes`) and a child relationship (`totalSize`,
    /// `done`, `records`) from any other object.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Value, A::Error> {
        let Some(first) = map.next_key_seed(NameSeed(FIRST_KEYS))? else {
            return Ok(Value::Json(Box::new(serde_json::Value::Object(Map::new()))));
        };
        match first {
            Name::Known(0) => Ok(Value::Record(Box::new(read_record(map, true)?))),
            Name::Known(i) => {
                read_children(map, CHILDREN_KEYS[i - 1]).map(|c| Value::Children(Box::new(c)))
            }
            Name::Other(first) => {
                let mut object = Map::new();
                let value = map.next_value()?;
                object.insert(first, value);
                while let Some((key, value)) = map.next_entry()? {
                    object.insert(key, value);
                }
                Ok(Value::Json(Box::new(serde_json::Value::Object(object))))
            }
        }
    }
}

const FIRST_KEYS: &[&str] = &[
    "attributes",
    "totalSize",
    "done",
    "nextRecordsUrl",
    "records",
];
const CHILDREN_KEYS: &[&str] = &["totalSize", "done", "nextRecordsUrl", "records"];

/// Reads a child relationship whose first key, `first`, has been read already.
fn read_children<'de, A: MapAccess<'de>>(
    mut map: A,
    first: &str,
) -> std::result::Result<Children, A::Error> {
    let mut children = Children {
        done: true,
        ..Children::default()
    };
    let mut key = CHILDREN_KEYS
        .iter()
        .position(|k| *k == first)
        .map(Name::Known);
    while let Some(name) = key {
        match name {
            Name::Known(0) => children.total_size = map.next_value()?,
            Name::Known(1) => children.done = map.next_value()?,
            Name::Known(2) => children.next_records_url = map.next_value()?,
            Name::Known(_) => children.records = map.next_value()?,
            Name::Other(_) => {
                map.next_value::<IgnoredAny>()?;
            }
        }
        key = map.next_key_seed(NameSeed(CHILDREN_KEYS))?;
    }
    Ok(children)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(value: serde_json::Value) -> Record {
        serde_json::from_str(&value.to_string()).unwrap()
    }

    #[test]
    fn paths_follow_parents_and_stop_at_null() {
        let contact = record(json!({
            "attributes": {"type": "Contact", "url": "/services/data/v60.0/sobjects/Contact/003x"},
            "LastName": "Ng",
            "Account": {"attributes": {"type": "Account"}, "Owner": {"attributes": {"type": "User"}, "Name": "Ada"}, "NumberOfEmployees": 12.0},
            "MailingAddress": {"city": "Oslo", "latitude": 59.9},
            "ReportsTo": null
        }));
        assert_eq!(contact.id(), Some("003x"));
        assert_eq!(contact.get_str("Account.Owner.Name"), Some("Ada"));
        assert_eq!(contact.get_i64("Account.NumberOfEmployees"), Some(12));
        assert_eq!(contact.get_str("mailingaddress.City"), Some("Oslo"));
        assert_eq!(contact.get_f64("MailingAddress.latitude"), Some(59.9));
        assert_eq!(
            contact.get_as::<String>("MailingAddress.city").unwrap(),
            Some("Oslo".to_string())
        );
        assert_eq!(contact.get("ReportsTo.Name"), None);
        assert_eq!(contact.get_as::<String>("ReportsTo").unwrap(), None);
        assert!(contact.get_as::<u32>("LastName").is_err());
        let names: Vec<&str> = contact.fields().map(|(k, _)| k).collect();
        assert_eq!(
            names,
            ["LastName", "Account", "MailingAddress", "ReportsTo"]
        );
    }

    #[test]
    fn children_are_the_nested_records() {
        let account = record(json!({
            "attributes": {"type": "Account"},
            "Contacts": {"totalSize": 2, "done": true, "records": [
                {"attributes": {"type": "Contact"}, "LastName": "A"},
                {"attributes": {"type": "Contact"}, "LastName": "B"}
            ]},
            "Cases": null
        }));
        let contacts = account.children("contacts");
        assert_eq!(contacts.len(), 2);
        assert_eq!(contacts[1].get_str("LastName"), Some("B"));
        assert!(account.children("Cases").is_empty());
        let Some(Value::Children(children)) = account.get("Contacts") else {
            panic!("Contacts is not a child relationship: {account:?}");
        };
        assert_eq!((children.total_size, children.done), (2, true));
    }

    #[test]
    fn set_replaces_whatever_the_case_and_remove_takes_out() {
        let mut record = Record::new();
        record
            .set("Name", "Acme")
            .set("name", "Acme 2")
            .set("Phone", None::<&str>);
        assert_eq!(record.len(), 2);
        assert_eq!(record.get_str("Name"), Some("Acme 2"));
        assert_eq!(record.remove("PHONE"), Some(Value::Null));
        assert_eq!(
            serde_json::to_value(&record).unwrap(),
            json!({"Name": "Acme 2"})
        );
    }

    #[test]
    fn records_are_written_back_as_they_came() {
        let text = json!({
            "attributes": {"type": "Account", "url": "/services/data/v60.0/sobjects/Account/001x", "referenceId": "r1"},
            "Id": "001x",
            "Name": "Acme \"Corp\"",
            "NumberOfEmployees": 12,
            "AnnualRevenue": 1.5e6,
            "IsDeleted": false,
            "Owner": {"attributes": {"type": "User"}, "Name": "Ada"},
            "Parent": null,
            "BillingAddress": {"city": "Oslo", "street": null},
            "Tags": ["a", "b"],
            "Contacts": {"totalSize": 1, "done": false, "nextRecordsUrl": "/q/01gx-1", "records": [
                {"attributes": {"type": "Contact"}, "LastName": "A"}
            ]}
        });
        let read = record(text.clone());
        assert_eq!(serde_json::to_value(&read).unwrap(), text);
        assert_eq!(serde_json::Value::Object(read.to_map()), text);
        // From a serde_json map, the same record.
        let serde_json::Value::Object(map) = text else {
            unreachable!()
        };
        assert_eq!(Record::from(map), read);
    }

    #[test]
    fn records_of_different_shapes_keep_their_own_names() {
        // One thread reads records whose names agree with a remembered shape, then part of
        // the way, then not at all, and with the type given after the fields.
        let page: Vec<Record> = serde_json::from_value(json!([
            {"attributes": {"type": "Account"}, "Id": "1", "Name": "A"},
            {"attributes": {"type": "Account"}, "Id": "2", "Name": "B"},
            {"attributes": {"type": "Account"}, "Id": "3", "Phone": "5"},
            {"attributes": {"type": "Account"}, "Id": "4"},
            {"attributes": {"type": "Account"}, "Id": "5", "Name": "E", "Phone": "6"},
            {"attributes": {"type": "Contact"}, "Id": "6", "Name": "F"},
            {"Id": "7", "Name": "G", "attributes": {"type": "Lead"}},
            {"Id": "8", "Name": "H"}
        ]))
        .unwrap();
        let names = |r: &Record| r.fields().map(|(k, _)| k.to_string()).collect::<Vec<_>>();
        assert_eq!(names(&page[0]), ["Id", "Name"]);
        assert_eq!(names(&page[2]), ["Id", "Phone"]);
        assert_eq!(names(&page[3]), ["Id"]);
        assert_eq!(names(&page[4]), ["Id", "Name", "Phone"]);
        assert_eq!(page[5].sobject_type(), Some("Contact"));
        assert_eq!(page[6].sobject_type(), Some("Lead"));
        assert_eq!(page[7].sobject_type(), None);
        assert_eq!(page[4].get_str("Phone"), Some("6"));
        assert!(Arc::ptr_eq(&page[0].shape, &page[1].shape));
        // A change to one record does not reach the others of its shape.
        let mut changed = page[0].clone();
        changed.set("Industry", "Media");
        assert_eq!(names(&page[1]), ["Id", "Name"]);
        assert_eq!(names(&changed), ["Id", "Name", "Industry"]);
    }

    #[test]
    fn urls_read_whole_whatever_the_shapes_remembered() {
        let urls = [
            "/services/data/v60.0/sobjects/Account/001A",
            "/services/data/v60.0/sobjects/Account/001B",
            // Another version: another prefix, for a record of a remembered shape.
            "/services/data/v59.0/sobjects/Account/001C",
            "/services/data/v60.0/sobjects/Account/001D",
            // A tail too long to keep in place.
            "/services/data/v60.0/sobjects/Account/001E-and-a-long-tail-beyond-24-bytes",
            // The shape changes part of the way, after the URL was read.
            "/services/data/v60.0/sobjects/Account/001F",
            "/services/data/v58.0/sobjects/Account/001G",
        ];
        let mut page: Vec<serde_json::Value> = urls
            .iter()
            .map(|url| json!({"attributes": {"type": "Account", "url": url}, "Name": "A"}))
            .collect();
        page[5] =
            json!({"attributes": {"type": "Account", "url": urls[5]}, "Name": "F", "Phone": "1"});
        page[6] = json!({"Name": "G", "attributes": {"type": "Account", "url": urls[6]}});
        page.push(json!({"attributes": {"type": "Account", "url": null}, "Name": "H"}));
        let read: Vec<Record> = serde_json::from_str(&json!(page).to_string()).unwrap();
        for (record, url) in read.iter().zip(urls) {
            assert_eq!(record.url().as_deref(), Some(url));
            assert_eq!(record.id(), url.rsplit('/').next());
        }
        assert_eq!(read[7].url(), None);
        // Written back the same, but for the null URL, which is left out.
        page[7] = json!({"attributes": {"type": "Account"}, "Name": "H"});
        assert_eq!(serde_json::to_value(&read).unwrap(), json!(page));
    }
}
