/* Sets of item indices as ranges (see ranges.h). */
#include "ranges.h"

#include <stdlib.h>

int dlp__ranges_push(struct dlp__ranges *s, long start, long end)
{
    if (s->len == s->cap) {
        long cap = s->cap ? 2 * s->cap : 16;
        void *p = realloc(s->r, (size_t)cap * sizeof *s->r);
        if (!p)
            return -1;
        s->r = p;
        s->cap = cap;
    }
    s->r[s->len][0] = start;
    s->r[s->len][1] = end;
    s->len++;
    return 0;
}

static int by_start(const void *a, const void *b)
{
    long x = ((const long *)a)[0], y = ((const long *)b)[0];
    return (x > y) - (x < y);
}

static int by_value(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

void dlp__ranges_normalize(struct dlp__ranges *s)
{
    if (s->len < 2)
        return;
    qsort(s->r, (size_t)s->len, sizeof *s->r, by_start);
    long out = 0;
    for (long k = 1; k < s->len; k++) {
        if (s->r[k][0] <= s->r[out][1]) {
            if (s->r[k][1] > s->r[out][1])
                s->r[out][1] = s->r[k][1];
        } else {
            out++;
            s->r[out][0] = s->r[k][0];
            s->r[out][1] = s->r[k][1];
        }
    }
    s->len = out + 1;
}

int dlp__ranges_remove_items(struct dlp__ranges *s, const long *items, long k)
{
    struct dlp__ranges t = {NULL, 0, 0};
    long x = 0;
    for (long j = 0; j < s->len; j++) {
        long a = s->r[j][0], b = s->r[j][1];
        while (x < k && items[x] < a)
            x++;
        while (x < k && items[x] < b) { /* split around items[x] */
            if (items[x] > a && dlp__ranges_push(&t, a, items[x]) != 0)
                goto nomem;
            a = items[x] + 1;
            x++;
        }
        if (a < b && dlp__ranges_push(&t, a, b) != 0)
            goto nomem;
    }
    free(s->r);
    *s = t;
    return 0;
nomem:
    free(t.r);
    return -1;
}

int dlp__ranges_push_items(struct dlp__ranges *s, long *items, long k)
{
    if (k <= 0)
        return 0;
    qsort(items, (size_t)k, sizeof *items, by_value);
    long j = 0;
    while (j < k) {
        long start = items[j], end = start + 1;
        for (j++; j < k && items[j] <= end; j++)
            end = items[j] + 1 > end ? items[j] + 1 : end;
        if (dlp__ranges_push(s, start, end) != 0)
            return -1;
    }
    return 0;
}

long dlp__ranges_total(const struct dlp__ranges *s)
{
    long t = 0;
    for (long k = 0; k < s->len; k++)
        t += s->r[k][1] - s->r[k][0];
    return t;
}

void dlp__ranges_free(struct dlp__ranges *s)
{
    free(s->r);
    s->r = NULL;
    s->len = s->cap = 0;
}
