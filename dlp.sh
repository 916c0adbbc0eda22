#!/usr/bin/env bash
# dlp.sh — set up, build, demo and test dlp_mpi on Debian or Ubuntu.
#
#   ./dlp.sh demo [args]   build, then run examples/$DLP_DEMO (mandelbrot) on 4 ranks
#   ./dlp.sh test [args]   build, then ctest --output-on-failure -j1 --timeout 600 [args]
#   ./dlp.sh build         install what is missing, configure and build only
#
# Missing tools (cmake, gcc, make, pkg-config, mpich, libmpich-dev) are
# installed with apt-get when running as root or with passwordless sudo;
# otherwise the command to run is printed and dlp.sh exits with status 1.
#
# Environment:
#   BUILD_DIR         build directory, relative to the repository (default build)
#   CMAKE_BUILD_TYPE  Release (default), Debug, RelWithDebInfo ...
#   DLP_WERROR        ON: warnings are errors (default OFF)
#   DLP_SANITIZE      e.g. "address;undefined" (default none)
#   DLP_CMAKE_ARGS    more arguments for the cmake configure step
#   DLP_JOBS          parallel build jobs (default 2)
#   DLP_DEMO          example the demo runs (default mandelbrot)
#   MPIEXEC           launcher of the demo (default mpiexec.mpich)
set -euo pipefail

say() { printf 'dlp.sh: %s\n' "$*"; }
die() { printf 'dlp.sh: %s\n' "$*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$root"
BUILD_DIR=${BUILD_DIR:-build}
CMAKE_MIN=3.16

# ------------------------------------------------------------ prerequisites --

# Debian package -> is it usable already? (checked by what it provides, so a
# machine that has the tools from elsewhere does no apt work)
missing_packages() {
    local -a miss=()
    have cmake || miss+=(cmake)
    have gcc || have cc || miss+=(gcc)
    have make || miss+=(make)
    have pkg-config || have pkgconf || miss+=(pkg-config)
    { have mpicc.mpich && have mpiexec.mpich; } || miss+=(mpich)
    # Headers and mpich.pc are in libmpich-dev.
    if ! { have pkg-config && pkg-config --exists mpich; } &&
       ! { have mpicc.mpich && echo '#include <mpi.h>' |
           mpicc.mpich -E -x c - >/dev/null 2>&1; }; then
        miss+=(libmpich-dev)
    fi
    ((${#miss[@]} == 0)) || printf '%s\n' "${miss[@]}"
}

ensure_prerequisites() {
    local -a miss
    mapfile -t miss < <(missing_packages)
    if ((${#miss[@]})); then
        local list="${miss[*]}"
        if ! have apt-get; then
            die "missing: $list. This is not a Debian/Ubuntu system: install CMake >= $CMAKE_MIN, a C compiler with OpenMP, make, pkg-config and MPICH, then run again."
        fi
        local sudo=()
        if [ "$(id -u)" -ne 0 ]; then
            if have sudo && sudo -n true 2>/dev/null; then
                sudo=(sudo -n)
            else
                printf 'dlp.sh: missing: %s. Install them with:\n\n    sudo apt-get update && sudo apt-get install -y %s\n\nthen run %s again.\n' \
                    "$list" "$list" "$0" >&2
                exit 1
            fi
        fi
        say "installing $list (apt-get)"
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${miss[@]}"
        mapfile -t miss < <(missing_packages)
        ((${#miss[@]} == 0)) || die "still missing after apt-get: ${miss[*]}"
    fi
    local v
    v=$(cmake --version | sed -n '1s/[^0-9]*\([0-9][0-9.]*\).*/\1/p')
    if [ "$(printf '%s\n%s\n' "$CMAKE_MIN" "$v" | sort -V | head -n1)" != "$CMAKE_MIN" ]; then
        die "CMake $v is too old (need >= $CMAKE_MIN); e.g. pip install cmake, or https://cmake.org/download/"
    fi
}

# ------------------------------------------------------------------- build --

build() {
    ensure_prerequisites
    local -a args=(-S "$root" -B "$BUILD_DIR"
        "-DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE:-Release}"
        "-DDLP_WERROR=${DLP_WERROR:-OFF}"
        "-DDLP_SANITIZE=${DLP_SANITIZE:-}")
    if [ -n "${DLP_CMAKE_ARGS:-}" ]; then
        local -a extra
        read -r -a extra <<<"$DLP_CMAKE_ARGS"
        args+=("${extra[@]}")
    fi
    say "configure: cmake ${args[*]}"
    cmake "${args[@]}"
    say "build: cmake --build $BUILD_DIR -j ${DLP_JOBS:-2}"
    cmake --build "$BUILD_DIR" -j "${DLP_JOBS:-2}"
}

demo() {
    local name=${DLP_DEMO:-mandelbrot}
    local exe="$root/$BUILD_DIR/examples/$name"
    case $BUILD_DIR in /*) exe="$BUILD_DIR/examples/$name" ;; esac
    if [ ! -x "$exe" ]; then
        die "no example '$name' in $BUILD_DIR/examples (have: $(cd "$(dirname "$exe")" 2>/dev/null &&
            find . -maxdepth 1 -type f -perm -u+x -printf '%f ' 2>/dev/null))"
    fi
    local mpiexec=${MPIEXEC:-mpiexec.mpich}
    have "$mpiexec" || die "launcher $mpiexec not found (set MPIEXEC)"
    local out
    out=$(cd "$(dirname "$exe")/.." && pwd)/demo
    mkdir -p "$out"
    local stamp="$out/.started"
    : >"$stamp"
    say "demo: cd $out && OMP_NUM_THREADS=1 MPIEXEC_TIMEOUT=120 $mpiexec -n 4 $exe $*"
    local status=0
    (cd "$out" && OMP_NUM_THREADS=1 MPIEXEC_TIMEOUT=120 "$mpiexec" -n 4 "$exe" "$@") || status=$?
    if ((status != 0)); then
        die "demo: $name failed (status $status)"
    fi
    local files
    files=$(find "$out" -maxdepth 1 -type f -newer "$stamp" ! -name .started -printf '  %p (%s bytes)\n')
    rm -f "$stamp"
    if [ -n "$files" ]; then
        say "demo: output in $out:"
        printf '%s\n' "$files"
    else
        say "demo: $name wrote no file; its output is the text above (run in $out)"
    fi
}

run_tests() {
    local status=0
    say "test: (cd $BUILD_DIR && ctest --output-on-failure -j1 --timeout 600 $*)"
    (cd "$BUILD_DIR" && ctest --output-on-failure -j1 --timeout 600 "$@") || status=$?
    if ((status == 0)); then say "test: all passed"; else say "test: ctest failed (status $status)"; fi
    return "$status"
}

cmd=${1:-help}
(($#)) && shift
case $cmd in
    # (not `build && ...`: errexit would be off inside build)
    demo) build; demo "$@" ;;
    test) build; run_tests "$@" || exit $? ;;
    build) build ;;
    help | -h | --help) usage ;;
    *) usage >&2; exit 2 ;;
esac
