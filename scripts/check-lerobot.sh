#!/usr/bin/env bash
# Checks `teleop export --lerobot` against LeRobot itself (not part of `cargo test`: it needs
# torch; .ci/run runs it where LEROBOT_PYTHON is set). Needs a Python with LeRobot, which
#   scripts/check-lerobot.sh --setup ~/lerobot-venv
# builds (Python 3.12: `python3.12` on the PATH, or pyenv's; ~4.5 GB), the same as
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
    sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}
[ $# -ge 1 ] || usage
if [ "$1" = "--setup" ]; then
    [ $# -eq 2 ] || usage
    # A pyenv shim for python3.12 exists even where 3.12 is not the selected version, and then
    # fails: try each candidate rather than trusting the PATH.
    py312=""
    for candidate in "$(command -v python3.12 || true)" \
        "$(pyenv root 2>/dev/null)/versions/$(pyenv versions --bare 2>/dev/null | grep -E '^3\.12' | tail -1)/bin/python"; do
        if [ -n "$candidate" ] && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null; then
            py312="$candidate"
            break
        fi
    done
    [ -n "$py312" ] || { echo "no Python 3.12 found (python3.12 or pyenv)" >&2; exit 2; }
    "$py312" -m venv "$2"
    "$2/bin/pip" install --quiet 'lerobot[dataset,training]==0.6.1' lerobot-doctor lerobot-lint
    echo "ready: LEROBOT_PYTHON=$2/bin/python $0 --teleop target/release/teleop"
    exit 0
fi
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
