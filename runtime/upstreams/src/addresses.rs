//! The addresses of dependencies (Milvus, Sophia, the LLM upstream, collectors)
//! found in a text and replaced, so that what a client reads never names the
//! inside of the deployment: error details and warnings keep their meaning, the
//! logs keep the full text.

/// Every address replaced by `[internal address]`, so no dependency address
/// leaks: URLs (`http://...`, `grpc://...`), `host:port` and `[v6]:port`, and
/// IPv4 addresses with or without a port.
pub fn scrub(text: &str) -> String {
    scrub_bare_addresses(&scrub_urls(text))
}

/// `scheme://...` up to the next space, quote, `)` or `,`.
fn scrub_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        // Back up over the scheme's letters.
        let start = rest[..at]
            .rfind(|c: char| !c.is_ascii_alphanumeric() && c != '+' && c != '.' && c != '-')
            .map_or(0, |i| i + 1);
        let end = rest[at..]
            .find(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == ')' || c == ',')
            .map_or(rest.len(), |i| at + i);
        out.push_str(&rest[..start]);
        out.push_str("[internal address]");
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// The addresses without a scheme, found as runs of host-and-port characters.
fn scrub_bare_addresses(text: &str) -> String {
    let is_part = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '-' | '[' | ']');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(is_part) {
        out.push_str(&rest[..start]);
        let run = &rest[start..];
        let len = run.find(|c| !is_part(c)).unwrap_or(run.len());
        // A sentence's full stop or colon is not part of the address.
        let token = run[..len].trim_end_matches(['.', ':']);
        if is_address(token) {
            out.push_str("[internal address]");
        } else {
            out.push_str(token);
        }
        out.push_str(&run[token.len()..len]);
        rest = &run[len..];
    }
    out.push_str(rest);
    out
}

/// `host:port` (a host name with a letter, or an IPv4 address), `[v6]:port`, or
/// an IPv4 address alone. Not a time (`12:30`) nor a version (`2.6.2`).
fn is_address(token: &str) -> bool {
    let is_port = |p: &str| (1..=5).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit());
    let is_ipv4 = |h: &str| {
        let parts: Vec<&str> = h.split('.').collect();
        parts.len() == 4 && parts.iter().all(|p| p.parse::<u8>().is_ok())
    };
    if let Some(v6) = token.strip_prefix('[') {
        return v6
            .split_once("]:")
            .is_some_and(|(host, port)| host.contains(':') && is_port(port));
    }
    match token.rsplit_once(':') {
        Some((host, port)) => {
            let named = host.starts_with(|c: char| c.is_ascii_alphanumeric())
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
                && host.bytes().any(|b| b.is_ascii_alphabetic());
            is_port(port) && (named || is_ipv4(host))
        }
        None => is_ipv4(token),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_scrubbed_and_the_rest_kept() {
        assert_eq!(
            scrub_urls("Milvus at http://10.0.0.7:19530/v2 is down"),
            "Milvus at [internal address] is down"
        );
        assert_eq!(
            scrub_urls("a (https://sophia.svc:8001), b"),
            "a ([internal address]), b"
        );
        assert_eq!(scrub_urls("no address"), "no address");
    }

    #[test]
    fn addresses_without_a_scheme_are_scrubbed_too() {
        let cases = [
            (
                "cannot connect to milvus:19530",
                "cannot connect to [internal address]",
            ),
            (
                "cannot connect to milvus.data.svc.cluster.local:19530: refused",
                "cannot connect to [internal address]: refused",
            ),
            ("peer 10.0.0.7:8001 reset", "peer [internal address] reset"),
            ("peer 10.0.0.7.", "peer [internal address]."),
            ("via [fd00::1]:4318", "via [internal address]"),
            (
                "Sophia (127.0.0.1:9) said 502",
                "Sophia ([internal address]) said 502",
            ),
        ];
        for (detail, scrubbed) in cases {
            assert_eq!(scrub(detail), scrubbed, "{detail:?}");
        }
        // What is not an address stays.
        for kept in [
            "at 12:30 the queue was full",
            "milvus-sdk-rust 2.6.2: code 1100: collection not loaded",
            "Retry in 1 s.",
            "The tts feature is turned off (HERMES_FEATURES_DISABLED=tts)",
        ] {
            assert_eq!(scrub(kept), kept);
        }
    }
}
