#!/usr/bin/env bash
# dlp.sh — set up, build, demo and test dlp_mpi on Debian or Ubuntu.
#
#   ./dlp.sh demo [args]   build, then run examples/$DLP_DEMO (mandelbrot) on 4 ranks
#   ./dlp.sh test [args]   build, then ctest --output-on-failure -j1 --timeout 600 [args]
#                          (no args: -LE long, every test but the long ones)
#   ./dlp.sh build         install what is missing, configure and build only
#   ./dlp.sh check-asan [args]
#                          AddressSanitizer + UndefinedBehaviorSanitizer build in
#                          $BUILD_DIR-asan, then the tests labelled sanitize
#                          (args replace -L sanitize, e.g. -LE 'large|install')
#   ./dlp.sh check-valgrind [args]
#                          RelWithDebInfo build in $BUILD_DIR-valgrind with the
#                          valgrind memcheck tests, then those (-L valgrind)
#   ./dlp.sh lint          clang-tidy (.clang-tidy) and cppcheck on lib/ and
#                          include/, with the compile_commands.json of a
#                          configure in $BUILD_DIR-lint; fails on any finding
#                          that .clang-tidy-waivers does not list; and
#                          tools/layers.sh: no include in lib/ points up
#                          a layer (lib/README.md)
#
# Missing tools (cmake, gcc, make, pkg-config, mpich, libmpich-dev; valgrind
# for check-valgrind; clang-tidy, cppcheck and libomp-dev for lint; for the
# test suite's separate hosts and Slurm layouts iproute2, util-linux,
# slurm-wlm and munge, whose tests are skipped where these are missing) are
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
# machine that has the tools from elsewhere does no apt work). Arguments: the
# extra tool sets a command needs (valgrind, lint).
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
    local need
    for need in "$@"; do
        case $need in
            valgrind) have valgrind || miss+=(valgrind) ;;
            cluster)
                # the separate-hosts and Slurm layouts of the suite (labels
                # hosts and slurm; skipped without these)
                have ip || miss+=(iproute2)
                { have nsenter && have unshare; } || miss+=(util-linux)
                { have slurmctld && have slurmd && have srun; } || miss+=(slurm-wlm)
                have munged || miss+=(munge)
                ;;
            lint)
                have clang-tidy || miss+=(clang-tidy)
                have cppcheck || miss+=(cppcheck)
                # clang-tidy parses lib/*/*.c as clang does, with clang's own
                # <omp.h> (libomp-dev), not GCC's
                compgen -G '/usr/lib/llvm-*/lib/clang/*/include/omp.h' >/dev/null ||
                    miss+=(libomp-dev)
                ;;
        esac
    done
    ((${#miss[@]} == 0)) || printf '%s\n' "${miss[@]}"
}

ensure_prerequisites() {
    local -a miss
    mapfile -t miss < <(missing_packages "$@")
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
        mapfile -t miss < <(missing_packages "$@")
        ((${#miss[@]} == 0)) || die "still missing after apt-get: ${miss[*]}"
    fi
    local v
    v=$(cmake --version | sed -n '1s/[^0-9]*\([0-9][0-9.]*\).*/\1/p')
    if [ "$(printf '%s\n%s\n' "$CMAKE_MIN" "$v" | sort -V | head -n1)" != "$CMAKE_MIN" ]; then
        die "CMake $v is too old (need >= $CMAKE_MIN); e.g. pip install cmake, or https://cmake.org/download/"
    fi
}

# The tools of the tests that are skipped without them (cluster: the
# separate-hosts and Slurm layouts): installed like the rest when root or
# with passwordless sudo, else a note says which tests will be skipped.
offer_optional() {
    local -a miss
    mapfile -t miss < <(missing_packages "$@" | grep -v -x -F -f <(missing_packages))
    ((${#miss[@]})) || return 0
    if have apt-get && { [ "$(id -u)" -eq 0 ] || { have sudo && sudo -n true 2>/dev/null; }; }; then
        ensure_prerequisites "$@"
    else
        say "not installed: ${miss[*]}: the tests that need them (labels hosts, slurm) will be skipped"
    fi
}

# ------------------------------------------------------------------- build --

# build [extra tool sets] [-- more cmake arguments]
build() {
    local -a needs=() more=()
    while (($#)) && [ "$1" != -- ]; do needs+=("$1"); shift; done
    (($#)) && shift && more=("$@")
    ensure_prerequisites "${needs[@]}"
    local -a args=(-S "$root" -B "$BUILD_DIR"
        "-DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE:-Release}"
        "-DDLP_WERROR=${DLP_WERROR:-OFF}"
        "-DDLP_SANITIZE=${DLP_SANITIZE:-}"
        "${more[@]}")
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

# The sanitizer pass: ASan (leak checking on) + UBSan (fatal), RelWithDebInfo,
# in a build directory of its own; the runtime options and the leak
# suppressions come with the tests (cmake/DlpCompile.cmake, cmake/lsan.supp).
check_asan() {
    local BUILD_DIR=${BUILD_DIR}-asan CMAKE_BUILD_TYPE=RelWithDebInfo
    local DLP_SANITIZE="address;undefined"
    build
    (($#)) || set -- -L sanitize
    require_tests "$@"
    run_tests "$@"
}

# The memcheck pass: the tests that DLP_VALGRIND=ON registers (label
# valgrind), in a RelWithDebInfo build without sanitizers.
check_valgrind() {
    local BUILD_DIR=${BUILD_DIR}-valgrind CMAKE_BUILD_TYPE=RelWithDebInfo DLP_SANITIZE=
    build valgrind -- -DDLP_VALGRIND=ON
    (($#)) || set -- -L valgrind
    require_tests "$@"
    run_tests "$@"
}

# A selection that runs no test checks nothing: fail instead.
require_tests() {
    local total
    total=$(cd "$BUILD_DIR" && ctest -N "$@" | sed -n 's/^Total Tests: *\([0-9]*\).*/\1/p')
    [ "${total:-0}" -gt 0 ] || die "no test in $BUILD_DIR matches: ctest $*"
}

# Static analysis of the library: clang-tidy with .clang-tidy on every
# lib/*/*.c (and so on the headers of lib/ and include/ they include), then
# cppcheck on the same files; both with the flags of the real build, from the
# compile_commands.json of a configure (no build) in $BUILD_DIR-lint. Any
# finding fails, except those .clang-tidy-waivers lists (a file, a check and
# how many findings of it, each with its reason); a waiver that no longer
# matches as many findings fails too, so that it is removed with the fix.
lint() {
    ensure_prerequisites lint
    local dir=$BUILD_DIR-lint
    say "lint: configure $dir (compile_commands.json)"
    cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DDLP_WERROR=OFF -DDLP_SANITIZE= \
        >/dev/null
    local -a files=()
    local f
    for f in lib/*/*.c; do files+=("$f"); done
    local status=0 out
    out=$(mktemp)
    say "lint: $(clang-tidy --version | sed -n 's/.*LLVM version \([0-9.]*\).*/clang-tidy \1/p') on ${#files[@]} files of lib/ (and the headers of lib/ and include/)"
    # (exit status non-zero only when a file does not compile: findings are
    # counted below)
    printf '%s\n' "${files[@]}" |
        xargs -P "${DLP_JOBS:-2}" -n 1 clang-tidy --quiet -p "$dir" >"$out" 2>&1 || status=1
    grep -v -E '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$' "$out" |
        sed "s|$root/||g" >"$out.text" || true
    # one line per finding: file check line:col
    sed -n -E 's/^([^ :]+):([0-9]+):([0-9]+): (warning|error): .* \[([^],]+)[],].*$/\1 \5 \2:\3/p' \
        "$out.text" | sort -u >"$out.found"
    local waivers=$root/.clang-tidy-waivers
    [ -f "$waivers" ] || waivers=/dev/null
    # file check count -> compare with the findings
    if ! awk '
        FILENAME == ARGV[1] { n[$1 " " $2]++; next }   # findings per file and check
        /^[ \t]*(#|$)/ { next }
        { w[$1 " " $2] = $3 }
        END {
            bad = 0
            for (k in w) {
                if (n[k] + 0 < w[k]) {
                    printf "lint: stale waiver \"%s %s\": %d finding(s) left; lower or remove it in .clang-tidy-waivers\n", k, w[k], n[k] + 0
                    bad = 1
                } else if (n[k] > w[k]) {
                    printf "lint: %s: %d finding(s), %d waived\n", k, n[k], w[k]
                    bad = 1
                } else {
                    printf "lint: waived (.clang-tidy-waivers): %s: %d finding(s)\n", k, n[k]
                }
            }
            for (k in n)
                if (!(k in w)) {
                    printf "lint: %s: %d finding(s)\n", k, n[k]
                    bad = 1
                }
            exit bad
        }' "$out.found" "$waivers"; then
        status=1
        cat "$out.text"
    fi
    say "lint: clang-tidy: $(wc -l <"$out.found") finding(s)"
    rm -f "$out" "$out.text" "$out.found"
    say "lint: $(cppcheck --version) on lib/ and include/"
    cppcheck --project="$dir/compile_commands.json" --file-filter='lib/*' --quiet \
        --enable=warning,style,performance,portability --library=posix --inline-suppr \
        --error-exitcode=1 --template='{file}:{line}: {severity}: {message} [{id}]' ||
        status=1
    say "lint: the layers of lib/ (tools/layers.sh, lib/README.md)"
    tools/layers.sh || status=1
    if ((status == 0)); then say "lint: clean"; else say "lint: FAILED (findings above)"; fi
    return "$status"
}

run_tests() {
    local status=0
    # without arguments: every test but those labelled long (minutes each)
    (($# > 0)) || set -- -LE long
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
    test) offer_optional cluster; build; run_tests "$@" || exit $? ;;
    build) build ;;
    check-asan) check_asan "$@" || exit $? ;;
    check-valgrind) check_valgrind "$@" || exit $? ;;
    lint) lint || exit $? ;;
    help | -h | --help) usage ;;
    *) usage >&2; exit 2 ;;
esac
