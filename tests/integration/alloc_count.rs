//! FK and Jacobians allocate nothing per call, counted by a global allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use nalgebra::Matrix6xX;
use teleop_bridge::kinematics::{Chain, Pose, Tree};

use super::common::{load_robot, robots_dir};

struct Counting;

thread_local! {
    // Per thread, so tests running beside this one do not count.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

pub fn allocations_during(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

#[test]
fn counter_sees_allocations() {
    let n = allocations_during(|| {
        std::hint::black_box(vec![1u8; 64]);
    });
    assert!(n >= 1, "the counting allocator works");
}

#[test]
fn fk_and_jacobian_allocate_nothing_per_call() {
    let dir = robots_dir();
    let model = load_robot(&dir, "unitree_g1");
    let chain = Chain::new(&model, "torso_link", "left_hand_palm_link").expect("chain");
    let tree = Tree::new(&model);
    let mut jacobian = Matrix6xX::zeros(chain.dof());
    let mut poses = vec![Pose::identity(); tree.link_count()];
    let q_chain = vec![0.3; chain.dof()];
    let q_tree = vec![-0.2; tree.dof()];
    let n = allocations_during(|| {
        for _ in 0..100 {
            std::hint::black_box(chain.forward(&q_chain));
            std::hint::black_box(chain.forward_with_jacobian(&q_chain, &mut jacobian));
            tree.forward(&q_tree, &mut poses);
        }
    });
    assert_eq!(n, 0, "allocations in 100 FK + Jacobian + tree FK calls");
}
