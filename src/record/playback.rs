//! An episode played back: its recorded operator frames and joint commands, in order, for a
//! session to run again.

use super::Error;
use super::reader::EpisodeFile;
use super::topics::{HandMsg, JointCommandMsg, OperatorMsg, Topic};
use crate::msg::{Buttons, HAND_JOINTS, HandInput, OperatorFrame};

/// What a session needs to run an episode again.
#[derive(Debug, Clone, Default)]
pub struct Playback {
    /// Operator frames with the control loop's time they arrived at (ns), in order.
    pub operator: Vec<(u64, OperatorFrame)>,
    /// Joint commands as sent (model `q` order), one per recorded control tick, with its time.
    pub commands: Vec<(u64, Vec<f64>)>,
}

impl EpisodeFile {
    /// The recorded operator frames and joint commands, as far as the file is readable.
    pub fn playback(&self) -> Result<Playback, Error> {
        let operator: Vec<OperatorMsg> = self.decode(Topic::Operator)?;
        let commands: Vec<JointCommandMsg> = self.decode(Topic::JointCommand)?;
        Ok(Playback {
            operator: operator.iter().map(|m| (m.mono_ns, frame(m))).collect(),
            commands: commands
                .into_iter()
                .map(|c| (c.mono_ns, c.position))
                .collect(),
        })
    }
}

fn hand(m: &HandMsg) -> HandInput {
    HandInput {
        grip: m.grip.map(|p| p.to_isometry()),
        trigger: m.trigger,
        squeeze: m.squeeze,
        buttons: Buttons {
            primary: m.primary,
            secondary: m.secondary,
            menu: m.menu,
        },
        joints: m
            .joints
            .as_ref()
            .filter(|recorded| recorded.len() == HAND_JOINTS)
            .map(|recorded| std::array::from_fn(|i| recorded[i].map(|p| p.to_isometry()))),
    }
}

fn frame(m: &OperatorMsg) -> OperatorFrame {
    OperatorFrame {
        time_ns: m.frame_time_ns,
        head: m.head.map(|p| p.to_isometry()),
        left: hand(&m.left),
        right: hand(&m.right),
    }
}
