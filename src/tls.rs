//! TLS trust for hubferry's own hub requests. The roots are reqwest's (Cargo.toml features): the
//! bundled Mozilla roots plus the platform store, which `SSL_CERT_FILE` / `SSL_CERT_DIR` replace
//! when set (rustls-native-certs), as OpenSSL-based clients and httpx read them; proxies come from
//! `HTTPS_PROXY` / `NO_PROXY` (reqwest's default). This module only explains a refused
//! certificate, which reqwest reports as a bare connect error.

/// `": <the TLS reason> (hint)"` when `err` failed on the server's certificate, else `""`.
pub fn certificate_note(err: &reqwest::Error) -> String {
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(err);
    while let Some(cause) = source {
        let text = cause.to_string();
        if text.contains("certificate") {
            return format!(
                ": {text} (if a corporate proxy or private CA signs it, point SSL_CERT_FILE at \
                 that CA's PEM file)"
            );
        }
        source = cause.source();
    }
    String::new()
}
