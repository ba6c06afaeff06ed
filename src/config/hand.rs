//! A robot hand's finger mapping (`[hands.left]`, `[hands.right]` in a profile, or a file of its
//! own): which robot-hand frames follow which tracked OpenXR joints. Plain data here so a profile
//! can be checked key by key; `hands` builds the retargeter from it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The OpenXR `XrHandJointEXT` joints, in their index order (0 palm … 25 little tip).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum XrJoint {
    Palm,
    Wrist,
    ThumbMetacarpal,
    ThumbProximal,
    ThumbDistal,
    ThumbTip,
    IndexMetacarpal,
    IndexProximal,
    IndexIntermediate,
    IndexDistal,
    IndexTip,
    MiddleMetacarpal,
    MiddleProximal,
    MiddleIntermediate,
    MiddleDistal,
    MiddleTip,
    RingMetacarpal,
    RingProximal,
    RingIntermediate,
    RingDistal,
    RingTip,
    LittleMetacarpal,
    LittleProximal,
    LittleIntermediate,
    LittleDistal,
    LittleTip,
}

impl XrJoint {
    /// Index in the 26-joint OpenXR array (`crate::msg::HandJoints` order).
    pub fn index(self) -> usize {
        self as usize
    }
}

/// A frame fixed to a robot link: the link's origin moved by `offset` (m, in the link frame).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkPoint {
    pub link: String,
    #[serde(default)]
    pub offset: [f64; 3],
}

/// One fitted vector: robot `origin → tip` follows the trainer's `from → follows`, scaled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fingertip {
    /// A name for reports and for `pinch` (e.g. "thumb", "index").
    pub name: String,
    pub tip: LinkPoint,
    pub origin: LinkPoint,
    /// The tracked joint the tip follows (usually a `*_tip`).
    pub follows: XrJoint,
    /// The tracked joint the vector starts at; the wrist unless given.
    #[serde(default = "wrist")]
    pub from: XrJoint,
}

fn wrist() -> XrJoint {
    XrJoint::Wrist
}

/// A thumb–finger pair whose robot tips close when the trainer pinches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinchPair {
    /// Fingertip name (from `fingertips`) of the thumb.
    pub thumb: String,
    /// Fingertip name of the finger.
    pub finger: String,
}

/// How trainer distances become robot distances.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scale {
    /// `scale = { fixed = 1.25 }`.
    Fixed(f64),
    /// `scale = "calibrate"`: set from an open-hand pose (robot tip-vector lengths at its rest
    /// posture over the trainer's); 1.0 until then.
    Calibrate,
}

/// The mapping of one robot hand to one tracked hand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandMapping {
    /// The hand's root link: `root_from_wrist` and every fitted vector are in its frame, and only
    /// joints below it move fingers. Default: the URDF's root (a hand-only URDF); on a whole
    /// robot, the palm link, so the arm never moves with the fingers.
    #[serde(default)]
    pub root: Option<String>,
    /// The trainer's wrist axes in the hand root's frame, as rows: `v_root = M · v_wrist`, where
    /// `v_wrist` is in the OpenXR wrist joint frame (+Z towards the forearm, +Y out of the back of
    /// the hand, X = Y × Z, both hands). A proper rotation.
    pub root_from_wrist: [[f64; 3]; 3],
    pub scale: Scale,
    /// The joints the retargeter moves (independent joints; their mimics follow). Empty: every
    /// joint that moves a fingertip. Others hold their rest value.
    #[serde(default)]
    pub joints: Vec<String>,
    pub fingertips: Vec<Fingertip>,
    #[serde(default)]
    pub pinch: Vec<PinchPair>,
    /// The grasp synergy for controllers (no tracked fingers): the trigger moves each named joint
    /// from its `open` value, else its start posture (trigger released), to this value
    /// (pressed). Empty: with controllers the fingers hold.
    #[serde(default)]
    pub closed: BTreeMap<String, f64>,
    /// The synergy's released end for the joints it names (default: the start posture): a hand
    /// held half open, ready to grasp, while tracked fingers still start from the rest posture.
    #[serde(default)]
    pub open: BTreeMap<String, f64>,
}

/// `[hands]` in a profile: the mapping of each robot hand that has one.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hands {
    pub left: Option<HandMapping>,
    pub right: Option<HandMapping>,
}
