//! The request handler behind 127.0.0.11: A, AAAA and PTR from [`DnsState`] for the querier,
//! everything else (and every miss) forwarded upstream; NXDOMAIN when there is no upstream.

use std::net::IpAddr;
use std::sync::Arc;

use async_trait::async_trait;
use hickory_proto::op::{Edns, Header, HeaderCounts, MessageType, Metadata, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, PTR};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use hickory_server::net::runtime::Time;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponseBuilder;
use tokio::sync::Semaphore;
use tracing::{debug, trace};

use crate::forward::Upstream;
use crate::DnsState;

/// TTL of the answers made from container names (Docker's `respTTL`).
pub const TTL: u32 = 600;

/// Forwarded queries in flight per server before new ones get SERVFAIL (Docker's
/// `maxConcurrent`).
pub(crate) const MAX_CONCURRENT_FORWARDS: usize = 100;

pub(crate) struct Handler {
    pub(crate) querier: String,
    pub(crate) state: Arc<DnsState>,
    pub(crate) upstream: Upstream,
    /// Bounds the forwarded queries in flight.
    pub(crate) forwards: Semaphore,
}

#[async_trait]
impl RequestHandler for Handler {
    async fn handle_request<R: ResponseHandler, T: Time>(&self, request: &Request, response: R) -> ResponseInfo {
        let mut meta = Metadata::response_from_request(&request.metadata);
        meta.recursion_available = true;
        if request.metadata.message_type != MessageType::Query || request.metadata.op_code != OpCode::Query {
            meta.response_code = ResponseCode::NotImp;
            return send(request, response, meta, &[], &[], &[]).await;
        }
        let Ok(info) = request.request_info() else {
            meta.response_code = ResponseCode::FormErr;
            return send(request, response, meta, &[], &[], &[]).await;
        };
        let qname = info.query.original().name();
        let qtype = info.query.query_type();

        let local = if info.query.query_class() == DNSClass::IN { self.local(qname, qtype) } else { None };
        if let Some(records) = local {
            trace!(querier = %self.querier, name = %qname, %qtype, answers = records.len(), "dns: local");
            meta.authoritative = true;
            return send(request, response, meta, &records, &[], &[]).await;
        }
        if self.upstream.servers.is_empty() {
            trace!(querier = %self.querier, name = %qname, %qtype, "dns: nxdomain (no upstream)");
            meta.response_code = ResponseCode::NXDomain;
            return send(request, response, meta, &[], &[], &[]).await;
        }
        let Ok(_permit) = self.forwards.try_acquire() else {
            debug!(querier = %self.querier, name = %qname, %qtype, "dns: too many queries in flight");
            meta.response_code = ResponseCode::ServFail;
            return send(request, response, meta, &[], &[], &[]).await;
        };
        match self.upstream.forward(request.as_slice(), request.metadata.id).await {
            Ok(msg) => {
                trace!(
                    querier = %self.querier, name = %qname, %qtype,
                    rcode = %msg.metadata.response_code, answers = msg.answers.len(), "dns: forwarded"
                );
                meta.response_code = msg.metadata.response_code;
                meta.authoritative = msg.metadata.authoritative;
                meta.recursion_available = msg.metadata.recursion_available;
                meta.authentic_data = msg.metadata.authentic_data;
                meta.truncation = msg.metadata.truncation;
                send(request, response, meta, &msg.answers, &msg.authorities, &msg.additionals).await
            }
            Err(e) => {
                debug!(querier = %self.querier, name = %qname, %qtype, error = %e, "dns: forwarding failed");
                meta.response_code = ResponseCode::ServFail;
                send(request, response, meta, &[], &[], &[]).await
            }
        }
    }
}

impl Handler {
    /// The answer from container names: `None` sends the query upstream, `Some(vec![])` is
    /// NOERROR without records (the name exists without an address of that family).
    fn local(&self, qname: &Name, qtype: RecordType) -> Option<Vec<Record>> {
        let record = |rdata| Record::from_rdata(qname.clone(), TTL, rdata);
        match qtype {
            RecordType::A => {
                let ips = self.state.lookup_ipv4(&self.querier, &qname.to_ascii())?;
                Some(ips.into_iter().map(|ip| record(RData::A(A(ip)))).collect())
            }
            RecordType::AAAA => {
                let ips = self.state.lookup_ipv6(&self.querier, &qname.to_ascii())?;
                Some(ips.into_iter().map(|ip| record(RData::AAAA(AAAA(ip)))).collect())
            }
            RecordType::PTR => {
                let net = qname.parse_arpa_name().ok()?;
                let full = match net.addr() {
                    IpAddr::V4(_) => 32,
                    IpAddr::V6(_) => 128,
                };
                if net.prefix_len() != full {
                    return None;
                }
                let target = self.state.reverse(&self.querier, net.addr())?;
                let target = Name::from_ascii(format!("{target}.")).ok()?;
                Some(vec![record(RData::PTR(PTR(target)))])
            }
            _ => None,
        }
    }
}

async fn send<R: ResponseHandler>(
    request: &Request,
    mut response: R,
    metadata: Metadata,
    answers: &[Record],
    authorities: &[Record],
    additionals: &[Record],
) -> ResponseInfo {
    // Our own OPT record when the client sent one; it also bounds a UDP answer to the client's
    // payload size (hickory truncates and sets TC beyond it).
    let edns = request.edns.as_ref().map(|req| {
        let mut edns = Edns::new();
        edns.set_max_payload(req.max_payload().max(512));
        edns
    });
    let mut builder = MessageResponseBuilder::from_message_request(request);
    if let Some(edns) = &edns {
        builder.edns(edns);
    }
    let message = builder.build(metadata, answers.iter(), authorities.iter(), std::iter::empty(), additionals.iter());
    match response.send_response(message).await {
        Ok(info) => info,
        Err(e) => {
            debug!(error = %e, "dns: sending the answer failed");
            let mut failed = Metadata::response_from_request(&request.metadata);
            failed.response_code = ResponseCode::ServFail;
            ResponseInfo::from(Header { metadata: failed, counts: HeaderCounts::default() })
        }
    }
}
