//! A scripted trainer's tracked hand: the 26 OpenXR hand joints of an adult hand that closes
//! from open (`grasp` 0: fingers straight, the thumb out in front of the palm) to a three-finger grasp (1: the thumb tip meets the index and
//! middle tips, the ring and little fingers curl in), placed at a palm pose. It stands in for a
//! headset's hand tracking in scripts and tests. The finger joints bend about their knuckles
//! with the bone lengths of a typical hand; the thumb's joints are blended between its open
//! and its closed place, so only its tip is exact.

use nalgebra::{Isometry3, Point3, Rotation3, Translation3, UnitQuaternion, Vector3};

use crate::config::Hand;
use crate::msg::{HAND_JOINTS, HandJoints};

/// `XR_HAND_JOINT_*` indices used here (OpenXR's order: palm, wrist, thumb ×4, then index,
/// middle, ring and little ×5 from metacarpal to tip).
const PALM: usize = 0;
const THUMB: usize = 2;
const FINGERS: [usize; 4] = [6, 11, 16, 21];

/// Where the wrist is from the palm centre (OpenXR puts the palm joint mid-metacarpal).
const PALM_TO_WRIST_M: f64 = 0.045;

/// Per finger (index, middle, ring, little): knuckle (metacarpo-phalangeal joint) from the
/// wrist, radial and distal (m); phalanx lengths (m); and the flexion of each of the three
/// finger joints at `grasp` 1 (rad).
const FINGER_KNUCKLE: [[f64; 2]; 4] = [
    [0.024, 0.088],
    [0.004, 0.092],
    [-0.014, 0.087],
    [-0.030, 0.078],
];
const FINGER_PHALANGES: [[f64; 3]; 4] = [
    [0.040, 0.024, 0.021],
    [0.044, 0.028, 0.022],
    [0.041, 0.027, 0.021],
    [0.033, 0.020, 0.019],
];
const FINGER_FLEXION: [[f64; 3]; 4] = [
    [0.8, 0.9, 0.4],
    [0.8, 0.9, 0.4],
    [1.3, 1.5, 0.9],
    [1.3, 1.5, 0.9],
];

/// The thumb open (radial, dorsal, distal from the wrist, m): its metacarpal base, the next
/// two joints and its tip. Relaxed, it stands out in front of the palm (a hand about to grasp).
const THUMB_OPEN: [[f64; 3]; 4] = [
    [0.020, -0.010, 0.025],
    [0.040, -0.030, 0.050],
    [0.052, -0.045, 0.075],
    [0.060, -0.055, 0.098],
];
/// Closed, the thumb tip stops this far palmar of the middle of the index and middle tips:
/// about a centimetre from each, a pinch as a hand tracker sees one.
const THUMB_TIP_BELOW_FINGERS_M: f64 = 0.006;

/// The 26 joints (`stage_from_joint`) of a `side` hand whose palm is at `stage_from_palm`
/// (OpenXR's joint axes: +Y out of the back of the hand, +Z from the fingers to the wrist),
/// closed by `grasp` (clamped to 0 … 1).
pub fn tracked_hand(stage_from_palm: &Isometry3<f64>, side: Hand, grasp: f64) -> HandJoints {
    let grasp = if grasp.is_finite() {
        grasp.clamp(0.0, 1.0)
    } else {
        0.0
    };
    // OpenXR's X is Y × Z for both hands: towards the little finger on a right hand, towards
    // the thumb on a left one.
    let radial_x = if side == Hand::Left { 1.0 } else { -1.0 };
    let wrist_point =
        |[radial, dorsal, distal]: [f64; 3]| Point3::new(radial_x * radial, dorsal, -distal);
    let stage_from_wrist = stage_from_palm * Translation3::new(0.0, 0.0, PALM_TO_WRIST_M);
    // Positions and axes in the wrist frame first (the wrist joint's own: identity).
    let mut wrist_from_joint = [Isometry3::identity(); HAND_JOINTS];
    wrist_from_joint[PALM] = Isometry3::translation(0.0, 0.0, -PALM_TO_WRIST_M);

    let mut tips = [Point3::origin(); 4];
    for (f, &first) in FINGERS.iter().enumerate() {
        let [radial, distal] = FINGER_KNUCKLE[f];
        // Metacarpal base, a third of the way from the wrist to the knuckle.
        let knuckle = wrist_point([radial, 0.0, distal]);
        wrist_from_joint[first] = at(wrist_point([radial * 0.6, 0.0, distal * 0.3]), 0.0);
        let (mut point, mut flexion) = (knuckle, 0.0);
        for (k, length) in FINGER_PHALANGES[f].iter().enumerate() {
            flexion += grasp * FINGER_FLEXION[f][k];
            wrist_from_joint[first + 1 + k] = at(point, flexion);
            // Flexion turns the bone from distal (−Z) towards palmar (−Y).
            point += Vector3::new(0.0, -flexion.sin(), -flexion.cos()) * *length;
        }
        wrist_from_joint[first + 4] = at(point, flexion);
        tips[f] = point;
    }

    let thumb_open = THUMB_OPEN.map(wrist_point);
    let mut thumb_closed = thumb_open;
    let target = Point3::from((tips[0].coords + tips[1].coords) / 2.0)
        + Vector3::new(0.0, -THUMB_TIP_BELOW_FINGERS_M, 0.0);
    // The metacarpal base stays; the joints after it move along with the tip.
    let shift = target - thumb_closed[3];
    for (k, p) in thumb_closed.iter_mut().enumerate().skip(1) {
        *p += shift * (k as f64 / 3.0);
    }
    let thumb: [Point3<f64>; 4] = std::array::from_fn(|k| {
        Point3::from(thumb_open[k].coords.lerp(&thumb_closed[k].coords, grasp))
    });
    for k in 0..4 {
        // The tip continues the last bone.
        let bone = thumb[(k + 1).min(3)] - thumb[k.min(2)];
        wrist_from_joint[THUMB + k] = along(thumb[k], &bone);
    }

    wrist_from_joint.map(|pose| Some(stage_from_wrist * pose))
}

/// A finger joint at `point`, its bone flexed by `flexion` about the wrist's X axis.
fn at(point: Point3<f64>, flexion: f64) -> Isometry3<f64> {
    Isometry3::from_parts(
        Translation3::from(point.coords),
        UnitQuaternion::from_axis_angle(&Vector3::x_axis(), -flexion),
    )
}

/// A joint at `point` whose +Z points back along `bone` and whose +Y is as close to the
/// wrist's +Y (the back of the hand) as that allows.
fn along(point: Point3<f64>, bone: &Vector3<f64>) -> Isometry3<f64> {
    let z = -bone.normalize();
    let y = (Vector3::y() - z * z.y).normalize();
    let rotation = Rotation3::from_basis_unchecked(&[y.cross(&z), y, z]);
    Isometry3::from_parts(
        Translation3::from(point.coords),
        UnitQuaternion::from_rotation_matrix(&rotation),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const THUMB_TIP: usize = 5;
    const INDEX_TIP: usize = 10;
    const MIDDLE_TIP: usize = 15;

    fn point(joints: &HandJoints, j: usize) -> Vector3<f64> {
        joints[j].expect("tracked").translation.vector
    }

    fn gap(joints: &HandJoints, a: usize, b: usize) -> f64 {
        (point(joints, a) - point(joints, b)).norm()
    }

    #[test]
    fn an_open_hand_is_flat_and_a_closed_one_pinches() {
        let palm = Isometry3::translation(0.1, 1.0, -0.3);
        let open = tracked_hand(&palm, Hand::Right, 0.0);
        let closed = tracked_hand(&palm, Hand::Right, 1.0);
        // Open: the finger tips lie in the palm's plane, far from the thumb; the middle tip
        // about 19 cm from the wrist.
        for tip in [INDEX_TIP, MIDDLE_TIP] {
            assert!((point(&open, tip).y - 1.0).abs() < 1e-9);
            assert!(gap(&open, THUMB_TIP, tip) > 0.05, "open thumb–finger gap");
            assert!(
                gap(&closed, THUMB_TIP, tip) < 0.02,
                "closed thumb–finger gap"
            );
        }
        let wrist_to_middle = gap(&open, 1, MIDDLE_TIP);
        assert!((0.17..0.21).contains(&wrist_to_middle), "{wrist_to_middle}");
        // Closing keeps each finger bone's length.
        for j in 7..10 {
            assert!((gap(&open, j, j + 1) - gap(&closed, j, j + 1)).abs() < 1e-12);
        }
        // The palm joint is the palm pose, and every joint is tracked.
        assert_eq!(open[PALM], Some(palm));
        assert!(closed.iter().all(Option::is_some));
    }

    #[test]
    fn left_and_right_are_mirror_images_with_openxr_axes() {
        let palm = Isometry3::identity();
        for grasp in [0.0, 0.4, 1.0] {
            let right = tracked_hand(&palm, Hand::Right, grasp);
            let left = tracked_hand(&palm, Hand::Left, grasp);
            for j in 0..HAND_JOINTS {
                let (r, l) = (point(&right, j), point(&left, j));
                assert!(
                    (r - Vector3::new(-l.x, l.y, l.z)).norm() < 1e-12,
                    "joint {j}"
                );
                // Proper rotations with X = Y × Z on both hands.
                for hand in [&right, &left] {
                    let m = hand[j].unwrap().rotation.to_rotation_matrix();
                    let (x, y, z) = (m * Vector3::x(), m * Vector3::y(), m * Vector3::z());
                    assert!((y.cross(&z) - x).norm() < 1e-9, "joint {j}");
                }
            }
            // Palm down, fingers forward (−Z): a right hand's thumb is on its left (−X).
            assert!(point(&right, THUMB_TIP).x < point(&right, MIDDLE_TIP).x);
        }
    }
}
