/* Sets of item indices as sorted, disjoint, half-open ranges [start, end):
 * the items a journal records as done. */
#ifndef DLP_LIB_RANGES_H
#define DLP_LIB_RANGES_H

struct dlp__ranges {
    long (*r)[2]; /* {start, end} */
    long len, cap;
};

/** Append [start, end) (start < end), in any order: normalize afterwards.
 *  -1 when out of memory. */
int dlp__ranges_push(struct dlp__ranges *s, long start, long end);

/** Sort and merge overlapping or touching ranges. */
void dlp__ranges_normalize(struct dlp__ranges *s);

/** Remove the items of a sorted array (duplicates allowed) from a
 *  normalized set. -1 when out of memory (the set is unchanged). */
int dlp__ranges_remove_items(struct dlp__ranges *s, const long *items, long k);

/** Sort items[0..k) in place and append them as ranges (runs of
 *  consecutive items become one range). -1 when out of memory. */
int dlp__ranges_push_items(struct dlp__ranges *s, long *items, long k);

/** Items in a normalized set. */
long dlp__ranges_total(const struct dlp__ranges *s);

/** Is i in the normalized set? *hint is the caller's position (start at 0):
 *  a caller asking for growing items pays O(1) per question. */
static inline int dlp__ranges_contains(const struct dlp__ranges *s, long i, long *hint)
{
    long h = *hint;
    if (h >= s->len || s->r[h][0] > i) { /* behind: binary search */
        long lo = 0, hi = s->len;
        while (lo < hi) {
            long mid = lo + (hi - lo) / 2;
            if (s->r[mid][1] <= i)
                lo = mid + 1;
            else
                hi = mid;
        }
        h = lo;
    } else {
        while (h < s->len && s->r[h][1] <= i)
            h++;
    }
    *hint = h;
    return h < s->len && s->r[h][0] <= i;
}

void dlp__ranges_free(struct dlp__ranges *s);

#endif
