//! TLS to head office: a client that trusts one certificate (the pin from
//! the enrollment QR, kept with the credentials) or, for a head office
//! keyed by hand, the platform's roots; and the failures of either told
//! apart from a network that is down, so the person is told not to go on.
//!
//! With a pin, the connection accepts ONLY an end-entity certificate whose
//! SHA-256 is the pin: no certificate authority can stand in for it, so a
//! proxy holding a publicly trusted certificate for head office's name is
//! refused too. The handshake's signature is still verified against that
//! certificate's key (a copy of the certificate without its private key
//! gets nowhere). Name and validity dates are not checked: the pin is the
//! trust anchor, as an SSH host key is (head office pins the certificate it
//! serves; a renewed certificate needs a new pin, see `docs/STORE.md`).

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, OtherError, SignatureScheme};
use tillcard_protocol::enrollment::CertificatePin;

/// Why head office's certificate was not accepted. Nothing was sent: the
/// TLS handshake failed before the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CertificateProblem {
    /// The certificate is not the one whose fingerprint the enrollment code
    /// carried (or the one this terminal registered with): someone in
    /// between, or head office changed its certificate.
    #[error(
        "head office's certificate is not the one in the enrollment code: do not continue, call head office"
    )]
    NotPinned,
    /// No pin, and the certificate does not chain to a root this machine
    /// trusts (self-signed, expired, another name).
    #[error(
        "head office's certificate is not trusted by this terminal: do not continue, call head office"
    )]
    Untrusted,
}

/// The error the pinned verifier returns, found again in reqwest's error
/// chain to tell a wrong certificate from any other TLS failure.
#[derive(Debug)]
struct PinMismatch;

impl std::fmt::Display for PinMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the certificate's SHA-256 is not the pinned one")
    }
}

impl std::error::Error for PinMismatch {}

/// Accepts exactly one certificate, by its SHA-256.
#[derive(Debug)]
struct PinnedVerifier {
    pin: CertificatePin,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if CertificatePin::of_der(end_entity.as_ref()) == self.pin {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                OtherError(Arc::new(PinMismatch)),
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The rustls client configuration that trusts `pin` alone.
pub fn pinned_config(pin: CertificatePin) -> Result<rustls::ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinnedVerifier { pin, provider }))
        .with_no_client_auth();
    Ok(config)
}

/// The HTTP client for head office: redirects are not followed (an https
/// address cannot be sent on to a plain-http one); with a pin, only that
/// certificate; without, the platform's roots (reqwest's default).
pub fn http_client(
    timeout: Option<std::time::Duration>,
    pin: Option<CertificatePin>,
) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
    if let Some(timeout) = timeout {
        builder = builder.timeout(timeout);
    }
    if let Some(pin) = pin {
        builder = builder.use_preconfigured_tls(pinned_config(pin).map_err(|e| e.to_string())?);
    }
    builder.build().map_err(|e| e.to_string())
}

/// The certificate problem behind a failed request, if that is what
/// failed: reqwest's error chain is walked down to rustls' error, which
/// hyper-util hands up inside an `io::Error` inside another (an
/// `io::Error`'s `source` skips what it wraps, hence `get_ref`).
pub fn certificate_problem(
    error: &(dyn std::error::Error + 'static),
) -> Option<CertificateProblem> {
    let mut next = Some(error);
    while let Some(mut error) = next {
        next = error.source();
        while let Some(inner) = error
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            error = inner;
        }
        if let Some(rustls::Error::InvalidCertificate(why)) = error.downcast_ref::<rustls::Error>()
        {
            return Some(match why {
                CertificateError::Other(other)
                    if other.0.downcast_ref::<PinMismatch>().is_some() =>
                {
                    CertificateProblem::NotPinned
                }
                _ => CertificateProblem::Untrusted,
            });
        }
    }
    None
}
