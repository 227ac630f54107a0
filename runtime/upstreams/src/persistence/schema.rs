//! The Milvus collection of the contract (`../shared/contracts/README.md`):
//! `embedding_id` VARCHAR(64) primary key, `embedding` FLOAT_VECTOR(dim),
//! `model` VARCHAR(256), `text` VARCHAR(65535), `timestamp` INT64 (ms);
//! index IVF_FLAT, metric L2, nlist 128.

use std::collections::HashMap;

use milvus::v2::prelude::{
    CollectionSchema, DataType, FieldSchema, IndexParam, IndexType, MetricType,
};

pub const ID: &str = "embedding_id";
pub const VECTOR: &str = "embedding";
pub const MODEL: &str = "model";
pub const TEXT: &str = "text";
pub const TIMESTAMP: &str = "timestamp";

pub const ID_MAX: u32 = 64;
pub const MODEL_MAX: u32 = 256;
pub const TEXT_MAX: u32 = 65_535;

pub fn collection_schema(dimension: u32) -> CollectionSchema {
    CollectionSchema::new()
        .description("Hermes embeddings (Project LOGOS)")
        .add_field(
            FieldSchema::new()
                .name(ID)
                .data_type(DataType::VarChar)
                .max_length(ID_MAX)
                .primary_key(true)
                .auto_id(false),
        )
        .add_field(
            FieldSchema::new()
                .name(VECTOR)
                .data_type(DataType::FloatVector)
                .dimension(dimension),
        )
        .add_field(
            FieldSchema::new()
                .name(MODEL)
                .data_type(DataType::VarChar)
                .max_length(MODEL_MAX),
        )
        .add_field(
            FieldSchema::new()
                .name(TEXT)
                .data_type(DataType::VarChar)
                .max_length(TEXT_MAX),
        )
        .add_field(
            FieldSchema::new()
                .name(TIMESTAMP)
                .data_type(DataType::Int64),
        )
}

pub fn vector_index() -> IndexParam {
    IndexParam::new()
        .field_name(VECTOR)
        .index_type(IndexType::IvfFlat)
        .metric_type(MetricType::L2)
        .extra_params(HashMap::from([("nlist".to_owned(), "128".to_owned())]))
}

/// Why an existing collection cannot take our records.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaProblem {
    #[error(
        "collection {collection} has embedding dimension {found}, the embedding model produces {expected}: nothing is written to it (drop it or set MILVUS_COLLECTION_NAME to another collection)"
    )]
    Dimension {
        collection: String,
        found: u32,
        expected: u32,
    },
    #[error(
        "collection {collection} lacks field {field} (or it has another type) of the contract's schema"
    )]
    Field {
        collection: String,
        field: &'static str,
    },
}

/// Checks an existing collection's schema against ours.
pub fn check(
    collection: &str,
    existing: &CollectionSchema,
    dimension: u32,
) -> Result<(), SchemaProblem> {
    let field = |name: &'static str, ty: DataType| {
        existing
            .get_fields()
            .iter()
            .find(|f| f.get_name() == name && f.get_data_type() == ty)
            .ok_or_else(|| SchemaProblem::Field {
                collection: collection.to_owned(),
                field: name,
            })
    };
    let vector = field(VECTOR, DataType::FloatVector)?;
    if vector.get_dimension() != dimension {
        return Err(SchemaProblem::Dimension {
            collection: collection.to_owned(),
            found: vector.get_dimension(),
            expected: dimension,
        });
    }
    field(ID, DataType::VarChar)?;
    field(MODEL, DataType::VarChar)?;
    field(TEXT, DataType::VarChar)?;
    field(TIMESTAMP, DataType::Int64)?;
    Ok(())
}

/// `text` cut to the column's byte limit at a character boundary, so a long
/// text can never make a record unwritable.
pub fn fit_text(text: &str) -> &str {
    let max = TEXT_MAX as usize;
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_schema_passes_its_own_check_and_other_dimensions_fail() {
        let schema = collection_schema(384);
        assert_eq!(check("c", &schema, 384), Ok(()));
        assert_eq!(
            check("c", &schema, 768),
            Err(SchemaProblem::Dimension {
                collection: "c".into(),
                found: 384,
                expected: 768
            })
        );
        let msg = check("c", &schema, 768).unwrap_err().to_string();
        assert!(
            msg.contains("dimension 384") && msg.contains("produces 768"),
            "{msg}"
        );
    }

    #[test]
    fn long_text_is_cut_on_a_character_boundary() {
        let text = "é".repeat(40_000); // 80,000 bytes
        let cut = fit_text(&text);
        assert!(cut.len() <= TEXT_MAX as usize && cut.len() >= TEXT_MAX as usize - 1);
        assert!(cut.chars().all(|c| c == 'é'));
        assert_eq!(fit_text("short"), "short");
    }
}
