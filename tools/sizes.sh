#!/bin/sh
# tools/sizes.sh — the largest files and the longest functions of lib/.
#
#   tools/sizes.sh [N] [LIB_DIR]     (default: the 5 largest of each)
#
# A function is counted from its opening brace at column 0 to its closing
# brace at column 0 (the project's style, clang-format), both included.
set -eu
n=${1:-5}
lib=${2:-$(dirname "$0")/../lib}
echo "largest files (lines):"
find "$lib" -name '*.[ch]' -exec wc -l {} + | grep -v ' total$' | sort -rn | head -n "$n" |
    sed "s|$lib/||"
echo "longest functions (lines):"
find "$lib" -name '*.c' | sort | while read -r f; do
    awk -v file="${f#"$lib"/}" '
        /^[A-Za-z_].*\(/ { head = $0 }
        /^\{/ { start = NR; name = head }
        /^\}/ && start { sub(/\(.*/, "", name); k = split(name, w, /[ *]+/)
                         printf "%d %s %s\n", NR - start + 1, file, w[k]; start = 0 }' "$f"
done | sort -rn | head -n "$n"
