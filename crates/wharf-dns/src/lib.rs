//! Docker's embedded DNS server for containers on user-defined networks.
//!
//! Every container attached to a user-defined network gets a resolver at `127.0.0.11:53` (UDP and
//! TCP) inside its own network namespace. It answers A, AAAA and PTR queries for the names of the
//! containers sharing a network with it ([`DnsState`]: container names, aliases, short IDs,
//! `name.network`), and forwards everything else to the host's nameservers.
//!
//! The daemon keeps one [`DnsState`] (behind an `Arc`) up to date as endpoints come and go, and
//! starts one [`DnsServer`] per running container:
//!
//! ```no_run
//! # use std::sync::Arc;
//! # async fn demo() -> std::io::Result<()> {
//! use wharf_dns::{DnsServer, DnsState};
//! let state = Arc::new(DnsState::new());
//! state.set_network_name("net-id", "backend");
//! state.set_endpoint("net-id", "c0ffee…", vec!["/web".into(), "www".into()], Some([172, 18, 0, 2].into()), None);
//! let server = DnsServer::start(
//!     "/proc/4242/ns/net".as_ref(),
//!     "c0ffee…".into(),
//!     state.clone(),
//!     vec!["1.1.1.1:53".parse().unwrap()],
//! )?;
//! // … the container's resolv.conf says `nameserver 127.0.0.11` and `options ndots:0`.
//! server.stop().await;
//! # Ok(()) }
//! ```
//!
//! Invariants: the sockets are created by a short-lived helper thread that enters the container's
//! namespace; no runtime thread ever changes namespace. Forwarding happens from the daemon's own
//! namespace, so loopback upstreams (systemd-resolved's 127.0.0.53) work.

mod forward;
mod handler;
mod netns;
mod server;
mod state;

pub use handler::TTL;
pub use server::{DnsServer, ServerConfig, DEFAULT_UPSTREAM_TIMEOUT, DNS_ADDR};
pub use state::{DnsState, SHORT_ID_LEN};
