/* The optional per-call features (progress, dense results, reduction,
 * collector, journal, trace, time limit, signals), registered in one
 * table (call_features.c) that a call's begin and end walk, phase by phase. */
#ifndef DLP_LIB_CALL_FEATURES_H
#define DLP_LIB_CALL_FEATURES_H

#include "loop.h"

/* What the end of a call knows, phase by phase; each feature's end may
 * replace rc by its own error, by its own rule. */
struct dlp__call_end {
    int rc;        /* the call's status so far */
    int completed; /* rc was DLP_OK or DLP_SKIPPED: the same on every rank */
    long done;     /* items done everywhere, those of a journal included */
    long failed;   /* items failed everywhere */
    int prepared;  /* this rank's plan of the dense results (DLP_OK: ready) */
    int results_ok; /* ... and every rank's is ready */
    struct dlp__results_plan plan;
};

/* The phases of a call in which features act, in this order. */
enum dlp__call_phase {
    DLP__CALL_BEGIN,   /* set-up, after the handshake agreed, before the cursor
                          and the helper threads: each feature starts if the
                          call asks for it; a failure aborts the job (the
                          other ranks are already computing) */
    DLP__CALL_STARTED, /* the cursor and the helper threads run (signals) */
    DLP__CALL_STOP,    /* first thing at the end, before the helpers are joined */
    DLP__CALL_SETTLE,  /* helpers joined, before the agreement on the outcome
                          (collective: the journal, the trace) */
    DLP__CALL_END,     /* after the agreement (collective): results delivered
                          or given up, each feature's error in e->rc */
    DLP__CALL_PHASES
};

/** Every feature's part of a phase, in the table's order (main thread; the
 *  collective phases on every rank). e: the end's state (NULL before the
 *  end; DLP__CALL_SETTLE initialises its plan and prepared). */
void dlp__features_run(enum dlp__call_phase phase, struct dlp_loop *L, struct dlp__call_end *e);

/** The call's set-up failed: what the features must give up (opts as the
 *  caller passed them; the reduction delivers no result). */
void dlp__features_abandon(const dlp_opts *opts);

#endif
