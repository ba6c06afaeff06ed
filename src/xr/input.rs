//! Input: one action set (grip and aim poses, trigger, squeeze, primary/secondary buttons,
//! thumbstick, menu) with suggested bindings for the common controllers, the reference space
//! (STAGE, LOCAL where there is none), the head (VIEW space), and tracked hands where the runtime
//! offers them. [`Input::read`] turns one instant into an [`OperatorFrame`] plus the rest of
//! what the controllers say ([`Controller`]).

use nalgebra::Isometry3;
use openxr as xr;

use super::error::{Error, check};
use super::frames::{oriented_pose, tracked_pose};
use super::session::ClutchLatch;
use crate::msg::{HandInput, OperatorFrame};

/// Number of hand-tracking joints (`XR_EXT_hand_tracking`'s default set).
pub const HAND_JOINTS: usize = xr::HAND_JOINT_COUNT;
const _: () = assert!(HAND_JOINTS == crate::msg::HAND_JOINTS);

/// Below this squeeze the clutch counts as released (the retargeter's default threshold).
const RELEASE_BELOW: f64 = 0.4;

/// Everything one hand's controller (or tracked hand) says at one instant, in the reference
/// space (STAGE or LOCAL).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Controller {
    /// `stage_from_grip`; `None` unless position and orientation are valid and tracked.
    pub grip: Option<Isometry3<f64>>,
    /// `stage_from_aim` (the pointing ray); `None` unless tracked.
    pub aim: Option<Isometry3<f64>>,
    pub trigger: f64,
    pub squeeze: f64,
    /// A/X (Touch, Index), trackpad click (Vive, WMR).
    pub primary: bool,
    /// B/Y.
    pub secondary: bool,
    pub menu: bool,
    /// Thumbstick or trackpad, −1 to 1 each axis (x right, y up).
    pub thumbstick: [f64; 2],
    /// `stage_from_joint` for the 26 hand-tracking joints (`XR_HAND_JOINT_*` order), when the
    /// runtime tracks this hand; a joint not tracked is `None`.
    pub joints: Option<[Option<Isometry3<f64>>; HAND_JOINTS]>,
    /// The grip came from a tracked hand (palm), squeeze from the pinch, not a controller.
    pub from_hand_tracking: bool,
}

impl Controller {
    pub const IDLE: Controller = Controller {
        grip: None,
        aim: None,
        trigger: 0.0,
        squeeze: 0.0,
        primary: false,
        secondary: false,
        menu: false,
        thumbstick: [0.0; 2],
        joints: None,
        from_hand_tracking: false,
    };
}

/// One instant of operator input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// For the pipeline: head and grips in the reference space, clutch-latched squeeze.
    pub frame: OperatorFrame,
    pub left: Controller,
    pub right: Controller,
    /// The runtime time the poses were located at (the predicted display time), ns.
    pub xr_time_ns: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Act {
    Grip,
    Aim,
    Trigger,
    Squeeze,
    Primary,
    Secondary,
    Menu,
    Thumbstick,
}

/// Suggested bindings: interaction profile → (action, path); `{h}` stands for both
/// `/user/hand/left` and `/user/hand/right`.
const BINDINGS: &[(&str, &[(Act, &str)])] = &[
    (
        // Two buttons only: select is the clutch (nothing closes the gripper).
        "/interaction_profiles/khr/simple_controller",
        &[
            (Act::Grip, "{h}/input/grip/pose"),
            (Act::Aim, "{h}/input/aim/pose"),
            (Act::Squeeze, "{h}/input/select/click"),
            (Act::Menu, "{h}/input/menu/click"),
        ],
    ),
    (
        "/interaction_profiles/oculus/touch_controller",
        &[
            (Act::Grip, "{h}/input/grip/pose"),
            (Act::Aim, "{h}/input/aim/pose"),
            (Act::Trigger, "{h}/input/trigger/value"),
            (Act::Squeeze, "{h}/input/squeeze/value"),
            (Act::Primary, "/user/hand/left/input/x/click"),
            (Act::Secondary, "/user/hand/left/input/y/click"),
            (Act::Primary, "/user/hand/right/input/a/click"),
            (Act::Secondary, "/user/hand/right/input/b/click"),
            (Act::Thumbstick, "{h}/input/thumbstick"),
            (Act::Menu, "/user/hand/left/input/menu/click"),
        ],
    ),
    (
        "/interaction_profiles/valve/index_controller",
        &[
            (Act::Grip, "{h}/input/grip/pose"),
            (Act::Aim, "{h}/input/aim/pose"),
            (Act::Trigger, "{h}/input/trigger/value"),
            (Act::Squeeze, "{h}/input/squeeze/value"),
            (Act::Primary, "{h}/input/a/click"),
            (Act::Secondary, "{h}/input/b/click"),
            (Act::Thumbstick, "{h}/input/thumbstick"),
        ],
    ),
    (
        "/interaction_profiles/htc/vive_controller",
        &[
            (Act::Grip, "{h}/input/grip/pose"),
            (Act::Aim, "{h}/input/aim/pose"),
            (Act::Trigger, "{h}/input/trigger/value"),
            (Act::Squeeze, "{h}/input/squeeze/click"),
            (Act::Primary, "{h}/input/trackpad/click"),
            (Act::Thumbstick, "{h}/input/trackpad"),
            (Act::Menu, "{h}/input/menu/click"),
        ],
    ),
    (
        "/interaction_profiles/microsoft/motion_controller",
        &[
            (Act::Grip, "{h}/input/grip/pose"),
            (Act::Aim, "{h}/input/aim/pose"),
            (Act::Trigger, "{h}/input/trigger/value"),
            (Act::Squeeze, "{h}/input/squeeze/click"),
            (Act::Primary, "{h}/input/trackpad/click"),
            (Act::Thumbstick, "{h}/input/thumbstick"),
            (Act::Menu, "{h}/input/menu/click"),
        ],
    ),
];

/// The action set, its spaces and the per-hand state between reads.
pub struct Input {
    set: xr::ActionSet,
    grip: xr::Action<xr::Posef>,
    aim: xr::Action<xr::Posef>,
    trigger: xr::Action<f32>,
    squeeze: xr::Action<f32>,
    primary: xr::Action<bool>,
    secondary: xr::Action<bool>,
    menu: xr::Action<bool>,
    thumbstick: xr::Action<xr::Vector2f>,
    hands: [xr::Path; 2],
    grip_spaces: [xr::Space; 2],
    aim_spaces: [xr::Space; 2],
    /// STAGE, or LOCAL where the runtime has no STAGE.
    reference: xr::Space,
    pub reference_kind: xr::ReferenceSpaceType,
    view: xr::Space,
    trackers: Option<[xr::HandTracker; 2]>,
    latches: [ClutchLatch; 2],
    /// The interaction profile each hand uses now (empty when none).
    pub profiles: [String; 2],
}

impl Input {
    /// Creates the actions, suggests bindings for every profile we know (a profile the runtime
    /// refuses is skipped with a warning), attaches them to `session` and creates the spaces.
    pub fn new<G: xr::Graphics>(
        instance: &xr::Instance,
        session: &xr::Session<G>,
        hand_tracking: bool,
    ) -> Result<Input, Error> {
        let path = |s: &str| check("xrStringToPath", instance.string_to_path(s));
        let hands = [path("/user/hand/left")?, path("/user/hand/right")?];
        let set = check(
            "xrCreateActionSet",
            instance.create_action_set("teleop", "Teleoperation", 0),
        )?;
        let both = &hands;
        let grip: xr::Action<xr::Posef> = action(&set, "grip_pose", "Hand pose", both)?;
        let aim: xr::Action<xr::Posef> = action(&set, "aim_pose", "Pointing pose", both)?;
        let trigger: xr::Action<f32> = action(&set, "trigger", "Close gripper", both)?;
        let squeeze: xr::Action<f32> = action(&set, "squeeze", "Clutch", both)?;
        let primary: xr::Action<bool> = action(&set, "primary", "Primary button", both)?;
        let secondary: xr::Action<bool> = action(&set, "secondary", "Secondary button", both)?;
        let menu: xr::Action<bool> = action(&set, "menu", "Menu", both)?;
        let thumbstick: xr::Action<xr::Vector2f> = action(&set, "thumbstick", "Thumbstick", both)?;
        let mut suggested = 0;
        for (profile, table) in BINDINGS {
            let mut bindings = Vec::new();
            for (act, template) in table.iter() {
                let sides: &[&str] = if template.starts_with("{h}") {
                    &["/user/hand/left", "/user/hand/right"]
                } else {
                    &[""]
                };
                for side in sides {
                    let p = path(&template.replace("{h}", side))?;
                    bindings.push(match act {
                        Act::Grip => xr::Binding::new(&grip, p),
                        Act::Aim => xr::Binding::new(&aim, p),
                        Act::Trigger => xr::Binding::new(&trigger, p),
                        Act::Squeeze => xr::Binding::new(&squeeze, p),
                        Act::Primary => xr::Binding::new(&primary, p),
                        Act::Secondary => xr::Binding::new(&secondary, p),
                        Act::Menu => xr::Binding::new(&menu, p),
                        Act::Thumbstick => xr::Binding::new(&thumbstick, p),
                    });
                }
            }
            match instance.suggest_interaction_profile_bindings(path(profile)?, &bindings) {
                Ok(()) => suggested += 1,
                Err(result) => tracing::warn!(profile, %result, "bindings refused"),
            }
        }
        if suggested == 0 {
            return Err(Error::Call {
                call: "xrSuggestInteractionProfileBindings (every profile refused)",
                result: xr::sys::Result::ERROR_PATH_UNSUPPORTED,
            });
        }
        check(
            "xrAttachSessionActionSets",
            session.attach_action_sets(&[&set]),
        )?;
        let space = |action: &xr::Action<xr::Posef>, hand| {
            check(
                "xrCreateActionSpace",
                action.create_space(session, hand, xr::Posef::IDENTITY),
            )
        };
        let grip_spaces = [space(&grip, hands[0])?, space(&grip, hands[1])?];
        let aim_spaces = [space(&aim, hands[0])?, space(&aim, hands[1])?];
        let kinds = check(
            "xrEnumerateReferenceSpaces",
            session.enumerate_reference_spaces(),
        )?;
        let reference_kind = if kinds.contains(&xr::ReferenceSpaceType::STAGE) {
            xr::ReferenceSpaceType::STAGE
        } else {
            tracing::warn!("the runtime has no STAGE space: using LOCAL");
            xr::ReferenceSpaceType::LOCAL
        };
        let reference = check(
            "xrCreateReferenceSpace",
            session.create_reference_space(reference_kind, xr::Posef::IDENTITY),
        )?;
        let view = check(
            "xrCreateReferenceSpace (VIEW)",
            session.create_reference_space(xr::ReferenceSpaceType::VIEW, xr::Posef::IDENTITY),
        )?;
        let trackers = if hand_tracking {
            match (
                session.create_hand_tracker(xr::Hand::LEFT),
                session.create_hand_tracker(xr::Hand::RIGHT),
            ) {
                (Ok(l), Ok(r)) => Some([l, r]),
                (Err(result), _) | (_, Err(result)) => {
                    tracing::warn!(%result, "hand tracking offered but trackers refused");
                    None
                }
            }
        } else {
            None
        };
        Ok(Input {
            set,
            grip,
            aim,
            trigger,
            squeeze,
            primary,
            secondary,
            menu,
            thumbstick,
            hands,
            grip_spaces,
            aim_spaces,
            reference,
            reference_kind,
            view,
            trackers,
            latches: [ClutchLatch::default(); 2],
            profiles: [String::new(), String::new()],
        })
    }

    /// The reference space poses are located in (for projection layers).
    pub fn reference(&self) -> &xr::Space {
        &self.reference
    }

    /// Hand tracking is on (the runtime offers it and the trackers exist).
    pub fn hand_tracking(&self) -> bool {
        self.trackers.is_some()
    }

    /// Re-reads which interaction profile each hand uses (after a profile-changed event).
    pub fn read_profiles<G>(
        &mut self,
        instance: &xr::Instance,
        session: &xr::Session<G>,
    ) -> Result<(), Error> {
        for (i, hand) in self.hands.iter().enumerate() {
            let profile = check(
                "xrGetCurrentInteractionProfile",
                session.current_interaction_profile(*hand),
            )?;
            self.profiles[i] = if profile == xr::Path::NULL {
                String::new()
            } else {
                check("xrPathToString", instance.path_to_string(profile))?
            };
        }
        tracing::info!(left = %self.profiles[0], right = %self.profiles[1], "interaction profiles");
        Ok(())
    }

    /// Input lost (focus gone, session stopping): each clutch stays open until released.
    pub fn interrupt(&mut self) {
        for latch in &mut self.latches {
            latch.interrupt();
        }
    }

    /// A sample with nothing tracked (the robot holds), at `time_ns`.
    pub fn idle(&mut self, time_ns: u64, xr_time_ns: i64) -> Sample {
        self.interrupt();
        Sample {
            frame: OperatorFrame {
                time_ns,
                head: None,
                left: HandInput::IDLE,
                right: HandInput::IDLE,
            },
            left: Controller::IDLE,
            right: Controller::IDLE,
            xr_time_ns,
        }
    }

    /// Syncs the actions and locates everything at `time` (the predicted display time).
    /// `time_ns` stamps the operator frame (the pipeline's clock).
    pub fn read<G>(
        &mut self,
        session: &xr::Session<G>,
        time: xr::Time,
        time_ns: u64,
    ) -> Result<Sample, Error> {
        check(
            "xrSyncActions",
            session.sync_actions(&[xr::ActiveActionSet::new(&self.set)]),
        )?;
        let head = oriented_pose(&check(
            "xrLocateSpace (view)",
            self.view.locate(&self.reference, time),
        )?);
        let controllers = [
            self.controller(session, 0, time)?,
            self.controller(session, 1, time)?,
        ];
        let hands: [HandInput; 2] = std::array::from_fn(|i| {
            let c = &controllers[i];
            if c.grip.is_none() {
                self.latches[i].interrupt();
            }
            HandInput {
                grip: c.grip,
                trigger: c.trigger,
                squeeze: self.latches[i].filter(c.squeeze, RELEASE_BELOW),
                buttons: crate::msg::Buttons {
                    primary: c.primary,
                    secondary: c.secondary,
                    menu: c.menu,
                },
                joints: c.joints,
            }
        });
        let [left, right] = controllers;
        Ok(Sample {
            frame: OperatorFrame {
                time_ns,
                head,
                left: hands[0],
                right: hands[1],
            },
            left,
            right,
            xr_time_ns: time.as_nanos(),
        })
    }

    fn controller<G>(
        &self,
        session: &xr::Session<G>,
        i: usize,
        time: xr::Time,
    ) -> Result<Controller, Error> {
        let hand = self.hands[i];
        let float = |a: &xr::Action<f32>| -> Result<f64, Error> {
            let s = check("xrGetActionStateFloat", a.state(session, hand))?;
            Ok(if s.is_active {
                s.current_state as f64
            } else {
                0.0
            })
        };
        let boolean = |a: &xr::Action<bool>| -> Result<bool, Error> {
            let s = check("xrGetActionStateBoolean", a.state(session, hand))?;
            Ok(s.is_active && s.current_state)
        };
        let stick = check(
            "xrGetActionStateVector2f",
            self.thumbstick.state(session, hand),
        )?;
        let grip_active = check("xrGetActionStatePose", self.grip.is_active(session, hand))?;
        let aim_active = check("xrGetActionStatePose", self.aim.is_active(session, hand))?;
        let mut c = Controller {
            grip: None,
            aim: None,
            trigger: float(&self.trigger)?,
            squeeze: float(&self.squeeze)?,
            primary: boolean(&self.primary)?,
            secondary: boolean(&self.secondary)?,
            menu: boolean(&self.menu)?,
            thumbstick: if stick.is_active {
                [stick.current_state.x as f64, stick.current_state.y as f64]
            } else {
                [0.0; 2]
            },
            joints: None,
            from_hand_tracking: false,
        };
        if grip_active {
            c.grip = tracked_pose(&check(
                "xrLocateSpace (grip)",
                self.grip_spaces[i].locate(&self.reference, time),
            )?);
        }
        if aim_active {
            c.aim = tracked_pose(&check(
                "xrLocateSpace (aim)",
                self.aim_spaces[i].locate(&self.reference, time),
            )?);
        }
        if let Some(trackers) = &self.trackers {
            let located = check(
                "xrLocateHandJointsEXT",
                self.reference.locate_hand_joints(&trackers[i], time),
            )?;
            if let Some(joints) = located {
                let poses = joints.map(|joint| {
                    tracked_pose(&xr::SpaceLocation {
                        location_flags: joint.location_flags,
                        pose: joint.pose,
                    })
                });
                c.joints = Some(poses);
                if c.grip.is_none() {
                    // No controller: the palm is the grip, the pinch the clutch.
                    c.grip = poses[xr::HandJoint::PALM];
                    c.squeeze = pinch(
                        poses[xr::HandJoint::THUMB_TIP].as_ref(),
                        poses[xr::HandJoint::INDEX_TIP].as_ref(),
                    );
                    c.from_hand_tracking = c.grip.is_some();
                }
            }
        }
        Ok(c)
    }
}

fn action<T: xr::ActionTy>(
    set: &xr::ActionSet,
    name: &str,
    label: &str,
    hands: &[xr::Path; 2],
) -> Result<xr::Action<T>, Error> {
    check("xrCreateAction", set.create_action(name, label, hands))
}

/// Pinch strength from the thumb and index tips: 1 when they touch (< 1.5 cm), 0 when apart
/// (> 5 cm), linear between; 0 when either is not tracked.
pub fn pinch(thumb: Option<&Isometry3<f64>>, index: Option<&Isometry3<f64>>) -> f64 {
    let (Some(t), Some(i)) = (thumb, index) else {
        return 0.0;
    };
    let d = (t.translation.vector - i.translation.vector).norm();
    ((0.05 - d) / (0.05 - 0.015)).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinch_from_fingertip_distance() {
        let at = |x| Isometry3::translation(x, 0.0, 0.0);
        assert_eq!(pinch(Some(&at(0.0)), Some(&at(0.01))), 1.0);
        assert_eq!(pinch(Some(&at(0.0)), Some(&at(0.08))), 0.0);
        assert!((pinch(Some(&at(0.0)), Some(&at(0.0325))) - 0.5).abs() < 1e-9);
        assert_eq!(pinch(None, Some(&at(0.0))), 0.0);
    }

    #[test]
    fn every_profile_binds_the_grip_and_a_clutch_on_both_hands() {
        for (profile, table) in BINDINGS {
            for act in [Act::Grip, Act::Squeeze] {
                let both = table
                    .iter()
                    .filter(|(a, _)| *a == act)
                    .any(|(_, p)| p.starts_with("{h}"));
                assert!(both, "{profile}: {act:?} on both hands");
            }
        }
        assert!(
            BINDINGS
                .iter()
                .any(|(p, _)| p.ends_with("valve/index_controller"))
        );
    }
}
