/*
 * dlp_mpi — data-level parallelism on multicore clusters (MPI + OpenMP).
 *
 * N independent work items, one MPI rank per node, an OpenMP team per rank.
 * Only item indices travel: every rank can compute item i from i.
 *
 * Conventions for every function below
 *   - Status: functions return DLP_OK (0), DLP_SKIPPED (1) for a call that
 *     completed with skipped items (on_error = skip), or a negative DLP_ERR_*
 *     code: `rc < 0` is a failure. Query functions (dlp_rank() ...) return
 *     their value (>= 0) or a negative code.
 *     dlp_strerror(code) names a code; dlp_last_error() gives the calling
 *     thread's last full message (function, rank, host, item, thread).
 *   - "Collective": every rank of dlp_comm() must call it, in the same order,
 *     with the same scalar arguments (n, options). Every collective starts by
 *     telling every rank which call this rank is in: ranks in different
 *     collectives (dlp_barrier on one, dlp_split_managed or dlp_finalize on
 *     another), or disagreeing on the arguments, get DLP_ERR_MISMATCH on
 *     every rank, with a message naming the calls and the ranks, and the
 *     library stays usable. A rank that never comes is waited for with the
 *     DLP_COLLECTIVE_TIMEOUT rules (a line on stderr after 60 s, or the job
 *     ended after the timeout).
 *   - "Threads": which threads may call it. "Main thread" means the thread that
 *     called dlp_init(), outside any parallel region of the library (in an
 *     OpenMP region of the user's, its thread 0). Collectives from any other
 *     thread are DLP_ERR_STATE: two threads' calls would pair up with each
 *     other's across ranks.
 *   - Indices and counts are 64-bit (`long` is required to be 64-bit).
 *   - A bad argument or option on one rank only is reported on every rank
 *     (collectives agree on their arguments before any work starts).
 */
#ifndef DLP_MPI_H
#define DLP_MPI_H

#include <mpi.h>
#include <stddef.h>

#include "dlp_mpi_version.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define DLP_EXPORT
#else
#define DLP_EXPORT __attribute__((visibility("default")))
#endif

/** Run-time version of the library (DLP_VERSION of the build); compare with
 *  the DLP_VERSION the caller was compiled against. Any thread, any time. */
DLP_EXPORT unsigned dlp_version(void);

/* ---------------------------------------------------------------- errors -- */

/** Status codes. Stable numbers: never renumbered, only appended; a retired
 *  number is not reused. */
enum dlp_status {
    DLP_OK = 0,
    DLP_SKIPPED = 1,              /**< the call completed; some items failed and were
                                       skipped (on_error = skip): dlp_failures() lists
                                       them. Not an error: `rc < 0` checks pass it */
    DLP_ERR_NOT_INITIALIZED = -1, /**< called before dlp_init() */
    DLP_ERR_FINALIZED = -2,       /**< called after dlp_finalize() */
    DLP_ERR_ARG = -3,             /**< bad argument (NULL callback, n < 0 ...) */
    DLP_ERR_OPTION = -4,          /**< invalid option or DLP_* environment value */
    DLP_ERR_THREAD_LEVEL = -5,    /**< MPI does not provide MPI_THREAD_MULTIPLE */
    DLP_ERR_MPI = -6,             /**< an MPI call failed (its message is kept) */
    DLP_ERR_NOMEM = -7,           /**< out of memory (or shared memory) */
    DLP_ERR_ITEM = -8,            /**< a body returned non-zero on some rank */
    DLP_ERR_MISMATCH = -9,        /**< ranks are in different collective calls, or
                                       disagree on a collective's arguments */
    DLP_ERR_STATE = -10,          /**< call not allowed now (nested call, a collective
                                       from a thread other than the main thread ...) */
    DLP_ERR_SYSTEM = -11,         /**< an operating-system call failed */
    /* -12 was DLP_ERR_SKIPPED, retired (a completed skip call returns DLP_SKIPPED);
       not reused */
    DLP_ERR_JOURNAL = -13,        /**< the journal file cannot be used: not a journal,
                                       corrupted, in use, or from another run (other n) */
    DLP_ERR_INTERRUPTED = -14     /**< SIGTERM or SIGINT arrived: the call stopped handing
                                       out work; later calls return it at once */
};

/** Name and one-line meaning of a status code. Any thread, any time. */
DLP_EXPORT const char *dlp_strerror(int status);

/** One failed item, as every rank learns it at the end of a call. */
typedef struct dlp_failure {
    long item;        /**< item index, or -1 when not about one item */
    int rank;         /**< where it failed */
    int thread;       /**< OpenMP thread number, or -1 (e.g. the map's callback) */
    int code;         /**< DLP_ERR_ITEM, or what else failed (DLP_ERR_NOMEM ...) */
    int value;        /**< the non-zero value the body, work function or on_result
                           returned; 0 when the failure did not come from a return
                           value (dlp_item_fail() in a body that returned 0,
                           dlp_loop_fail(), out of memory ...) */
    char host[128];
    char message[512]; /**< why: the dlp_item_fail() / dlp_loop_fail() text, with
                            the return value, e.g. "cannot open in/17.dat: No such
                            file or directory (body returned 3)", or "body
                            returned 3" alone */
} dlp_failure;

/** The failures of the last parallel call on this rank, the same list on
 *  every rank: ordered by rank, then as they happened on that rank. Returns
 *  their number and sets *list (NULL when 0; valid until the next parallel
 *  call). With on_error = abort the list holds the first failure only; with
 *  skip every failed item, up to DLP_FAILURES_MAX per rank (the returned
 *  count is always the full number). Not collective; main thread.
 *  Errors: DLP_ERR_NOT_INITIALIZED, DLP_ERR_FINALIZED. */
DLP_EXPORT long dlp_failures(const dlp_failure **list);

/** Records in the list dlp_failures() returns (<= its count): 1 under
 *  abort, at most DLP_FAILURES_MAX per rank under skip. Not collective;
 *  main thread. Errors: DLP_ERR_NOT_INITIALIZED, DLP_ERR_FINALIZED. */
DLP_EXPORT long dlp_failures_listed(void);

/** Failures per rank that dlp_failures() lists in full. */
#define DLP_FAILURES_MAX 10000

/** Full text of the calling thread's last error (empty if none), e.g.
 *  "dlp_split_managed: item 17 failed (body returned 3) on rank 2, thread 1,
 *  host node07". Any thread, any time; valid until that thread's next error. */
DLP_EXPORT const char *dlp_last_error(void);

/** Exit statuses of a process the library ends (MPI_Abort of the job;
 *  _exit() when the job is one process; exit() before MPI is up), after a
 *  message on stderr. Stable numbers; the launcher (mpiexec) ends with
 *  the same status. */
enum dlp_exit {
    DLP_EXIT_USAGE = 64,        /**< misuse with no status to return: dlp_is_master()
                                     before dlp_init() or after dlp_finalize() */
    DLP_EXIT_INTERNAL = 70,     /**< a helper thread of the library failed (message on
                                     stderr): the job cannot go on */
    DLP_EXIT_THREADS = 71,      /**< during a parallel call a thread could not be created
                                     (a process limit, ulimit -u): the OpenMP runtime
                                     ended the process */
    DLP_EXIT_TIME_LIMIT = 72,   /**< an item ran over opts.time_limit under ABORT */
    DLP_EXIT_NODE_LOST = 73,    /**< a node (or the master) sent no sign of life for
                                     DLP_LIVENESS_TIMEOUT seconds: a cut network link,
                                     or a host or process frozen (see dlp_init) */
    DLP_EXIT_COLLECTIVE_TIMEOUT = 74, /**< a rank waited DLP_COLLECTIVE_TIMEOUT seconds
                                     in a collective for ranks that did not call it */
    DLP_EXIT_IN_CALL = 75,      /**< a rank called exit() during a parallel call (also
                                     with one rank, whatever status it gave exit()) */
    DLP_EXIT_INTERRUPTED = 76   /**< not used by the library: the status the examples
                                     end with when a call returned DLP_ERR_INTERRUPTED
                                     (SIGTERM, SIGINT), so that a batch script can tell
                                     "run again to resume" from a failure */
};

/* --------------------------------------------------------------- runtime -- */

/** Initialise the library. Collective over MPI_COMM_WORLD; main thread.
 *  Calls MPI_Init_thread(MPI_THREAD_MULTIPLE) unless MPI is already
 *  initialised; then it joins the user's MPI (which must provide
 *  MPI_THREAD_MULTIPLE) and dlp_finalize() leaves MPI running.
 *  Works without a launcher (one rank). argc/argv may be NULL.
 *  When it initialises MPI, hwloc (which MPICH's MPI_Init uses to discover
 *  the node) skips PCI and I/O devices: HWLOC_COMPONENTS is set for the
 *  MPI_Init_thread call and unset again, so call dlp_init() before starting
 *  threads of your own. Not with DLP_HWLOC_IO=keep, nor when HWLOC_COMPONENTS,
 *  HWLOC_XMLFILE, HWLOC_SYNTHETIC or HWLOC_FSROOT is set (docs/configuration.md).
 *  Under Slurm, when neither OMP_NUM_THREADS nor DLP_THREADS is set, the
 *  team size is SLURM_CPUS_PER_TASK (omp_set_num_threads on this thread).
 *  With several nodes, rank 0 and each other node's leader exchange a
 *  heartbeat over the node doorbell's TCP connection (DLP_NODE_DOORBELL)
 *  from a thread of the library until dlp_finalize(): a node (or the
 *  master) not heard of for DLP_LIVENESS_TIMEOUT seconds (rank 0's value
 *  decides; default 60; 0 = off; a value that is not 0 or a number of
 *  seconds in 0.1 .. 1e6: a warning, then the default) is lost (a cut
 *  network link, a frozen host or process): the rank that noticed names
 *  its ranks, host and silence on stderr and aborts the job with
 *  DLP_EXIT_NODE_LOST. Items and waits play no part in it: a node busy for
 *  hours still beats. Nodes without a doorbell are not watched.
 *  Errors: DLP_ERR_THREAD_LEVEL, DLP_ERR_MPI (also: MPI sees one rank but
 *  the launcher started several tasks, e.g. srun without --mpi=pmi2; see
 *  DLP_LAUNCH_CHECK in docs/configuration.md), DLP_ERR_NOMEM, DLP_ERR_STATE (already
 *  initialised), DLP_ERR_FINALIZED (MPI was finalised by us). */
DLP_EXPORT int dlp_init(int *argc, char ***argv);

/** Release everything; finalise MPI if dlp_init() initialised it.
 *  Collective (it waits for every rank like the other collectives, with
 *  DLP_COLLECTIVE_TIMEOUT); main thread. Errors: DLP_ERR_NOT_INITIALIZED
 *  (never initialised), DLP_ERR_FINALIZED (called twice), DLP_ERR_STATE
 *  (inside a parallel call, or not the main thread), DLP_ERR_MISMATCH
 *  (another rank is in another collective: nothing is finalised, on any
 *  rank, and the library stays usable), DLP_ERR_MPI.
 *  When the user owns MPI, dlp_init() may be called again afterwards.
 *  With ranks on several nodes, an MPI_Finalize that has not returned after
 *  DLP_FINALIZE_TIMEOUT seconds (default 2) has the connected TCP sockets
 *  opened since dlp_init() shut down, with a line on stderr, so that the
 *  ranks can end: MPICH before 4.2 with UCX over TCP can hang there (see
 *  docs/clusters.md). SIGTERM and SIGINT get back the disposition the
 *  library's handler replaced, where that handler is still installed (see
 *  "Signals" at dlp_split_managed()). */
DLP_EXPORT int dlp_finalize(void);

/** 1 between dlp_init() and dlp_finalize(), else 0. Any thread. */
DLP_EXPORT int dlp_initialized(void);

/* The queries below (dlp_rank() ... dlp_threads()) return their value, or
 * before dlp_init() and after dlp_finalize() a negative code
 * (DLP_ERR_NOT_INITIALIZED, DLP_ERR_FINALIZED), never a valid-looking
 * answer; the first such call in a process also says so on stderr. */

/** This rank in dlp_comm() (0 .. size-1), the Python RANK. Not collective;
 *  any thread. Errors: DLP_ERR_NOT_INITIALIZED, DLP_ERR_FINALIZED. */
DLP_EXPORT int dlp_rank(void);
/** Number of ranks, the Python SIZE. Not collective; any thread. */
DLP_EXPORT int dlp_size(void);
/** 1 on the master (rank 0), 0 elsewhere, the Python IS_MASTER. Not
 *  collective; any thread. Every int reads as true or false, so there is no
 *  error value: called before dlp_init() or after dlp_finalize() it says so
 *  on stderr and ends the process with DLP_EXIT_USAGE (MPI_Abort when the
 *  user's MPI is running). */
DLP_EXPORT int dlp_is_master(void);
/** Index of this rank's node (0 .. nodes-1; the master's node is 0). Nodes are
 *  the groups of MPI_COMM_TYPE_SHARED. Not collective; any thread. */
DLP_EXPORT int dlp_node(void);
/** Number of nodes. Not collective; any thread. */
DLP_EXPORT int dlp_nodes(void);
/** Rank of this process within its node (0 = the node leader). Any thread. */
DLP_EXPORT int dlp_node_rank(void);
/** Team size the callback forms use on this rank: DLP_THREADS if set, else
 *  omp_get_max_threads() (see dlp_body_fn for OpenMP inside an item, when
 *  the team is smaller than OMP_NUM_THREADS). Not collective; any thread.
 *  Errors: DLP_ERR_NOT_INITIALIZED, DLP_ERR_FINALIZED. */
DLP_EXPORT int dlp_threads(void);
/** The library's communicator (a duplicate of MPI_COMM_WORLD); MPI_COMM_NULL
 *  when not initialised. Not collective; any thread. Do not free it. */
DLP_EXPORT MPI_Comm dlp_comm(void);

/* --------------------------------------------------------------- options -- */

/** How items are split between ranks. */
enum dlp_split {
    DLP_SPLIT_MANAGED = 0,    /**< master hands out chunks on request (default) */
    DLP_SPLIT_ROUND_ROBIN = 1 /**< rank r takes r, r+S, r+2S ...; no messages */
};

/** Chunk-size policy, at two levels. Node level (opts.schedule, managed
 *  splitting only; round robin checks it): how many items the master hands
 *  a node per request (P = nodes, R = items not handed out yet); every
 *  policy hands out at least ceil(n / 65536) items per chunk. Thread level
 *  (opts.thread_schedule; managed and round robin): how many of its node's
 *  items (round robin: its rank's) a team thread claims at once, the same
 *  policies in rounds: a round's n is the node's unclaimed items when the
 *  previous round is used up, R the round's unclaimed items, P the node's
 *  threads (round robin: the rank's); WF is FAC2 there, AWF uses the
 *  threads' measured rates, and AUTO means claims of one item, batched up
 *  to ~2 us of work when items are cheap (docs/configuration.md).
 *  Stable numbers: never renumbered, only appended. */
enum dlp_schedule {
    DLP_SCHEDULE_DEFAULT = 0, /**< DLP_SCHEDULE from the environment, else AUTO */
    DLP_SCHEDULE_AUTO = 1,    /**< node level: rate-adaptive factoring, at most 10 ms of
                                   measured work per chunk, more when many nodes load the
                                   master (DLP_CHUNK_TIME; docs/configuration.md); thread
                                   level: single items, batched when cheap */
    DLP_SCHEDULE_FIXED = 2,   /**< fixed chunks of opts.chunk items (thread level:
                                   opts.thread_chunk) */
    DLP_SCHEDULE_STATIC = 3,  /**< ceil(n / P) items: at most P chunks */
    DLP_SCHEDULE_GSS = 4,     /**< guided: ceil(R / P), at least opts.chunk items (thread
                                   level: opts.thread_chunk) */
    DLP_SCHEDULE_TSS = 5,     /**< trapezoid: linearly from n / (2P) down to the smallest */
    DLP_SCHEDULE_FAC2 = 6,    /**< factoring: batches of P chunks of R / (2P) each, R at
                                   the batch's start */
    DLP_SCHEDULE_WF = 7,      /**< weighted factoring: FAC2 by the node's share of threads
                                   (thread level: FAC2) */
    DLP_SCHEDULE_AWF = 8      /**< adaptive weighted factoring: FAC2 by the node's share of
                                   the measured item rates (thread level: the thread's) */
};

/** Progress bar on the master (stderr). */
enum dlp_progress {
    DLP_PROGRESS_DEFAULT = 0, /**< DLP_PROGRESS from the environment, else AUTO */
    DLP_PROGRESS_AUTO = 1,    /**< managed and map calls, when stderr is a terminal */
    DLP_PROGRESS_ON = 2,      /**< always (a plain line every interval when not a terminal) */
    DLP_PROGRESS_OFF = 3,     /**< never */
    DLP_PROGRESS_TTY = 4      /**< always, as one line redrawn in place: for a
                                   terminal behind a launcher (hydra's mpiexec
                                   hands the ranks a pipe, not the terminal) */
};

/** What a parallel call does when an item fails (a body or work function
 *  returns non-zero, dlp_loop_fail(), a failing map callback). */
enum dlp_on_error {
    DLP_ON_ERROR_DEFAULT = 0, /**< DLP_ON_ERROR from the environment, else ABORT */
    DLP_ON_ERROR_ABORT = 1,   /**< stop handing out work; every rank returns
                                   DLP_ERR_ITEM with the first failure's report */
    DLP_ON_ERROR_SKIP = 2,    /**< go on; the call completes (results gathered, as
                                   far as the items succeeded) and every rank returns
                                   DLP_SKIPPED (1, not an error) when items failed, and
                                   dlp_failures() lists them */
    DLP_ON_ERROR_RETRY = 3    /**< go on; at the end run each failed item again, up to
                                   opts.retries times, each time on another rank (when
                                   there is one); items that still fail are handled as
                                   by ABORT. Callback forms only (dlp_split_*,
                                   dlp_map_unordered): the loop forms have no body the
                                   library could run again (DLP_ERR_OPTION) */
};

typedef struct dlp_results dlp_results;
typedef struct dlp_collector dlp_collector;
typedef struct dlp_reduce dlp_reduce;

/** Options of a parallel call. All-zero (DLP_OPTS_INIT) means defaults;
 *  a zero field takes its DLP_* environment variable, else the default.
 *  A NULL pointer to options means all defaults. */
typedef struct dlp_opts {
    int split;              /**< enum dlp_split; for dlp_loop_begin only (the other calls
                                 split as their name says: dlp_split_managed and the
                                 maps refuse DLP_SPLIT_ROUND_ROBIN, DLP_ERR_OPTION) */
    int schedule;           /**< enum dlp_schedule at the node level (0 = DLP_SCHEDULE:
                                 its P, or P1 of P1/P2; else AUTO) */
    long chunk;             /**< node level: FIXED: the chunk size in items; GSS: the
                                 smallest chunk (0 = the :K of DLP_SCHEDULE's node part,
                                 else DLP_CHUNK, else 1); other policies ignore it */
    int threads;            /**< team size of the callback forms (0 = dlp_threads()) */
    dlp_results *results;   /**< dense results gathered on the master, or NULL */
    dlp_collector *collector; /**< variable-size results gathered on the master, or NULL */
    int progress;           /**< enum dlp_progress (0 = DLP_PROGRESS, else AUTO) */
    const char *label;      /**< progress bar label, the Python pbar_prefix (NULL = none) */
    double progress_interval; /**< seconds between progress lines (0 = DLP_PROGRESS_INTERVAL,
                                   else 0.1 on a terminal, 5 otherwise) */
    size_t inflight;        /**< map: result bytes a rank may have in flight to the master
                                 (0 = DLP_INFLIGHT, else 8 MiB) */
    int on_error;           /**< enum dlp_on_error (0 = DLP_ON_ERROR, else ABORT) */
    double time_limit;      /**< seconds one item may run before it is reported by index,
                                 rank, thread and host while it runs; with ABORT the job is
                                 then aborted (0 = DLP_TIME_LIMIT, else none) */
    int retries;            /**< RETRY: runs of a failed item after its first (0 = the N of
                                 DLP_ON_ERROR=retry=N, else 1) */
    const char *journal;    /**< journal file on the master: items done are recorded there
                                 and a rerun of the same call skips them (NULL =
                                 DLP_JOURNAL, else none). An item is done when its body
                                 (map: on_result) returns 0, so its output must be
                                 written and flushed by then. See docs/guide.md,
                                 "Journal and resume" */
    int thread_schedule;    /**< enum dlp_schedule at the thread level: how many items a
                                 team thread claims at once (0 = the thread part of
                                 DLP_SCHEDULE when opts.schedule is 0 too: P of P or P2 of
                                 P1/P2; else AUTO, batched claims of single items) */
    long thread_chunk;      /**< thread level: FIXED's chunk, GSS's smallest chunk (0 = the
                                 :K of DLP_SCHEDULE's thread part, else DLP_CHUNK, else 1) */
    dlp_reduce *reduce;     /**< a reduction of the items' contributions (dlp_reduce_create),
                                 or NULL; callback forms, loop form and maps */
    int on_all_ranks;       /**< 1: opts.reduce's result and opts.results' dense array are
                                 delivered to every rank, not only the master (0 or 1) */
} dlp_opts;

#define DLP_OPTS_INIT {0, 0, 0, 0, NULL, NULL, 0, NULL, 0.0, 0, 0, 0.0, 0, NULL, 0, 0, NULL, 0}

/* ------------------------------------------------------ callback forms -- */

/** A loop body: process item i; return 0 on success, non-zero on failure
 *  (the value is kept in dlp_failure.value; dlp_item_fail() says why).
 *  Called on any rank, from any thread of the team, concurrently. The team
 *  is an OpenMP team (omp_get_thread_num() is valid inside; a team of one
 *  thread runs on the calling thread, so omp_get_level() is the caller's
 *  there). Bodies may make their own MPI calls (MPI_THREAD_MULTIPLE) on
 *  communicators of their own, but must not call dlp_* collectives
 *  (DLP_ERR_STATE).
 *  OpenMP inside a body (or a map's work function): its own `#pragma omp
 *  parallel` is nested in the team, and gets 1 thread unless nested levels
 *  are active (OMP_MAX_ACTIVE_LEVELS=2, or a list OMP_NUM_THREADS=P,I).
 *  Then the library sizes it so that the team never oversubscribes what
 *  OMP_NUM_THREADS asks for: with OMP_NUM_THREADS=P each item's region gets
 *  P / T threads (T = the team: DLP_THREADS, opts.threads, else P); with
 *  OMP_NUM_THREADS=P,I it gets min(I, P * I / T); at least 1. E.g.
 *  DLP_THREADS=2 OMP_NUM_THREADS=8 OMP_MAX_ACTIVE_LEVELS=2: 2 items at a
 *  time, 4 threads each. A num_threads clause of the body's own still
 *  wins. (The loop form's region is the caller's: size its inner regions
 *  yourself.) */
typedef int (*dlp_body_fn)(long i, void *ctx);

/** Process items 0 .. n-1 with managed splitting: the master hands out chunks
 *  of indices to the nodes on request, each node's ranks share the node's
 *  chunks, and an OpenMP team on every rank runs body(i, ctx). The master
 *  computes too. Every item runs exactly once (unless a body fails).
 *  Collective; main thread. n == 0 does nothing.
 *  With opts.journal, items a journal recorded as done in an earlier run
 *  are skipped (docs/guide.md, "Journal and resume"). SIGTERM/SIGINT during the call
 *  stop it after the running items (DLP_GRACE).
 *  Signals (all parallel calls; DLP_SIGNALS, default on): the first call
 *  that catches them looks at SIGTERM and SIGINT once and installs the
 *  library's handler for each whose disposition is the default (a handler
 *  of the program's is kept and gets the signal; an ignored one stays
 *  ignored); the handler stays until dlp_finalize(), so that a call costs
 *  no system call for it. Between calls, and during a call with
 *  DLP_SIGNALS=0, it passes a signal on to the default action (the process
 *  ends with the signal's status, as without the library). A disposition
 *  the program sets later replaces the library's handler and wins: the
 *  library no longer catches that signal (also after SIG_DFL), until the
 *  program puts back the action sigaction() returned in its place (the
 *  library's handler). The library does not look per call: that would
 *  cost a system call per signal and call. dlp_finalize() puts the default
 *  back only where the library's handler is still installed.
 *  Returns DLP_OK, or DLP_SKIPPED (1) under on_error = skip when items
 *  failed: the call completed, dlp_failures() lists them (every rank gets it).
 *  Errors: DLP_ERR_ARG (body NULL, n < 0), DLP_ERR_OPTION, DLP_ERR_MISMATCH,
 *  DLP_ERR_ITEM (a body failed: the same code and report on every rank;
 *  under RETRY: still failing after the retries), DLP_ERR_JOURNAL,
 *  DLP_ERR_INTERRUPTED, DLP_ERR_STATE (nested call; a body wrote results
 *  that are not opts.results: see dlp_results_at()), DLP_ERR_MPI,
 *  DLP_ERR_NOMEM. */
DLP_EXPORT int dlp_split_managed(long n, dlp_body_fn body, void *ctx,
                                 const dlp_opts *opts);

/** Like dlp_split_managed() with round-robin splitting: rank r takes items
 *  r, r+S, r+2S ... (S = size), its team shares them dynamically. No messages
 *  during the loop. Collective; main thread. Returns and errors: as
 *  dlp_split_managed(). */
DLP_EXPORT int dlp_split_round_robin(long n, dlp_body_fn body, void *ctx,
                                     const dlp_opts *opts);

/** Fail the item the calling thread is running, with a printf-style reason
 *  (NULL: "failed (dlp_item_fail)"): from a body of dlp_split_managed() /
 *  dlp_split_round_robin(), a work function of dlp_map_unordered() /
 *  dlp_map_begin(), or in the loop form from the thread that took the item
 *  with dlp_loop_next(), before it asks for the next one. The item fails
 *  even if the body then returns 0, and is handled as any failed item
 *  (on_error: abort, skip, retry). Its dlp_failure.message is the reason,
 *  followed by the body's non-zero return value when it had one: "item 17
 *  failed on rank 1, thread 0, host x: cannot open in/17.dat: No such file
 *  or directory (body returned 3)"; the value itself is in dlp_failure.value.
 *  In a body or work function the first reason stands (later calls for the
 *  same item return DLP_OK and change nothing); in the loop form the call
 *  ends the item at once, as dlp_loop_fail() does. Not collective; the
 *  thread running the item (not the threads of an OpenMP region the body
 *  opens itself). Errors: DLP_ERR_STATE (the calling thread is not running
 *  an item of a parallel call: nothing is recorded). */
DLP_EXPORT int dlp_item_fail(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* ------------------------------------------------------------ loop form -- */

typedef struct dlp_loop dlp_loop;

/** Start a loop over items 0 .. n-1 (opts->split chooses managed or round
 *  robin). Then, in the user's own parallel region:
 *      while (dlp_loop_next(loop, &i)) { ... }
 *  and finally dlp_loop_end(&loop). Collective; main thread.
 *  Errors: as dlp_split_managed() (on error *loop is NULL). */
DLP_EXPORT int dlp_loop_begin(dlp_loop **loop, long n, const dlp_opts *opts);

/** Next item for the calling thread: returns 1 and sets *i, or 0 when this
 *  thread has no more items (the loop is exhausted or stopped by a failure).
 *  Not collective; any thread, concurrently, of any team on this rank.
 *  Never blocks on MPI. Misuse (NULL arguments) returns 0. */
DLP_EXPORT int dlp_loop_next(dlp_loop *loop, long *i);

/** The range form of dlp_loop_next(), for cheap items: the calling thread's
 *  next batch of items, *begin, *begin + *step, ... (all < *end; *end is
 *  the last item + 1). Returns 1 and sets the three, or 0 when the thread
 *  has no more items (as dlp_loop_next()). *step is 1 under managed
 *  splitting and S, the number of ranks, under round robin (rank r owns r,
 *  r+S, ...). A thread's loop:
 *      long b, e, s;
 *      while (dlp_loop_next_range(loop, &b, &e, &s)) {
 *          double *acc = dlp_reduce_acc(r);     (with opts.reduce = r)
 *          for (long i = b; i < e; i += s)
 *              *acc += f(i);
 *      }
 *  The library's cost is per batch, not per item. Batch sizes: the
 *  thread-level schedule's chunk (DLP_SCHEDULE=P1/P2, opts.thread_schedule;
 *  a batch is cut where the node's chunks end), or under auto (the default)
 *  about 50 us of work at the thread's measured speed (one item at first;
 *  at most 2^20 items, and at most a quarter of the thread's share of the
 *  items its rank or node holds unclaimed, so the threads still end
 *  together).
 *  A batch's items are done when the thread asks for its next batch (or
 *  gets 0): then they count (progress, the journal). dlp_loop_fail(loop, i)
 *  for an item i of the thread's batch fails just i (its dlp_failure, the
 *  journal records it failed); the batch's other items count done when the
 *  thread asks again, so go on with them (under abort the loop stops: the
 *  next call returns 0). A thread that stops working on a batch must not
 *  ask again: its batch's items then count neither done nor failed.
 *  dlp_item_fail() does not apply (a batch has no single current item).
 *  Reductions: the thread's dlp_reduce_acc() is valid until it asks again;
 *  under skip a failed item's contribution is whatever the thread added
 *  for it (add nothing for an item you fail). opts.time_limit applies to a
 *  batch as a whole; its report names the batch's first and last items.
 *  DLP_TRACE_ITEMS records one span per batch.
 *  A loop takes its items one way: all its threads with dlp_loop_next() or
 *  all with dlp_loop_next_range(); a thread that takes the other way gets 0
 *  and the call fails on every rank with DLP_ERR_STATE (dlp_loop_end()
 *  reports it).
 *  Not collective; any thread, concurrently, of any team on this rank.
 *  Never blocks on MPI. Misuse (NULL arguments) returns 0. */
DLP_EXPORT int dlp_loop_next_range(dlp_loop *loop, long *begin, long *end, long *step);

/** Report that item i failed (printf-style message). Under on_error = abort
 *  it stops the loop on every rank, and dlp_loop_end() then returns
 *  DLP_ERR_ITEM everywhere with this report; under skip the loop goes on and
 *  dlp_loop_end() returns DLP_SKIPPED.
 *  Not collective; any thread. Errors: DLP_ERR_ARG (loop NULL; i not one of
 *  the loop's items 0..n-1: then the call fails as for a failed item, with a
 *  report (item -1, code DLP_ERR_ARG) that names i, so dlp_loop_end()
 *  returns DLP_ERR_ARG, or DLP_SKIPPED under skip; the journal records
 *  nothing for it). */
DLP_EXPORT int dlp_loop_fail(dlp_loop *loop, long i, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/** Finish the loop: wait for all ranks, gather opts->results, agree on the
 *  outcome, free the loop and set *loop to NULL (NULL is accepted: returns
 *  DLP_ERR_ARG). Collective; main thread, after the parallel region.
 *  Returns DLP_OK, or DLP_SKIPPED when items failed under on_error = skip.
 *  Errors: DLP_ERR_ITEM (one report, the same on every rank), DLP_ERR_MPI. */
DLP_EXPORT int dlp_loop_end(dlp_loop **loop);

/* -------------------------------------------------------- dense results -- */

/** Create storage for one fixed-size result per item: n items of elem_size
 *  bytes. Bodies write item i's result at dlp_results_at(r, i); after a
 *  managed or round-robin call with opts.results = r, the master holds all n
 *  results densely in item order (dlp_results_data()). Each node keeps its
 *  items in node-shared memory (pages are used only where written) and its
 *  leader sends only the ranges the node computed. Totals above 2 GiB work.
 *  Collective; main thread. On error *r is set to NULL.
 *  Errors: DLP_ERR_ARG (NULL r, n < 0, elem_size 0, n*elem_size
 *  overflows), DLP_ERR_NOMEM, DLP_ERR_MISMATCH. */
DLP_EXPORT int dlp_results_create(dlp_results **r, long n, size_t elem_size);

/** Address of item i's result slot (NULL if r is NULL or i is out of range).
 *  Not collective; any thread. Write only the items your rank processes.
 *  During a parallel call, only the call's opts.results reaches the master:
 *  a body (or map work, or any thread of the call's teams) that calls it on
 *  another results object (opts.results NULL or a different one) makes the
 *  call stop and return DLP_ERR_STATE on every rank, whatever on_error says,
 *  with a report like "dlp_split_managed: dlp_results_at(r, 17): r is not
 *  attached to the running call dlp_split_managed (opts.results is NULL):
 *  ... set opts.results = r (on rank 1, thread 0, host node07)". The slot
 *  returned is still valid memory. Exempt: the master's map result handlers
 *  (on_result, a dlp_map_next() loop), which write the master's own array.
 *  Outside a call (e.g. the master reading the results) any r may be read. */
DLP_EXPORT void *dlp_results_at(dlp_results *r, long i);

/** Bytes of one element of r (the elem_size it was created with), 0 when r
 *  is NULL. Not collective; any thread. */
DLP_EXPORT size_t dlp_results_elem_size(const dlp_results *r);

/** dlp_results_at() that checks the size of what the caller will write:
 *  size must be r's element size. Use it through DLP_RESULTS_AT(). On a
 *  mismatch (e.g. sizeof of a pointer where the element was meant) during
 *  a parallel call, the call stops and returns DLP_ERR_ARG on every rank
 *  with a report giving both sizes ("DLP_RESULTS_AT(r, 17, type):
 *  sizeof(type) = 8 bytes, but r holds elements of 24 bytes ..."); the
 *  pointer returned can still be written with size bytes (up to 64 KiB).
 *  Outside a call it returns NULL, records the message (dlp_last_error())
 *  and prints it once on stderr. NULL also as dlp_results_at(). Not
 *  collective; any thread. */
DLP_EXPORT void *dlp_results_at_checked(dlp_results *r, long i, size_t size);

/** Item i's slot of r as a pointer to type, checked: sizeof(type) must be
 *  r's element size (see dlp_results_at_checked()), e.g.
 *      *DLP_RESULTS_AT(r, i, double) = x; */
#define DLP_RESULTS_AT(r, i, type) ((type *)dlp_results_at_checked((r), (i), sizeof(type)))

/** The master's dense array of n * elem_size bytes, complete after a call
 *  that used r; on other ranks a sparse local view holding only the slots
 *  this node wrote; after a call with opts.on_all_ranks = 1 the complete
 *  array on every rank too (the master's array is sent to each remote
 *  node's leader, into the node's shared segment: one copy per node, read
 *  by all its ranks). One r may be passed to several calls in a row: each
 *  call's items overwrite their slots. Not collective; any thread (also to
 *  read r from the bodies of a later call that has other opts.results). */
DLP_EXPORT void *dlp_results_data(dlp_results *r);

/** Free this rank's view of the storage and set *r to NULL; NULL and
 *  *r == NULL are accepted. Not collective (no communication), but every
 *  rank must free its own: call it on every rank, after the calls that use
 *  r. Main thread. */
DLP_EXPORT int dlp_results_destroy(dlp_results **r);

/* ----------------------------------------------------------- reductions -- */

/** Operations of the built-in reductions. */
enum dlp_reduce_op {
    DLP_REDUCE_SUM = 1,
    DLP_REDUCE_MIN = 2,
    DLP_REDUCE_MAX = 3,
    DLP_REDUCE_SUM_REPRO = 4 /**< sum of doubles, bitwise identical whatever the layout,
                                  thread count, schedule and retries: exact accumulation,
                                  rounded once at the end (to nearest); items add with
                                  dlp_reduce_add() */
};

/** Element types of the built-in reductions. */
enum dlp_reduce_type {
    DLP_REDUCE_DOUBLE = 1, /**< double */
    DLP_REDUCE_INT64 = 2   /**< int64_t (sums wrap around modulo 2^64) */
};

/** A reduction of per-item contributions, combined threads -> rank -> node
 *  leader -> master (and back to every rank with opts.on_all_ranks = 1),
 *  never as an array of n results. Attach it with opts.reduce = r to
 *  dlp_split_managed(), dlp_split_round_robin(), dlp_loop_begin() or the
 *  maps; each thread that runs items gets its own accumulator (cache-line
 *  separated), set to the identity at the start of every call: the result
 *  is the reduction of that call's items only.
 *  Failure policies: under on_error = skip and retry an item's
 *  contributions go to a scratch accumulator of its thread that is merged
 *  into the thread's accumulator only when the item succeeds (body returned
 *  0 and no dlp_item_fail(); loop form: when its thread takes the next item
 *  without dlp_loop_fail() for it; range loop form: see
 *  dlp_loop_next_range()), so a failed item contributes nothing
 *  and a retried item exactly once (costs an init and a combine per item
 *  that contributes). Under abort the contributions go straight into the
 *  thread's accumulator; a call that fails delivers no result
 *  (dlp_reduce_result() is then NULL everywhere).
 *  Every rank must attach a reduction of the same shape (op, type, count;
 *  user: bytes), and agree on opts.on_all_ranks: else the call returns
 *  DLP_ERR_MISMATCH on every rank. A journal (opts.journal) cannot be
 *  combined with a reduction (the items it skips would be missing from the
 *  result): DLP_ERR_OPTION.
 *  dlp_reduce_create() makes a built-in: op over count elements of type
 *  (count 1 for a scalar; e.g. a histogram of 100 bins is
 *  dlp_reduce_create(&h, DLP_REDUCE_SUM, DLP_REDUCE_INT64, 100) and an item
 *  does ((int64_t *)dlp_reduce_acc(h))[bin]++). Identities: 0 for sums,
 *  +inf / INT64_MAX for MIN, -inf / INT64_MIN for MAX.
 *  Not collective (no communication); main thread, outside a call.
 *  On error *r is NULL. Errors: DLP_ERR_ARG (r NULL, unknown op or type,
 *  SUM_REPRO of INT64, count < 1 or too large), DLP_ERR_NOMEM. */
DLP_EXPORT int dlp_reduce_create(dlp_reduce **r, int op, int type, long count);

/** Initialise an accumulator of the user's reduction to its identity. */
typedef void (*dlp_reduce_init_fn)(void *acc, void *ctx);
/** Combine from into into (into = into (op) from). Must be associative; it
 *  need not be commutative, but the order of the threads and items is not
 *  fixed, so for a reproducible result it must be both. */
typedef void (*dlp_reduce_combine_fn)(void *into, const void *from, void *ctx);

/** A user reduction over accumulators of `bytes` bytes (up to 256 MiB),
 *  with init and combine (ctx is passed to both; they run on any thread of
 *  any rank, and on the main thread at the end of the call). Everything
 *  else as dlp_reduce_create(). Not collective; main thread.
 *  Errors: DLP_ERR_ARG (r, init or combine NULL, bytes 0 or too large),
 *  DLP_ERR_NOMEM. */
DLP_EXPORT int dlp_reduce_create_user(dlp_reduce **r, size_t bytes, dlp_reduce_init_fn init,
                                      dlp_reduce_combine_fn combine, void *ctx);

/** The calling thread's accumulator during a call that has opts.reduce = r:
 *  a double * / int64_t * of count elements for the built-ins, `bytes`
 *  bytes for a user reduction; add the item's contribution to it (e.g.
 *  *(double *)dlp_reduce_acc(r) += x). Valid until the calling thread's
 *  item ends (range loop form: until the thread asks for its next batch).
 *  Not collective; any thread running items of the call (a body, a map's
 *  work function, a thread of a dlp_loop_next() or dlp_loop_next_range()
 *  loop).
 *  Misuse: during a call whose opts.reduce is not r the call stops and
 *  returns DLP_ERR_STATE on every rank (the pointer returned is still
 *  writable scratch); outside a call, or for DLP_REDUCE_SUM_REPRO (add with
 *  dlp_reduce_add() instead), NULL with the message in dlp_last_error(). */
DLP_EXPORT void *dlp_reduce_acc(dlp_reduce *r);

/** Add x to element 0 of the calling thread's accumulator: the way to
 *  contribute to DLP_REDUCE_SUM_REPRO (exactly); for the other double
 *  built-ins it combines x with element 0 (sum, min or max). Not
 *  collective; threads as dlp_reduce_acc(). Errors: DLP_ERR_ARG (r NULL,
 *  not a reduction of doubles), DLP_ERR_STATE (no call with opts.reduce = r
 *  runs; during another call the call also fails, as dlp_reduce_acc()). */
DLP_EXPORT int dlp_reduce_add(dlp_reduce *r, double x);

/** dlp_reduce_add() to element k (0 <= k < count). Errors: as
 *  dlp_reduce_add(), and DLP_ERR_ARG for k out of range. */
DLP_EXPORT int dlp_reduce_add_at(dlp_reduce *r, long k, double x);

/** The combined value after a call that completed (DLP_OK or DLP_SKIPPED)
 *  with opts.reduce = r: on the master, and on every rank when the call had
 *  opts.on_all_ranks = 1 (the same bytes everywhere); count doubles /
 *  int64_t for the built-ins (SUM_REPRO too: rounded doubles), bytes for a
 *  user reduction. NULL on the other ranks, before the first call, after a
 *  call that failed, and during a call. Valid until the next call with r or
 *  dlp_reduce_destroy(). Not collective; any thread. */
DLP_EXPORT const void *dlp_reduce_result(const dlp_reduce *r);

/** Free r and set *r to NULL (NULL and *r == NULL are accepted). Not
 *  collective; main thread, not while a call uses r (DLP_ERR_STATE). */
DLP_EXPORT int dlp_reduce_destroy(dlp_reduce **r);

/* ------------------------------------------- variable-size results -- */

/** Collector of variable-size results: during a managed or round-robin call
 *  with opts.collector = c, any thread of any rank adds (i, bytes); after
 *  the call the master holds all of them in item order. The bytes flow
 *  threads -> rank -> node leader -> master, like dense results, and totals
 *  above 2 GiB work; the master holds the bytes once, plus about 72 bytes
 *  per result. An add that ran out of memory makes the call fail with
 *  DLP_ERR_NOMEM on every rank (no result goes missing silently). Each call
 *  that uses c replaces its previous contents.
 *  Create: collective; main thread. Errors: DLP_ERR_ARG (c NULL; then *c is
 *  NULL), DLP_ERR_NOMEM, DLP_ERR_STATE (inside a call). */
DLP_EXPORT int dlp_collector_create(dlp_collector **c);

/** Add the result of item i (len bytes, copied; len 0 is a valid result).
 *  Not collective; any thread of the team, concurrently, during a call that
 *  has opts.collector = c. Several results for one item are kept (all of
 *  them, adjacent in item order). Errors: DLP_ERR_ARG (c NULL, i outside
 *  0..n-1 of the call, data NULL with len > 0), DLP_ERR_STATE (no call with
 *  this collector is running), DLP_ERR_NOMEM. */
DLP_EXPORT int dlp_collector_add(dlp_collector *c, long i, const void *data, size_t len);

/** Number of results the master holds after the call (0 on other ranks, and
 *  a negative code on error). Not collective; main thread. */
DLP_EXPORT long dlp_collector_count(const dlp_collector *c);

/** The k-th result in item order (0 <= k < dlp_collector_count()): its item,
 *  bytes and length. Several results of one item keep their add order when
 *  one thread added them, else they come by rank, then thread. The pointer
 *  stays valid until the collector's next call or destroy. Master only; not
 *  collective. Errors: DLP_ERR_ARG (also on a rank other than the master). */
DLP_EXPORT int dlp_collector_get(const dlp_collector *c, long k, long *i, const void **data,
                                 size_t *len);

/** All results on the master as one buffer: result k is
 *  data[offsets[k] .. offsets[k+1]) of item items[k], in item order
 *  (offsets has count + 1 entries). Any output pointer may be NULL.
 *  Master only; not collective. Errors: DLP_ERR_ARG. */
DLP_EXPORT int dlp_collector_buffer(const dlp_collector *c, const void **data,
                                    const size_t **offsets, const long **items, long *count);

/** Free the collector and set *c to NULL (NULL and *c == NULL are accepted).
 *  Not collective (no communication); call it on every rank. Main thread.
 *  Errors: DLP_ERR_STATE (a call is using it). */
DLP_EXPORT int dlp_collector_destroy(dlp_collector **c);

/* ------------------------------------------------------ map_unordered -- */

/** Output of one item of dlp_map_unordered(): bytes appended to it become
 *  the item's result. Valid only inside the work function it was given to. */
typedef struct dlp_buf dlp_buf;

/** Append len bytes (len 0 is fine). One item's result may hold at most
 *  1 GiB. A failed append also fails the item, even if work ignores the
 *  status: the map returns DLP_ERR_ITEM (result too large) or DLP_ERR_NOMEM
 *  on every rank. Errors: DLP_ERR_ARG (NULL, too large), DLP_ERR_NOMEM. */
DLP_EXPORT int dlp_buf_append(dlp_buf *out, const void *data, size_t len);

/** Append formatted text (no terminating NUL). Errors: DLP_ERR_ARG,
 *  DLP_ERR_NOMEM. */
DLP_EXPORT int dlp_buf_printf(dlp_buf *out, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/** Grow the output by len bytes and return where to write them (NULL on
 *  error: out of memory). The pointer is valid until the next append. */
DLP_EXPORT void *dlp_buf_reserve(dlp_buf *out, size_t len);

/** Work function of dlp_map_unordered(): compute item i, append its result
 *  to out, return 0 (non-zero: the item failed; dlp_item_fail() says why,
 *  and also fails it when work returns 0: its result is then dropped). Any
 *  rank, any thread, concurrently. */
typedef int (*dlp_work_fn)(long i, void *ctx, dlp_buf *out);

/** Master callback of dlp_map_unordered(): handle item i's result (len
 *  bytes at data, valid during the call only). Return 0, or non-zero to
 *  stop the map (DLP_ERR_ITEM on every rank). */
typedef int (*dlp_result_fn)(long i, const void *data, size_t len, void *ctx);

/** The Python map_unordered: run work(i, ctx, out) for items 0 .. n-1 on
 *  every rank and thread (managed splitting; the master's team computes
 *  too), and on the master call on_result(i, data, len, ctx) for every item
 *  exactly once, one call at a time, in arrival order, while the other
 *  ranks keep computing. Memory stays bounded: a rank holds at most
 *  opts.inflight bytes of results the master has not handled yet (one
 *  larger result per thread at a time is allowed), so a slow callback
 *  slows the workers down instead of growing memory. Results travel with
 *  their item index, in batches: a result reaches on_result within a few
 *  milliseconds, or at the latest when its thread has finished its next
 *  item. ctx is passed to both functions. Between map calls a rank keeps
 *  the batch memory of the last one for the next (at most its window and a
 *  quarter plus 1 MiB, and 16 MiB); dlp_finalize() frees it. Collective;
 *  main thread. Returns and errors: as dlp_split_managed(), plus
 *  DLP_ERR_ITEM when on_result fails (under skip: DLP_SKIPPED, the item
 *  listed). */
DLP_EXPORT int dlp_map_unordered(long n, dlp_work_fn work, dlp_result_fn on_result, void *ctx,
                                 const dlp_opts *opts);

/** Loop form of dlp_map_unordered(), like the Python
 *      for result in map_unordered(work, items): ...
 *  dlp_map_begin() starts the computation on every rank (each rank's team
 *  runs on a thread of the library); then on the master
 *      while (dlp_map_next(map, &i, &data, &len)) { ... }
 *  receives every item's result exactly once, in arrival order, on the
 *  calling thread (data is valid until the next dlp_map_next()); on the
 *  other ranks dlp_map_next() returns 0 at once. Finally dlp_map_end(&map)
 *  on every rank.
 *  dlp_map_begin: collective; main thread. Errors: as dlp_map_unordered()
 *  (on error *map is NULL). */
typedef struct dlp_map dlp_map;
DLP_EXPORT int dlp_map_begin(dlp_map **map, long n, dlp_work_fn work, void *ctx,
                             const dlp_opts *opts);

/** The master's next result: returns 1 and sets *i, *data, *len, or 0 when
 *  all results are in (or the map failed; dlp_map_end() then says why).
 *  Returns 0 at once on other ranks and on NULL arguments. Not collective;
 *  the thread that called dlp_map_begin(). */
DLP_EXPORT int dlp_map_next(dlp_map *map, long *i, const void **data, size_t *len);

/** Finish the map, free it and set *map to NULL. Collective; main thread.
 *  If the master calls it before dlp_map_next() returned 0, the map is
 *  stopped: no more work is handed out, the remaining results are dropped
 *  and every rank gets DLP_ERR_STATE. Returns DLP_OK, or DLP_SKIPPED when
 *  items failed under on_error = skip. Errors: DLP_ERR_ARG (NULL),
 *  DLP_ERR_ITEM (a work function failed: the same report on every rank),
 *  DLP_ERR_STATE, DLP_ERR_NOMEM, DLP_ERR_MPI. */
DLP_EXPORT int dlp_map_end(dlp_map **map);

/* ---------------------------------------------------------- collectives -- */

/** The Python gather: every rank contributes len bytes of buf; on the master
 *  *all receives a malloc'd buffer (free() it) with all contributions in rank
 *  order, and lens[r] (an array of dlp_size() entries) the bytes of rank r.
 *  On other ranks *all is set to NULL and lens may be NULL. When every
 *  rank contributes 0 bytes, the master's *all is a valid 1-byte
 *  allocation (free() it) and every lens[r] is 0. The data flows
 *  rank -> node leader -> master; totals above 2 GiB work.
 *  Collective; main thread. Errors: DLP_ERR_ARG, DLP_ERR_MISMATCH, DLP_ERR_STATE,
 *  DLP_ERR_NOMEM, DLP_ERR_MPI. */
DLP_EXPORT int dlp_gather(const void *buf, size_t len, void **all, size_t *lens);

/** dlp_gather() into the master's own buffer out of cap bytes (reused from
 *  call to call, it costs no fresh pages: gathers of tens of MiB run at the
 *  speed of MPI_Gatherv into a warm buffer, where dlp_gather's new buffer,
 *  though asked for as transparent huge pages from 4 MiB up, is still
 *  zero-filled by the kernel: ~0.65x). Contributions land in rank order from out[0]; lens as in
 *  dlp_gather(). out and cap are ignored on the other ranks (NULL, 0 fine).
 *  Collective; main thread. Errors: DLP_ERR_ARG (also on every rank when
 *  the contributions need more than cap bytes: the message gives both),
 *  DLP_ERR_NOMEM, DLP_ERR_MPI. */
DLP_EXPORT int dlp_gather_into(const void *buf, size_t len, void *out, size_t cap,
                               size_t *lens);

/** Broadcast len bytes of buf from rank root to every rank (len and root
 *  must agree). Collective; main thread. Errors: DLP_ERR_ARG, DLP_ERR_MISMATCH
 *  (other len or root, or a rank in another collective), DLP_ERR_STATE,
 *  DLP_ERR_MPI. */
DLP_EXPORT int dlp_bcast(void *buf, size_t len, int root);

/** Barrier over dlp_comm(). Collective; main thread. Errors: DLP_ERR_MISMATCH
 *  (a rank is in another collective), DLP_ERR_STATE, DLP_ERR_MPI. */
DLP_EXPORT int dlp_barrier(void);

/** Function run on the master by dlp_call_on_root_and_bcast(): fills out
 *  (len bytes) and returns 0, or non-zero on failure. */
typedef int (*dlp_root_fn)(void *ctx, void *out, size_t len);

/** Run fn(ctx, out, len) on the master only; every rank then receives out
 *  and the outcome. Collective; main thread. Errors: DLP_ERR_ARG,
 *  DLP_ERR_ITEM (fn returned non-zero on the master: every rank gets it). */
DLP_EXPORT int dlp_call_on_root_and_bcast(dlp_root_fn fn, void *ctx,
                                          void *out, size_t len);

#ifdef __cplusplus
}
#endif
#endif /* DLP_MPI_H */
