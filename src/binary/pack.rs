//! `pack`, `unpack`, `unpack_from` over a parsed [`Format`], with Python's results (and
//! errors where Python would cut or wrap silently).

use super::int::{range, read_int, write_int};
use super::{Code, Format, Item, Order, Result, Value, err};

impl Format {
    /// The bytes for `values`, one per value the format takes.
    pub fn pack(&self, values: &[Value]) -> Result<Vec<u8>> {
        let wanted = self.values();
        if values.len() != wanted {
            return err(format!(
                "pack(\"{}\") takes {wanted} value{}, got {}",
                self.text,
                plural(wanted),
                values.len()
            ));
        }
        let mut out = Vec::with_capacity(self.size());
        let mut next = values.iter().enumerate();
        for item in &self.items {
            for _ in 0..item.values() {
                let Some((i, value)) = next.next() else {
                    return err("internal: fewer values than counted");
                };
                pack_one(item, self.order, value, &mut out).map_err(|e| {
                    super::Error(format!("pack(\"{}\"): value {}: {e}", self.text, i + 1))
                })?;
            }
            if item.code == Code::Pad {
                out.resize(out.len() + item.count, 0);
            }
        }
        Ok(out)
    }

    /// The values in `data`, which must be exactly [`Format::size`] bytes.
    pub fn unpack(&self, data: &[u8]) -> Result<Vec<Value>> {
        let size = self.size();
        if data.len() != size {
            return err(format!(
                "unpack(\"{}\") needs {size} byte{}, got {}",
                self.text,
                plural(size),
                data.len()
            ));
        }
        self.read(data)
    }

    /// The values at `offset` in `data`, which may go on past them.
    pub fn unpack_from(&self, data: &[u8], offset: usize) -> Result<Vec<Value>> {
        let size = self.size();
        let available = data.len().saturating_sub(offset);
        if offset > data.len() || available < size {
            return err(format!(
                "unpack_from(\"{}\", offset {offset}) needs {size} byte{} from there, the blob has {available} (of {})",
                self.text,
                plural(size),
                data.len()
            ));
        }
        self.read(&data[offset..offset + size])
    }

    fn read(&self, data: &[u8]) -> Result<Vec<Value>> {
        let mut values = Vec::with_capacity(self.values());
        let mut at = 0;
        for item in &self.items {
            let bytes = &data[at..at + item.size()];
            at += item.size();
            unpack_item(item, self.order, bytes, &mut values)
                .map_err(|e| super::Error(format!("unpack(\"{}\"): {e}", self.text)))?;
        }
        Ok(values)
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Int(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Bool(_) => "a bool",
        Value::Bytes(_) => "bytes",
    }
}

pub(super) fn pack_one(item: &Item, order: Order, value: &Value, out: &mut Vec<u8>) -> Result<()> {
    let letter = item.letter;
    match (item.code, value) {
        (Code::Int { size, signed }, Value::Int(v)) => {
            let (low, high) = range(size, signed);
            let v = i128::from(*v);
            if v < low || v > high {
                return err(format!(
                    "{v} is out of range for '{letter}' ({low} to {high})"
                ));
            }
            let start = out.len();
            out.resize(start + size, 0);
            write_int(&mut out[start..], v, order)
        }
        (Code::Int { .. }, Value::Bool(b)) => {
            pack_one(item, order, &Value::Int(i64::from(*b)), out)
        }
        (Code::Bool, Value::Bool(b)) => {
            out.push(u8::from(*b));
            Ok(())
        }
        (Code::Bool, Value::Int(v)) => {
            out.push(u8::from(*v != 0));
            Ok(())
        }
        (Code::F32 | Code::F64, Value::Int(v)) => {
            pack_one(item, order, &Value::Float(*v as f64), out)
        }
        (Code::F32, Value::Float(v)) => {
            let single = *v as f32;
            if v.is_finite() && single.is_infinite() {
                return err(format!("{v} is too large for 'f' (a 32-bit float)"));
            }
            out.extend(match order {
                Order::Big => single.to_be_bytes(),
                Order::Little => single.to_le_bytes(),
            });
            Ok(())
        }
        (Code::F64, Value::Float(v)) => {
            out.extend(match order {
                Order::Big => v.to_be_bytes(),
                Order::Little => v.to_le_bytes(),
            });
            Ok(())
        }
        (Code::Char, Value::Bytes(b)) if b.len() == 1 => {
            out.push(b[0]);
            Ok(())
        }
        (Code::Char, Value::Bytes(b)) => err(format!("'c' takes exactly 1 byte, got {}", b.len())),
        (Code::Bytes, Value::Bytes(b)) => {
            if b.len() > item.count {
                return err(format!(
                    "{} bytes do not fit in '{}{letter}' (at most {}; nothing is cut silently)",
                    b.len(),
                    item.count,
                    item.count
                ));
            }
            out.extend_from_slice(b);
            out.resize(out.len() + item.count - b.len(), 0);
            Ok(())
        }
        (Code::Pascal, Value::Bytes(b)) => {
            if item.count == 0 {
                return Ok(());
            }
            // As Python: the data takes up to count - 1 bytes; the length byte says at most 255.
            let room = item.count - 1;
            if b.len() > room {
                return err(format!(
                    "{} bytes do not fit in '{}{letter}' (at most {room}; nothing is cut silently)",
                    b.len(),
                    item.count
                ));
            }
            out.push(b.len().min(255) as u8);
            out.extend_from_slice(b);
            out.resize(out.len() + room - b.len(), 0);
            Ok(())
        }
        (code, value) => err(format!(
            "'{letter}' takes {}, not {}",
            match code {
                Code::Int { .. } => "an integer",
                Code::Bool => "a bool or an integer",
                Code::F32 | Code::F64 => "a number",
                Code::Char => "1 byte (a blob or a one-character string)",
                _ => "a blob or a string",
            },
            kind(value)
        )),
    }
}

pub(super) fn unpack_item(
    item: &Item,
    order: Order,
    bytes: &[u8],
    values: &mut Vec<Value>,
) -> Result<()> {
    let one = item.code.size();
    match item.code {
        Code::Pad => {}
        Code::Bytes => values.push(Value::Bytes(bytes.to_vec())),
        Code::Pascal => {
            let Some((&len, rest)) = bytes.split_first() else {
                values.push(Value::Bytes(Vec::new()));
                return Ok(());
            };
            values.push(Value::Bytes(
                rest[..usize::from(len).min(rest.len())].to_vec(),
            ));
        }
        code => {
            for chunk in bytes.chunks_exact(one) {
                values.push(unpack_one(code, item.letter, order, chunk)?);
            }
        }
    }
    Ok(())
}

fn unpack_one(code: Code, letter: char, order: Order, chunk: &[u8]) -> Result<Value> {
    Ok(match code {
        Code::Int { signed, .. } => {
            let v = read_int(chunk, order, signed)?;
            Value::Int(i64::try_from(v).map_err(|_| {
                super::Error(format!(
                    "'{letter}' value {v} is larger than a script integer holds (read it with 'q' for the bit pattern, or '8s')"
                ))
            })?)
        }
        Code::Bool => Value::Bool(chunk[0] != 0),
        Code::Char => Value::Bytes(chunk.to_vec()),
        Code::F32 => {
            let raw: [u8; 4] = chunk
                .try_into()
                .map_err(|_| super::Error("internal: f size".into()))?;
            Value::Float(f64::from(match order {
                Order::Big => f32::from_be_bytes(raw),
                Order::Little => f32::from_le_bytes(raw),
            }))
        }
        Code::F64 => {
            let raw: [u8; 8] = chunk
                .try_into()
                .map_err(|_| super::Error("internal: d size".into()))?;
            Value::Float(match order {
                Order::Big => f64::from_be_bytes(raw),
                Order::Little => f64::from_le_bytes(raw),
            })
        }
        Code::Pad | Code::Bytes | Code::Pascal => return err("internal: not a scalar code"),
    })
}
