/* The item a team thread is running, for dlp_item_fail(): the callback forms
 * (split.c, map.c) attach one per thread, enter it around each body or
 * work call and read back whether it was failed and why; the loop form's
 * current item is the one its thread took with dlp_loop_next() (loop_api.c). */
#ifndef DLP_LIB_ITEM_H
#define DLP_LIB_ITEM_H

#include <stddef.h>

#define DLP__ITEM_WHY_MAX 384 /* bytes of the reason kept, with the NUL */

struct dlp__item {
    long i;
    int running;                 /* a body or work function runs item i */
    int failed;                  /* dlp_item_fail() was called */
    char why[DLP__ITEM_WHY_MAX]; /* its message (the first call's) */
};

/** The calling thread runs its items in it from now on, until
 *  dlp__item_detach(): dlp_item_fail() finds them there. Once per thread
 *  and call, not per item (a thread-local store costs a call in a shared
 *  library). */
void dlp__item_attach(struct dlp__item *it);
void dlp__item_detach(void);

/** The thread's body or work function starts item i. */
static inline void dlp__item_enter(struct dlp__item *it, long i)
{
    it->i = i;
    it->failed = 0;
    it->running = 1;
}

/** It returned rc: 1 when the item succeeded (rc 0, no dlp_item_fail()). */
static inline int dlp__item_leave(struct dlp__item *it, int rc)
{
    it->running = 0;
    return rc == 0 && !it->failed;
}

struct dlp_loop;

/** Record the failure of the calling thread's item it (after it ended): who
 *  ("body", "work") returned rc (0: dlp_item_fail() failed it); round > 0:
 *  a retry round (of retries; the item failed first on rank origin). The
 *  message: "<why> (body returned 3; retry 1 of 2; it failed first on rank
 *  0)", "<why>", "body returned 3" ... ; value: rc. */
void dlp__item_failed(struct dlp_loop *L, const struct dlp__item *it, const char *who, int rc,
                      int round, int retries, int origin);

#endif
