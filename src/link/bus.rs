//! Zenoh as rmw_zenoh uses it: one session per process (a peer, multicast scouting off, explicit
//! `tcp/` endpoints), a liveliness token for the node and for each publisher and subscriber, and
//! on every sample the CDR payload with its 33-byte attachment. Callers stay synchronous
//! (`zenoh::Wait`): Zenoh runs its own runtime threads, and subscriber callbacks run on them.

use std::marker::PhantomData;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use zenoh::Wait;
use zenoh::bytes::ZBytes;
use zenoh::liveliness::LivelinessToken;
use zenoh::qos::{CongestionControl, Priority};
use zenoh::sample::SampleKind;

use super::names::{EntityKind, NodeInfo, Qos, fully_qualified, topic_key};
use super::{Attachment, Gid, LinkError, Message, decode, encode};

/// Where a process meets the others, and how.
#[derive(Debug, Clone, Default)]
pub struct Endpoints {
    /// Zenoh endpoints to listen on (`tcp/127.0.0.1:7447`).
    pub listen: Vec<String>,
    /// Zenoh endpoints to connect to (a robot process, or a ROS 2 system's `rmw_zenohd`).
    pub connect: Vec<String>,
    /// A Zenoh configuration file (JSON5): TLS, user/password authentication, routers. Its
    /// settings come first; `listen` and `connect` above are added to them.
    pub config_file: Option<PathBuf>,
    /// `ROS_DOMAIN_ID`.
    pub domain: u32,
}

/// How a publisher's samples travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Urgency {
    /// Commands and joint states: real-time priority, ahead of every image; a full queue drops
    /// the sample, since the next one supersedes it. Not express: an express sample takes a
    /// whole batch, so 16 of them filled the real-time queue whenever the transmit thread was
    /// held off 16 ms (34 of 600,000 states lost in ten minutes). Batched, hundreds fit, and
    /// Zenoh still sends at once when the link is free (it batches only under back-pressure).
    Control,
    /// Status: default priority, never dropped by congestion.
    Reliable,
    /// Camera images and other bulk data: default priority, newest wins (dropped when full).
    Bulk,
}

/// One Zenoh session with the node it speaks for.
pub struct Bus {
    session: zenoh::Session,
    node: NodeInfo,
    next_entity: AtomicU64,
    _node_token: LivelinessToken,
}

fn zenoh_error(what: &str, e: impl std::fmt::Display) -> LinkError {
    LinkError::Zenoh(format!("{what}: {e}"))
}

/// Nanoseconds since the Unix epoch (the attachment's source timestamp).
pub fn unix_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

impl Bus {
    /// Opens a session and declares the node `namespace`/`node` on it.
    pub fn open(endpoints: &Endpoints, namespace: &str, node: &str) -> Result<Bus, LinkError> {
        let mut config = match &endpoints.config_file {
            Some(path) => zenoh::Config::from_file(path)
                .map_err(|e| zenoh_error(&format!("Zenoh config {}", path.display()), e))?,
            None => {
                let mut config = zenoh::Config::default();
                // Explicit endpoints only: no multicast discovery of whoever is on the LAN.
                set(&mut config, "scouting/multicast/enabled", "false")?;
                // A peer listens on every interface by default; here only where asked.
                set(&mut config, "listen/endpoints", "[]")?;
                // The queues hold 2 batches by default. 16 (Zenoh's most per queue) let the
                // real-time queue ride out a transmit thread held off on a busy machine, and
                // the data queue (camera images, one 64 kB batch each) hold 8 stereo frames.
                set(&mut config, "transport/link/tx/queue/size/real_time", "16")?;
                set(&mut config, "transport/link/tx/queue/size/data", "16")?;
                config
            }
        };
        set(&mut config, "mode", "\"peer\"")?;
        for (key, list) in [
            ("listen/endpoints", &endpoints.listen),
            ("connect/endpoints", &endpoints.connect),
        ] {
            if !list.is_empty() {
                set(&mut config, key, &json_list(list))?;
            }
        }
        let session = zenoh::open(config)
            .wait()
            .map_err(|e| zenoh_error("opening the Zenoh session", e))?;
        let zid = session.zid().to_string();
        let node = NodeInfo::new(endpoints.domain, &zid, namespace, node)?;
        let token = session
            .liveliness()
            .declare_token(node.node_token())
            .wait()
            .map_err(|e| zenoh_error("node token", e))?;
        Ok(Bus {
            session,
            node,
            next_entity: AtomicU64::new(1),
            _node_token: token,
        })
    }

    /// The node this session speaks for.
    pub fn node(&self) -> &NodeInfo {
        &self.node
    }

    fn endpoint_token(
        &self,
        kind: EntityKind,
        fq_topic: &str,
        ty: &super::RosType,
        qos: &Qos,
    ) -> Result<(String, LivelinessToken), LinkError> {
        let id = self.next_entity.fetch_add(1, Ordering::Relaxed);
        let token = self.node.endpoint_token(id, kind, fq_topic, ty, qos)?;
        let declared = self
            .session
            .liveliness()
            .declare_token(token.clone())
            .wait()
            .map_err(|e| zenoh_error("endpoint token", e))?;
        Ok((token, declared))
    }

    /// A publisher of `M` on `topic` (relative to the node's namespace, or absolute).
    pub fn publisher<M: Message>(
        &self,
        topic: &str,
        qos: Qos,
        urgency: Urgency,
    ) -> Result<Publisher<M>, LinkError> {
        let fq = fully_qualified(&self.node.namespace, topic)?;
        let key = topic_key(self.node.domain, &fq, &M::TYPE)?;
        let (token, declared) = self.endpoint_token(EntityKind::Publisher, &fq, &M::TYPE, &qos)?;
        let (priority, express, congestion) = match urgency {
            Urgency::Control => (Priority::RealTime, false, CongestionControl::Drop),
            Urgency::Reliable => (Priority::Data, false, CongestionControl::Block),
            Urgency::Bulk => (Priority::Data, false, CongestionControl::Drop),
        };
        let inner = self
            .session
            .declare_publisher(key)
            .priority(priority)
            .express(express)
            .congestion_control(congestion)
            .wait()
            .map_err(|e| zenoh_error(&format!("publisher on {fq}"), e))?;
        Ok(Publisher {
            inner,
            gid: Gid::of_token(&token),
            topic: fq,
            sequence: 0,
            buf: Vec::with_capacity(256),
            _token: declared,
            _message: PhantomData,
        })
    }

    /// Calls `on` (on a Zenoh thread) with every `M` that arrives on `topic`, decoded, or with
    /// why a sample could not be (not CDR of an `M`, no attachment).
    pub fn subscribe<M, F>(&self, topic: &str, qos: Qos, on: F) -> Result<Subscription, LinkError>
    where
        M: Message + Send + 'static,
        F: Fn(Result<Received<M>, LinkError>) + Send + Sync + 'static,
    {
        let fq = fully_qualified(&self.node.namespace, topic)?;
        let key = topic_key(self.node.domain, &fq, &M::TYPE)?;
        let (_, declared) = self.endpoint_token(EntityKind::Subscriber, &fq, &M::TYPE, &qos)?;
        let inner = self
            .session
            .declare_subscriber(key)
            .callback(move |sample| {
                let at = Instant::now();
                let payload = sample.payload().to_bytes();
                let received = decode::<M>(&payload).and_then(|message| {
                    let a = sample.attachment().ok_or_else(|| {
                        LinkError::Attachment("none (rmw_zenoh drops such samples)".into())
                    })?;
                    let attachment = Attachment::from_bytes(&a.to_bytes())?;
                    Ok(Received {
                        message,
                        attachment,
                        at,
                    })
                });
                on(received);
            })
            .wait()
            .map_err(|e| zenoh_error(&format!("subscriber on {fq}"), e))?;
        Ok(Subscription {
            _inner: inner,
            _token: Some(declared),
        })
    }

    /// Calls `on(alive)` whenever the node `namespace`/`node` appears (true) or disappears
    /// (false) on the network, through its rmw_zenoh liveliness token; at once for a node that
    /// is already there. A killed process is seen in milliseconds (its TCP link closes); a
    /// silent link only after Zenoh's lease.
    pub fn watch_node<F>(
        &self,
        namespace: &str,
        node: &str,
        on: F,
    ) -> Result<Subscription, LinkError>
    where
        F: Fn(bool) + Send + Sync + 'static,
    {
        let pattern = NodeInfo::node_token_pattern(self.node.domain, namespace, node)?;
        let inner = self
            .session
            .liveliness()
            .declare_subscriber(pattern)
            .history(true)
            .callback(move |sample| on(sample.kind() == SampleKind::Put))
            .wait()
            .map_err(|e| zenoh_error(&format!("watching node {namespace}/{node}"), e))?;
        Ok(Subscription {
            _inner: inner,
            _token: None,
        })
    }
}

fn set(config: &mut zenoh::Config, key: &str, value: &str) -> Result<(), LinkError> {
    config
        .insert_json5(key, value)
        .map_err(|e| zenoh_error(&format!("Zenoh config {key} = {value}"), e))
}

fn json_list(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
}

/// A message as it arrived.
#[derive(Debug, Clone)]
pub struct Received<M> {
    pub message: M,
    pub attachment: Attachment,
    /// When it arrived (this process's monotonic clock).
    pub at: Instant,
}

/// A declared subscriber (and its liveliness token): dropping it undeclares both.
pub struct Subscription {
    _inner: zenoh::pubsub::Subscriber<()>,
    _token: Option<LivelinessToken>,
}

/// Publishes `M`s on one topic, each with its attachment. Encoding reuses one buffer; Zenoh
/// copies the bytes into its own message (its one allocation per sample).
pub struct Publisher<M> {
    inner: zenoh::pubsub::Publisher<'static>,
    gid: Gid,
    topic: String,
    sequence: i64,
    buf: Vec<u8>,
    _token: LivelinessToken,
    _message: PhantomData<fn(&M)>,
}

impl<M: Message> Publisher<M> {
    /// Encodes and sends `msg` with the next sequence number (from 1) and the wall-clock time.
    pub fn put(&mut self, msg: &M) -> Result<(), LinkError> {
        encode(msg, &mut self.buf)?;
        self.sequence += 1;
        let attachment = Attachment {
            sequence_number: self.sequence,
            source_timestamp_ns: unix_ns(),
            gid: self.gid,
        }
        .to_bytes();
        self.inner
            .put(ZBytes::from(&self.buf[..]))
            .attachment(ZBytes::from(attachment))
            .wait()
            .map_err(|e| zenoh_error(&format!("publishing on {}", self.topic), e))
    }

    /// This publisher's GID (what subscribers see in every attachment).
    pub fn gid(&self) -> Gid {
        self.gid
    }
}
