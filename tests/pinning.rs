//! Registration that cannot be intercepted (issue 21): head office served
//! over TLS on loopback (the real head office behind a TLS front, as a
//! reverse proxy serves it in a chain), and a "proxy" in between that
//! presents another certificate and forwards to the same head office.
//!
//! - With the enrollment QR's pin, registration through the proxy fails
//!   closed with the counter's "do not continue, call head office", the
//!   proxy forwards nothing to head office, nothing is registered and the
//!   code is not spent; the same code then registers through the genuine
//!   front, the pin is kept with the credentials, and later syncs trust
//!   that certificate only (through the proxy they fail the same way).
//! - Keyed by hand (no pin), the platform's roots verify: a proxy (or a
//!   head office) whose certificate no trusted root signed is refused too.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

#[path = "util/sync.rs"]
mod sync_util;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tillcard::clock::{Clock, SystemClock};
use tillcard::counter::messages::HeadOfficeRefusal;
use tillcard::counter::text::{head_office_certificate, head_office_refusal};
use tillcard::format::Language;
use tillcard::store::handle::StoreHandle;
use tillcard::store::{PinHashCost, Store, StoreConfig};
use tillcard::uplink::{
    CertificateProblem, Uplink, UplinkConfig, UplinkError, UplinkStatus, provision_pinned,
};
use tillcard_protocol::enrollment::{CertificatePin, EnrollmentText};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

/// A self-signed certificate for 127.0.0.1 and localhost: its DER and the
/// acceptor that serves it.
fn certificate(name: &str) -> (Vec<u8>, TlsAcceptor) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params =
        rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    let cert = params.self_signed(&key).unwrap();
    let der = cert.der().to_vec();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![cert.der().clone()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    )
    .unwrap();
    (der, TlsAcceptor::from(Arc::new(config)))
}

/// A TLS front on loopback that forwards every connection whose handshake
/// succeeded to `upstream` (head office's plain port): the genuine front
/// with head office's certificate, or the interceptor with its own.
/// Returns its https URL and a count of connections forwarded.
async fn tls_front(acceptor: TlsAcceptor, upstream: String) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    let forwarded = Arc::new(AtomicUsize::new(0));
    let count = forwarded.clone();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            let upstream = upstream.clone();
            let count = count.clone();
            tokio::spawn(async move {
                // A client that refuses the certificate ends the handshake.
                let Ok(mut tls) = acceptor.accept(socket).await else {
                    return;
                };
                count.fetch_add(1, Ordering::SeqCst);
                let Ok(mut hq) = TcpStream::connect(upstream).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut hq).await;
            });
        }
    });
    (url, forwarded)
}

/// A front that presents head office's certificate (copied: it is public)
/// but holds another key: what an interceptor can do without head office's
/// private key.
#[derive(Debug)]
struct CopiedCertificate(Arc<rustls::sign::CertifiedKey>);

impl rustls::server::ResolvesServerCert for CopiedCertificate {
    fn resolve(
        &self,
        _hello: rustls::server::ClientHello<'_>,
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }
}

fn copied_certificate(der: &[u8]) -> TlsAcceptor {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let other_key = rcgen::KeyPair::generate().unwrap();
    let signing = provider
        .key_provider
        .load_private_key(rustls::pki_types::PrivateKeyDer::Pkcs8(
            other_key.serialize_der().into(),
        ))
        .unwrap();
    let certified = rustls::sign::CertifiedKey::new(
        vec![rustls::pki_types::CertificateDer::from(der.to_vec())],
        signing,
    );
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(CopiedCertificate(Arc::new(certified))));
    TlsAcceptor::from(Arc::new(config))
}

fn empty_terminal(dir: &std::path::Path, clock: Arc<dyn Clock>) -> StoreHandle {
    let config = StoreConfig {
        pin_cost: PinHashCost::TEST_ONLY,
        ..StoreConfig::new(
            "T-NEW",
            tillcard::store_key::StoreKey::from_bytes([0x5a; 32]),
        )
    };
    StoreHandle::spawn(Store::open(&dir.join("terminal.sqlite"), config, clock).unwrap()).unwrap()
}

async fn registered(till: &StoreHandle) -> (bool, Option<CertificatePin>) {
    let till = till.clone();
    tokio::task::spawn_blocking(move || {
        till.call(|s| Ok((s.credentials().is_some(), s.head_office_pin()?)))
    })
    .await
    .unwrap()
    .unwrap()
}

async fn sync(url: &str, till: &StoreHandle, clock: Arc<dyn Clock>) -> Result<(), UplinkError> {
    let (status, _) = tokio::sync::watch::channel(UplinkStatus::default());
    Uplink::new(
        till.clone(),
        clock,
        UplinkConfig::new(url.to_owned()),
        status,
    )?
    .sync_until_idle()
    .await
}

fn say(problem: CertificateProblem) {
    for language in [Language::ZhCn, Language::En] {
        let said = head_office_refusal(language, &HeadOfficeRefusal::Certificate(problem));
        println!("  counter: {said}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_through_a_proxy_with_another_certificate_fails_closed() {
    tillcard::logging::init_for_tests();
    let dir = tempfile::tempdir().unwrap();
    let (_, hq, plain_url) = sync_util::served_hq(dir.path()).await;
    let upstream = plain_url.trim_start_matches("http://").to_owned();
    let (hq_der, hq_acceptor) = certificate("head office");
    let (proxy_der, proxy_acceptor) = certificate("interceptor");
    assert_ne!(hq_der, proxy_der);
    let (hq_url, hq_forwarded) = tls_front(hq_acceptor, upstream.clone()).await;
    let (proxy_url, proxy_forwarded) = tls_front(proxy_acceptor, upstream.clone()).await;
    let (copy_url, copy_forwarded) = tls_front(copied_certificate(&hq_der), upstream).await;
    let code = hq.issue_code("SH-001").await.unwrap();
    // What head office's console shows beside the code, as the till scans it.
    let qr = EnrollmentText {
        url: hq_url.clone(),
        code: code.clone(),
        pin: CertificatePin::of_der(&hq_der),
    }
    .to_text();
    println!("enrollment QR: {}…", &qr[..qr.len() - 40]);
    let scanned = EnrollmentText::parse(&qr).unwrap();

    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    let till_dir = tempfile::tempdir().unwrap();
    let till = empty_terminal(till_dir.path(), clock.clone());

    // The interceptor: the QR's code and pin, the proxy's address (DNS or
    // the network sends the till there).
    let through_proxy = provision_pinned(
        &till,
        &proxy_url,
        &scanned.code,
        None,
        None,
        Some(scanned.pin),
    )
    .await;
    println!("pinned, through the proxy: {through_proxy:?}");
    assert!(
        matches!(
            through_proxy,
            Err(UplinkError::Certificate(CertificateProblem::NotPinned))
        ),
        "{through_proxy:?}"
    );
    let refusal = HeadOfficeRefusal::Certificate(CertificateProblem::NotPinned);
    let en = head_office_refusal(Language::En, &refusal);
    assert!(en.contains("do not continue, call head office"), "{en}");
    assert!(head_office_refusal(Language::ZhCn, &refusal).contains("请勿继续"));
    say(CertificateProblem::NotPinned);
    assert_eq!(
        proxy_forwarded.load(Ordering::SeqCst),
        0,
        "the proxy got no request to forward"
    );
    assert_eq!(registered(&till).await, (false, None), "nothing registered");

    // Keyed by hand (no pin): the platform's roots do not know the
    // proxy's self-signed certificate either.
    let by_hand = provision_pinned(&till, &proxy_url, &code, None, None, None).await;
    println!("keyed by hand, through the proxy: {by_hand:?}");
    assert!(
        matches!(
            by_hand,
            Err(UplinkError::Certificate(CertificateProblem::Untrusted))
        ),
        "{by_hand:?}"
    );
    say(CertificateProblem::Untrusted);
    assert_eq!(proxy_forwarded.load(Ordering::SeqCst), 0);
    assert_eq!(registered(&till).await, (false, None));

    // Head office's own certificate, copied, without its private key: the
    // pin matches, the handshake's signature does not.
    let copied = provision_pinned(
        &till,
        &copy_url,
        &scanned.code,
        None,
        None,
        Some(scanned.pin),
    )
    .await;
    println!("pinned, head office's certificate copied without its key: {copied:?}");
    assert!(
        matches!(copied, Err(UplinkError::Certificate(_))),
        "{copied:?}"
    );
    assert_eq!(copy_forwarded.load(Ordering::SeqCst), 0);
    assert_eq!(registered(&till).await, (false, None));

    // The genuine head office with the pin: the same code, not spent.
    provision_pinned(&till, &hq_url, &scanned.code, None, None, Some(scanned.pin))
        .await
        .unwrap();
    assert_eq!(
        registered(&till).await,
        (true, Some(CertificatePin::of_der(&hq_der))),
        "registered, the pin kept with the credentials"
    );
    println!(
        "pinned, genuine head office: registered ({} connection(s) through its TLS front)",
        hq_forwarded.load(Ordering::SeqCst)
    );

    // Every later connection trusts that certificate only.
    sync(&hq_url, &till, clock.clone()).await.unwrap();
    let before = hq_forwarded.load(Ordering::SeqCst);
    println!("sync through the genuine front: ok ({before} connection(s) in all)");
    let later = sync(&proxy_url, &till, clock).await;
    println!("sync through the proxy: {later:?}");
    assert!(
        matches!(
            later,
            Err(UplinkError::Certificate(CertificateProblem::NotPinned))
        ),
        "{later:?}"
    );
    assert_eq!(proxy_forwarded.load(Ordering::SeqCst), 0);
    println!(
        "proxy forwarded {} connection(s) to head office",
        proxy_forwarded.load(Ordering::SeqCst)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyed_by_hand_a_certificate_no_trusted_root_signed_is_refused() {
    tillcard::logging::init_for_tests();
    let dir = tempfile::tempdir().unwrap();
    let (_, hq, plain_url) = sync_util::served_hq(dir.path()).await;
    let upstream = plain_url.trim_start_matches("http://").to_owned();
    let (_, hq_acceptor) = certificate("head office, self-signed");
    let (hq_url, forwarded) = tls_front(hq_acceptor, upstream).await;
    let code = hq.issue_code("SH-001").await.unwrap();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    let till_dir = tempfile::tempdir().unwrap();
    let till = empty_terminal(till_dir.path(), clock);
    let result = provision_pinned(&till, &hq_url, &code, None, None, None).await;
    println!("keyed by hand, self-signed head office: {result:?}");
    assert!(
        matches!(
            result,
            Err(UplinkError::Certificate(CertificateProblem::Untrusted))
        ),
        "{result:?}"
    );
    assert_eq!(forwarded.load(Ordering::SeqCst), 0);
    assert_eq!(registered(&till).await, (false, None));
    // The enrollment QR is the way to register with such a head office.
    println!(
        "  counter: {}",
        head_office_certificate(Language::En, CertificateProblem::Untrusted)
    );
}
