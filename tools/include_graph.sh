#!/bin/sh
# tools/include_graph.sh — the library's include graph and its cycles.
#
#   tools/include_graph.sh [--folders] [LIB_DIR]   (default: lib next to this script)
#
# A node is a module: x.c and x.h together, wherever in lib/'s layer
# folders they are (names are unique across folders). An edge x -> y means
# x.c or x.h includes "y.h". Prints every edge ("edge x y"), then every
# cycle as its strongly connected component ("cycle N: a b c", largest
# first), then a summary line: modules, edges, and the size of the largest
# cycle (0: acyclic). With --folders, the same for the folders (the layers):
# an edge base -> policy when a module of base/ includes one of policy/.
set -eu
folders=0
if [ "${1:-}" = --folders ]; then folders=1; shift; fi
lib=${1:-$(dirname "$0")/../lib}
cd "$lib"
headers=$(find . -name '*.h' | sed 's|^\./||')
find . -name '*.[ch]' | sed 's|^\./||' | sort | while read -r f; do
    from=$(basename "${f%.[ch]}")
    folder=$(dirname "$f")
    grep -o '^#include "[^"]*\.h"' "$f" | sed 's/^#include "//; s/\.h"$//' |
        while read -r inc; do
            # the header of lib/ of that name, in whichever folder
            path=$(printf '%s\n' "$headers" | grep -m 1 -E "(^|/)$inc\.h$" || true)
            [ -n "$path" ] || continue          # the public header, system headers
            if [ "$folders" = 1 ]; then
                to=$(dirname "$path")
                [ "$to" = "$folder" ] || echo "$folder $to"
            else
                [ "$inc" = "$from" ] || echo "$from $inc"
            fi
        done
    if [ "$folders" = 1 ]; then echo "$folder"; else echo "$from"; fi
done | awk '
    NF == 1 { node[$1] = 1; next }
    { node[$1] = 1; node[$2] = 1; if (!(($1, $2) in e)) { e[$1, $2] = 1; edges++; print "edge", $1, $2 } }
    END {
        n = 0
        for (v in node) name[++n] = v
        for (i = 1; i <= n; i++) for (j = 1; j <= n; j++) r[i, j] = (name[i], name[j]) in e
        for (k = 1; k <= n; k++) for (i = 1; i <= n; i++) if (r[i, k])
            for (j = 1; j <= n; j++) if (r[k, j]) r[i, j] = 1
        largest = 0; cycles = 0
        for (i = 1; i <= n; i++) {
            if (done[i] || !r[i, i]) continue
            members = ""; size = 0
            for (j = 1; j <= n; j++) if (r[i, j] && r[j, i]) { done[j] = 1; members = members " " name[j]; size++ }
            cyc[++cycles] = size ":" members
            if (size > largest) largest = size
        }
        for (s = largest; s >= 2; s--)
            for (c = 1; c <= cycles; c++) { split(cyc[c], p, ":"); if (p[1] == s) print "cycle " s ":" p[2] }
        printf "modules %d, edges %d, largest cycle %d\n", n, edges, largest
    }'
