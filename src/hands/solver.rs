//! The retargeter: fingertip vectors (and pinch gaps) fitted by box-constrained, damped
//! Gauss–Newton over the hand's joints, one independent problem per group of fingers that
//! share joints (or a pinch pair, while it pinches).

use nalgebra::{Isometry3, Matrix3, Matrix6xX, Vector3};

use super::mapping::{HandMapping, Scale};
use super::{Error, Options};
use crate::kinematics::Chain;
use crate::model::{JointKind, Model};

/// Pinch pairs whose fingers are solved apart while the pair is not pinching; with more pairs
/// than this, every pair's fingers are solved together.
const MAX_SWITCHED_PINCHES: usize = 6;

/// Number of OpenXR hand joints.
pub const XR_JOINTS: usize = 26;
pub(super) const XR_WRIST: usize = 1;

/// Whether a solve moved the hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Fitted to this frame.
    Solved,
    /// A joint the mapping needs was untracked or not finite: the last posture is held.
    Held,
}

/// One solve's output, in buffers the caller owns ([`Retargeter::new_solution`]).
#[derive(Debug, Clone)]
pub struct Solution {
    /// The model's configuration ([`Model::dofs`] order); undriven joints at their rest value.
    pub q: Vec<f64>,
    /// Per fingertip (mapping order): ‖robot vector − scale · trainer vector‖ (m) at `q`.
    pub fit_error_m: Vec<f64>,
    /// Per pinch pair: its activation, 0 (off) … 1 (fully engaged).
    pub pinch: Vec<f64>,
    /// Gauss–Newton iterations, summed over finger groups.
    pub iterations: usize,
    pub status: Status,
}

/// A frame on a link: its chain from the hand root and its offset in the link frame.
#[derive(Debug, Clone)]
struct Point {
    chain: usize,
    offset: Vector3<f64>,
}

#[derive(Debug, Clone)]
struct Term {
    tip: usize,
    origin: usize,
    follows: usize,
    from: usize,
}

#[derive(Debug, Clone, Copy)]
struct Pinch {
    thumb: usize,
    finger: usize,
}

/// Fingers sharing joints (or a pinch pair): solved together, independently of the others.
#[derive(Debug, Clone)]
struct Group {
    /// Model `q` indices of the driven joints.
    vars: Vec<usize>,
    terms: Vec<usize>,
    pinches: Vec<usize>,
    /// Points this group evaluates (global ids).
    points: Vec<usize>,
    /// Per term / pinch of this group: the group-local vars that move its two points.
    term_cols: Vec<Vec<usize>>,
    pinch_cols: Vec<Vec<usize>>,
    /// Scratch: a residual's Jacobian columns.
    columns: Vec<Vector3<f64>>,
    // Scratch, sized once.
    lo: Vec<f64>,
    hi: Vec<f64>,
    h: Vec<f64>,
    g: Vec<f64>,
    h_trial: Vec<f64>,
    g_trial: Vec<f64>,
    delta: Vec<f64>,
    /// Per var: the bound it was held at in the last box step, where the next one starts.
    bound: Vec<Bound>,
    free_idx: Vec<usize>,
    m: Vec<f64>,
    b: Vec<f64>,
    q_trial: Vec<f64>,
}

/// Where the box step holds a var.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bound {
    Free,
    Lower,
    Upper,
}

impl Group {
    /// The group of these terms (sorted) and pinch pairs, its scratch sized once.
    #[allow(clippy::too_many_arguments)]
    fn new(
        terms_in: &[usize],
        pinches_in: Vec<usize>,
        vars_of: &[Vec<usize>],
        terms: &[Term],
        pinches: &[Pinch],
        points: &[Point],
        chains: &[Chain],
        n: usize,
    ) -> Group {
        let mut vars: Vec<usize> = Vec::new();
        let mut group_points: Vec<usize> = Vec::new();
        for &t in terms_in {
            for &v in &vars_of[t] {
                if !vars.contains(&v) {
                    vars.push(v);
                }
            }
            for p in [terms[t].tip, terms[t].origin] {
                if !group_points.contains(&p) {
                    group_points.push(p);
                }
            }
        }
        vars.sort_unstable();
        let k = vars.len();
        let cols = |a: usize, b: usize| -> Vec<usize> {
            let moves = |p: usize, v: usize| chains[points[p].chain].model_vars().contains(&v);
            (0..k)
                .filter(|&l| moves(a, vars[l]) || moves(b, vars[l]))
                .collect()
        };
        let term_cols = terms_in
            .iter()
            .map(|&t| cols(terms[t].tip, terms[t].origin))
            .collect();
        let pinch_cols = pinches_in
            .iter()
            .map(|&i| cols(terms[pinches[i].thumb].tip, terms[pinches[i].finger].tip))
            .collect();
        Group {
            vars,
            terms: terms_in.to_vec(),
            pinches: pinches_in,
            points: group_points,
            term_cols,
            pinch_cols,
            columns: vec![Vector3::zeros(); k],
            lo: vec![0.0; k],
            hi: vec![0.0; k],
            h: vec![0.0; k * k],
            g: vec![0.0; k],
            h_trial: vec![0.0; k * k],
            g_trial: vec![0.0; k],
            delta: vec![0.0; k],
            bound: vec![Bound::Free; k],
            free_idx: vec![0; k],
            m: vec![0.0; k * k],
            b: vec![0.0; k],
            q_trial: vec![0.0; n],
        }
    }
}

/// Tracked hand joints → robot hand joint targets. Build once per hand; [`Retargeter::solve`]
/// allocates nothing.
#[derive(Debug, Clone)]
pub struct Retargeter {
    options: Options,
    root_from_wrist: Matrix3<f64>,
    scale: f64,
    calibrate: bool,
    chains: Vec<Chain>,
    points: Vec<Point>,
    terms: Vec<Term>,
    pinches: Vec<Pinch>,
    groups: Vec<Group>,
    /// Per set of joined pinch pairs (bit i: pair i): the groups that partition the terms.
    partitions: Vec<Vec<usize>>,
    /// Per model var: position bounds (URDF, and every mimic's limits mapped onto its leader).
    lower: Vec<f64>,
    upper: Vec<f64>,
    /// Per model var: largest step per solve.
    max_step: Vec<f64>,
    /// Per model var: which group drives it.
    group_of_var: Vec<Option<usize>>,
    rest: Vec<f64>,
    // State.
    q: Vec<f64>,
    q_prev: Vec<f64>,
    has_previous: bool,
    engaged: Vec<bool>,
    activation: Vec<f64>,
    // Scratch.
    chain_q: Vec<Vec<f64>>,
    chain_jac: Vec<Matrix6xX<f64>>,
    /// Per point: position in the root frame and its Jacobian, 3 × dof (column-major by var).
    pos: Vec<Vector3<f64>>,
    jac: Vec<Vec<Vector3<f64>>>,
    /// Per term: scale · trainer vector in the root frame.
    target: Vec<Vector3<f64>>,
    /// Per pinch: trainer thumb − finger tip in the root frame, unscaled.
    pinch_human: Vec<Vector3<f64>>,
}

fn rotation_ok(m: &Matrix3<f64>) -> bool {
    (m * m.transpose() - Matrix3::identity()).abs().max() < 1e-6
        && (m.determinant() - 1.0).abs() < 1e-6
}

impl Retargeter {
    pub fn new(
        model: &Model,
        mapping: &HandMapping,
        options: Options,
    ) -> Result<Retargeter, Error> {
        if mapping.fingertips.is_empty() {
            return Err(Error::Mapping("no fingertips".into()));
        }
        let r = mapping.root_from_wrist;
        let root_from_wrist = Matrix3::from_fn(|i, j| r[i][j]);
        if !rotation_ok(&root_from_wrist) {
            return Err(Error::Mapping(
                "root_from_wrist is not a rotation (orthonormal rows, determinant +1)".into(),
            ));
        }
        let (scale, calibrate) = match mapping.scale {
            Scale::Fixed(s) if s.is_finite() && s > 0.0 => (s, false),
            Scale::Fixed(s) => return Err(Error::Mapping(format!("scale {s} is not positive"))),
            Scale::Calibrate => (1.0, true),
        };
        let root = match &mapping.root {
            Some(name) => {
                model.link_id(name).ok_or_else(|| {
                    Error::Mapping(format!("root: no link named '{name}' in the URDF"))
                })?;
                name.clone()
            }
            None => model.root().name.clone(),
        };
        let n = model.dof();

        // Points and their chains (one chain per distinct link).
        let mut chains: Vec<Chain> = Vec::new();
        let mut points: Vec<Point> = Vec::new();
        let mut point_of = |lp: &super::mapping::LinkPoint| -> Result<usize, Error> {
            let link = model.link_id(&lp.link).ok_or_else(|| {
                Error::Mapping(format!("no link named '{}' in the URDF", lp.link))
            })?;
            let chain = match chains.iter().position(|c| c.tip() == link) {
                Some(c) => c,
                None => {
                    chains.push(Chain::new(model, &root, &lp.link)?);
                    chains.len() - 1
                }
            };
            let offset = Vector3::from(lp.offset);
            if !offset.iter().all(|v| v.is_finite()) {
                return Err(Error::Mapping(format!(
                    "offset on '{}' is not finite",
                    lp.link
                )));
            }
            let found = points
                .iter()
                .position(|p| p.chain == chain && p.offset == offset);
            Ok(found.unwrap_or_else(|| {
                points.push(Point { chain, offset });
                points.len() - 1
            }))
        };
        let fingertips = &mapping.fingertips;
        let mut terms = Vec::new();
        for f in fingertips {
            if fingertips.iter().filter(|g| g.name == f.name).count() > 1 {
                return Err(Error::Mapping(format!(
                    "fingertip '{}' defined twice",
                    f.name
                )));
            }
            terms.push(Term {
                tip: point_of(&f.tip)?,
                origin: point_of(&f.origin)?,
                follows: f.follows.index(),
                from: f.from.index(),
            });
        }
        let term_named = |name: &str| {
            fingertips
                .iter()
                .position(|f| f.name == name)
                .ok_or_else(|| Error::UnknownFingertip(name.to_owned()))
        };
        let mut pinches = Vec::new();
        for p in &mapping.pinch {
            pinches.push(Pinch {
                thumb: term_named(&p.thumb)?,
                finger: term_named(&p.finger)?,
            });
        }

        // Driven vars.
        let mut driven = vec![false; n];
        if mapping.joints.is_empty() {
            for c in &chains {
                for &v in c.model_vars() {
                    driven[v] = true;
                }
            }
        } else {
            for name in &mapping.joints {
                let j = model
                    .joint_id(name)
                    .ok_or_else(|| Error::UnknownJoint(name.clone()))?;
                let Some(var) = model.dof_of_joint[j] else {
                    let reason = match model.joints[j].mimic {
                        Some(m) => format!(
                            "it mimics '{}'; drive that joint",
                            model.joints[m.leader].name
                        ),
                        None => "it is fixed".to_owned(),
                    };
                    return Err(Error::NotDriveable {
                        joint: name.clone(),
                        reason,
                    });
                };
                driven[var] = true;
            }
        }

        // Bounds: own limits, every mimic's limits mapped onto the leader, velocity per step.
        let mut lower = vec![f64::NEG_INFINITY; n];
        let mut upper = vec![f64::INFINITY; n];
        let mut max_step = vec![f64::INFINITY; n];
        let step_of = |v: Option<f64>| {
            v.unwrap_or(options.default_velocity) * options.dt_s * options.velocity_margin
        };
        for (var, &j) in model.dofs.iter().enumerate() {
            let joint = &model.joints[j];
            if let Some((lo, hi)) = joint.limits.position {
                (lower[var], upper[var]) = (lo, hi);
            }
            max_step[var] = step_of(joint.limits.velocity);
        }
        for joint in &model.joints {
            // A fixed mimic, or one with multiplier 0, does not bound its leader.
            let movable = joint.kind.is_movable();
            let Some(m) = joint.mimic.filter(|m| movable && m.multiplier != 0.0) else {
                continue;
            };
            let Some(var) = model.dof_of_joint[m.leader] else {
                continue;
            };
            if let (Some((lo, hi)), true) =
                (joint.limits.position, joint.kind != JointKind::Continuous)
            {
                let (mut a, mut b) = (
                    (lo - m.offset) / m.multiplier,
                    (hi - m.offset) / m.multiplier,
                );
                if a > b {
                    std::mem::swap(&mut a, &mut b);
                }
                // Nudge inwards until the mimic's value, computed as FK does, is within its limits.
                let within = |x: f64| {
                    let v = m.multiplier * x + m.offset;
                    v >= lo && v <= hi
                };
                for _ in 0..64 {
                    if within(a) {
                        break;
                    }
                    a += a.abs().max(1e-12) * f64::EPSILON * 4.0;
                }
                for _ in 0..64 {
                    if within(b) {
                        break;
                    }
                    b -= b.abs().max(1e-12) * f64::EPSILON * 4.0;
                }
                lower[var] = lower[var].max(a);
                upper[var] = upper[var].min(b);
            }
            let v = step_of(joint.limits.velocity) / m.multiplier.abs();
            max_step[var] = max_step[var].min(v);
        }
        for var in 0..n {
            if driven[var] && lower[var] > upper[var] {
                return Err(Error::Mapping(format!(
                    "joint '{}': its limits and its mimics' leave no valid position",
                    model.joints[model.dofs[var]].name
                )));
            }
        }
        let rest: Vec<f64> = (0..n)
            .map(|v| 0.0f64.clamp(lower[v].min(upper[v]), upper[v].max(lower[v])))
            .collect();

        // Groups: terms that share driven vars, joined by the pinch pairs that pinch in a frame.
        // One partition of the terms per set of joined pairs, built here so a solve picks one.
        let term_vars = |t: &Term| -> Vec<usize> {
            let mut v: Vec<usize> = [t.tip, t.origin]
                .iter()
                .flat_map(|&p| chains[points[p].chain].model_vars().iter().copied())
                .filter(|&v| driven[v])
                .collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        let mut parent: Vec<usize> = (0..terms.len()).collect();
        fn find(parent: &mut [usize], mut i: usize) -> usize {
            while parent[i] != i {
                parent[i] = parent[parent[i]];
                i = parent[i];
            }
            i
        }
        let vars_of: Vec<Vec<usize>> = terms.iter().map(term_vars).collect();
        for a in 0..terms.len() {
            for b in 0..a {
                if vars_of[a].iter().any(|v| vars_of[b].contains(v)) {
                    let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
                    parent[ra] = rb;
                }
            }
        }
        let solved_pinches = if options.pinch { pinches.len() } else { 0 };
        // Beyond this many pairs every pair stays joined (2^pairs partitions otherwise).
        let switched = if solved_pinches <= MAX_SWITCHED_PINCHES {
            solved_pinches
        } else {
            0
        };
        let mut groups: Vec<Group> = Vec::new();
        let mut group_terms: Vec<Vec<usize>> = Vec::new();
        let mut partitions: Vec<Vec<usize>> = Vec::new();
        for mask in 0..1usize << switched {
            let mut parent = parent.clone();
            for (i, p) in pinches[..solved_pinches].iter().enumerate() {
                if i >= switched || mask & (1 << i) != 0 {
                    let (ra, rb) = (find(&mut parent, p.thumb), find(&mut parent, p.finger));
                    parent[ra] = rb;
                }
            }
            let mut roots: Vec<usize> = Vec::new();
            let mut members: Vec<Vec<usize>> = Vec::new();
            for t in 0..terms.len() {
                let r = find(&mut parent, t);
                match roots.iter().position(|&x| x == r) {
                    Some(g) => members[g].push(t),
                    None => {
                        roots.push(r);
                        members.push(vec![t]);
                    }
                }
            }
            let mut partition = Vec::new();
            for ts in members {
                let found = group_terms.iter().position(|x| *x == ts);
                partition.push(found.unwrap_or_else(|| {
                    let group_pinches = (0..solved_pinches)
                        .filter(|&i| {
                            ts.contains(&pinches[i].thumb) && ts.contains(&pinches[i].finger)
                        })
                        .collect();
                    groups.push(Group::new(
                        &ts,
                        group_pinches,
                        &vars_of,
                        &terms,
                        &pinches,
                        &points,
                        &chains,
                        n,
                    ));
                    group_terms.push(ts);
                    groups.len() - 1
                }));
            }
            partitions.push(partition);
        }
        let mut group_of_var = vec![None; n];
        for &g in partitions.last().expect("one partition at least") {
            for &v in &groups[g].vars {
                group_of_var[v] = Some(g);
            }
        }

        let chain_q = chains.iter().map(|c| vec![0.0; c.dof()]).collect();
        let chain_jac = chains.iter().map(|c| Matrix6xX::zeros(c.dof())).collect();
        let jac = points.iter().map(|_| vec![Vector3::zeros(); n]).collect();
        let mut me = Retargeter {
            root_from_wrist,
            scale,
            calibrate,
            chains,
            lower,
            upper,
            max_step,
            group_of_var,
            q: rest.clone(),
            q_prev: rest.clone(),
            rest,
            has_previous: false,
            engaged: vec![false; pinches.len()],
            activation: vec![0.0; pinches.len()],
            chain_q,
            chain_jac,
            pos: vec![Vector3::zeros(); points.len()],
            jac,
            target: vec![Vector3::zeros(); terms.len()],
            pinch_human: vec![Vector3::zeros(); pinches.len()],
            points,
            terms,
            pinches,
            groups,
            partitions,
            options,
        };
        me.reset();
        Ok(me)
    }

    pub fn options(&self) -> &Options {
        &self.options
    }

    /// The scale in use (fixed, calibrated, or 1.0 before a calibration).
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// Whether the mapping asks for a calibrated scale.
    pub fn needs_calibration(&self) -> bool {
        self.calibrate
    }

    /// Lower and upper bound the solver keeps each model var within (its own limits and those of
    /// every mimic of it).
    pub fn bounds(&self, var: usize) -> (f64, f64) {
        (self.lower[var], self.upper[var])
    }

    /// Whether this model var is driven by the retargeter.
    pub fn is_driven(&self, var: usize) -> bool {
        self.group_of_var[var].is_some()
    }

    /// Number of independent finger groups while every pinch pair pinches; in a frame where a
    /// pair does not (activation 0), its fingers are solved apart.
    pub fn group_count(&self) -> usize {
        self.partitions.last().map_or(0, Vec::len)
    }

    /// Buffers for [`Retargeter::solve`].
    pub fn new_solution(&self) -> Solution {
        Solution {
            q: self.q.clone(),
            fit_error_m: vec![0.0; self.terms.len()],
            pinch: vec![0.0; self.pinches.len()],
            iterations: 0,
            status: Status::Held,
        }
    }

    /// Back to the rest posture (every joint at 0 clamped to its limits); the next solve is not
    /// rate limited.
    pub fn reset(&mut self) {
        self.q.copy_from_slice(&self.rest);
        self.q_prev.copy_from_slice(&self.rest);
        self.has_previous = false;
        self.engaged.fill(false);
        self.activation.fill(0.0);
        for group in &mut self.groups {
            group.bound.fill(Bound::Free);
        }
    }

    /// Start from a known robot posture (model `q`): the next step is rate limited from it.
    /// Driven joints are clamped into their bounds.
    pub fn reset_to(&mut self, q: &[f64]) {
        self.reset();
        for (v, (&x, out)) in q.iter().zip(self.q.iter_mut()).enumerate() {
            if x.is_finite() {
                *out = x.clamp(
                    self.lower[v].min(self.upper[v]),
                    self.upper[v].max(self.lower[v]),
                );
            }
        }
        self.q_prev.copy_from_slice(&self.q);
        self.has_previous = true;
    }

    /// Sets the scale from an open, flat hand: the robot's fingertip-vector lengths at rest over
    /// the trainer's, summed over fingertips. Returns it; `None` (scale unchanged) when a needed
    /// joint is untracked.
    pub fn calibrate_scale(
        &mut self,
        joints: &[Option<Vector3<f64>>; XR_JOINTS],
        world_from_wrist: &Matrix3<f64>,
    ) -> Option<f64> {
        if !self.human_vectors(joints, world_from_wrist, 1.0) {
            return None;
        }
        let rest = self.rest.clone();
        let (mut robot, mut human) = (0.0, 0.0);
        for t in 0..self.terms.len() {
            let Term { tip, origin, .. } = self.terms[t];
            let d = self.point_position(tip, &rest) - self.point_position(origin, &rest);
            robot += d.norm();
            human += self.target[t].norm();
        }
        if human <= 1e-6 || !robot.is_finite() {
            return None;
        }
        self.scale = robot / human;
        Some(self.scale)
    }

    fn point_position(&mut self, p: usize, q: &[f64]) -> Vector3<f64> {
        let c = self.points[p].chain;
        let chain = &self.chains[c];
        for (k, &v) in chain.model_vars().iter().enumerate() {
            self.chain_q[c][k] = q[v];
        }
        let pose = chain.forward(&self.chain_q[c]);
        pose.translation.vector + pose.rotation * self.points[p].offset
    }

    /// Fills `target` with scale · trainer vectors (root frame) and `pinch_human`; false when a
    /// needed joint is missing or not finite.
    fn human_vectors(
        &mut self,
        joints: &[Option<Vector3<f64>>; XR_JOINTS],
        world_from_wrist: &Matrix3<f64>,
        scale: f64,
    ) -> bool {
        if !world_from_wrist.iter().all(|v| v.is_finite()) {
            return false;
        }
        let root_from_world = self.root_from_wrist * world_from_wrist.transpose();
        let get = |i: usize| joints[i].filter(|p| p.iter().all(|v| v.is_finite()));
        for (t, term) in self.terms.iter().enumerate() {
            let (Some(a), Some(b)) = (get(term.from), get(term.follows)) else {
                return false;
            };
            self.target[t] = root_from_world * (b - a) * scale;
        }
        for (i, p) in self.pinches.iter().enumerate() {
            let (Some(a), Some(b)) = (
                get(self.terms[p.thumb].follows),
                get(self.terms[p.finger].follows),
            ) else {
                return false;
            };
            self.pinch_human[i] = root_from_world * (a - b);
        }
        true
    }

    /// Solves from `crate::msg::HandJoints` (poses in any one frame; the wrist joint's orientation
    /// gives the wrist frame).
    pub fn solve_hand_joints(
        &mut self,
        joints: &[Option<Isometry3<f64>>; XR_JOINTS],
        out: &mut Solution,
    ) {
        let positions = joints.map(|j| j.map(|p| p.translation.vector));
        let wrist = joints[XR_WRIST]
            .map(|p| *p.rotation.to_rotation_matrix().matrix())
            .unwrap_or(Matrix3::from_element(f64::NAN));
        self.solve(&positions, &wrist, out);
    }

    /// One frame: the 26 OpenXR joint positions in any one frame (`None`: untracked) and the
    /// OpenXR wrist joint's orientation in that frame (columns = its axes). Writes into `out`;
    /// holds the last posture when a needed joint is missing. Allocates nothing.
    pub fn solve(
        &mut self,
        joints: &[Option<Vector3<f64>>; XR_JOINTS],
        world_from_wrist: &Matrix3<f64>,
        out: &mut Solution,
    ) {
        out.iterations = 0;
        if !self.human_vectors(joints, world_from_wrist, self.scale) {
            out.status = Status::Held;
            self.write_out(out);
            return;
        }
        // Pinch activation: continuous in the distance, latched between the two bands.
        let o = &self.options;
        for i in 0..self.pinches.len() {
            let d = self.pinch_human[i].norm();
            let a = if self.engaged[i] {
                ((o.pinch_open_m - d) / (o.pinch_open_m - o.pinch_release_m)).clamp(0.0, 1.0)
            } else {
                ((o.pinch_engage_m - d) / (o.pinch_engage_m - o.pinch_full_m)).clamp(0.0, 1.0)
            };
            if a >= 1.0 {
                self.engaged[i] = true;
            } else if a <= 0.0 {
                self.engaged[i] = false;
            }
            self.activation[i] = if o.pinch { a } else { 0.0 };
        }
        self.q_prev.copy_from_slice(&self.q);
        // A pair that does not pinch (activation 0) leaves its fingers apart: smaller problems
        // with fewer iterations each than one joined problem.
        let switched = self.partitions.len().trailing_zeros() as usize;
        let mut joined = 0;
        for i in (0..switched).filter(|&i| self.activation[i] > 0.0) {
            joined |= 1 << i;
        }
        for j in 0..self.partitions[joined].len() {
            out.iterations += self.solve_group(self.partitions[joined][j]);
        }
        // Solved apart, a pair has no floor term: where its tips came under the floor, solve its
        // fingers again together (from this fit). Each round joins a pair, so at most `switched`.
        loop {
            let mut more = joined;
            for i in (0..switched).filter(|&i| joined & (1 << i) == 0 && self.below_floor(i)) {
                more |= 1 << i;
            }
            if more == joined {
                break;
            }
            for j in 0..self.partitions[more].len() {
                let g = self.partitions[more][j];
                if !self.partitions[joined].contains(&g) {
                    out.iterations += self.solve_group(g);
                }
            }
            joined = more;
        }
        self.has_previous = true;
        out.status = Status::Solved;
        self.write_out(out);
    }

    /// Whether pair `i`'s robot tips are closer than its floor at activation 0, at `q`.
    fn below_floor(&mut self, i: usize) -> bool {
        let p = self.pinches[i];
        let (ta, tb) = (self.terms[p.thumb].tip, self.terms[p.finger].tip);
        let q = std::mem::take(&mut self.q);
        let gap = (self.point_position(ta, &q) - self.point_position(tb, &q)).norm();
        self.q = q;
        gap < self.options.pinch_min_gap_m
    }

    fn write_out(&mut self, out: &mut Solution) {
        out.q.copy_from_slice(&self.q);
        out.pinch.copy_from_slice(&self.activation);
        let q = std::mem::take(&mut self.q);
        for t in 0..self.terms.len() {
            let Term { tip, origin, .. } = self.terms[t];
            let r = self.point_position(tip, &q) - self.point_position(origin, &q) - self.target[t];
            out.fit_error_m[t] = r.norm();
        }
        self.q = q;
    }

    /// Positions and Jacobians of the group's points at `q`.
    fn evaluate_points(&mut self, g: usize, q: &[f64]) {
        let group = &self.groups[g];
        for &p in &group.points {
            let point = &self.points[p];
            let c = point.chain;
            let chain = &self.chains[c];
            for (k, &v) in chain.model_vars().iter().enumerate() {
                self.chain_q[c][k] = q[v];
            }
            let jac = &mut self.chain_jac[c];
            let pose = chain.forward_with_jacobian(&self.chain_q[c], jac);
            let arm = pose.rotation * point.offset;
            self.pos[p] = pose.translation.vector + arm;
            let out = &mut self.jac[p];
            for &v in &group.vars {
                out[v] = Vector3::zeros();
            }
            for (k, &v) in chain.model_vars().iter().enumerate() {
                let col = jac.column(k);
                let lin = Vector3::new(col[0], col[1], col[2]);
                let ang = Vector3::new(col[3], col[4], col[5]);
                out[v] = lin + ang.cross(&arm);
            }
        }
    }

    /// Cost at `q` and its Gauss–Newton model (`h`, `g` over the group's vars) into the trial
    /// buffers.
    fn cost_and_model(&mut self, g: usize, q: &[f64]) -> f64 {
        self.evaluate_points(g, q);
        let delta = self.options.huber_delta_m;
        let lambda = if self.has_previous {
            self.options.smoothness
        } else {
            0.0
        };
        let group = &mut self.groups[g];
        let k = group.vars.len();
        group.h_trial.fill(0.0);
        group.g_trial.fill(0.0);
        let mut cost = 0.0;
        for ti in 0..group.terms.len() {
            let t = group.terms[ti];
            let term = &self.terms[t];
            let r = self.pos[term.tip] - self.pos[term.origin] - self.target[t];
            let e = r.norm();
            let w = if e <= delta {
                cost += 0.5 * e * e;
                1.0
            } else {
                cost += delta * (e - 0.5 * delta);
                delta / e
            };
            let cols = &group.term_cols[ti];
            let (ja, jb) = (&self.jac[term.tip], &self.jac[term.origin]);
            set_columns(&mut group.columns, &group.vars, cols, ja, jb);
            let c = &group.columns;
            accumulate_columns(&mut group.h_trial, &mut group.g_trial, c, k, cols, &r, w);
        }
        for pi in 0..group.pinches.len() {
            let i = group.pinches[pi];
            let a = self.activation[i];
            let p = self.pinches[i];
            let (ta, tb) = (self.terms[p.thumb].tip, self.terms[p.finger].tip);
            let r = self.pos[ta] - self.pos[tb] - self.pinch_human[i] * ((1.0 - a) * self.scale);
            let w = self.options.pinch_weight * a;
            if a > 0.0 {
                cost += 0.5 * w * r.norm_squared();
                let cols = &group.pinch_cols[pi];
                let (ja, jb) = (&self.jac[ta], &self.jac[tb]);
                set_columns(&mut group.columns, &group.vars, cols, ja, jb);
                let c = &group.columns;
                accumulate_columns(&mut group.h_trial, &mut group.g_trial, c, k, cols, &r, w);
            }
            // The floor: a one-sided (hinge) term on the gap's length.
            let gap = self.pos[ta] - self.pos[tb];
            let (len, floor) = (gap.norm(), self.options.pinch_min_gap_m * (1.0 - a));
            if len < floor && len > 1e-9 {
                let w = self.options.pinch_weight * (1.0 - a);
                let rho = len - floor;
                cost += 0.5 * w * rho * rho;
                let u = gap / len;
                let cols = &group.pinch_cols[pi];
                let r = u * rho;
                let (ja, jb) = (&self.jac[ta], &self.jac[tb]);
                let c = &mut group.columns;
                for &l in cols {
                    let v = group.vars[l];
                    c[l] = u * u.dot(&(ja[v] - jb[v]));
                }
                accumulate_columns(&mut group.h_trial, &mut group.g_trial, c, k, cols, &r, w);
            }
        }
        for (i, &v) in group.vars.iter().enumerate() {
            let d = q[v] - self.q_prev[v];
            cost += 0.5 * lambda * d * d;
            group.g_trial[i] += lambda * d;
            group.h_trial[i * k + i] += lambda;
            for j in 0..i {
                group.h_trial[j * k + i] = group.h_trial[i * k + j];
            }
        }
        cost
    }

    /// Damped Gauss–Newton with box constraints on one group; returns its iterations.
    fn solve_group(&mut self, g: usize) -> usize {
        let group = &mut self.groups[g];
        for (i, &v) in group.vars.iter().enumerate() {
            let (mut lo, mut hi) = (self.lower[v], self.upper[v]);
            if self.has_previous {
                let s = self.max_step[v];
                lo = lo.max(self.q_prev[v] - s);
                hi = hi.min(self.q_prev[v] + s);
            }
            group.lo[i] = lo;
            group.hi[i] = hi.max(lo);
            self.q[v] = self.q[v].clamp(group.lo[i], group.hi[i]);
        }
        let mut q = std::mem::take(&mut self.q);
        let mut cost = self.cost_and_model(g, &q);
        let group = &mut self.groups[g];
        std::mem::swap(&mut group.h, &mut group.h_trial);
        std::mem::swap(&mut group.g, &mut group.g_trial);
        let mut mu = 1e-4;
        let mut iterations = 0;
        for _ in 0..self.options.max_iterations {
            iterations += 1;
            let group = &mut self.groups[g];
            box_step(group, &q, mu);
            let mut trial = std::mem::take(&mut group.q_trial);
            trial.copy_from_slice(&q);
            let mut moved = 0.0f64;
            for (i, &v) in group.vars.iter().enumerate() {
                trial[v] = (q[v] + group.delta[i]).clamp(group.lo[i], group.hi[i]);
                moved = moved.max((trial[v] - q[v]).abs());
            }
            let trial_cost = self.cost_and_model(g, &trial);
            let group = &mut self.groups[g];
            if trial_cost <= cost {
                std::mem::swap(&mut q, &mut trial);
                std::mem::swap(&mut group.h, &mut group.h_trial);
                std::mem::swap(&mut group.g, &mut group.g_trial);
                group.q_trial = trial;
                let decrease = cost - trial_cost;
                cost = trial_cost;
                mu = (mu * 0.3).max(1e-9);
                if moved < self.options.step_tolerance
                    || decrease <= self.options.cost_tolerance * cost + 1e-18
                {
                    break;
                }
            } else {
                group.q_trial = trial;
                mu *= 10.0;
                // A step this small that does not decrease the cost is rounding: converged.
                if mu > 1e4 || moved < 10.0 * self.options.step_tolerance {
                    break;
                }
            }
        }
        self.q = q;
        iterations
    }
}

/// Sets `columns[l] = ja[v] − jb[v]` (`v = vars[l]`) for each group-local var `l` in `cols`: the
/// Jacobian column of a residual between two points.
fn set_columns(
    columns: &mut [Vector3<f64>],
    vars: &[usize],
    cols: &[usize],
    ja: &[Vector3<f64>],
    jb: &[Vector3<f64>],
) {
    for &l in cols {
        columns[l] = ja[vars[l]] - jb[vars[l]];
    }
}

/// Adds `w · cᵢ·r` to the gradient and `w · cᵢ·cⱼ` to the (lower triangle of the) Gauss–Newton
/// matrix, where `cᵢ = columns[i]` (indexed by group-local var) is the residual's Jacobian column
/// of each var `i` in `cols`.
fn accumulate_columns(
    h: &mut [f64],
    g: &mut [f64],
    columns: &[Vector3<f64>],
    k: usize,
    cols: &[usize],
    r: &Vector3<f64>,
    w: f64,
) {
    for (a, &i) in cols.iter().enumerate() {
        let ci = columns[i];
        g[i] += w * ci.dot(r);
        for &j in &cols[..=a] {
            // cols is sorted, so j ≤ i: the lower triangle.
            h[i * k + j] += w * ci.dot(&columns[j]);
        }
    }
}

/// The damped Gauss–Newton step within the box `lo − q ≤ δ ≤ hi − q`: an active-set loop that
/// fixes violated bounds and frees those whose gradient points inside, at most 2·k solves. It
/// starts from the bounds the group's last step held (usually the same set), which saves most
/// of the solves.
fn box_step(group: &mut Group, q: &[f64], mu: f64) {
    let k = group.vars.len();
    let damping = |d: f64| mu * (d + 1e-6) + 1e-12;
    for i in 0..k {
        let v = group.vars[i];
        group.delta[i] = match group.bound[i] {
            Bound::Free => 0.0,
            Bound::Lower => group.lo[i] - q[v],
            Bound::Upper => group.hi[i] - q[v],
        };
    }
    for _ in 0..2 * k + 1 {
        // Reduced system over the free vars, held ones moved to the right-hand side.
        let mut nf = 0;
        for i in 0..k {
            if group.bound[i] == Bound::Free {
                group.free_idx[nf] = i;
                nf += 1;
            }
        }
        for a in 0..nf {
            let i = group.free_idx[a];
            let mut rhs = -group.g[i];
            for j in 0..k {
                if group.bound[j] != Bound::Free {
                    rhs -= group.h[i * k + j] * group.delta[j];
                }
            }
            group.b[a] = rhs;
            for c in 0..nf {
                let j = group.free_idx[c];
                group.m[a * nf + c] = group.h[i * k + j];
            }
            let d = group.h[i * k + i];
            group.m[a * nf + a] = d + damping(d);
        }
        if !cholesky_solve(&mut group.m[..nf * nf], &mut group.b[..nf], nf) {
            for a in 0..nf {
                group.delta[group.free_idx[a]] = 0.0;
            }
            return;
        }
        let mut violated = false;
        for a in 0..nf {
            let i = group.free_idx[a];
            let v = group.vars[i];
            let (lo, hi) = (group.lo[i] - q[v], group.hi[i] - q[v]);
            let d = group.b[a];
            if d < lo {
                group.delta[i] = lo;
                group.bound[i] = Bound::Lower;
                violated = true;
            } else if d > hi {
                group.delta[i] = hi;
                group.bound[i] = Bound::Upper;
                violated = true;
            } else {
                group.delta[i] = d;
            }
        }
        if violated {
            continue;
        }
        // Free the held var whose multiplier has the wrong sign the most.
        let mut release = None;
        let mut worst = 0.0;
        for i in 0..k {
            if group.bound[i] == Bound::Free {
                continue;
            }
            // The damped model's multiplier (the system solved above): with the undamped one the
            // loop could stop at a non-optimal set, which one depending on where it started.
            let mut grad = group.g[i] + damping(group.h[i * k + i]) * group.delta[i];
            for j in 0..k {
                grad += group.h[i * k + j] * group.delta[j];
            }
            let v = group.vars[i];
            let at_lower = group.delta[i] <= group.lo[i] - q[v];
            // At the lower bound the model wants to go up when grad < 0 (and vice versa).
            let wrong = if at_lower { -grad } else { grad };
            if wrong > worst {
                worst = wrong;
                release = Some(i);
            }
        }
        match release {
            Some(i) => group.bound[i] = Bound::Free,
            None => return,
        }
    }
}

/// Solves `m x = b` in place (`b` becomes x) for a symmetric positive-definite `m` (row-major,
/// n×n); false when not positive definite.
fn cholesky_solve(m: &mut [f64], b: &mut [f64], n: usize) -> bool {
    for j in 0..n {
        let mut d = m[j * n + j];
        for p in 0..j {
            d -= m[j * n + p] * m[j * n + p];
        }
        if d.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
            return false;
        }
        let d = d.sqrt();
        m[j * n + j] = d;
        for i in j + 1..n {
            let mut s = m[i * n + j];
            for p in 0..j {
                s -= m[i * n + p] * m[j * n + p];
            }
            m[i * n + j] = s / d;
        }
    }
    for i in 0..n {
        let mut s = b[i];
        for p in 0..i {
            s -= m[i * n + p] * b[p];
        }
        b[i] = s / m[i * n + i];
    }
    for i in (0..n).rev() {
        let mut s = b[i];
        for p in i + 1..n {
            s -= m[p * n + i] * b[p];
        }
        b[i] = s / m[i * n + i];
    }
    true
}
