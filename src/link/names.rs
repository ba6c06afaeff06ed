//! rmw_zenoh's names: where a topic's samples go (its key expression) and the liveliness tokens
//! that make a node and its publishers and subscribers visible to `ros2 node/topic list`.
//!
//! Key expressions (`liveliness_utils.cpp`, `TopicInfo`):
//!
//! ```text
//! <domain>/<fully qualified topic without its leading '/'>/<pkg::msg::dds_::Type_>/RIHS01_<hash>
//! ```
//!
//! Tokens (`Entity::Entity`; `/` inside a name becomes `%`):
//!
//! ```text
//! @ros2_lv/<domain>/<zid>/<node id>/<node id>/NN/<enclave>/<namespace>/<node>
//! @ros2_lv/<domain>/<zid>/<node id>/<entity id>/MP|MS/<enclave>/<namespace>/<node>/<topic>/<type>/<hash>/<qos>
//! ```

use std::fmt::Write;

use super::LinkError;
use super::types::RosType;

/// Replaces every `/` by `%`, as rmw_zenoh does for names inside a token.
pub fn mangle(name: &str) -> String {
    name.replace('/', "%")
}

/// Checks a ROS name (a namespace or topic, absolute or relative): tokens of ASCII letters,
/// digits and `_`, not starting with a digit, separated by single `/`, no trailing `/` (the
/// root namespace `/` aside).
pub fn validate(name: &str) -> Result<(), LinkError> {
    let bad = |why: &str| Err(LinkError::Name(format!("{name:?}: {why}")));
    if name == "/" {
        return Ok(());
    }
    let body = name.strip_prefix('/').unwrap_or(name);
    if body.is_empty() {
        return bad("empty");
    }
    for token in body.split('/') {
        if token.is_empty() {
            return bad("empty token (`//` or a trailing `/`)");
        }
        if token.starts_with(|c: char| c.is_ascii_digit()) {
            return bad("a token starts with a digit");
        }
        if !token.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return bad("only ASCII letters, digits, `_` and `/` are allowed");
        }
    }
    Ok(())
}

/// The namespace for a robot's topics: `/` + its name, with every character ROS does not allow
/// turned into `_` (and `_` put before a leading digit). `"unitree-g1"` → `/unitree_g1`.
pub fn robot_namespace(robot: &str) -> String {
    let mut ns = String::with_capacity(robot.len() + 2);
    ns.push('/');
    if robot.is_empty() || robot.starts_with(|c: char| c.is_ascii_digit()) {
        ns.push('_');
    }
    ns.extend(
        robot
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }),
    );
    ns
}

/// A topic's fully qualified name: an absolute `topic` as it is, a relative one under
/// `namespace` (`/g1` + `joint_states` → `/g1/joint_states`; `/` + `tf` → `/tf`).
pub fn fully_qualified(namespace: &str, topic: &str) -> Result<String, LinkError> {
    validate(namespace)?;
    validate(topic)?;
    if !namespace.starts_with('/') {
        return Err(LinkError::Name(format!(
            "namespace {namespace:?} must be absolute"
        )));
    }
    if topic.starts_with('/') {
        return Ok(topic.to_string());
    }
    let ns = namespace.trim_end_matches('/');
    Ok(format!("{ns}/{topic}"))
}

/// The key expression a topic's samples are put on:
/// `0/g1/joint_states/sensor_msgs::msg::dds_::JointState_/RIHS01_…`.
pub fn topic_key(domain: u32, fq_topic: &str, ty: &RosType) -> Result<String, LinkError> {
    validate(fq_topic)?;
    let topic = fq_topic.trim_matches('/');
    if topic.is_empty() {
        return Err(LinkError::Name("the topic is empty".into()));
    }
    Ok(format!("{domain}/{topic}/{}/{}", ty.dds_name, ty.hash))
}

/// Who an endpoint token says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntityKind {
    Publisher,
    Subscriber,
}

impl EntityKind {
    fn code(self) -> &'static str {
        match self {
            EntityKind::Publisher => "MP",
            EntityKind::Subscriber => "MS",
        }
    }
}

/// `rmw_qos_reliability_policy_e`; rmw_zenoh's default is `Reliable`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reliability {
    Reliable = 1,
    BestEffort = 2,
}

/// `rmw_qos_durability_policy_e`; rmw_zenoh's default is `Volatile`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    TransientLocal = 1,
    Volatile = 2,
}

/// `rmw_qos_history_policy_e` with its depth; rmw_zenoh's default is `KeepLast(42)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum History {
    KeepLast(u32),
    KeepAll,
}

/// The QoS a token advertises. Deadline, lifespan and liveliness are always rmw_zenoh's
/// defaults (infinite, infinite, automatic with an infinite lease): the bridge sets none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Qos {
    pub reliability: Reliability,
    pub durability: Durability,
    pub history: History,
}

impl Qos {
    /// rmw_zenoh's default profile (which encodes as all fields empty).
    pub const DEFAULT: Qos = Qos {
        reliability: Reliability::Reliable,
        durability: Durability::Volatile,
        history: History::KeepLast(42),
    };

    /// Reliable, volatile, keep last `depth`: states and commands.
    pub const fn reliable(depth: u32) -> Qos {
        Qos {
            history: History::KeepLast(depth),
            ..Qos::DEFAULT
        }
    }

    /// Best effort, volatile, keep last `depth`: camera images.
    pub const fn best_effort(depth: u32) -> Qos {
        Qos {
            reliability: Reliability::BestEffort,
            history: History::KeepLast(depth),
            ..Qos::DEFAULT
        }
    }

    /// `qos_to_keyexpr`: `reliability:durability:history,depth:deadline s,ns:lifespan s,ns:
    /// liveliness,lease s,ns`, each field empty where it equals rmw_zenoh's default. Reliable
    /// with depth 10 is `::,10:,:,:,,`.
    pub fn to_keyexpr(&self) -> String {
        let d = Qos::DEFAULT;
        let mut s = String::with_capacity(24);
        if self.reliability != d.reliability {
            let _ = write!(s, "{}", self.reliability as u8);
        }
        s.push(':');
        if self.durability != d.durability {
            let _ = write!(s, "{}", self.durability as u8);
        }
        s.push(':');
        let depth = match self.history {
            History::KeepLast(depth) => depth,
            History::KeepAll => {
                s.push('2'); // RMW_QOS_POLICY_HISTORY_KEEP_ALL; the depth stays the default
                42
            }
        };
        s.push(',');
        if depth != 42 {
            let _ = write!(s, "{depth}");
        }
        s.push_str(":,:,:,,");
        s
    }
}

/// The node the bridge's endpoints belong to, as its tokens name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInfo {
    /// `ROS_DOMAIN_ID` (0 by default).
    pub domain: u32,
    /// The Zenoh session id as Zenoh prints it (`session.zid().to_string()`).
    pub zid: String,
    /// The node's entity id, unique in the session (rmw_zenoh counts entities from 0).
    pub node_id: u64,
    /// The security enclave; `/` when none.
    pub enclave: String,
    /// The node's namespace, absolute (`/` or e.g. `/g1`).
    pub namespace: String,
    /// The node's name (`teleop_bridge`).
    pub name: String,
}

impl NodeInfo {
    /// A node in `namespace` of session `zid`, id 0, in the root enclave.
    pub fn new(domain: u32, zid: &str, namespace: &str, name: &str) -> Result<NodeInfo, LinkError> {
        validate(namespace)?;
        if !namespace.starts_with('/') {
            return Err(LinkError::Name(format!(
                "namespace {namespace:?} must be absolute"
            )));
        }
        if name.is_empty() || name.contains('/') {
            return Err(LinkError::Name(format!("{name:?} is not a node name")));
        }
        validate(name)?;
        if zid.is_empty() || !zid.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(LinkError::Name(format!("{zid:?} is not a Zenoh id")));
        }
        Ok(NodeInfo {
            domain,
            zid: zid.to_string(),
            node_id: 0,
            enclave: "/".into(),
            namespace: namespace.to_string(),
            name: name.to_string(),
        })
    }

    fn prefix(&self, out: &mut String, entity_id: u64, kind: &str) {
        let _ = write!(
            out,
            "@ros2_lv/{}/{}/{}/{entity_id}/{kind}/{}/{}/{}",
            self.domain,
            self.zid,
            self.node_id,
            mangle(&self.enclave),
            mangle(&self.namespace),
            mangle(&self.name),
        );
    }

    /// A key expression matching the token of node `name` in `namespace` from any session
    /// (`@ros2_lv/0/*/*/*/NN/*/%g1/teleop_robot`): who watches a node by name.
    pub fn node_token_pattern(
        domain: u32,
        namespace: &str,
        name: &str,
    ) -> Result<String, LinkError> {
        // The same checks as a node's own.
        let node = NodeInfo::new(domain, "0", namespace, name)?;
        Ok(format!(
            "@ros2_lv/{domain}/*/*/*/NN/*/{}/{}",
            mangle(&node.namespace),
            mangle(&node.name)
        ))
    }

    /// The node's liveliness token:
    /// `@ros2_lv/0/<zid>/0/0/NN/%/%g1/teleop_bridge`.
    pub fn node_token(&self) -> String {
        let mut s = String::with_capacity(96);
        self.prefix(&mut s, self.node_id, "NN");
        s
    }

    /// The token of a publisher or subscriber of this node on `fq_topic` (fully qualified):
    /// `@ros2_lv/0/<zid>/0/1/MP/%/%g1/teleop_bridge/%g1%joint_states/sensor_msgs::msg::dds_::JointState_/RIHS01_…/::,10:,:,:,,`.
    /// `entity_id` must differ from the node's and from every other entity of the session.
    pub fn endpoint_token(
        &self,
        entity_id: u64,
        kind: EntityKind,
        fq_topic: &str,
        ty: &RosType,
        qos: &Qos,
    ) -> Result<String, LinkError> {
        validate(fq_topic)?;
        if !fq_topic.starts_with('/') {
            return Err(LinkError::Name(format!(
                "topic {fq_topic:?} must be fully qualified"
            )));
        }
        let mut s = String::with_capacity(256);
        self.prefix(&mut s, entity_id, kind.code());
        let _ = write!(
            s,
            "/{}/{}/{}/{}",
            mangle(fq_topic),
            mangle(ty.dds_name),
            mangle(ty.hash),
            qos.to_keyexpr()
        );
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::types::{JointState, JointTrajectory, Message};

    const STRING: RosType = RosType {
        name: "std_msgs/msg/String",
        dds_name: "std_msgs::msg::dds_::String_",
        hash: "RIHS01_df668c740482bbd48fb39d76a70dfd4bd59db1288021743503259e948f6b1a18",
    };

    #[test]
    fn design_md_chatter_key() {
        let fq = fully_qualified("/", "chatter").unwrap();
        assert_eq!(fq, "/chatter");
        assert_eq!(
            topic_key(0, &fq, &STRING).unwrap(),
            "0/chatter/std_msgs::msg::dds_::String_/RIHS01_df668c740482bbd48fb39d76a70dfd4bd59db1288021743503259e948f6b1a18"
        );
    }

    #[test]
    fn the_notes_keys() {
        assert_eq!(
            topic_key(0, "/joint_states", &JointState::TYPE).unwrap(),
            "0/joint_states/sensor_msgs::msg::dds_::JointState_/RIHS01_a13ee3a330e346c9d87b5aa18d24e11690752bd33a0350f11c5882bc9179260e"
        );
        assert_eq!(
            topic_key(
                0,
                "/arm_controller/joint_trajectory",
                &JointTrajectory::TYPE
            )
            .unwrap(),
            "0/arm_controller/joint_trajectory/trajectory_msgs::msg::dds_::JointTrajectory_/RIHS01_179b33eba59d676f6d967ac71fe35e7ca2f64b2f3928f4a018cec115e213796e"
        );
        let ns = robot_namespace("g1");
        let fq = fully_qualified(&ns, "teleop/joint_command").unwrap();
        assert_eq!(
            topic_key(7, &fq, &JointState::TYPE).unwrap(),
            "7/g1/teleop/joint_command/sensor_msgs::msg::dds_::JointState_/RIHS01_a13ee3a330e346c9d87b5aa18d24e11690752bd33a0350f11c5882bc9179260e"
        );
    }

    #[test]
    fn the_notes_publisher_token() {
        let node = NodeInfo::new(0, "1f2e3d", "/", "teleop_bridge").unwrap();
        assert_eq!(
            node.node_token(),
            "@ros2_lv/0/1f2e3d/0/0/NN/%/%/teleop_bridge"
        );
        let token = node
            .endpoint_token(
                1,
                EntityKind::Publisher,
                "/joint_states",
                &JointState::TYPE,
                &Qos::reliable(10),
            )
            .unwrap();
        assert_eq!(
            token,
            "@ros2_lv/0/1f2e3d/0/1/MP/%/%/teleop_bridge/%joint_states/sensor_msgs::msg::dds_::JointState_/RIHS01_a13ee3a330e346c9d87b5aa18d24e11690752bd33a0350f11c5882bc9179260e/::,10:,:,:,,"
        );
    }

    #[test]
    fn a_namespaced_subscriber_token() {
        let node = NodeInfo::new(3, "abc", "/g1", "teleop_robot").unwrap();
        assert_eq!(
            node.node_token(),
            "@ros2_lv/3/abc/0/0/NN/%/%g1/teleop_robot"
        );
        let token = node
            .endpoint_token(
                5,
                EntityKind::Subscriber,
                "/g1/arm_controller/joint_trajectory",
                &JointTrajectory::TYPE,
                &Qos::DEFAULT,
            )
            .unwrap();
        assert_eq!(
            token,
            "@ros2_lv/3/abc/0/5/MS/%/%g1/teleop_robot/%g1%arm_controller%joint_trajectory/trajectory_msgs::msg::dds_::JointTrajectory_/RIHS01_179b33eba59d676f6d967ac71fe35e7ca2f64b2f3928f4a018cec115e213796e/::,:,:,:,,"
        );
    }

    #[test]
    fn qos_strings() {
        assert_eq!(Qos::reliable(10).to_keyexpr(), "::,10:,:,:,,");
        assert_eq!(Qos::best_effort(1).to_keyexpr(), "2::,1:,:,:,,");
        assert_eq!(Qos::DEFAULT.to_keyexpr(), "::,:,:,:,,");
        let latched = Qos {
            durability: Durability::TransientLocal,
            history: History::KeepLast(1),
            ..Qos::DEFAULT
        };
        assert_eq!(latched.to_keyexpr(), ":1:,1:,:,:,,");
        let all = Qos {
            history: History::KeepAll,
            ..Qos::DEFAULT
        };
        assert_eq!(all.to_keyexpr(), "::2,:,:,:,,");
    }

    #[test]
    fn names() {
        assert_eq!(robot_namespace("g1"), "/g1");
        assert_eq!(robot_namespace("unitree-g1"), "/unitree_g1");
        assert_eq!(robot_namespace("1x"), "/_1x");
        assert_eq!(fully_qualified("/g1", "/tf").unwrap(), "/tf");
        assert_eq!(fully_qualified("/", "tf").unwrap(), "/tf");
        assert_eq!(fully_qualified("/a/b", "c/d").unwrap(), "/a/b/c/d");
        for bad in ["", "a//b", "a/", "1a", "a-b", "a b"] {
            assert!(validate(bad).is_err(), "{bad:?}");
        }
        assert!(fully_qualified("g1", "x").is_err());
        assert!(topic_key(0, "/", &STRING).is_err());
        assert!(NodeInfo::new(0, "xyz!", "/", "n").is_err());
        assert!(NodeInfo::new(0, "ab", "/", "a/b").is_err());
        assert!(NodeInfo::new(0, "ab", "g1", "n").is_err());
        let node = NodeInfo::new(0, "ab", "/", "n").unwrap();
        assert!(
            node.endpoint_token(1, EntityKind::Publisher, "rel", &STRING, &Qos::DEFAULT)
                .is_err()
        );
    }
}
