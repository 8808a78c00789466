//! Named layouts: `layout("!H type, I seq, 2x, 8s tag")`, a `struct` format whose
//! fields have names, packed from and unpacked to name → value.

use super::format::{Item, order_prefix, parse_items, total_size};
use super::pack::{pack_one, unpack_item};
use super::{Code, Order, Result, Value, err};

/// A named field (or unnamed padding).
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    pub name: Option<String>,
    pub item: Item,
    /// `3H ids` is three values, given and returned as a list.
    pub many: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    pub text: String,
    pub order: Order,
    pub fields: Vec<Field>,
}

/// One field's name, definition and values, from [`Layout::unpack`].
pub type Unpacked<'a> = (&'a str, &'a Field, Vec<Value>);

/// The key for the bytes after the layout, in `unpack` and (optionally) `pack`.
pub const REST: &str = "rest";

impl Layout {
    pub fn parse(text: &str) -> Result<Layout> {
        let bad = |m: String| super::Error(format!("layout(\"{text}\"): {m}"));
        let (order, body) = order_prefix(text);
        let mut fields: Vec<Field> = Vec::new();
        for (n, part) in body.split(',').enumerate() {
            let part = part.trim();
            let (code, name) = match part.split_once(char::is_whitespace) {
                Some((code, name)) => (code, Some(name.trim())),
                None => (part, None),
            };
            let items = parse_items(code).map_err(|e| bad(format!("field {}: {e}", n + 1)))?;
            let [item] = items[..] else {
                return Err(bad(format!(
                    "field {} (\"{part}\") should be one code and a name, like \"H port\"",
                    n + 1
                )));
            };
            let name = match (item.code, name) {
                (Code::Pad, None) => None,
                (Code::Pad, Some(name)) => {
                    return Err(bad(format!(
                        "padding \"{code}\" takes no name, got '{name}'"
                    )));
                }
                (_, None) => return Err(bad(format!("field {} (\"{part}\") needs a name", n + 1))),
                (_, Some(name)) => {
                    check_name(name).map_err(|e| bad(format!("field {}: {e}", n + 1)))?;
                    if fields.iter().any(|f| f.name.as_deref() == Some(name)) {
                        return Err(bad(format!("two fields are named '{name}'")));
                    }
                    Some(name.to_string())
                }
            };
            fields.push(Field {
                name,
                many: item.values() != 1,
                item,
            });
        }
        total_size(fields.iter().map(|f| &f.item)).map_err(|e| bad(e.0))?;
        Ok(Layout {
            text: text.to_string(),
            order,
            fields,
        })
    }

    pub fn size(&self) -> usize {
        self.fields.iter().map(|f| f.item.size()).sum()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().filter_map(|f| f.name.as_deref())
    }

    /// Bytes from named values (`get(name)`: the field's values, one unless `many`);
    /// `keys` are all the names given, so an unknown one is caught; `rest` is appended.
    pub fn pack<'a>(
        &self,
        keys: impl IntoIterator<Item = &'a str>,
        get: impl Fn(&str) -> Option<Vec<Value>>,
    ) -> Result<Vec<u8>> {
        for key in keys {
            if key != REST && !self.names().any(|n| n == key) {
                return err(format!(
                    "layout(\"{}\") has no field '{key}' (its fields: {})",
                    self.text,
                    self.names().collect::<Vec<_>>().join(", ")
                ));
            }
        }
        let mut out = Vec::with_capacity(self.size());
        for field in &self.fields {
            let Some(name) = &field.name else {
                out.resize(out.len() + field.item.size(), 0);
                continue;
            };
            let Some(values) = get(name) else {
                return err(format!(
                    "layout(\"{}\").pack: missing field '{name}'",
                    self.text
                ));
            };
            let wanted = field.item.values();
            if values.len() != wanted {
                return err(format!(
                    "layout field '{name}' (\"{}{}\") takes {wanted} values, got {}",
                    field.item.count,
                    field.item.letter,
                    values.len()
                ));
            }
            for value in &values {
                pack_one(&field.item, self.order, value, &mut out)
                    .map_err(|e| super::Error(format!("layout field '{name}': {e}")))?;
            }
        }
        if let Some(rest) = get(REST) {
            match rest.as_slice() {
                [Value::Bytes(b)] => out.extend_from_slice(b),
                _ => return err("layout: 'rest' must be a blob or a string"),
            }
        }
        Ok(out)
    }

    /// Name → values (one, or `many`) and the bytes after the layout.
    pub fn unpack(&self, data: &[u8]) -> Result<(Vec<Unpacked<'_>>, Vec<u8>)> {
        let size = self.size();
        if data.len() < size {
            return err(format!(
                "layout(\"{}\") needs {size} bytes, got {}",
                self.text,
                data.len()
            ));
        }
        let mut fields = Vec::new();
        let mut at = 0;
        for field in &self.fields {
            let bytes = &data[at..at + field.item.size()];
            at += field.item.size();
            let Some(name) = &field.name else { continue };
            let mut values = Vec::new();
            unpack_item(&field.item, self.order, bytes, &mut values)
                .map_err(|e| super::Error(format!("layout field '{name}': {e}")))?;
            fields.push((name.as_str(), field, values));
        }
        Ok((fields, data[size..].to_vec()))
    }
}

fn check_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ok {
        return err(format!("'{name}' is not a field name (letters, digits, _)"));
    }
    if name == REST {
        return err("'rest' is kept for the bytes after the layout");
    }
    Ok(())
}
