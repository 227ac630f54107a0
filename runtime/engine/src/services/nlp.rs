//! `/simple_nlp`: check the text and operations, run the NLP pipeline on its worker.

use hermes_interface::Task;
use hermes_nlp::{Analysis, NlpError, Operation, parse_operations};

use crate::models::registry::{LoadedModel, Registry, ResolveError};
use crate::models::worker::WorkerError;

#[derive(Debug, thiserror::Error)]
pub enum NlpServiceError {
    #[error("text is empty")]
    EmptyText,
    #[error(transparent)]
    Operations(#[from] NlpError),
    #[error(transparent)]
    Model(#[from] ResolveError),
    #[error(transparent)]
    Worker(#[from] WorkerError),
}

/// Analyses `text` with the served NLP model off the async executor. The text and the
/// operation names are checked before the model is looked up, so a bad request is a
/// 400 even where no NLP model is served.
pub async fn analyze(
    registry: &Registry,
    text: String,
    operations: &[String],
) -> Result<(&'static str, Analysis), NlpServiceError> {
    if text.trim().is_empty() {
        return Err(NlpServiceError::EmptyText);
    }
    let ops: Vec<Operation> = parse_operations(operations)?;
    let (entry, loaded) = registry.resolve(Task::Nlp, "default")?;
    let LoadedModel::Nlp(worker) = loaded else {
        return Err(NlpServiceError::Model(ResolveError::NotServed {
            task: Task::Nlp.as_str(),
        }));
    };
    tracing::debug!(
        model = entry.id,
        text_chars = text.chars().count(),
        ?ops,
        "nlp analysis"
    );
    let analysis = worker.run(move |m| m.analyze(&text, &ops)).await?;
    Ok((entry.id, analysis))
}
