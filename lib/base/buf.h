/* The output buffer of one map item (dlp_buf): a growable byte array that a
 * team thread reuses from item to item. */
#ifndef DLP_LIB_BUF_H
#define DLP_LIB_BUF_H

#include <stddef.h>

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

#endif
