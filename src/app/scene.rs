//! The demo's world, for any operator source: a robot profile at its start posture, a table with
//! a cube and a tray in the simulation, and what the view needs to draw them.

use std::path::Path;

use nalgebra::{Translation3, Vector3};

use super::Error;
use crate::config::Profile;
use crate::control::Pipeline;
use crate::kinematics::Pose;
use crate::model::Model;
use crate::render::{self, SceneObject, StereoRig};
use crate::robot::{Connection, Paced, Remote, Robot, RobotState, Ros2Robot, state_for};
use crate::sim::{ServoGains, Sim};

/// Where things stand, in the world frame (m). Laid out for the bundled humanoid and script:
/// at the rest posture the left tool centre is at (0.498, 0.292, 0.43) from the pelvis; the
/// script moves the hand 0.05 m forward and 0.25 m down to grasp, then 0.2 m to the right.
pub mod layout {
    /// The pelvis (the robot's fixed base).
    pub const PELVIS: [f64; 3] = [0.0, 0.0, 0.75];
    /// Cube edge (m) and mass (kg).
    pub const CUBE_SIZE: f64 = 0.04;
    pub const CUBE_MASS: f64 = 0.1;
    /// The cube's centre at the start: where the tool centre arrives to grasp.
    pub const CUBE: [f64; 3] = [0.548, 0.292, 0.93];
    /// A tray on the table, out of the way (its centre).
    pub const TRAY: [f64; 3] = [0.72, -0.15, TABLE_TOP + 0.01];
    /// Where the cube should end up (the marked spot), its centre.
    pub const TARGET: [f64; 3] = [0.548, 0.092, 0.93];
    /// The table: top just under the cube, from x = 0.42 to 0.82, y = −0.3 to 0.5.
    pub const TABLE_TOP: f64 = CUBE[2] - CUBE_SIZE / 2.0;
    pub const TABLE_CENTER_XY: [f64; 2] = [0.62, 0.1];
    pub const TABLE_SIZE_XY: [f64; 2] = [0.4, 0.8];
    /// Colours (linear RGBA), chosen apart from the robot's greys and orange so that a picture
    /// can be checked by colour: a green table, a red cube, a blue tray.
    pub const TABLE_COLOR: [f64; 4] = [0.18, 0.45, 0.22, 1.0];
    pub const CUBE_COLOR: [f64; 4] = [0.8, 0.05, 0.04, 1.0];
    pub const TRAY_COLOR: [f64; 4] = [0.08, 0.2, 0.75, 1.0];
    /// How often the view is rendered, in session time (Hz).
    pub const VIEW_RATE_HZ: f64 = 30.0;

    /// For the cube's final centre: its horizontal distance to the spot (m), and success
    /// (within 3 cm of the spot, resting on the table).
    pub fn judge(cube_end: &nalgebra::Vector3<f64>) -> (f64, bool) {
        let distance = (cube_end - nalgebra::Vector3::from(TARGET)).xy().norm();
        let resting = (cube_end.z - CUBE[2]).abs() < 0.01;
        (distance, distance < 0.03 && resting)
    }
}

/// An object of the scene: a box, fixed (no mass) or free.
#[derive(Debug, Clone)]
struct Prop {
    name: &'static str,
    centre: [f64; 3],
    size: Vector3<f64>,
    mass_kg: Option<f64>,
    color: [f64; 4],
}

/// The index of the cube among the scene's objects (robot states list object poses in this
/// order).
pub const CUBE: usize = 1;

fn at(p: [f64; 3]) -> Pose {
    Pose::from_parts(Translation3::new(p[0], p[1], p[2]), Default::default())
}

/// The demo's world for a robot profile.
pub struct Scene {
    pub profile: Profile,
    pub model: Model,
    /// The start posture (model `q` order).
    pub start: Vec<f64>,
    props: Vec<Prop>,
    /// The left fingers' link indices (whose contact forces grip the cube).
    pub fingers: Vec<usize>,
    /// The robot's eyes, if the profile names camera links.
    pub rig: Option<StereoRig>,
}

impl Scene {
    /// The scene for the robot `profile` (a TOML file).
    pub fn load(profile: &Path) -> Result<Scene, Error> {
        let (profile, model) = Profile::load(profile)?;
        let start = profile.start_posture(&model);
        let [tx, ty] = layout::TABLE_CENTER_XY;
        let [sx, sy] = layout::TABLE_SIZE_XY;
        // The tray, off to the side, is a second, flat object that must stay where it is.
        let props = vec![
            Prop {
                name: "table",
                centre: [tx, ty, layout::TABLE_TOP / 2.0],
                size: Vector3::new(sx, sy, layout::TABLE_TOP),
                mass_kg: None,
                color: layout::TABLE_COLOR,
            },
            Prop {
                name: "cube",
                centre: layout::CUBE,
                size: Vector3::repeat(layout::CUBE_SIZE),
                mass_kg: Some(layout::CUBE_MASS),
                color: layout::CUBE_COLOR,
            },
            Prop {
                name: "tray",
                centre: layout::TRAY,
                size: Vector3::new(0.2, 0.15, 0.02),
                mass_kg: Some(0.3),
                color: layout::TRAY_COLOR,
            },
        ];
        let fingers = ["left_finger_a_link", "left_finger_b_link"]
            .iter()
            .filter_map(|name| model.link_id(name))
            .collect();
        let rig = profile
            .camera
            .as_ref()
            .and_then(|camera| StereoRig::new(&model, camera));
        Ok(Scene {
            profile,
            model,
            start,
            props,
            fingers,
            rig,
        })
    }

    /// The control pipeline at the start posture (inputs older than 0.1 s hold the robot).
    pub fn pipeline(&self) -> Result<Pipeline, Error> {
        self.pipeline_at(&self.start)
    }

    /// The control pipeline at posture `q` (a robot met where it stands).
    pub fn pipeline_at(&self, q: &[f64]) -> Result<Pipeline, Error> {
        Ok(Pipeline::new(&self.model, &self.profile, q, 0.1)?)
    }

    /// The simulated robot at the start posture with the scene's objects.
    pub fn sim(&self) -> Result<Sim, Error> {
        // Joints no profile key drives are welded: a humanoid driven by its arms does not
        // simulate its legs.
        let driven = crate::sim::driven_dofs(&self.model, &self.profile);
        let mut sim = Sim::new(
            &self.model,
            &self.start,
            &at(layout::PELVIS),
            ServoGains::default(),
            &driven,
        )?;
        for p in &self.props {
            sim.add_box(p.name, &at(p.centre), p.size, p.mass_kg);
        }
        Ok(sim)
    }

    /// The robot a real-time session drives, with the pipeline at its posture and its first
    /// state: the simulator on its own thread, or (`connect`) a robot process over the network,
    /// met where it stands so that the first command holds it there.
    pub fn realtime_robot(
        &self,
        connect: Option<&Connection>,
    ) -> Result<(Box<dyn Robot>, Pipeline, RobotState), Error> {
        let ros2 = self.profile.ros2_control.as_ref();
        let mut robot: Box<dyn Robot> = match connect {
            Some(connection) if let Some(settings) = ros2 => Box::new(Ros2Robot::connect(
                connection,
                settings,
                &self.model,
                &self.start,
                self.world_from_base(),
                self.profile.control_rate_hz,
            )?),
            Some(connection) => Box::new(Remote::connect(
                connection,
                &self.model,
                self.world_from_base(),
                &self.object_names(),
            )?),
            None => Box::new(Paced::spawn(Box::new(self.sim()?), crate::sim::PHYSICS_DT)?),
        };
        let mut state = state_for(robot.as_ref());
        robot.read_state(&mut state)?;
        let pipeline = match connect {
            Some(_) => self.pipeline_at(&state.positions)?,
            None => self.pipeline()?,
        };
        Ok((robot, pipeline, state))
    }

    /// The objects' names (scene order).
    pub fn object_names(&self) -> Vec<String> {
        self.props.iter().map(|p| p.name.to_string()).collect()
    }

    /// Where the cube starts (world frame).
    pub fn cube_start(&self) -> Vector3<f64> {
        Vector3::from(self.props[CUBE].centre)
    }

    /// The objects as the renderer draws them (scene order).
    pub fn scene_objects(&self) -> Vec<SceneObject> {
        self.props
            .iter()
            .map(|p| render::box_object(p.name, p.size, p.color))
            .collect()
    }

    /// What the renderer draws: the robot and the objects.
    pub fn render_scene(&self) -> render::Scene {
        let scene = render::Scene::new(&self.model, &self.scene_objects());
        for skipped in &scene.skipped {
            tracing::warn!("view: not drawn: {skipped}");
        }
        scene
    }

    /// A view state for the scene (every pose at identity until the robot side publishes).
    pub fn view_state(&self) -> render::SceneState {
        render::SceneState {
            time_ns: 0,
            link_poses: vec![Pose::identity(); self.model.links.len()],
            object_poses: vec![Pose::identity(); self.props.len()],
        }
    }

    /// Where the robot's base stands in the world.
    pub fn world_from_base(&self) -> Pose {
        at(layout::PELVIS)
    }
}
