/* An indexed binary min-heap (see minheap.h). */
#include "minheap.h"

#include <stdlib.h>

int dlp__minheap_init(struct dlp__minheap *h, int n)
{
    size_t cells = (size_t)(n > 0 ? n : 1);
    h->n = n > 0 ? n : 0;
    h->len = 0;
    h->id = malloc(sizeof *h->id * cells);
    h->pos = malloc(sizeof *h->pos * cells);
    h->key = malloc(sizeof *h->key * cells);
    if (!h->id || !h->pos || !h->key) {
        dlp__minheap_free(h);
        return -1;
    }
    for (int k = 0; k < h->n; k++)
        h->pos[k] = -1;
    return 0;
}

void dlp__minheap_free(struct dlp__minheap *h)
{
    free(h->id);
    free(h->pos);
    free(h->key);
    h->id = h->pos = NULL;
    h->key = NULL;
    h->n = h->len = 0;
}

/* Put id k at slot i. */
static void place(struct dlp__minheap *h, int i, int k)
{
    h->id[i] = k;
    h->pos[k] = i;
}

/* Move the id at slot i up while its parent's key is larger. */
static void sift_up(struct dlp__minheap *h, int i)
{
    int k = h->id[i];
    while (i > 0) {
        int parent = (i - 1) / 2;
        if (!(h->key[h->id[parent]] > h->key[k]))
            break;
        place(h, i, h->id[parent]);
        i = parent;
    }
    place(h, i, k);
}

/* Move the id at slot i down while a child's key is smaller. */
static void sift_down(struct dlp__minheap *h, int i)
{
    int k = h->id[i];
    for (;;) {
        int c = 2 * i + 1;
        if (c >= h->len)
            break;
        if (c + 1 < h->len && h->key[h->id[c + 1]] < h->key[h->id[c]])
            c++;
        if (!(h->key[h->id[c]] < h->key[k]))
            break;
        place(h, i, h->id[c]);
        i = c;
    }
    place(h, i, k);
}

void dlp__minheap_set(struct dlp__minheap *h, int k, double key)
{
    if (k < 0 || k >= h->n)
        return;
    int i = h->pos[k];
    h->key[k] = key;
    if (i < 0) {
        place(h, h->len++, k);
        sift_up(h, h->len - 1);
        return;
    }
    sift_up(h, i);
    sift_down(h, h->pos[k]);
}

void dlp__minheap_remove(struct dlp__minheap *h, int k)
{
    if (!dlp__minheap_has(h, k))
        return;
    int i = h->pos[k], last = h->id[--h->len];
    h->pos[k] = -1;
    if (last == k)
        return;
    place(h, i, last);
    sift_up(h, i);
    sift_down(h, h->pos[last]);
}
