//! Frame time of the stereo robot-camera view: the bundled humanoid at the demo's table, both
//! eyes rendered (one pass each, MSAA where supported) and waited for, at headset-like and
//! preview sizes; and the same with the readback a PNG frame needs. Runs on whatever adapter
//! wgpu finds (lavapipe where there is no GPU) and says which.
//!
//! No peer runs here: rendering has no reference implementation to race; the numbers to
//! compare are the headset's frame budgets (11.1 ms at 90 Hz).

use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use nalgebra::{Translation3, Vector3};
use teleop_bridge::app::{Scene, layout};
use teleop_bridge::config::Profile;
use teleop_bridge::kinematics::{Pose, Tree};
use teleop_bridge::render::{self, StereoRig, StereoView};

fn at(p: [f64; 3]) -> Pose {
    Pose::from_parts(Translation3::new(p[0], p[1], p[2]), Default::default())
}

fn bench(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (profile, model) = Profile::load(&root.join("profiles/teleop_humanoid.toml")).unwrap();
    let mut q = profile.start_posture(&model);
    let pitch = model.joint_id("neck_pitch_joint").unwrap();
    q[model.dof_of_joint[pitch].unwrap()] = 0.6;
    let mut base_from_link = vec![Pose::identity(); model.links.len()];
    Tree::new(&model).forward(&q, &mut base_from_link);
    let fitted = Scene::load(&root.join("profiles/teleop_humanoid.toml"))
        .unwrap()
        .layout;
    let [tx, ty] = fitted.table_centre_xy;
    let [sx, sy] = fitted.table_size_xy;
    let objects = [
        render::box_object(
            "table",
            Vector3::new(sx, sy, fitted.table_top),
            layout::TABLE_COLOR,
        ),
        render::box_object(
            "cube",
            Vector3::repeat(layout::CUBE_SIZE),
            layout::CUBE_COLOR,
        ),
    ];
    let state = render::SceneState {
        time_ns: 0,
        link_poses: base_from_link
            .iter()
            .map(|p| at(layout::BASE) * p)
            .collect(),
        object_poses: vec![at([tx, ty, fitted.table_top / 2.0]), at(fitted.cube.into())],
    };
    let rig = StereoRig::new(&model, profile.camera.as_ref().unwrap()).unwrap();
    let mut group = c.benchmark_group("stereo_frame");
    group.sample_size(20);
    for (w, h) in [(1280, 720), (640, 480)] {
        let scene = render::Scene::new(&model, &objects);
        let mut view = match StereoView::headless(scene, rig.clone().with_size(w, h)) {
            Ok(view) => view,
            Err(e) => {
                eprintln!("no stereo benchmark: {e}");
                return;
            }
        };
        eprintln!(
            "adapter: {}, {} samples",
            view.gpu.describe(),
            view.renderer.sample_count
        );
        let eyes = view.rig.eyes(&state.link_poses);
        group.bench_function(format!("render_2x{w}x{h}"), |b| {
            b.iter(|| {
                view.target
                    .render(&view.gpu, &mut view.renderer, &state, &eyes);
                view.gpu
                    .device
                    .poll(wgpu::PollType::wait_indefinitely())
                    .unwrap();
            })
        });
        group.bench_function(format!("render_and_read_back_2x{w}x{h}"), |b| {
            b.iter(|| view.render_image(&state).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
