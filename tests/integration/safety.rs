//! The safety filter: whatever it is asked, its commands stay within position, velocity and
//! acceleration limits, and stale or non-finite input brings the joints to a smooth stop.

use proptest::prelude::*;
use teleop_bridge::config::Profile;
use teleop_bridge::safety::{Hold, Limits, Outcome, SafetyFilter};

const DT: f64 = 0.002;

fn two_joints() -> Limits {
    Limits {
        lower: vec![-1.0, f64::NEG_INFINITY],
        upper: vec![1.5, f64::INFINITY],
        velocity: vec![2.0, 3.0],
        acceleration: vec![10.0, 40.0],
    }
}

/// Asserts the invariants a robot relies on between two consecutive commands.
fn assert_within_limits(limits: &Limits, before: (&[f64], &[f64]), after: (&[f64], &[f64])) {
    for i in 0..before.0.len() {
        let (q, v, v_last) = (after.0[i], after.1[i], before.1[i]);
        assert!(q.is_finite() && v.is_finite(), "joint {i}: finite");
        assert!(
            q >= limits.lower[i] && q <= limits.upper[i],
            "joint {i}: position {q}"
        );
        assert!(
            v.abs() <= limits.velocity[i] * (1.0 + 1e-9),
            "joint {i}: velocity {v}"
        );
        let dv = (v - v_last).abs();
        assert!(
            dv <= limits.acceleration[i] * DT * (1.0 + 1e-6) + 1e-9,
            "joint {i}: acceleration {} > {}",
            dv / DT,
            limits.acceleration[i]
        );
        assert!(
            ((after.0[i] - before.0[i]) / DT - v).abs() < 1e-9,
            "joint {i}: the reported velocity is the position's change"
        );
    }
}

#[derive(Debug, Clone)]
enum Input {
    Wanted([f64; 2]),
    Stale,
    NotFinite,
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        8 => (-3.0..3.0f64, -10.0..10.0f64).prop_map(|(a, b)| Input::Wanted([a, b])),
        1 => Just(Input::Stale),
        1 => Just(Input::NotFinite),
    ]
}

proptest! {
    /// Random jumps beyond the limits, stale ticks and NaNs, each held for a random number of
    /// ticks: no command ever leaves the limits.
    #[test]
    fn no_input_makes_a_command_leave_the_limits(
        script in prop::collection::vec((input(), 1usize..200), 1..30)
    ) {
        let limits = two_joints();
        let mut filter = SafetyFilter::new(limits.clone(), &[0.0, 0.0]);
        for (input, ticks) in script {
            for _ in 0..ticks {
                let before = (filter.position().to_vec(), filter.velocity().to_vec());
                let result = match &input {
                    Input::Wanted(w) => filter.step(Some(w), DT),
                    Input::Stale => filter.step(None, DT),
                    Input::NotFinite => filter.step(Some(&[f64::NAN, 0.0]), DT),
                };
                match input {
                    Input::Wanted(_) => prop_assert_eq!(result, Ok(Outcome::Tracking)),
                    Input::Stale => prop_assert_eq!(result, Err(Hold::Stale)),
                    Input::NotFinite => prop_assert_eq!(result, Err(Hold::NotFinite)),
                }
                assert_within_limits(
                    &limits,
                    (&before.0, &before.1),
                    (filter.position(), filter.velocity()),
                );
            }
        }
    }
}

#[test]
fn a_far_step_becomes_a_smooth_move_that_stops_on_the_goal() {
    let limits = two_joints();
    let mut filter = SafetyFilter::new(limits.clone(), &[-0.5, 0.0]);
    let goal = [1.2, -4.0];
    let mut ticks = 0;
    let mut peak = [f64::NEG_INFINITY, f64::INFINITY];
    while ticks < 5000 {
        let before = (filter.position().to_vec(), filter.velocity().to_vec());
        filter.step(Some(&goal), DT).unwrap();
        assert_within_limits(
            &limits,
            (&before.0, &before.1),
            (filter.position(), filter.velocity()),
        );
        peak[0] = peak[0].max(filter.position()[0]);
        peak[1] = peak[1].min(filter.position()[1]);
        ticks += 1;
        if filter.velocity().iter().all(|v| *v == 0.0)
            && (0..2).all(|i| (filter.position()[i] - goal[i]).abs() < 1e-12)
        {
            break;
        }
    }
    // No overshoot, and about the time of a trapezoidal move (joint 1: 4 rad at 3 rad/s, 40
    // rad/s² ⇒ 1.41 s; joint 0: 1.7 rad at 2 rad/s, 10 rad/s² ⇒ 1.05 s).
    assert!(
        peak[0] <= goal[0] + 1e-12 && peak[1] >= goal[1] - 1e-12,
        "{peak:?}"
    );
    let seconds = ticks as f64 * DT;
    assert!((1.40..1.50).contains(&seconds), "settled after {seconds} s");
}

#[test]
fn stale_input_brakes_at_the_acceleration_limit_and_stays_stopped() {
    let limits = two_joints();
    let mut filter = SafetyFilter::new(limits.clone(), &[-1.0, 0.0]);
    // Full speed towards the far side.
    for _ in 0..300 {
        filter.step(Some(&[1.5, 10.0]), DT).unwrap();
    }
    assert!((filter.velocity()[1] - 3.0).abs() < 1e-9, "cruising");
    let v0 = filter.velocity().to_vec();
    let mut ticks_to_stop = [None, None];
    for tick in 1..=1000 {
        let before = (filter.position().to_vec(), filter.velocity().to_vec());
        assert_eq!(filter.step(None, DT), Err(Hold::Stale));
        assert_within_limits(
            &limits,
            (&before.0, &before.1),
            (filter.position(), filter.velocity()),
        );
        for (stop, &v) in ticks_to_stop.iter_mut().zip(filter.velocity()) {
            if v == 0.0 && stop.is_none() {
                *stop = Some(tick);
            }
        }
    }
    for i in 0..2 {
        let stop = ticks_to_stop[i].expect("stopped") as f64 * DT;
        let shortest = v0[i].abs() / limits.acceleration[i];
        assert!(
            stop <= shortest + 2.0 * DT,
            "joint {i}: stopped after {stop} s"
        );
        assert_eq!(filter.velocity()[i], 0.0, "joint {i}: stays stopped");
    }
}

#[test]
fn non_finite_input_is_refused_whole_and_holds() {
    let limits = two_joints();
    let mut filter = SafetyFilter::new(limits, &[0.2, 0.3]);
    for wanted in [
        [f64::NAN, 0.0],
        [0.0, f64::INFINITY],
        [f64::NEG_INFINITY, f64::NAN],
    ] {
        assert_eq!(filter.step(Some(&wanted), DT), Err(Hold::NotFinite));
        assert_eq!(
            filter.position(),
            &[0.2, 0.3],
            "at rest, a hold does not move"
        );
    }
    // A wrong-length command is not trusted either.
    assert_eq!(filter.step(Some(&[0.0]), DT), Err(Hold::NotFinite));
    // And a non-finite start is made safe.
    let filter = SafetyFilter::new(two_joints(), &[f64::NAN, 7.0]);
    assert_eq!(filter.position(), &[0.0, 7.0]);
}

#[test]
fn limits_come_from_the_urdf_and_the_profile() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/teleop_humanoid.toml");
    let (profile, model) = Profile::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let limits = Limits::from_profile(&model, &profile, 1.0);
    let index = |name: &str| model.dof_names().position(|n| n == name).expect("joint");
    let waist = index("waist_yaw_joint");
    assert_eq!(limits.acceleration[waist], 5.0, "profile override");
    assert_eq!(limits.velocity[waist], 3.0, "URDF velocity");
    let elbow = index("left_elbow_joint");
    assert_eq!(limits.acceleration[elbow], 20.0, "profile default");
    let model_elbow = &model.joints[model.joint_id("left_elbow_joint").unwrap()];
    assert_eq!(
        Some((limits.lower[elbow], limits.upper[elbow])),
        model_elbow.limits.position
    );
}

/// Runs `f` on its own thread and fails (instead of hanging the suite) if it takes over 20 s.
fn within_seconds<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(std::time::Duration::from_secs(20))
        .unwrap_or_else(|_| panic!("{what}: did not finish within 20 s"))
}

/// Accelerations the tester found to hang `braking_speed` (`m -= 1.0` is a no-op once m ≥ 2⁵³),
/// and others at the edges of f64: every tick finishes at once and stays within the limits.
#[test]
fn extreme_accelerations_neither_hang_nor_leave_the_limits() {
    for acceleration in [
        1e-300,
        1e-30,
        1e-9,
        1e9,
        1e300,
        f64::MIN_POSITIVE,
        f64::INFINITY,
    ] {
        within_seconds(&format!("acceleration {acceleration:e}"), move || {
            let limits = Limits {
                lower: vec![-1.0, f64::NEG_INFINITY],
                upper: vec![1.5, f64::INFINITY],
                velocity: vec![2.0, 3.0],
                acceleration: vec![acceleration; 2],
            };
            let mut filter = SafetyFilter::new(limits.clone(), &[0.0, 0.0]);
            for k in 0..200 {
                let before = (filter.position().to_vec(), filter.velocity().to_vec());
                let goal = if k < 100 { [1.4, 1e12] } else { [-0.9, -1e12] };
                filter.step(Some(&goal), DT).unwrap();
                assert!(
                    filter.position().iter().all(|q| q.is_finite()),
                    "{acceleration:e}"
                );
                if acceleration.is_finite() {
                    assert_within_limits(
                        &limits,
                        (&before.0, &before.1),
                        (filter.position(), filter.velocity()),
                    );
                }
            }
        });
    }
}

/// Limits that make no sense are made safe instead of panicking in `clamp` or moving the joint:
/// NaN or negative velocity and acceleration hold it, an inverted range pins it.
#[test]
fn nonsense_limits_hold_the_joint_instead_of_panicking() {
    let limits = Limits {
        lower: vec![f64::NAN, 1.0, -1.0, -1.0],
        upper: vec![f64::NAN, -1.0, 1.0, 1.0],
        velocity: vec![1.0, 1.0, -2.0, f64::NAN],
        acceleration: vec![10.0, 10.0, 10.0, -5.0],
    };
    let mut filter = SafetyFilter::new(limits, &[0.0, 0.0, 0.5, 0.5]);
    assert_eq!(filter.position()[1], 1.0, "pinned at the lower limit");
    for _ in 0..100 {
        filter.step(Some(&[5.0, 5.0, -1.0, -1.0]), DT).unwrap();
    }
    let q = filter.position();
    assert!(q[0] > 0.0, "no position limits: it moves");
    assert_eq!(q[1], 1.0);
    assert_eq!(q[2], 0.5, "a negative velocity limit holds the joint");
    assert_eq!(q[3], 0.5, "a negative acceleration limit holds the joint");
}
