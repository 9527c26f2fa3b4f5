//! A certificate's fingerprint: the SHA-256 of its DER bytes, written as 32 hex pairs joined by
//! `:` (`AB:12:...`), as `openssl x509 -fingerprint -sha256` prints it. The server prints its
//! own at start; a client that trusts on first use remembers it and compares it next time.

use std::fmt;
use std::str::FromStr;

/// The SHA-256 fingerprint of a certificate.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The fingerprint of a certificate given as DER bytes.
    pub fn of(der: &[u8]) -> Fingerprint {
        let digest = ring::digest::digest(&ring::digest::SHA256, der);
        let mut bytes = [0; 32];
        bytes.copy_from_slice(digest.as_ref());
        Fingerprint(bytes)
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, byte) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{byte:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// A text that is not a fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FingerprintError;

impl fmt::Display for FingerprintError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a SHA-256 fingerprint (32 hex pairs joined by ':')")
    }
}

impl std::error::Error for FingerprintError {}

impl FromStr for Fingerprint {
    type Err = FingerprintError;

    /// Reads what `Display` writes; the hex digits in either case.
    fn from_str(text: &str) -> Result<Fingerprint, FingerprintError> {
        let mut bytes = [0; 32];
        let mut pairs = text.split(':');
        for byte in &mut bytes {
            let pair = pairs.next().ok_or(FingerprintError)?;
            if pair.len() != 2 || !pair.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(FingerprintError);
            }
            *byte = u8::from_str_radix(pair, 16).map_err(|_| FingerprintError)?;
        }
        match pairs.next() {
            None => Ok(Fingerprint(bytes)),
            Some(_) => Err(FingerprintError),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_is_the_sha256_of_the_bytes_in_hex_pairs() {
        // SHA-256 of "abc", from FIPS 180-2.
        let expected = "BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:\
                        B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD";
        assert_eq!(Fingerprint::of(b"abc").to_string(), expected);
    }

    #[test]
    fn a_fingerprint_reads_back_what_it_writes_in_either_case() {
        let fingerprint = Fingerprint::of(b"a certificate");
        let text = fingerprint.to_string();
        assert_eq!(text.parse(), Ok(fingerprint));
        assert_eq!(text.to_lowercase().parse(), Ok(fingerprint));
    }

    #[test]
    fn texts_that_are_not_fingerprints_are_refused() {
        let good = Fingerprint::of(b"x").to_string();
        for bad in [
            "",
            "AB",
            &good[..good.len() - 3],
            &format!("{good}:00"),
            &good.replace(':', "-"),
            &good.replacen("0", "G", 1),
            &good.replacen(':', "", 1),
            &good.replacen(':', " :", 1),
        ] {
            assert_eq!(bad.parse::<Fingerprint>(), Err(FingerprintError), "{bad:?}");
        }
    }
}
