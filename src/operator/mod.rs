//! Sources of [`OperatorFrame`](crate::msg::OperatorFrame)s. So far: [`Script`], keyframed
//! operator poses and buttons interpolated in time (the demo's "trainer"; also a test driver).

mod script;

pub use script::{Error, Script};
