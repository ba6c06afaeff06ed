#!/usr/bin/env bash
# The OpenXR test runtime: Monado 25 (Debian 13 "trixie") in a chroot on a Debian 12 host.
#
# Debian 12 has no OpenXR runtime and trixie's Monado needs glibc >= 2.38, so the runtime and
# every OpenXR client (our test binary, `teleop --input xr`) run inside a trixie chroot; a binary
# built on the host runs there unchanged. Needs root.
#
#   scripts/xr-runtime.sh setup                 build the chroot once (cached; ~3-5 min cold)
#   scripts/xr-runtime.sh start [remote|simulated]
#                                               start monado-service headless (null compositor);
#                                               remote: poses from TCP 127.0.0.1:4242 (default)
#   scripts/xr-runtime.sh stop                  SIGTERM by PID, SIGKILL after 10 s
#   scripts/xr-runtime.sh status                ready / running, with the PID
#   scripts/xr-runtime.sh exec BIN [ARGS...]    run a host-built binary inside the chroot (usable
#                                               as a cargo runner); the checkout is bind-mounted
#                                               at its own path so compiled-in paths still work
#   scripts/xr-runtime.sh hello                 hello_xr -g Vulkan2 against a running service
#
# Where: $TELEOP_XR_ROOT, default /var/cache/teleop-xr/trixie (outside any checkout, so fresh
# clones and `cargo clean` keep it). Inside: the service's socket, log and PID file in /run/xr
# (PID file: /run/xr/monado.pid, the same path seen from the client inside the chroot).
set -euo pipefail

ROOT="${TELEOP_XR_ROOT:-/var/cache/teleop-xr/trixie}"
PACKAGES="monado-service libopenxr1-monado libopenxr-loader1 mesa-vulkan-drivers libopenxr-utils"
STAMP="$ROOT/.teleop-xr-ready"
RUN_DIR="$ROOT/run/xr"
PID_FILE="$RUN_DIR/monado.pid"
LOG_FILE="$RUN_DIR/monado.log"
SOCKET="$RUN_DIR/monado_comp_ipc"
CHROOT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
PROJECT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

die() {
    echo "xr-runtime: $*" >&2
    exit 1
}

need_root() {
    [ "$(id -u)" = 0 ] || die "must run as root (chroot, debootstrap)"
}

ready() {
    [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$PACKAGES" ]
}

# The Debian mirror the host's own apt sources name (deb822 first, then one-line format).
host_mirror() {
    local uri=""
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
        uri=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' \
            /etc/apt/sources.list.d/debian.sources)
    fi
    if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
        uri=$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' \
            /etc/apt/sources.list)
    fi
    [ -n "$uri" ] || die "no Debian mirror found in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list"
    echo "$uri"
}

cmd_setup() {
    if ready; then
        echo "xr-runtime: ready at $ROOT"
        return
    fi
    need_root
    mkdir -p "$(dirname "$ROOT")"
    # One setup at a time (parallel CI steps, two shells).
    exec 9>"$(dirname "$ROOT")/.setup.lock"
    flock 9
    if ready; then
        echo "xr-runtime: ready at $ROOT"
        return
    fi
    if ! command -v debootstrap >/dev/null 2>&1; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
    fi
    local mirror partial="$ROOT.partial"
    mirror=$(host_mirror)
    echo "xr-runtime: building the trixie chroot at $ROOT from $mirror (a few minutes, once)"
    rm -rf "$partial"
    debootstrap --variant=minbase trixie "$partial" "$mirror" >"$partial.log" 2>&1 ||
        die "debootstrap failed; see $partial.log"
    chroot "$partial" env -i PATH="$CHROOT_PATH" DEBIAN_FRONTEND=noninteractive \
        sh -c "apt-get update -qq && apt-get install -y -qq --no-install-recommends $PACKAGES && apt-get clean" \
        >>"$partial.log" 2>&1 || die "installing Monado in the chroot failed; see $partial.log"
    rm -rf "$ROOT"
    mv "$partial" "$ROOT"
    mv "$partial.log" "$ROOT/.teleop-xr-setup.log"
    echo "$PACKAGES" >"$STAMP"
    echo "xr-runtime: ready at $ROOT"
}

# The PID in the PID file if that process is alive (not a zombie).
running_pid() {
    [ -f "$PID_FILE" ] || return 1
    local pid state
    pid=$(cat "$PID_FILE")
    [ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
    state=$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null || echo Z)
    [ "$state" != Z ] || return 1
    echo "$pid"
}

cmd_stop() {
    local pid
    if pid=$(running_pid); then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 100); do
            running_pid >/dev/null || break
            sleep 0.1
        done
        if running_pid >/dev/null; then
            echo "xr-runtime: monado-service ($pid) ignored SIGTERM for 10 s; SIGKILL" >&2
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$PID_FILE" "$SOCKET"
}

cmd_start() {
    local mode="${1:-remote}" devices
    ready || die "no runtime at $ROOT: run '$0 setup' first"
    need_root
    case "$mode" in
    remote) devices=(P_OVERRIDE_ACTIVE_CONFIG=remote) ;;
    simulated) devices=(SIMULATED_ENABLE=1 SIMULATED_LEFT=simple SIMULATED_RIGHT=simple) ;;
    *) die "unknown mode '$mode' (remote or simulated)" ;;
    esac
    cmd_stop
    mkdir -p "$RUN_DIR"
    chmod 700 "$RUN_DIR"
    # chroot and env exec, so $! is monado-service's own PID.
    chroot "$ROOT" env -i PATH="$CHROOT_PATH" HOME=/root XDG_RUNTIME_DIR=/run/xr XRT_COMPOSITOR_NULL=1 \
        XRT_NO_STDIN=1 "${devices[@]}" monado-service </dev/null >"$LOG_FILE" 2>&1 &
    local pid=$!
    echo "$pid" >"$PID_FILE"
    # 30 s: the tests start it niced, and a loaded CI machine has taken over 10 s.
    for _ in $(seq 300); do
        if [ -S "$SOCKET" ]; then
            echo "xr-runtime: monado-service running ($mode, PID $pid)"
            return
        fi
        running_pid >/dev/null || break
        sleep 0.1
    done
    tail -n 20 "$LOG_FILE" >&2 || true
    cmd_stop
    die "monado-service did not open $SOCKET within 30 s (log above)"
}

cmd_status() {
    if ! ready; then
        echo "xr-runtime: not set up ($ROOT)"
        return 1
    fi
    local pid
    if pid=$(running_pid); then
        echo "xr-runtime: ready at $ROOT; monado-service running, PID $pid"
    else
        echo "xr-runtime: ready at $ROOT; monado-service not running"
    fi
}

cmd_exec() {
    [ $# -ge 1 ] || die "exec needs a binary"
    ready || die "no runtime at $ROOT: run '$0 setup' first"
    need_root
    local bin staged
    bin="$(realpath "$1")"
    shift
    case "$bin" in
    "$PROJECT"/*) staged="$bin" ;; # visible inside through the bind mount below
    *)
        mkdir -p "$ROOT/tmp/teleop-xr"
        staged="/tmp/teleop-xr/$(basename "$bin")"
        cp -f "$bin" "$ROOT$staged"
        ;;
    esac
    local cwd="/"
    case "$PWD/" in "$PROJECT"/*) cwd="$PWD" ;; esac
    local pass=()
    local name
    for name in $(compgen -e); do
        case "$name" in CI | RUST_BACKTRACE | RUST_LOG | RUST_TEST_THREADS | TELEOP_*) pass+=("$name=${!name}") ;; esac
    done
    # A private mount namespace: the bind mount vanishes with the process.
    exec unshare --mount sh -c '
        root="$1"; project="$2"; shift 2
        mkdir -p "$root$project"
        mount --bind "$project" "$root$project"
        exec chroot "$root" "$@"
    ' sh "$ROOT" "$PROJECT" env -i -C "$cwd" PATH="$CHROOT_PATH" HOME=/root XDG_RUNTIME_DIR=/run/xr \
        ${pass[@]+"${pass[@]}"} "$staged" "$@"
}

cmd_hello() {
    ready || die "no runtime at $ROOT: run '$0 setup' first"
    running_pid >/dev/null || die "monado-service is not running: '$0 start' first"
    # hello_xr quits on a key press (stdin); keep stdin open for a few seconds of frames.
    local out
    out=$({ sleep 6; } | timeout 12 chroot "$ROOT" env -i PATH="$CHROOT_PATH" HOME=/root \
        XDG_RUNTIME_DIR=/run/xr hello_xr -g Vulkan2 2>&1 || true)
    grep -q "XR_SESSION_STATE_FOCUSED" <<<"$out" || {
        tail -n 20 <<<"$out" >&2
        die "hello_xr did not reach FOCUSED"
    }
    echo "xr-runtime: hello_xr reached FOCUSED"
}

case "${1:-}" in
setup) cmd_setup ;;
start) cmd_start "${2:-remote}" ;;
stop) cmd_stop ;;
status) cmd_status ;;
exec)
    shift
    cmd_exec "$@"
    ;;
hello) cmd_hello ;;
*) die "usage: $0 setup | start [remote|simulated] | stop | status | exec BIN [ARGS...] | hello" ;;
esac
