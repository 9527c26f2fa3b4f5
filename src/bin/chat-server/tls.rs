//! The TLS options of `chat-server` (feature `tls`): `--tls-cert FILE --tls-key FILE`, or
//! `--tls-self-signed`. Either makes the listener speak only TLS.

use chat::server::{Config, TlsIdentity};
use getopts::{Matches, Options};

pub fn add_options(opts: &mut Options) {
    opts.optopt(
        "",
        "tls-cert",
        "speak only TLS, showing the certificate chain in FILE (PEM, the server's own first); \
         needs --tls-key (default: plain TCP)",
        "FILE",
    );
    opts.optopt("", "tls-key", "the private key of --tls-cert (PEM)", "FILE");
    opts.optflag(
        "",
        "tls-self-signed",
        "speak only TLS, with a certificate made at start for --host and this machine's \
         loopback names; its SHA-256 fingerprint is printed with the 'Hosting on' line",
    );
}

/// Reads the TLS options into `config`: loads the certificate, or makes one for `host`.
pub fn configure(matches: &Matches, host: &str, config: &mut Config) -> Result<(), String> {
    let cert = matches.opt_str("tls-cert");
    let key = matches.opt_str("tls-key");
    let self_signed = matches.opt_present("tls-self-signed");
    let identity = match (cert, key, self_signed) {
        (None, None, false) => return Ok(()),
        (Some(_), _, true) | (_, Some(_), true) => {
            return Err(
                "--tls-self-signed and --tls-cert/--tls-key cannot be used together".into(),
            );
        }
        (Some(cert), Some(key), false) => TlsIdentity::from_pem_files(cert.as_ref(), key.as_ref()),
        (Some(_), None, false) => return Err("--tls-cert needs --tls-key".into()),
        (None, Some(_), false) => return Err("--tls-key needs --tls-cert".into()),
        (None, None, true) => TlsIdentity::self_signed(host),
    };
    config.tls = Some(identity.map_err(|error| format!("TLS: {error}"))?);
    Ok(())
}

/// What the `Hosting on` line says about TLS.
pub fn note(config: &Config) -> String {
    match &config.tls {
        Some(tls) => format!(
            " over TLS; certificate SHA-256 fingerprint {}",
            tls.fingerprint()
        ),
        None => String::new(),
    }
}
