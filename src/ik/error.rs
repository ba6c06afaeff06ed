//! Errors from setting up a solver (bad input at solve time is a report, never an error).

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Kinematics(#[from] crate::kinematics::Error),
    #[error("an IK solver needs at least one task")]
    NoTasks,
    #[error(
        "task {task}: chain {} → {} has no movable joint",
        crate::model::shown(.base), crate::model::shown(.tip)
    )]
    NoJoints {
        task: usize,
        base: String,
        tip: String,
    },
}
