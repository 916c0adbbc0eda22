/* Message tags on the library's private communicator (dlp_comm()). */
#ifndef DLP_LIB_TAGS_H
#define DLP_LIB_TAGS_H

/* Never item ids. Each exchange has a tag of its own. */
enum {
    DLP__TAG_REQUEST = 11,
    DLP__TAG_REPLY = 12,
    DLP__TAG_RESULTS = 13,
    DLP__TAG_GATHER = 14,
    DLP__TAG_MAP = 15,    /* map results, rank -> master */
    DLP__TAG_MAP_ACK = 16, /* map credits, master -> rank */
    DLP__TAG_JOURNAL = 17, /* done items, rank -> master */
    DLP__TAG_RETRY = 18,   /* retried items' results, rank -> rank */
    DLP__TAG_STOP = 19,    /* round robin: a rank stopped after a failure, rank -> all */
    DLP__TAG_BELL = 20,    /* node doorbell setup in dlp_init, master <-> leaders */
    DLP__TAG_REDUCE = 21,  /* reductions, rank <-> leader <-> master */
    DLP__TAG_SHARE = 22,   /* dense results to every node (on_all_ranks), master -> leaders */
    /* exchanges (exchange.h), all ranks -> all ranks; each uses its tag + 0 ... 31 */
    DLP__TAG_ENTRY = 32,   /* the collective entry's records */
    DLP__TAG_OUTCOME = 64  /* the end of a parallel call's records */
};

#endif
