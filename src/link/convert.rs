//! The crate's own data into ROS messages and back, where they obviously fit. Each `set_*`
//! overwrites a message in place, reusing its vectors and strings: once warm (same joint names,
//! same lengths), filling and [`encode`](super::encode)-ing a message allocates nothing.
//!
//! Stamps are passed in explicitly: ROS expects wall-clock time (ns since the Unix epoch) in
//! `header.stamp`, while `RobotState::time_ns` is monotonic; the caller knows which it has.

use nalgebra::{IsometryMatrix3, UnitQuaternion};

use super::LinkError;
use super::types::*;
use crate::msg::RobotState;

/// Makes `dst` equal to `src`, keeping `dst`'s allocations where it can.
fn set_strings<S: AsRef<str>>(dst: &mut Vec<String>, src: &[S]) {
    dst.truncate(src.len());
    for (i, s) in src.iter().enumerate() {
        let s = s.as_ref();
        match dst.get_mut(i) {
            Some(d) => set_string(d, s),
            None => dst.push(s.to_owned()),
        }
    }
}

fn set_string(dst: &mut String, src: &str) {
    if dst != src {
        dst.clear();
        dst.push_str(src);
    }
}

fn set_f64s(dst: &mut Vec<f64>, src: &[f64]) {
    dst.clear();
    dst.extend_from_slice(src);
}

/// Each of `values` is empty or one per name.
fn check_lengths(what: &str, names: usize, values: &[(&str, usize)]) -> Result<(), LinkError> {
    for (field, n) in values {
        if *n != 0 && *n != names {
            return Err(LinkError::Mismatch(format!(
                "{what}: {n} {field} for {names} joint names"
            )));
        }
    }
    Ok(())
}

impl Header {
    /// Sets the stamp (ns) and the frame.
    pub fn set(&mut self, stamp_ns: u64, frame_id: &str) {
        self.stamp = Time::from_ns(stamp_ns);
        set_string(&mut self.frame_id, frame_id);
    }
}

impl JointState {
    /// Overwrites this message: `names` with `position`, `velocity`, `effort` (each empty or one
    /// per name), no frame.
    pub fn set<S: AsRef<str>>(
        &mut self,
        stamp_ns: u64,
        names: &[S],
        position: &[f64],
        velocity: &[f64],
        effort: &[f64],
    ) -> Result<(), LinkError> {
        check_lengths(
            "JointState",
            names.len(),
            &[
                ("positions", position.len()),
                ("velocities", velocity.len()),
                ("efforts", effort.len()),
            ],
        )?;
        self.header.set(stamp_ns, "");
        set_strings(&mut self.name, names);
        set_f64s(&mut self.position, position);
        set_f64s(&mut self.velocity, velocity);
        set_f64s(&mut self.effort, effort);
        Ok(())
    }

    /// A robot's state as `/joint_states`: `names` are the model's independent joints, in the
    /// state's `q` order.
    pub fn set_from_state<S: AsRef<str>>(
        &mut self,
        stamp_ns: u64,
        names: &[S],
        state: &RobotState,
    ) -> Result<(), LinkError> {
        self.set(
            stamp_ns,
            names,
            &state.positions,
            &state.velocities,
            &state.efforts,
        )
    }

    /// This message's positions written into `out` in the order of `names` (a robot receiving
    /// commands): every name must be present; extra joints in the message are ignored.
    pub fn positions_in_order<S: AsRef<str>>(
        &self,
        names: &[S],
        out: &mut [f64],
    ) -> Result<(), LinkError> {
        reorder("JointState", &self.name, &self.position, names, out)
    }
}

/// `values[i]` belongs to `from[i]`; writes them in the order of `to`.
fn reorder<S: AsRef<str>>(
    what: &str,
    from: &[String],
    values: &[f64],
    to: &[S],
    out: &mut [f64],
) -> Result<(), LinkError> {
    if values.len() != from.len() || out.len() != to.len() {
        return Err(LinkError::Mismatch(format!(
            "{what}: {} values for {} names; {} outputs for {} joints",
            values.len(),
            from.len(),
            out.len(),
            to.len()
        )));
    }
    // The usual case: the same joints in the same order.
    if from.len() == to.len() && from.iter().zip(to).all(|(a, b)| a == b.as_ref()) {
        out.copy_from_slice(values);
        return Ok(());
    }
    for (slot, name) in out.iter_mut().zip(to) {
        let name = name.as_ref();
        let Some(i) = from.iter().position(|n| n == name) else {
            return Err(LinkError::Mismatch(format!("{what}: no joint {name:?}")));
        };
        *slot = values[i];
    }
    Ok(())
}

impl Float64MultiArray {
    /// `data` = `values`, no layout: what ros2_control's forward command controllers take
    /// (joint positions in the controller's configured joint order).
    pub fn set_data(&mut self, values: &[f64]) {
        self.layout.dim.clear();
        self.layout.data_offset = 0;
        set_f64s(&mut self.data, values);
    }
}

impl JointTrajectory {
    /// A one-point trajectory, as a streaming source sends ros2_control's joint trajectory
    /// controller: reach `positions` (and `velocities`, empty or one per name) at
    /// `time_from_start`. A zero `stamp_ns` means "start on receipt".
    pub fn set_single_point<S: AsRef<str>>(
        &mut self,
        stamp_ns: u64,
        names: &[S],
        positions: &[f64],
        velocities: &[f64],
        time_from_start: Duration,
    ) -> Result<(), LinkError> {
        check_lengths(
            "JointTrajectory",
            names.len(),
            &[
                ("positions", positions.len()),
                ("velocities", velocities.len()),
            ],
        )?;
        self.header.set(stamp_ns, "");
        set_strings(&mut self.joint_names, names);
        self.points.resize_with(1, JointTrajectoryPoint::default);
        let p = &mut self.points[0];
        set_f64s(&mut p.positions, positions);
        set_f64s(&mut p.velocities, velocities);
        p.accelerations.clear();
        p.effort.clear();
        p.time_from_start = time_from_start;
        Ok(())
    }

    /// The first point's positions written into `out` in the order of `names`.
    pub fn first_positions_in_order<S: AsRef<str>>(
        &self,
        names: &[S],
        out: &mut [f64],
    ) -> Result<(), LinkError> {
        let Some(p) = self.points.first() else {
            return Err(LinkError::Mismatch("JointTrajectory: no points".into()));
        };
        reorder(
            "JointTrajectory",
            &self.joint_names,
            &p.positions,
            names,
            out,
        )
    }
}

impl CompressedImage {
    /// One JPEG (e.g. one eye of the robot's cameras) taken at `stamp_ns` from `frame_id`.
    pub fn set_jpeg(&mut self, stamp_ns: u64, frame_id: &str, jpeg: &[u8]) {
        self.header.set(stamp_ns, frame_id);
        set_string(&mut self.format, "jpeg");
        self.data.clear();
        self.data.extend_from_slice(jpeg);
    }
}

impl Transform {
    /// `a_from_b` as the transform from frame a (the parent) to b (the child).
    pub fn from_isometry(a_from_b: &IsometryMatrix3<f64>) -> Transform {
        let [x, y, z] = a_from_b.translation.vector.into();
        let q = UnitQuaternion::from_rotation_matrix(&a_from_b.rotation);
        Transform {
            translation: Vector3 { x, y, z },
            rotation: Quaternion {
                x: q.i,
                y: q.j,
                z: q.k,
                w: q.w,
            },
        }
    }

    /// Back to `a_from_b` (the rotation renormalised; a zero quaternion is the identity).
    pub fn to_isometry(&self) -> IsometryMatrix3<f64> {
        let r = &self.rotation;
        let q = nalgebra::Quaternion::new(r.w, r.x, r.y, r.z);
        let rotation = if q.norm() > 1e-12 && q.norm().is_finite() {
            UnitQuaternion::from_quaternion(q).to_rotation_matrix()
        } else {
            nalgebra::Rotation3::identity()
        };
        let t = &self.translation;
        IsometryMatrix3::from_parts(nalgebra::Translation3::new(t.x, t.y, t.z), rotation)
    }
}

impl Pose {
    /// `frame_from_body` as a pose in `frame`.
    pub fn from_isometry(frame_from_body: &IsometryMatrix3<f64>) -> Pose {
        let Transform {
            translation: Vector3 { x, y, z },
            rotation,
        } = Transform::from_isometry(frame_from_body);
        Pose {
            position: Point { x, y, z },
            orientation: rotation,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::{decode, encode};
    use nalgebra::{Rotation3, Translation3, Vector3 as V3};

    #[test]
    fn a_state_becomes_joint_states_without_allocating_once_warm() {
        let mut state = RobotState::zeros(2, 0, 0);
        state.positions = vec![0.1, 0.2];
        state.velocities = vec![1.0, 2.0];
        let names = ["a", "b"];
        let mut js = JointState::default();
        let mut buf = Vec::new();
        js.set_from_state(1_500_000_000, &names, &state).unwrap();
        encode(&js, &mut buf).unwrap();
        let ptrs = (js.name[0].as_ptr(), js.position.as_ptr(), buf.as_ptr());
        state.positions[1] = 0.3;
        js.set_from_state(2_000_000_001, &names, &state).unwrap();
        encode(&js, &mut buf).unwrap();
        assert_eq!(
            (js.name[0].as_ptr(), js.position.as_ptr(), buf.as_ptr()),
            ptrs
        );
        let back: JointState = decode(&buf).unwrap();
        assert_eq!(back.header.stamp, Time { sec: 2, nanosec: 1 });
        assert_eq!(back.name, ["a", "b"]);
        assert_eq!(back.position, [0.1, 0.3]);
        assert_eq!(back.velocity, [1.0, 2.0]);
        assert_eq!(back.effort, [0.0, 0.0]);
    }

    #[test]
    fn lengths_must_match_the_names() {
        let mut js = JointState::default();
        assert!(js.set(0, &["a"], &[1.0, 2.0], &[], &[]).is_err());
        assert!(js.set(0, &["a"], &[1.0], &[], &[]).is_ok());
        let mut jt = JointTrajectory::default();
        assert!(
            jt.set_single_point(0, &["a", "b"], &[1.0], &[], Duration::default())
                .is_err()
        );
    }

    #[test]
    fn commands_come_back_in_the_robots_order() {
        let mut js = JointState::default();
        js.set(0, &["b", "a", "extra"], &[2.0, 1.0, 9.0], &[], &[])
            .unwrap();
        let mut out = [0.0; 2];
        js.positions_in_order(&["a", "b"], &mut out).unwrap();
        assert_eq!(out, [1.0, 2.0]);
        assert!(js.positions_in_order(&["a", "c"], &mut out).is_err());

        let mut jt = JointTrajectory::default();
        jt.set_single_point(
            0,
            &["a", "b"],
            &[1.0, 2.0],
            &[],
            Duration::from_secs_f64(0.02),
        )
        .unwrap();
        assert_eq!(
            jt.points[0].time_from_start,
            Duration {
                sec: 0,
                nanosec: 20_000_000
            }
        );
        jt.first_positions_in_order(&["a", "b"], &mut out).unwrap();
        assert_eq!(out, [1.0, 2.0]);
        assert!(
            JointTrajectory::default()
                .first_positions_in_order(&["a"], &mut out[..1])
                .is_err()
        );
    }

    #[test]
    fn images_and_arrays() {
        let mut img = CompressedImage::default();
        img.set_jpeg(3, "head_left", &[0xff, 0xd8, 0xff]);
        assert_eq!(img.format, "jpeg");
        assert_eq!(img.header.frame_id, "head_left");
        let mut buf = Vec::new();
        encode(&img, &mut buf).unwrap();
        assert_eq!(decode::<CompressedImage>(&buf).unwrap(), img);

        let mut fa = Float64MultiArray::default();
        fa.set_data(&[1.0, 2.0]);
        assert_eq!(fa.data, [1.0, 2.0]);
        assert!(fa.layout.dim.is_empty());
    }

    #[test]
    fn isometries_become_transforms() {
        let iso = IsometryMatrix3::from_parts(
            Translation3::new(1.0, 2.0, 3.0),
            Rotation3::from_axis_angle(&V3::z_axis(), std::f64::consts::FRAC_PI_2),
        );
        let t = Transform::from_isometry(&iso);
        assert_eq!(
            (t.translation.x, t.translation.y, t.translation.z),
            (1.0, 2.0, 3.0)
        );
        let h = std::f64::consts::FRAC_1_SQRT_2;
        assert!((t.rotation.z - h).abs() < 1e-12 && (t.rotation.w - h).abs() < 1e-12);
        let p = Pose::from_isometry(&iso);
        assert_eq!(p.position.x, 1.0);
        assert_eq!(p.orientation, t.rotation);
    }

    #[test]
    fn time_conversions() {
        assert_eq!(Time::from_ns(1_000_000_007).to_ns(), 1_000_000_007);
        assert_eq!(Time::from_ns(u64::MAX).sec, i32::MAX);
        assert_eq!(
            Time {
                sec: -1,
                nanosec: 0
            }
            .to_ns(),
            0
        );
        assert_eq!(Duration::from_secs_f64(-1.0), Duration::default());
        assert_eq!(Duration::from_secs_f64(f64::NAN), Duration::default());
        assert_eq!(
            Duration::from_secs_f64(1.5),
            Duration {
                sec: 1,
                nanosec: 500_000_000
            }
        );
    }
}
