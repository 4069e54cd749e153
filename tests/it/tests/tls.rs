//! Mutual TLS on TCP: the stock docker CLI with a client certificate from the daemon's CA gets
//! in; without a certificate, with one from another CA, or over plain HTTP it does not.

use std::path::Path;

use wharf_it::{CmdResult, Daemon, DaemonOpts, Pki, TlsFiles};

fn docker_tls(d: &Daemon, pki_dir: &Path, port: u16, files: Option<&TlsFiles>, args: &[&str]) -> CmdResult {
    let mut c = std::process::Command::new(wharf_it::docker_cli());
    c.arg("--config").arg(&d.client_config).arg("--tlsverify");
    match files {
        Some(f) => {
            c.arg(format!("--tlscacert={}", pki_dir.join("ca.pem").display()));
            c.arg(format!("--tlscert={}", f.cert.display())).arg(format!("--tlskey={}", f.key.display()));
        }
        None => {
            // a cert path holding only the CA: the CLI then sends no client certificate
            let only_ca = pki_dir.join("only-ca");
            std::fs::create_dir_all(&only_ca).unwrap();
            std::fs::copy(pki_dir.join("ca.pem"), only_ca.join("ca.pem")).unwrap();
            c.env("DOCKER_CERT_PATH", &only_ca);
        }
    }
    c.arg("-H").arg(format!("tcp://127.0.0.1:{port}")).args(args);
    CmdResult::run(c)
}

#[test]
fn mutual_tls_admits_only_clients_of_the_ca() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::create(dir.path());
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut args = pki.daemon_args();
    args.extend(["-H".into(), format!("tcp://127.0.0.1:{port}")]);
    let mut d = Daemon::start_with(DaemonOpts { args, ..Default::default() });

    let ok = docker_tls(&d, dir.path(), port, Some(&pki.client), &["version", "--format", "{{.Server.APIVersion}}"]);
    assert_eq!(ok.ok().trim(), "1.45");

    let none = docker_tls(&d, dir.path(), port, None, &["version", "--format", "{{.Server.APIVersion}}"]);
    let err = none.failed().to_lowercase();
    assert!(err.contains("certificate") || err.contains("tls"), "{err}");
    let stranger =
        docker_tls(&d, dir.path(), port, Some(&pki.stranger), &["version", "--format", "{{.Server.APIVersion}}"]);
    let err = stranger.failed().to_lowercase();
    assert!(err.contains("certificate") || err.contains("tls"), "{err}");
    let plain = wharf_it::RawClient::Tcp(format!("127.0.0.1:{port}")).request("GET", "/_ping", None);
    assert!(!matches!(plain, Ok(ref r) if r.status == 200), "plain HTTP must not be served on a TLS port: {plain:?}");

    // the unix socket keeps working beside TCP
    d.docker(&["version"]).ok();
    d.stop();
}

#[test]
fn tls_with_a_missing_certificate_fails_to_start_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::prepare(DaemonOpts::default());
    let mut cmd = d.command();
    cmd.args(["--tlsverify", "-H", "tcp://127.0.0.1:0"]);
    cmd.arg(format!("--tlscert={}", dir.path().join("nope.pem").display()));
    cmd.arg(format!("--tlskey={}", dir.path().join("nope-key.pem").display()));
    cmd.arg(format!("--tlscacert={}", dir.path().join("nope-ca.pem").display()));
    let err = CmdResult::run(cmd).failed().to_string();
    assert!(err.contains("could not load TLS certificate"), "{err}");
    d.assert_clean();
}
