//! The names of the LLM gateway's providers.

/// The providers the gateway knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProviderKind {
    Echo,
    Local,
    Openai,
}

impl ProviderKind {
    pub const ALL: [ProviderKind; 3] = [
        ProviderKind::Echo,
        ProviderKind::Local,
        ProviderKind::Openai,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Echo => "echo",
            ProviderKind::Local => "local",
            ProviderKind::Openai => "openai",
        }
    }

    /// Case-insensitive name lookup.
    pub fn parse(name: &str) -> Option<Self> {
        let name = name.trim();
        Self::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(name))
    }
}
