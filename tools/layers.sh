#!/bin/sh
# tools/layers.sh — check that lib/ keeps its layers (lib/README.md).
#
#   tools/layers.sh [LIB_DIR]
#
# Every layer is a folder of lib/ (lib/NAME/x.c with x.h), and
# lib/README.md draws them in lines "layer N NAME: module module ...". A
# module may include headers of its own layer or of lower ones only (the
# build enforces it too: a layer's include path holds only its own folder
# and those below). Fails (status 1) on an include that points up, on a
# module outside the folders, and on a module the table lists in another
# layer than its folder or not at all; prints the layers' sizes otherwise.
set -u
here=$(dirname "$0")
lib=${1:-$here/../lib}
table=$lib/README.md
[ -f "$table" ] || { echo "layers: no $table" >&2; exit 2; }
out=$({
    sed -n 's/^layer \([0-9][0-9]*\) \([a-z]*\): *\(.*\)$/layer \1 \2 \3/p' "$table"
    for f in "$lib"/*.c "$lib"/*.h "$lib"/*/*.c "$lib"/*/*.h; do
        [ -f "$f" ] || continue
        m=$(basename "$f"); d=$(basename "$(dirname "$f")")
        [ "$f" = "$lib/$m" ] && d=.
        echo "module ${m%.[ch]} $d"
    done
    "$here/include_graph.sh" "$lib" | grep '^edge '
} | awk '
    $1 == "layer" { for (k = 4; k <= NF; k++) { level[$k] = $2; name[$k] = $3 } ; size[$2 " " $3] += NF - 3; next }
    $1 == "module" { mod[$2] = 1; folder[$2] = $3; next }
    $1 == "edge" { from[++e] = $2; to[e] = $3 }
    END {
        bad = 0
        for (m in mod) if (folder[m] == ".") {
            printf "layers: lib/%s is in no layer folder: move it into one\n", m
            bad = 1
        } else if (!(m in level)) {
            printf "layers: lib/%s/%s is in no layer of lib/README.md: add it to the %s line\n", folder[m], m, folder[m]
            bad = 1
        } else if (name[m] != folder[m]) {
            printf "layers: lib/README.md lists %s in layer %s, but it is in lib/%s/\n", m, name[m], folder[m]
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
# the build's order of the layers (lib/CMakeLists.txt) must be the table's
table_order=$(sed -n 's/^layer \([0-9][0-9]*\) \([a-z]*\):.*/\1 \2/p' "$table" | sort -n | cut -d' ' -f2 | tr '\n' ' ')
build_order=$(sed -n 's/^set(DLP_LIB_LAYERS \(.*\))$/\1 /p' "$lib/CMakeLists.txt")
if [ "$table_order" != "$build_order" ]; then
    echo "layers: lib/CMakeLists.txt orders the layers \"$build_order\", lib/README.md \"$table_order\""
    status=1
fi
exit $status
