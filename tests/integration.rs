//! One integration-test binary (one link step on a 2-core machine); each area is a submodule.

mod integration {
    pub mod alloc_count;
    pub mod broken_urdf;
    pub mod cli;
    pub mod common;
    pub mod control;
    pub mod demo;
    pub mod episode_damage;
    pub mod export_checks;
    pub mod fk_reference;
    pub mod fuzz;
    pub mod hands;
    pub mod humanoid;
    pub mod ik;
    pub mod jacobian;
    pub mod layers;
    pub mod lerobot_video;
    pub mod limits;
    pub mod link;
    pub mod network;
    pub mod packages;
    pub mod profile;
    pub mod record;
    pub mod render;
    pub mod retarget;
    pub mod safety;
    pub mod script;
    pub mod sim;
    pub mod urdf_quirks;
    pub mod xr;
    pub mod xr_support;
}
