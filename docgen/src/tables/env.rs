//! The runtime's environment variables (`interface/src/env.rs`'s `VARS`, the table
//! `hermes-runtime --help` prints and the config is tested against).

use hermes_interface::env::VARS;

use crate::Error;
use crate::table::markdown;

pub fn render() -> Result<String, Error> {
    let rows: Vec<Vec<String>> = VARS
        .iter()
        .map(|v| {
            vec![
                format!("`{}`", v.name),
                v.group.to_string(),
                v.default.to_string(),
                v.meaning.to_string(),
            ]
        })
        .collect();
    Ok(markdown(
        &["variable", "group", "default", "meaning"],
        &rows,
    ))
}
