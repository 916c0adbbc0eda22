/* The output buffer of one map item (dlp_buf): a growable byte array that a
 * team thread reuses from item to item. */
#ifndef DLP_LIB_BUF_H
#define DLP_LIB_BUF_H

#include <stddef.h>
#include <string.h>

/** Largest result of one item (bytes). */
#define DLP__BUF_MAX ((size_t)1 << 30)

struct dlp_buf {
    char *data;
    size_t len, cap;
    long item;   /* the item being computed, for messages */
    int failed;  /* an append failed (too large, out of memory): its code */
    char why[160]; /* and what happened, for the call's report */
};

/** Free the storage. */
void dlp__buf_free(struct dlp_buf *b);

/** Copy n bytes (the regions do not overlap). Up to 16 bytes without a
 *  call: two fixed-size copies that overlap in the middle (a call to
 *  memcpy with a length known only at run time costs more than the copy
 *  for the tiny results many maps produce). */
static inline void dlp__copy(void *to, const void *from, size_t n)
{
    char *t = to;
    const char *f = from;
    if (n >= 8 && n <= 16) {
        memcpy(t, f, 8);
        memcpy(t + n - 8, f + n - 8, 8);
    } else if (n >= 4 && n < 8) {
        memcpy(t, f, 4);
        memcpy(t + n - 4, f + n - 4, 4);
    } else if (n < 4) {
        for (size_t k = 0; k < n; k++)
            t[k] = f[k];
    } else {
        memcpy(t, f, n);
    }
}

#endif
