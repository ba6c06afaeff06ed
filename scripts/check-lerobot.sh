#!/usr/bin/env bash
# Checks `teleop export --lerobot` against LeRobot itself (a developer check, not part of
# `cargo test` or CI: it needs torch). Needs a Python with LeRobot:
#   python3.12 -m venv ~/lerobot-venv
#   ~/lerobot-venv/bin/pip install 'lerobot[dataset,training]==0.6.1' lerobot-doctor lerobot-lint
#
# Usage:
#   LEROBOT_PYTHON=~/lerobot-venv/bin/python scripts/check-lerobot.sh DATASET
#       check an exported dataset folder (left as it is: the append check works on a copy)
#   LEROBOT_PYTHON=~/lerobot-venv/bin/python scripts/check-lerobot.sh --teleop target/release/teleop
#       record two demo episodes (seeds 4 and 6, 320x240 camera), export them, check the export
#
# Environment: LEROBOT_PYTHON (default python3), WORKDIR (scratch folder; default a new
# temporary one), CAMERA_SIZE (default 320x240). Offline: HF_HUB_OFFLINE=1, HF_DATASETS_OFFLINE=1.
# Prints one PASS/FAIL line per check; exits 1 when any check fails.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${LEROBOT_PYTHON:-python3}"
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1

usage() {
    sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}
[ $# -ge 1 ] || usage
"$python" -c 'import lerobot' 2>/dev/null || {
    echo "$python cannot import lerobot: set LEROBOT_PYTHON to a Python with LeRobot installed" >&2
    exit 2
}

work="${WORKDIR:-$(mktemp -d -t check-lerobot.XXXXXX)}"
mkdir -p "$work"
echo "scratch: $work"

if [ "$1" = "--teleop" ]; then
    [ $# -eq 2 ] || usage
    teleop="$2"
    episodes="$work/episodes"
    dataset="$work/dataset"
    rm -rf "$episodes" "$dataset"
    for seed in 4 6; do
        "$teleop" demo --record "$episodes" --seed "$seed" --camera-size "${CAMERA_SIZE:-320x240}" \
            | grep -E '^(task|recorded|view):' || true
    done
    "$teleop" export --lerobot "$dataset" "$episodes"/episode-*
else
    [ $# -eq 1 ] || usage
    dataset="$1"
fi

[ -f "$dataset/meta/info.json" ] || { echo "no meta/info.json in $dataset" >&2; exit 2; }
exec "$python" "$here/check_lerobot.py" "$dataset" "$work/check"
