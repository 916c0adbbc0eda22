/* An indexed binary min-heap of the ids 0 .. n-1, each keyed by a double:
 * insert, change a key, remove any id, and the smallest, in O(log n) or
 * O(1). The dispatcher's forecast keeps its nodes' next looks in one, so
 * that a wake-up costs O(log nodes) instead of a scan of every node. Pure:
 * no MPI, no threads, no globals; one thread at a time per heap. */
#ifndef DLP_LIB_MINHEAP_H
#define DLP_LIB_MINHEAP_H

struct dlp__minheap {
    int n;       /* ids 0 .. n-1 */
    int len;     /* ids in the heap */
    int *id;     /* [n] heap order: id[0] has the smallest key */
    int *pos;    /* [n] where id k sits in id[], -1 when not in the heap */
    double *key; /* [n] key of id k (meaningful while it is in the heap) */
};

/** An empty heap for the ids 0 .. n-1 (n >= 0). 0, or -1 when out of
 *  memory (then nothing is held). */
int dlp__minheap_init(struct dlp__minheap *h, int n);

/** Free what init allocated; safe twice. */
void dlp__minheap_free(struct dlp__minheap *h);

/** Put id k in with `key`, or change its key when it is in already. */
void dlp__minheap_set(struct dlp__minheap *h, int k, double key);

/** Take id k out (nothing when it is not in). */
void dlp__minheap_remove(struct dlp__minheap *h, int k);

/** The id with the smallest key (ties: any of them), -1 when empty. */
static inline int dlp__minheap_top(const struct dlp__minheap *h)
{
    return h->len > 0 ? h->id[0] : -1;
}

/** Whether id k is in the heap. */
static inline int dlp__minheap_has(const struct dlp__minheap *h, int k)
{
    return k >= 0 && k < h->n && h->pos[k] >= 0;
}

#endif
