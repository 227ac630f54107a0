//! The one error of configuration: a variable and what is wrong with its value.

/// One invalid variable: `"{variable}: {problem}"` is the whole message.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{variable}: {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

impl ConfigError {
    pub(crate) fn new(variable: &'static str, problem: impl Into<String>) -> Self {
        Self {
            variable,
            problem: problem.into(),
        }
    }
}

/// The whole number in `range` that variable `name` holds through `get`, `default`
/// when unset; anything else names the variable and the range.
pub(crate) fn whole_number(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, ConfigError> {
    match get(name) {
        None => Ok(default),
        Some(v) => v
            .parse::<u64>()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| {
                ConfigError::new(
                    name,
                    format!(
                        "invalid value {v:?}: expected a whole number in {}..={}",
                        range.start(),
                        range.end()
                    ),
                )
            }),
    }
}

/// [`whole_number`] as a count (`usize`).
pub(crate) fn whole_count(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: usize,
    range: std::ops::RangeInclusive<u64>,
) -> Result<usize, ConfigError> {
    let (min, max) = (*range.start(), *range.end());
    let n = whole_number(get, name, default as u64, range)?;
    usize::try_from(n).map_err(|_| {
        ConfigError::new(
            name,
            format!("invalid value \"{n}\": expected a whole number in {min}..={max}"),
        )
    })
}
