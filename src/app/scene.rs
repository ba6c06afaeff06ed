//! The demo's world, for any operator source: a robot profile at its start posture, a table with
//! a cube and a tray in the simulation, and what the view needs to draw them.

use std::path::Path;

use nalgebra::{Translation3, Vector3};

use super::Error;
use crate::config::{Hand, Profile};
use crate::control::Pipeline;
use crate::ik::rng::SplitMix64;
use crate::kinematics::{Pose, Tree};
use crate::model::Model;
use crate::render::{self, SceneObject, StereoRig};
use crate::robot::{Connection, Paced, Remote, Robot, RobotState, Ros2Robot, state_for};
use crate::sim::{ServoGains, Sim};

/// The scene's fixed numbers (world frame, m). Where the table and the cube stand is fitted to
/// each robot: see [`Layout`].
pub mod layout {
    /// Where the robot's root link stands (a humanoid's pelvis).
    pub const BASE: [f64; 3] = [0.0, 0.0, 0.75];
    /// Cube edge (m) and mass (kg).
    pub const CUBE_SIZE: f64 = 0.04;
    pub const CUBE_MASS: f64 = 0.1;
    /// The bundled script's moves of the left hand once its clutch is squeezed at rest (world
    /// axes, before the profile's `motion_scale`): 0.05 m forward and 0.25 m down to the
    /// cube, then 0.2 m to the right to the spot.
    pub const GRASP_FROM_REST: [f64; 3] = [0.05, 0.0, -0.25];
    pub const SPOT_FROM_GRASP: [f64; 3] = [0.0, -0.2, 0.0];
    /// The table around the cube: from 0.13 m behind it to 0.27 m beyond, and from 0.21 m to
    /// its left to 0.59 m to its right (room for the spot and the tray).
    pub const TABLE_FROM_CUBE_MIN: [f64; 2] = [-0.128, -0.592];
    pub const TABLE_FROM_CUBE_MAX: [f64; 2] = [0.272, 0.208];
    /// A tray on the table, out of the way (its centre, from the cube's, horizontally).
    pub const TRAY_FROM_CUBE: [f64; 2] = [0.172, -0.442];
    /// A seeded scene moves the cube (and with it the spot) by up to this much along each
    /// horizontal axis, times the arm's motion scale (m), and turns it by up to this much
    /// about the vertical (degrees).
    pub const VARY_M: f64 = 0.03;
    pub const VARY_YAW_DEG: f64 = 15.0;
    /// The lowest table top the scene builds (m): a hand resting lower has no room for a table.
    pub const MIN_TABLE_TOP: f64 = 0.05;
    /// Colours (linear RGBA), chosen apart from the robot's greys and orange so that a picture
    /// can be checked by colour: a green table, a red cube, a blue tray.
    pub const TABLE_COLOR: [f64; 4] = [0.18, 0.45, 0.22, 1.0];
    pub const CUBE_COLOR: [f64; 4] = [0.8, 0.05, 0.04, 1.0];
    pub const TRAY_COLOR: [f64; 4] = [0.08, 0.2, 0.75, 1.0];
    /// How often the view is rendered, in session time (Hz).
    pub const VIEW_RATE_HZ: f64 = 30.0;
}

/// Where the demo's things stand for one robot (world frame, m): the cube where the bundled
/// script brings the left tool centre down to grasp, the spot where it carries it, the table
/// top just under the cube. Fitted from the left tool's rest pose and the arm's motion scale,
/// so any profile gets a pick-and-place its script can do.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Layout {
    /// The cube's centre at the start.
    pub cube: Vector3<f64>,
    /// The cube's turn about the vertical at the start (rad).
    pub cube_yaw: f64,
    /// How far a seeded layout moved the cube and the spot from where the bundled script
    /// grasps and releases (zero unseeded).
    pub shift: Vector3<f64>,
    /// Where the cube should end up (the marked spot), its centre.
    pub target: Vector3<f64>,
    pub table_top: f64,
    pub table_centre_xy: [f64; 2],
    pub table_size_xy: [f64; 2],
    pub tray: Vector3<f64>,
}

impl Layout {
    /// The layout for a left tool centre resting at `left_rest` (world frame) whose hand
    /// motion is scaled by `motion_scale`.
    pub fn around(left_rest: &Vector3<f64>, motion_scale: f64) -> Result<Layout, String> {
        let cube = left_rest + Vector3::from(layout::GRASP_FROM_REST) * motion_scale;
        let target = cube + Vector3::from(layout::SPOT_FROM_GRASP) * motion_scale;
        let table_top = cube.z - layout::CUBE_SIZE / 2.0;
        if table_top.is_nan() || table_top < layout::MIN_TABLE_TOP {
            return Err(format!(
                "the left tool rests at {:.2} m above the floor: the cube, {:.2} m below it, \
                 leaves no room for a table (raise the rest posture or lower motion_scale)",
                left_rest.z,
                left_rest.z - cube.z
            ));
        }
        let [x0, y0] = layout::TABLE_FROM_CUBE_MIN;
        let [x1, y1] = layout::TABLE_FROM_CUBE_MAX;
        let [tx, ty] = layout::TRAY_FROM_CUBE;
        Ok(Layout {
            cube,
            cube_yaw: 0.0,
            shift: Vector3::zeros(),
            target,
            table_top,
            table_centre_xy: [cube.x + (x0 + x1) / 2.0, cube.y + (y0 + y1) / 2.0],
            table_size_xy: [x1 - x0, y1 - y0],
            tray: Vector3::new(cube.x + tx, cube.y + ty, table_top + 0.01),
        })
    }

    /// The layout with the cube (and the spot) moved and turned by `seed`: up to
    /// [`layout::VARY_M`] × `motion_scale` along each horizontal axis and
    /// [`layout::VARY_YAW_DEG`] about the vertical, the same for the same seed.
    pub fn varied(&self, seed: u64, motion_scale: f64) -> Layout {
        let mut draw = SplitMix64::new(seed);
        let reach = layout::VARY_M * motion_scale;
        let shift = Vector3::new(
            draw.uniform(-reach, reach),
            draw.uniform(-reach, reach),
            0.0,
        );
        Layout {
            cube: self.cube + shift,
            cube_yaw: draw
                .uniform(-layout::VARY_YAW_DEG, layout::VARY_YAW_DEG)
                .to_radians(),
            shift: self.shift + shift,
            target: self.target + shift,
            ..*self
        }
    }

    /// For the cube's final centre: its horizontal distance to the spot (m), and success
    /// (within 3 cm of the spot, resting on the table).
    pub fn judge(&self, cube_end: &Vector3<f64>) -> (f64, bool) {
        let distance = (cube_end - self.target).xy().norm();
        let resting = (cube_end.z - self.cube.z).abs() < 0.01;
        (distance, distance < 0.03 && resting)
    }
}

/// Where the left tool centre rests (world frame) and its arm's motion scale: the arm the
/// bundled script drives.
fn left_rest(
    model: &Model,
    profile: &Profile,
    start: &[f64],
) -> Result<(Vector3<f64>, f64), String> {
    let effector = profile
        .end_effectors
        .iter()
        .find(|e| e.hand == Hand::Left)
        .ok_or("the demo's script drives the left hand, and no end_effector has hand = \"left\"")?;
    let tip = model
        .link_id(&effector.tip)
        .ok_or_else(|| format!("end_effector {}: no link {}", effector.name, effector.tip))?;
    let mut poses = vec![Pose::identity(); model.links.len()];
    Tree::new(model).forward(start, &mut poses);
    let rest = at(layout::BASE) * poses[tip] * nalgebra::Point3::from(effector.tool());
    Ok((rest.coords, effector.motion_scale))
}

/// The links of the left hand's fingers, whose contact forces grip the cube: the left
/// gripper's joint and its mimics, else the left hand's driven joints (their child links).
fn left_fingers(model: &Model, profile: &Profile) -> Vec<usize> {
    let children = |joints: &mut dyn Iterator<Item = usize>| -> Vec<usize> {
        joints.map(|j| model.joints[j].child).collect()
    };
    if let Some(gripper) = profile.grippers.iter().find(|g| g.hand == Hand::Left) {
        let Some(leader) = model.joint_id(&gripper.joint) else {
            return Vec::new();
        };
        return children(&mut (0..model.joints.len()).filter(|&j| {
            j == leader
                || model.joints[j]
                    .mimic
                    .as_ref()
                    .is_some_and(|m| m.leader == leader)
        }));
    }
    let Some(hand) = &profile.hands.left else {
        return Vec::new();
    };
    if !hand.joints.is_empty() {
        return children(&mut hand.joints.iter().filter_map(|n| model.joint_id(n)));
    }
    // Every movable joint below the hand's root (the model's root for a hand-only URDF).
    let root = hand
        .root
        .as_deref()
        .and_then(|r| model.link_id(r))
        .unwrap_or(Model::ROOT);
    children(&mut (0..model.joints.len()).filter(|&j| {
        let joint = &model.joints[j];
        joint.kind.is_movable() && model.ancestors(joint.parent).any(|l| l == root)
    }))
}

/// An object of the scene: a box, fixed (no mass) or free.
#[derive(Debug, Clone)]
struct Prop {
    name: &'static str,
    centre: [f64; 3],
    /// About the vertical (rad).
    yaw: f64,
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

/// The table, the cube and the tray where `layout` puts them (in [`CUBE`]'s order).
fn props(layout: &Layout) -> Vec<Prop> {
    let [tx, ty] = layout.table_centre_xy;
    let [sx, sy] = layout.table_size_xy;
    // The tray, off to the side, is a second, flat object that must stay where it is.
    vec![
        Prop {
            name: "table",
            centre: [tx, ty, layout.table_top / 2.0],
            yaw: 0.0,
            size: Vector3::new(sx, sy, layout.table_top),
            mass_kg: None,
            color: layout::TABLE_COLOR,
        },
        Prop {
            name: "cube",
            centre: layout.cube.into(),
            yaw: layout.cube_yaw,
            size: Vector3::repeat(layout::CUBE_SIZE),
            mass_kg: Some(layout::CUBE_MASS),
            color: layout::CUBE_COLOR,
        },
        Prop {
            name: "tray",
            centre: layout.tray.into(),
            yaw: 0.0,
            size: Vector3::new(0.2, 0.15, 0.02),
            mass_kg: Some(0.3),
            color: layout::TRAY_COLOR,
        },
    ]
}

/// The demo's world for a robot profile.
pub struct Scene {
    pub profile: Profile,
    pub model: Model,
    /// The start posture (model `q` order).
    pub start: Vec<f64>,
    /// Where the table, cube and spot stand, fitted to the robot.
    pub layout: Layout,
    /// The left arm's motion scale (the arm the bundled script drives).
    motion_scale: f64,
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
        let invalid = |message: String| Error::Input {
            what: format!("the demo's scene for {}", profile.name),
            message,
        };
        let (rest, motion_scale) = left_rest(&model, &profile, &start).map_err(invalid)?;
        let layout = Layout::around(&rest, motion_scale).map_err(invalid)?;
        let props = props(&layout);
        let fingers = left_fingers(&model, &profile);
        let rig = profile
            .camera
            .as_ref()
            .and_then(|camera| StereoRig::new(&model, camera));
        Ok(Scene {
            profile,
            model,
            start,
            layout,
            motion_scale,
            props,
            fingers,
            rig,
        })
    }

    /// The scene with the cube's start pose (and the spot) varied by `seed` ([`Layout::varied`]).
    pub fn seeded(mut self, seed: u64) -> Scene {
        self.layout = self.layout.varied(seed, self.motion_scale);
        self.props = props(&self.layout);
        self
    }

    /// How far the scripted trainer's left hand must reach beyond the bundled script's path to
    /// grasp the cube where this scene put it (stage frame, m): the layout's shift, undone by
    /// the arm's motion scale and turned from robot into stage axes.
    pub fn script_shift(&self) -> Vector3<f64> {
        crate::msg::robot_from_stage_axes().rotation.inverse() * self.layout.shift
            / self.motion_scale
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
            &at(layout::BASE),
            ServoGains::default(),
            &driven,
        )?;
        sim.set_self_collision(self.profile.self_collision);
        sim.set_gravity_compensation(self.profile.gravity_compensation);
        for p in &self.props {
            let pose = Pose::from_parts(
                Translation3::from(Vector3::from(p.centre)),
                nalgebra::Rotation3::from_axis_angle(&Vector3::z_axis(), p.yaw),
            );
            sim.add_box(p.name, &pose, p.size, p.mass_kg);
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
        at(layout::BASE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("profiles")
            .join(name)
    }

    #[test]
    fn the_bundled_humanoids_layout_is_where_its_script_grasps_and_releases() {
        // Hand-measured when the scene was laid out for this robot alone: the left tool centre
        // rests at (0.498, 0.292, 0.43) from the pelvis, standing 0.75 m up.
        let scene = Scene::load(&profile("teleop_humanoid.toml")).expect("scene");
        let l = scene.layout;
        assert!(
            (l.cube - Vector3::new(0.548, 0.292, 0.93)).norm() < 2e-3,
            "{l:?}"
        );
        assert!(
            (l.target - Vector3::new(0.548, 0.092, 0.93)).norm() < 2e-3,
            "{l:?}"
        );
        assert!((l.table_top - (l.cube.z - layout::CUBE_SIZE / 2.0)).abs() < 1e-12);
        assert_eq!(scene.fingers.len(), 2, "both gripper fingers");
    }

    #[test]
    fn the_layout_follows_the_motion_scale_and_refuses_a_hand_too_low_for_a_table() {
        let rest = Vector3::new(0.3, 0.2, 1.0);
        let half = Layout::around(&rest, 0.5).expect("layout");
        assert!((half.cube - Vector3::new(0.325, 0.2, 0.875)).norm() < 1e-12);
        assert!((half.target - Vector3::new(0.325, 0.1, 0.875)).norm() < 1e-12);
        let (d, ok) = half.judge(&half.target);
        assert!(ok && d < 1e-12);
        let (_, ok) = half.judge(&(half.target + Vector3::new(0.0, 0.0, 0.05)));
        assert!(!ok, "a cube held in the air has not been put down");
        let low = Layout::around(&Vector3::new(0.3, 0.2, 0.2), 1.0).unwrap_err();
        assert!(low.contains("no room for a table"), "{low}");
    }

    #[test]
    fn a_dexterous_hands_fingers_are_its_driven_joints_links() {
        let scene = Scene::load(&profile("unitree_g1.toml")).expect("scene");
        let names: Vec<&str> = scene
            .fingers
            .iter()
            .map(|&l| scene.model.links[l].name.as_str())
            .collect();
        assert_eq!(names.len(), 7, "{names:?}");
        assert!(
            names.iter().all(|n| n.starts_with("left_hand_")),
            "{names:?}"
        );
    }

    #[test]
    fn a_seed_moves_the_cube_and_the_spot_within_bounds_the_same_way_every_time() {
        let scene = || Scene::load(&profile("teleop_humanoid.toml")).expect("scene");
        let nominal = scene().layout;
        let mut seen = Vec::new();
        for seed in 0..20 {
            let a = scene().seeded(seed);
            assert_eq!(a.layout, scene().seeded(seed).layout, "deterministic");
            let l = a.layout;
            assert!(l.shift.x.abs() <= layout::VARY_M && l.shift.y.abs() <= layout::VARY_M);
            assert_eq!(l.shift.z, 0.0);
            assert!(l.cube_yaw.abs() <= layout::VARY_YAW_DEG.to_radians());
            assert!((l.cube - nominal.cube - l.shift).norm() < 1e-12);
            assert!((l.target - nominal.target - l.shift).norm() < 1e-12);
            assert_eq!(l.table_top, nominal.table_top);
            // The scripted trainer's extra reach, turned back into robot axes, is the shift.
            let back = crate::msg::robot_from_stage_axes().rotation * a.script_shift();
            assert!((back - l.shift).norm() < 1e-12);
            seen.push(l.shift.x);
        }
        seen.sort_by(f64::total_cmp);
        assert!(
            seen[19] - seen[0] > layout::VARY_M,
            "seeds spread the cube: {seen:?}"
        );
    }
}
