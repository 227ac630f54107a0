//! The model catalog table (`interface/src/catalog.rs`): ids, tasks, packages, footprints, load times, provenance.

use crate::Error;
use crate::table::{markdown, number};
use hermes_interface::catalog::{CATALOG, Provenance};

const MIB: u64 = 1024 * 1024;

pub fn render() -> Result<String, Error> {
    let rows: Vec<Vec<String>> = CATALOG
        .iter()
        .map(|m| {
            let provenance = match m.provenance {
                Provenance::Measured(how) => format!("**measured**: {how}"),
                Provenance::Estimate(why) => format!("estimate: {why}"),
            };
            vec![
                format!("`{}`", m.id),
                m.task.as_str().to_string(),
                format!("`{}`", m.package),
                format!("{} MiB", number(m.footprint_bytes as f64 / MIB as f64)),
                format!("{} s", number(m.load_seconds)),
                provenance,
            ]
        })
        .collect();
    Ok(markdown(
        &["model", "task", "package", "footprint", "load", "source"],
        &rows,
    ))
}
