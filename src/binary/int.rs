//! Integers of any width 1..=8 in either byte order (Rhai 1.27's own `parse_be_int`
//! puts short values in the wrong bytes).

use super::{Order, Result, err};

/// Reads `bytes` (1 to 8 of them) as an integer: sign-extended when `signed`.
pub fn read_int(bytes: &[u8], order: Order, signed: bool) -> Result<i128> {
    let width = bytes.len();
    if !(1..=8).contains(&width) {
        return err(format!("an integer is 1 to 8 bytes wide, not {width}"));
    }
    let mut value: u64 = 0;
    let mut push = |b: &u8| value = (value << 8) | u64::from(*b);
    match order {
        Order::Big => bytes.iter().for_each(&mut push),
        Order::Little => bytes.iter().rev().for_each(&mut push),
    }
    let bits = 8 * width as u32;
    if signed && bits < 64 && value >> (bits - 1) & 1 == 1 {
        return Ok(i128::from(value) - (1i128 << bits));
    }
    if signed {
        return Ok(i128::from(value as i64));
    }
    Ok(i128::from(value))
}

/// The range of an integer `width` bytes wide, signed or not.
pub fn range(width: usize, signed: bool) -> (i128, i128) {
    let bits = 8 * width as u32;
    if signed {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    } else {
        (0, (1i128 << bits) - 1)
    }
}

/// Writes `value` into `out` (1 to 8 bytes) in `order`; the caller checks the range.
pub fn write_int(out: &mut [u8], value: i128, order: Order) -> Result<()> {
    let width = out.len();
    if !(1..=8).contains(&width) {
        return err(format!("an integer is 1 to 8 bytes wide, not {width}"));
    }
    let (low, _) = range(width, true);
    let (_, high) = range(width, false);
    if value < low || value > high {
        return err(format!(
            "{value} does not fit in {width} byte{} ({low} to {high})",
            if width == 1 { "" } else { "s" }
        ));
    }
    let bits = value as u64;
    for (i, slot) in out.iter_mut().enumerate() {
        let shift = match order {
            Order::Big => 8 * (width - 1 - i),
            Order::Little => 8 * i,
        };
        *slot = (bits >> shift) as u8;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_width_round_trips_in_both_orders() {
        for width in 1..=8 {
            let bytes: Vec<u8> = (1..=width as u8).map(|b| b * 0x11).collect();
            let be = bytes.iter().fold(0u64, |v, b| v << 8 | u64::from(*b));
            assert_eq!(read_int(&bytes, Order::Big, false).unwrap(), i128::from(be));
            let le = bytes.iter().rev().fold(0u64, |v, b| v << 8 | u64::from(*b));
            assert_eq!(
                read_int(&bytes, Order::Little, false).unwrap(),
                i128::from(le)
            );
            let mut out = vec![0; width];
            write_int(&mut out, i128::from(be), Order::Big).unwrap();
            assert_eq!(out, bytes, "width {width} big");
            write_int(&mut out, i128::from(le), Order::Little).unwrap();
            assert_eq!(out, bytes, "width {width} little");
        }
    }

    #[test]
    fn short_big_endian_is_right() {
        assert_eq!(read_int(&[0x12, 0x34], Order::Big, false).unwrap(), 0x1234);
        let mut out = [0; 2];
        write_int(&mut out, 0x1234, Order::Big).unwrap();
        assert_eq!(out, [0x12, 0x34]);
    }

    #[test]
    fn signs_extend_and_ranges_hold() {
        assert_eq!(read_int(&[0xff, 0xfe], Order::Big, true).unwrap(), -2);
        assert_eq!(read_int(&[0xff; 8], Order::Big, true).unwrap(), -1);
        assert_eq!(
            read_int(&[0xff; 8], Order::Big, false).unwrap(),
            u64::MAX as i128
        );
        let mut out = [0; 1];
        assert!(write_int(&mut out, 256, Order::Big).is_err());
        assert!(write_int(&mut out, -129, Order::Big).is_err());
        write_int(&mut out, -1, Order::Big).unwrap();
        assert_eq!(out, [0xff]);
        assert!(read_int(&[], Order::Big, false).is_err());
        assert!(read_int(&[0; 9], Order::Big, false).is_err());
    }
}
