"""Checks a `teleop export --lerobot` dataset against LeRobot itself (a developer check).

Run by scripts/check-lerobot.sh with a Python that has LeRobot installed
(`lerobot[dataset,training]`, `lerobot-doctor`, `lerobot-lint`). Every check prints one
PASS/FAIL line with its figures; the exit status is 1 when any check fails. Offline: the
Hugging Face hub is never contacted (HF_HUB_OFFLINE=1, HF_DATASETS_OFFLINE=1).

Usage: python check_lerobot.py DATASET WORKDIR
  DATASET  the exported LeRobotDataset v3.0 folder (read only: the append check works on a copy)
  WORKDIR  an empty scratch folder (the copy, the training run's output)
"""

import json
import math
import os
import re
import shutil
import subprocess
import sys
import traceback
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

import lerobot  # noqa: E402
from lerobot.datasets.lerobot_dataset import LeRobotDataset  # noqa: E402

REPO_ID = "local/teleop-export"
INDEX_KEYS = ("timestamp", "frame_index", "episode_index", "index", "task_index")
RESULTS = []


def report(name, ok, figures):
    RESULTS.append(ok)
    print(f"{'PASS' if ok else 'FAIL'}  {name}: {figures}", flush=True)


def verdict(problems, figures):
    """A check's result: the problems found, else the figures it measured."""
    return not problems, "; ".join(problems) if problems else figures


def check(name):
    """Runs the decorated function as one check: it returns (ok, figures) or raises (FAIL)."""

    def run(fn):
        try:
            ok, figures = fn()
        except Exception as err:  # noqa: BLE001 - any failure is the check's result
            traceback.print_exc(file=sys.stderr)
            ok, figures = False, f"{type(err).__name__}: {err}"
        report(name, ok, figures)
        return fn

    return run


def main():
    root = Path(sys.argv[1]).resolve()
    work = Path(sys.argv[2]).resolve()
    work.mkdir(parents=True, exist_ok=True)
    print(f"LeRobot {lerobot.__version__}, torch {torch.__version__}, Python {sys.version.split()[0]}")
    print(f"dataset: {root}")
    info = json.loads((root / "meta" / "info.json").read_text())
    bindir = Path(sys.executable).parent

    # 1. LeRobotDataset loads the export: counts, features, episode boundaries.
    @check("LeRobotDataset loads the export")
    def _():
        ds = LeRobotDataset(REPO_ID, root=root)
        problems = []
        if ds.num_frames != info["total_frames"] or len(ds) != info["total_frames"]:
            problems.append(f"{ds.num_frames} frames, info.json says {info['total_frames']}")
        if ds.num_episodes != info["total_episodes"]:
            problems.append(f"{ds.num_episodes} episodes, info.json says {info['total_episodes']}")
        if set(ds.features) != set(info["features"]):
            problems.append(f"features {sorted(ds.features)} != info.json's")
        start = 0
        for e in range(ds.num_episodes):
            ep = ds.meta.episodes[e]
            lo, hi = ep["dataset_from_index"], ep["dataset_to_index"]
            if lo != start or hi - lo != ep["length"]:
                problems.append(f"episode {e}: rows {lo}..{hi}, length {ep['length']}, expected from {start}")
            first, last = ds[lo], ds[hi - 1]
            for item, frame in ((first, 0), (last, hi - lo - 1)):
                if int(item["episode_index"]) != e or int(item["frame_index"]) != frame:
                    problems.append(
                        f"row {int(item['index'])}: episode {int(item['episode_index'])} "
                        f"frame {int(item['frame_index'])}, expected episode {e} frame {frame}"
                    )
                if abs(float(item["timestamp"]) - frame / ds.fps) > 1e-4:
                    problems.append(f"episode {e} frame {frame}: timestamp {float(item['timestamp'])}")
                for key in ds.meta.camera_keys:
                    shape = tuple(ds.features[key]["shape"])
                    want = (shape[2], shape[0], shape[1])
                    if tuple(item[key].shape) != want:
                        problems.append(f"{key}: {tuple(item[key].shape)}, expected {want}")
            start = hi
        if start != ds.num_frames:
            problems.append(f"episodes cover {start} rows of {ds.num_frames}")
        lengths = [ds.meta.episodes[e]["length"] for e in range(ds.num_episodes)]
        figures = (
            f"{ds.num_frames} frames, {ds.num_episodes} episodes (lengths {lengths}), {ds.fps} fps, "
            f"{len(ds.features)} features ({', '.join(sorted(ds.features))}), "
            f"cameras {ds.meta.camera_keys}; first and last frame of every episode read back"
        )
        return verdict(problems, figures)

    # 2. lerobot-train ACT, 20 steps.
    @check("lerobot-train ACT 20 steps")
    def _():
        out = work / "train"
        args = [
            str(bindir / "lerobot-train"),
            f"--dataset.repo_id={REPO_ID}",
            f"--dataset.root={root}",
            "--policy.type=act",
            "--policy.device=cpu",
            # Offline: ACT's default backbone is torchvision's ImageNet ResNet-18, downloaded at
            # run time. No pretrained weights: the backbone starts from random weights.
            "--policy.pretrained_backbone_weights=null",
            "--policy.push_to_hub=false",
            "--wandb.enable=false",
            "--steps=20",
            "--batch_size=2",
            "--num_workers=0",
            "--log_freq=1",
            "--save_checkpoint=false",
            f"--output_dir={out}",
        ]
        print("  running: " + " ".join(args[1:]), flush=True)
        run = subprocess.run(args, capture_output=True, text=True)
        log = run.stdout + run.stderr
        (work / "train.log").write_text(log)
        losses = [(int(s), float(v)) for s, v in re.findall(r"step:(\d+)\b.*?\bloss:([0-9.eE+-]+)", log)]
        if run.returncode != 0:
            tail = " | ".join(log.strip().splitlines()[-3:])
            return False, f"exit status {run.returncode}: {tail}"
        if not losses or losses[-1][0] != 20:
            return False, f"no loss logged at step 20 (logged: {losses[-3:]})"
        finite = all(math.isfinite(v) for _, v in losses)
        return finite, (
            f"20 steps, batch 2, cpu, backbone without pretrained weights (offline); "
            f"loss step 1 {losses[0][1]:.3f} -> step 20 {losses[-1][1]:.3f}"
        )

    # 3. LeRobot appends an episode (resume + save_episode), and the dataset reloads.
    @check("LeRobot appends an episode (resume + save_episode) and reloads")
    def _():
        copy = work / "appended"
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(root, copy)
        before = LeRobotDataset(REPO_ID, root=copy)
        n0, e0 = before.num_frames, before.num_episodes
        count = min(15, n0)
        source = [before[i] for i in range(count)]
        features = before.meta.features
        ds = LeRobotDataset.resume(REPO_ID, root=copy)
        for item in source:
            frame = {"task": item["task"]}
            for key, feature in features.items():
                if key in INDEX_KEYS:
                    continue
                value = item[key]
                if feature["dtype"] in ("video", "image"):
                    value = (value.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
                else:
                    value = value.numpy()
                frame[key] = value
            ds.add_frame(frame)
        ds.save_episode()
        ds.finalize()
        after = LeRobotDataset(REPO_ID, root=copy)
        problems = []
        if (after.num_frames, after.num_episodes) != (n0 + count, e0 + 1):
            problems.append(
                f"{after.num_frames} frames, {after.num_episodes} episodes after the append; "
                f"expected {n0 + count}, {e0 + 1}"
            )
        last = after[after.num_frames - 1]
        if int(last["episode_index"]) != e0 or int(last["frame_index"]) != count - 1:
            problems.append(f"last row: episode {int(last['episode_index'])} frame {int(last['frame_index'])}")
        old = after[n0 - 1]
        if int(old["episode_index"]) != e0 - 1:
            problems.append(f"row {n0 - 1} now in episode {int(old['episode_index'])}")
        for key in after.meta.camera_keys:
            diff = (last[key] - source[-1][key]).abs().mean().item() * 255
            if diff > 8:
                problems.append(f"{key}: appended frame differs by {diff:.1f}/255 on average")
        figures = (
            f"{n0} frames, {e0} episodes -> {after.num_frames} frames, {after.num_episodes} episodes "
            f"({count} frames appended by LeRobot's writer, reloaded, last frame decoded)"
        )
        return verdict(problems, figures)

    # 4. pi0.5-style QUANTILES normalisation finds q01/q99.
    @check("QUANTILES normalisation (pi0.5) finds q01/q99")
    def _():
        from lerobot.configs.types import FeatureType, NormalizationMode
        from lerobot.processor.converters import batch_to_transition
        from lerobot.processor.normalize_processor import NormalizerProcessorStep
        from lerobot.utils.feature_utils import dataset_to_policy_features

        ds = LeRobotDataset(REPO_ID, root=root)
        features = dataset_to_policy_features(ds.meta.features)
        # pi0.5's normalisation_mapping: images identity, state and action QUANTILES.
        norm_map = {
            FeatureType.VISUAL: NormalizationMode.IDENTITY,
            FeatureType.STATE: NormalizationMode.QUANTILES,
            FeatureType.ACTION: NormalizationMode.QUANTILES,
        }
        step = NormalizerProcessorStep.from_lerobot_dataset(ds, features, norm_map)
        rows = [ds[i] for i in range(0, ds.num_frames, max(1, ds.num_frames // 32))]
        batch = {k: torch.stack([r[k] for r in rows]) for k in ("observation.state", "action")}
        out = step(batch_to_transition(batch))
        problems, spans = [], []
        for key in ("observation.state", "action"):
            stats = ds.meta.stats[key]
            if "q01" not in stats or "q99" not in stats:
                problems.append(f"{key}: no q01/q99 in meta/stats.json")
                continue
            q01, q99 = np.asarray(stats["q01"]), np.asarray(stats["q99"])
            if q01.shape != tuple(ds.features[key]["shape"]) or np.any(q01 > q99):
                problems.append(f"{key}: q01 {q01.shape} / q99 not ordered")
        for label, value in (("observation.state", out["observation"]["observation.state"]),
                             ("action", out["action"])):
            value = torch.as_tensor(value)
            if not torch.isfinite(value).all():
                problems.append(f"{label}: non-finite after normalisation")
            spans.append(f"{label} in [{value.min().item():.2f}, {value.max().item():.2f}]")
        figures = (
            f"q01/q99 for observation.state and action (shape {list(ds.features['action']['shape'])}); "
            f"{len(rows)} frames normalised: " + ", ".join(spans)
        )
        return verdict(problems, figures)

    # 5. StreamingLeRobotDataset returns decoded images.
    @check("StreamingLeRobotDataset returns decoded images")
    def _():
        from lerobot.datasets.streaming_dataset import StreamingLeRobotDataset

        ds = StreamingLeRobotDataset(REPO_ID, root=root)
        cams = ds.meta.camera_keys
        if not cams:
            return False, "the dataset has no camera feature"
        items, problems = 0, []
        for item in ds:
            for key in cams:
                img = item[key]
                shape = tuple(ds.meta.features[key]["shape"])
                if not torch.is_tensor(img) or tuple(img.shape) != (shape[2], shape[0], shape[1]):
                    problems.append(f"{key}: {getattr(img, 'shape', type(img))}")
                elif not (0.0 <= img.min().item() and img.max().item() <= 1.0 and img.std().item() > 0):
                    problems.append(f"{key}: values not an image in [0, 1]")
            items += 1
            if items == 8:
                break
        figures = f"{items} frames streamed, {cams} each a {tuple(img.shape)} float tensor in [0, 1]"
        return items == 8 and not problems, "; ".join(problems) if problems else figures

    # 6. The videos decode through LeRobot's own decoder.
    @check("videos decode through LeRobot's decoder")
    def _():
        from lerobot.datasets.video_utils import decode_video_frames, get_safe_default_video_backend

        ds = LeRobotDataset(REPO_ID, root=root)
        if not ds.meta.video_keys:
            return False, "the dataset has no video feature"
        backends = ["pyav"]
        default = get_safe_default_video_backend()
        if default not in backends:
            backends.insert(0, default)
        decoded, problems = 0, []
        for backend in backends:
            for e in range(ds.num_episodes):
                ep = ds.meta.episodes[e]
                for key in ds.meta.video_keys:
                    path = root / ds.meta.get_video_file_path(e, key)
                    t0 = ep[f"videos/{key}/from_timestamp"]
                    ts = [t0 + k / ds.fps for k in (0, ep["length"] // 2, ep["length"] - 1)]
                    frames = decode_video_frames(path, ts, ds.tolerance_s, backend)
                    h, w, c = ds.features[key]["shape"]
                    if tuple(frames.shape) != (3, c, h, w):
                        problems.append(f"{backend} {key} episode {e}: {tuple(frames.shape)}")
                    decoded += frames.shape[0]
        figures = (
            f"{decoded} frames (first, middle, last of every episode, every camera) decoded by "
            f"{' and '.join(backends)}, {ds.features[ds.meta.video_keys[0]]['info'].get('video.codec')}"
        )
        return verdict(problems, figures)

    # 7. lerobot-doctor
    @check("lerobot-doctor check")
    def _():
        run = subprocess.run(
            [str(bindir / "lerobot-doctor"), "check", str(root), "--json"],
            capture_output=True, text=True,
        )
        (work / "doctor.json").write_text(run.stdout)
        report_ = json.loads(run.stdout[run.stdout.index("{"):])
        results = report_["checks"]
        by = {}
        for r in results:
            by.setdefault(str(r["severity"]).upper(), []).append(r["name"])
        figures = ", ".join(f"{len(v)} {k} ({'; '.join(v)})" for k, v in sorted(by.items()))
        figures = f"{report_['total_episodes']} episodes, {report_['total_frames']} frames; {figures}"
        bad = [k for k in by if k not in ("PASS", "WARN", "INFO", "SKIP")]
        return bool(results) and not bad, figures

    # 8. lerobot-lint (lelint). Its timing and video rules judge the format; its kinematic,
    # consistency and hygiene rules judge what was demonstrated (a joint that never moves, two
    # episodes alike), which is the data's business, not the export's: listed, not failed on.
    @check("lerobot-lint (lelint check) reports no format finding")
    def _():
        import importlib
        import inspect

        format_rules = set()
        for module in ("lerobot_lint.checks.timing", "lerobot_lint.checks.video"):
            for _, cls in inspect.getmembers(importlib.import_module(module), inspect.isclass):
                if isinstance(getattr(cls, "id", None), str):
                    format_rules.add(cls.id)
        path = work / "lint.json"
        run = subprocess.run(
            [str(bindir / "lelint"), "check", str(root), "--json", str(path)],
            capture_output=True, text=True,
        )
        (work / "lint.txt").write_text(run.stdout + run.stderr)
        data = json.loads(path.read_text())
        joints = info["features"]["observation.state"].get("names") or []
        found = {"format": [], "data": []}
        for f in data["findings"]:
            if f["severity"] not in ("error", "warning"):
                continue
            where = [f"episode {f['episode']}"] if f.get("episode") is not None else []
            joint = f.get("joint")
            if joint is not None:
                name = joints[int(joint)] if str(joint).isdigit() and int(joint) < len(joints) else ""
                where.append(f"joint {joint} {name}".strip())
            kind = "format" if f["check"] in format_rules else "data"
            found[kind].append(f"{f['severity']} {f['check']} ({', '.join(where) or 'dataset'})")
        figures = (
            f"exit status {run.returncode}; format rules ({', '.join(sorted(format_rules))}): "
            + ("; ".join(found["format"]) or "no finding")
            + "; data findings (what was demonstrated, not the format): "
            + ("; ".join(found["data"]) or "none")
        )
        return not found["format"], figures

    failed = RESULTS.count(False)
    print(f"{len(RESULTS) - failed} of {len(RESULTS)} checks passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
