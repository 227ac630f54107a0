//! Parsing of the spec's Kubernetes memory quantities and durations (pure).
//!
//! The CRD's patterns admit only the forms parsed here, so a value that passed the API
//! server's schema parses; the parser still returns a typed error for `render`, which
//! reads files no API server has seen.

use std::time::Duration;

pub const KIB: u64 = 1024;
pub const MIB: u64 = 1024 * KIB;
pub const GIB: u64 = 1024 * MIB;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    #[error("{0:?} is not a memory quantity (expected e.g. 512Mi, 1.5Gi, 800M)")]
    Memory(String),
    #[error("{0:?} is not a CPU quantity (expected e.g. 500m or 2)")]
    Cpu(String),
    #[error("{0:?} is not a duration (expected e.g. 250ms, 2s, 1m30s)")]
    Duration(String),
    #[error("{0:?} is too large")]
    Overflow(String),
}

fn memory_multiplier(suffix: &str) -> Option<u128> {
    let k: u128 = 1000;
    Some(match suffix {
        "" => 1,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        "Ti" => 1 << 40,
        "Pi" => 1 << 50,
        "Ei" => 1 << 60,
        "k" => k,
        "M" => k.pow(2),
        "G" => k.pow(3),
        "T" => k.pow(4),
        "P" => k.pow(5),
        "E" => k.pow(6),
        _ => return None,
    })
}

/// Splits `12.5Mi` into ("12", "5", "Mi"); None when the number part is malformed.
fn split_number(s: &str) -> Option<(&str, &str, &str)> {
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(end);
    let (int, frac) = match number.split_once('.') {
        Some((i, f)) => (i, f),
        None => (number, ""),
    };
    let well_formed = !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && (number.contains('.') != frac.is_empty())
        && frac.bytes().all(|b| b.is_ascii_digit());
    well_formed.then_some((int, frac, suffix))
}

/// Bytes of a memory quantity, rounded up to a whole byte.
pub fn parse_memory(s: &str) -> Result<u64, QuantityError> {
    let (int, frac, suffix) = split_number(s).ok_or_else(|| QuantityError::Memory(s.into()))?;
    let mult = memory_multiplier(suffix).ok_or_else(|| QuantityError::Memory(s.into()))?;
    let overflow = || QuantityError::Overflow(s.into());
    let int: u128 = int.parse().map_err(|_| overflow())?;
    let mut bytes = int.checked_mul(mult).ok_or_else(overflow)?;
    if !frac.is_empty() {
        if frac.len() > 18 {
            return Err(QuantityError::Memory(s.into()));
        }
        let scale = 10u128.pow(frac.len() as u32);
        let frac: u128 = frac.parse().map_err(|_| overflow())?;
        let part = frac.checked_mul(mult).ok_or_else(overflow)?;
        bytes = bytes
            .checked_add(part.div_ceil(scale))
            .ok_or_else(overflow)?;
    }
    u64::try_from(bytes).map_err(|_| overflow())
}

/// Millicores of a CPU quantity (validation only: the Deployment carries the string).
pub fn parse_cpu_millis(s: &str) -> Result<u64, QuantityError> {
    let err = || QuantityError::Cpu(s.into());
    let (int, frac, suffix) = split_number(s).ok_or_else(err)?;
    let mult: u128 = match suffix {
        "" => 1000,
        "m" if frac.is_empty() => 1,
        _ => return Err(err()),
    };
    let int: u128 = int.parse().map_err(|_| err())?;
    let mut millis = int * mult;
    if !frac.is_empty() {
        let f = frac.get(..frac.len().min(3)).unwrap_or("");
        let padded = format!("{f:0<3}");
        millis += padded.parse::<u128>().map_err(|_| err())?;
    }
    u64::try_from(millis).map_err(|_| QuantityError::Overflow(s.into()))
}

/// A memory amount as Kubernetes writes it: the largest binary unit that divides it.
pub fn format_memory(bytes: u64) -> String {
    for (unit, size) in [("Gi", GIB), ("Mi", MIB), ("Ki", KIB)] {
        if bytes >= size && bytes.is_multiple_of(size) {
            return format!("{}{unit}", bytes / size);
        }
    }
    bytes.to_string()
}

/// A duration such as `250ms`, `1.5s`, `1m30s` (units ms, s, m, h).
pub fn parse_duration(s: &str) -> Result<Duration, QuantityError> {
    let err = || QuantityError::Duration(s.into());
    if s.is_empty() {
        return Err(err());
    }
    let mut rest = s;
    let mut total = Duration::ZERO;
    while !rest.is_empty() {
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(err)?;
        let (number, after) = rest.split_at(end);
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        let value: f64 = number.parse().map_err(|_| err())?;
        if number.starts_with('.') || number.ends_with('.') {
            return Err(err());
        }
        let seconds = match unit {
            "ms" => value / 1000.0,
            "s" => value,
            "m" => value * 60.0,
            "h" => value * 3600.0,
            _ => return Err(err()),
        };
        total += Duration::try_from_secs_f64(seconds).map_err(|_| err())?;
        rest = next;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_quantities_in_every_unit() {
        let cases: &[(&str, u64)] = &[
            ("0", 0),
            ("1000", 1000),
            ("1Ki", 1024),
            ("512Mi", 512 * MIB),
            ("1.5Gi", 3 * 512 * MIB),
            ("2Gi", 2 * GIB),
            ("1Ti", 1024 * GIB),
            ("800M", 800_000_000),
            ("1k", 1000),
            ("1G", 1_000_000_000),
            ("0.1Ki", 103), // 102.4 rounds up to whole bytes
        ];
        for (s, want) in cases {
            assert_eq!(parse_memory(s), Ok(*want), "{s}");
        }
    }

    #[test]
    fn malformed_memory_is_rejected_with_the_value() {
        for bad in [
            "", "Mi", "1.Mi", ".5Gi", "12XB", "-1Gi", "1 Gi", "1e3", "1m",
        ] {
            let err = parse_memory(bad).expect_err(bad);
            assert!(err.to_string().contains(&format!("{bad:?}")), "{err}");
        }
        assert!(matches!(
            parse_memory("99999999999Ei"),
            Err(QuantityError::Overflow(_))
        ));
    }

    #[test]
    fn cpu_quantities() {
        assert_eq!(parse_cpu_millis("500m"), Ok(500));
        assert_eq!(parse_cpu_millis("2"), Ok(2000));
        assert_eq!(parse_cpu_millis("0.25"), Ok(250));
        for bad in ["", "1.5m", "2 cores", "m"] {
            assert!(parse_cpu_millis(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn memory_formats_with_the_largest_dividing_unit() {
        assert_eq!(format_memory(768 * MIB), "768Mi");
        assert_eq!(format_memory(2 * GIB), "2Gi");
        assert_eq!(format_memory(1536 * MIB), "1536Mi");
        assert_eq!(format_memory(3 * KIB), "3Ki");
        assert_eq!(format_memory(1000), "1000");
        assert_eq!(format_memory(0), "0");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        for bad in ["", "5", "s", "1.s", "3d", "1m 30s", "-1s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
