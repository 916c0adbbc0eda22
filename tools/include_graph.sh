#!/bin/sh
# tools/include_graph.sh — the library's include graph and its cycles.
#
#   tools/include_graph.sh [LIB_DIR]      (default: lib next to this script)
#
# A node is a module: lib/x.c and lib/x.h together (a folder prefix, if
# any, is kept: node/cursor). An edge x -> y means x.c or x.h includes
# "y.h". Prints every edge ("edge x y"), then every cycle as its strongly
# connected component ("cycle N: a b c", largest first), then a summary
# line: modules, edges, and the size of the largest cycle (0: acyclic).
set -eu
lib=${1:-$(dirname "$0")/../lib}
cd "$lib"
find . -name '*.[ch]' | sed 's|^\./||' | sort | while read -r f; do
    from=${f%.[ch]}
    dir=$(dirname "$f")
    grep -o '^#include "[^"]*\.h"' "$f" | sed 's/^#include "//; s/\.h"$//' |
        while read -r inc; do
            # resolve relative to the including file's folder, then lib/
            if [ -f "$dir/$inc.h" ] && [ "$dir" != . ]; then to=$dir/$inc; else to=$inc; fi
            to=$(echo "$to" | sed 's|^\./||')
            [ -f "$to.h" ] || continue          # the public header, system headers
            [ "$to" = "$from" ] || echo "$from $to"
        done
    echo "$from"
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
