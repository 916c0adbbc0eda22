#!/bin/sh
# tools/layers.sh — check that lib/ keeps its layers (lib/README.md).
#
#   tools/layers.sh [LIB_DIR]
#
# lib/README.md assigns every module (lib/x.c with lib/x.h) to a layer in
# lines "layer N NAME: module module ...". A module may include headers of
# its own layer or of lower ones only. Fails (status 1) on an include that
# points up, and on a module of lib/ that the table does not list; prints
# the layers' sizes otherwise.
set -u
here=$(dirname "$0")
lib=${1:-$here/../lib}
table=$lib/README.md
[ -f "$table" ] || { echo "layers: no $table" >&2; exit 2; }
out=$({
    sed -n 's/^layer \([0-9][0-9]*\) \([a-z]*\): *\(.*\)$/layer \1 \2 \3/p' "$table"
    for f in "$lib"/*.c "$lib"/*.h; do
        m=$(basename "$f"); echo "module ${m%.[ch]}"
    done
    "$here/include_graph.sh" "$lib" | grep '^edge '
} | awk '
    $1 == "layer" { for (k = 4; k <= NF; k++) { level[$k] = $2; name[$k] = $3 } ; size[$2 " " $3] += NF - 3; next }
    $1 == "module" { mod[$2] = 1; next }
    $1 == "edge" { from[++e] = $2; to[e] = $3 }
    END {
        bad = 0
        for (m in mod) if (!(m in level)) {
            printf "layers: lib/%s is in no layer of lib/README.md: add it to one\n", m
            bad = 1
        }
        for (k = 1; k <= e; k++) {
            a = from[k]; b = to[k]
            if ((a in level) && (b in level) && level[b] + 0 > level[a] + 0) {
                printf "layers: %s (layer %s %s) includes %s.h of layer %s %s above it\n",
                       a, level[a], name[a], b, level[b], name[b]
                bad = 1
            }
        }
        if (bad) exit 1
        for (s in size) printf "layers: layer %s: %d modules\n", s, size[s]
        print "layers: every include points to the same layer or below"
    }')
status=$?
printf '%s\n' "$out" | sort
exit $status
