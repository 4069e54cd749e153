//! Test certificates: a CA, a server certificate for 127.0.0.1/localhost, client certificates,
//! and a second, unrelated CA, written as PEM files the daemon and the CLIs read.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};

/// Paths of one identity's files.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The CA that signed it (what its peer should trust).
    pub ca: PathBuf,
    /// Certificate.
    pub cert: PathBuf,
    /// Private key.
    pub key: PathBuf,
}

/// A small PKI in a directory.
pub struct Pki {
    /// The server's files (for wharfd `--tlscacert/--tlscert/--tlskey`).
    pub server: TlsFiles,
    /// A client signed by the same CA.
    pub client: TlsFiles,
    /// A client signed by another CA.
    pub stranger: TlsFiles,
}

impl Pki {
    /// Creates the PKI under `dir`.
    pub fn create(dir: &Path) -> Pki {
        std::fs::create_dir_all(dir).expect("pki dir");
        let ca_key = KeyPair::generate().expect("key");
        let ca = CertifiedIssuer::self_signed(ca_params("wharf test CA"), ca_key).expect("ca");
        let other_key = KeyPair::generate().expect("key");
        let other = CertifiedIssuer::self_signed(ca_params("another CA"), other_key).expect("ca");
        let write = |name: &str, text: &str| {
            let p = dir.join(name);
            std::fs::write(&p, text).expect("write pem");
            p
        };
        let ca_pem = write("ca.pem", &ca.pem());
        write("other-ca.pem", &other.pem());

        let leaf = |names: Vec<String>, cn: &str, usage: ExtendedKeyUsagePurpose| {
            let mut p = CertificateParams::new(names).expect("params");
            p.distinguished_name.push(DnType::CommonName, cn);
            p.extended_key_usages = vec![usage];
            p.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
            p
        };
        let server_key = KeyPair::generate().expect("key");
        let server = leaf(vec!["127.0.0.1".into(), "localhost".into()], "wharfd", ExtendedKeyUsagePurpose::ServerAuth)
            .signed_by(&server_key, &ca)
            .expect("server cert");
        let client_key = KeyPair::generate().expect("key");
        let client = leaf(vec![], "client", ExtendedKeyUsagePurpose::ClientAuth)
            .signed_by(&client_key, &ca)
            .expect("client cert");
        let stranger_key = KeyPair::generate().expect("key");
        let stranger = leaf(vec![], "stranger", ExtendedKeyUsagePurpose::ClientAuth)
            .signed_by(&stranger_key, &other)
            .expect("stranger cert");

        Pki {
            server: TlsFiles {
                ca: ca_pem.clone(),
                cert: write("server-cert.pem", &server.pem()),
                key: write("server-key.pem", &server_key.serialize_pem()),
            },
            client: TlsFiles {
                ca: ca_pem.clone(),
                cert: write("client-cert.pem", &client.pem()),
                key: write("client-key.pem", &client_key.serialize_pem()),
            },
            stranger: TlsFiles {
                ca: ca_pem,
                cert: write("stranger-cert.pem", &stranger.pem()),
                key: write("stranger-key.pem", &stranger_key.serialize_pem()),
            },
        }
    }

    /// Daemon flags for `--tlsverify` with this PKI.
    pub fn daemon_args(&self) -> Vec<String> {
        vec![
            "--tlsverify".into(),
            format!("--tlscacert={}", self.server.ca.display()),
            format!("--tlscert={}", self.server.cert.display()),
            format!("--tlskey={}", self.server.key.display()),
        ]
    }
}

fn ca_params(cn: &str) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, cn);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    p
}
