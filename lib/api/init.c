/* The public entry points of the runtime: dlp_init, dlp_finalize and the
 * queries (rank, size, node level, communicator). The top of the library:
 * it starts every layer below and ends them (runtime.c holds the state). */
#include "runtime.h"

#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "helper.h"
#include "launcher.h"
#include "liveness.h"
#include "loop.h"
#include "map_cache.h"
#include "mpi_end.h"
#include "mpi_start.h"
#include "netbell.h"
#include "options.h"
#include "signals.h"
#include "wait.h"

int dlp_initialized(void) { return atomic_load(&dlp__rt.state) == DLP__READY; }

/* Node level: MPI_COMM_TYPE_SHARED groups, numbered in the order of their
 * leaders' world ranks (so the master's node is 0). Besides the split, one
 * allgather of every rank's leader, waited for politely: the node numbers
 * follow from it locally (blocking collectives spin, and each of their
 * rounds costs a time slice when the ranks outnumber the cores). */
static int build_node_level(void)
{
    struct dlp__runtime *rt = &dlp__rt;
    DLP_MPI_CALL(MPI_Comm_split_type(rt->comm, MPI_COMM_TYPE_SHARED, rt->rank,
                                     MPI_INFO_NULL, &rt->node_comm));
    DLP_MPI_CALL(MPI_Comm_rank(rt->node_comm, &rt->node_rank));
    DLP_MPI_CALL(MPI_Comm_size(rt->node_comm, &rt->node_size));
    /* the leader: node rank 0, the node's lowest world rank (key = rank) */
    MPI_Group node_group, world_group;
    int zero = 0, leader = MPI_UNDEFINED;
    DLP_MPI_CALL(MPI_Comm_group(rt->node_comm, &node_group));
    DLP_MPI_CALL(MPI_Comm_group(rt->comm, &world_group));
    int mrc = MPI_Group_translate_ranks(node_group, 1, &zero, world_group, &leader);
    MPI_Group_free(&node_group);
    MPI_Group_free(&world_group);
    DLP_MPI_CALL(mrc);
    rt->node_of_rank = malloc(sizeof(int) * (size_t)rt->size);
    rt->scratch = malloc((size_t)DLP__SCRATCH_PER_RANK * (size_t)rt->size);
    if (!rt->node_of_rank || !rt->scratch)
        return dlp__fail(DLP_ERR_NOMEM, "dlp_init", "node tables for %d ranks", rt->size);
    MPI_Request req;
    DLP_MPI_CALL(MPI_Iallgather(&leader, 1, MPI_INT, rt->node_of_rank, 1, MPI_INT, rt->comm,
                                &req));
    DLP_MPI_CALL(dlp__wait(&req));
    /* leaders in rank order get the node numbers; every other rank's leader
     * is a lower rank, numbered already */
    int *of = rt->node_of_rank, nodes = 0;
    for (int r = 0; r < rt->size; r++) {
        if (of[r] == r)
            of[r] = nodes++;
        else if (of[r] >= 0 && of[r] < r)
            of[r] = of[of[r]];
        else
            return dlp__fail(DLP_ERR_MPI, "dlp_init",
                             "MPI_Comm_split_type gave rank %d the leader %d (expected the "
                             "lowest rank of its node)",
                             r, of[r]);
    }
    if (nodes < 1) /* rank 0 always leads a node */
        return dlp__fail(DLP_ERR_MPI, "dlp_init", "no node leader among %d ranks", rt->size);
    rt->nodes = nodes;
    rt->node = of[rt->rank];
    rt->node_leader = malloc(sizeof(int) * (size_t)nodes);
    if (!rt->node_leader)
        return dlp__fail(DLP_ERR_NOMEM, "dlp_init", "node tables for %d nodes", nodes);
    for (int r = rt->size - 1; r >= 0; r--) /* lowest rank of a node leads it */
        rt->node_leader[of[r]] = r;
    return DLP_OK;
}

static void release_all(void)
{
    struct dlp__runtime *rt = &dlp__rt;
    dlp__helper_stop(); /* before the doorbells and MPI it uses */
    dlp__loop_release();
    dlp__gather_release();
    dlp__map_cache_release();
    dlp__liveness_stop();
    dlp__netbell_close();
    dlp__shm_free(&rt->node_region);
    if (rt->node_comm != MPI_COMM_NULL)
        MPI_Comm_free(&rt->node_comm);
    if (rt->comm != MPI_COMM_NULL)
        MPI_Comm_free(&rt->comm);
    free(rt->node_of_rank);
    free(rt->node_leader);
    free(rt->scratch);
    dlp__entry_stop();
    rt->scratch = NULL;
    rt->node_of_rank = NULL;
    rt->node_leader = NULL;
}

/* errno of creating a thread now (0: it can be created). */
static void *no_work(void *arg) { return arg; }

static int thread_creation_error(void)
{
    pthread_t t;
    int e = pthread_create(&t, NULL, no_work, NULL);
    if (e == 0)
        pthread_join(t, NULL);
    return e;
}

/* exit() while a parallel call runs (from a body, say) would leave the
 * other ranks waiting for this one: hydra does not always end the job when
 * a rank exits with a status (with several hosts it waits for the others),
 * so end it here. The OpenMP runtime also calls exit() when it cannot
 * create a team's threads (a process limit): then no thread can be created
 * here either, and the message says so instead of blaming a body. Not
 * after dlp__abort_job (whose MPI_Abort may exit() through here). */
static void exit_in_call(void)
{
    if (atomic_load(&dlp__rt.state) != DLP__READY || !atomic_load(&dlp__rt.in_call) ||
        !dlp__abort_claim())
        return;
    const char *then = dlp__rt.size > 1 ? "; the other ranks would wait for it: aborting the job"
                                        : "";
    int e = thread_creation_error();
    if (e != 0) {
        char text[128];
        fprintf(stderr,
                "dlp_mpi: rank %d (host %s) ends during a parallel call: a thread cannot be "
                "created (%s: a limit on processes and threads, ulimit -u?), so the OpenMP "
                "runtime could not start the team%s\n",
                dlp__rt.rank, dlp__rt.host, dlp__errno_text(e, text, sizeof text), then);
        dlp__end_job(DLP_EXIT_THREADS);
    }
    fprintf(stderr,
            "dlp_mpi: rank %d (host %s) exits during a parallel call (exit() from a body or "
            "callback?)%s\n",
            dlp__rt.rank, dlp__rt.host, then);
    dlp__end_job(DLP_EXIT_IN_CALL);
}

int dlp_init(int *argc, char ***argv)
{
    struct dlp__runtime *rt = &dlp__rt;
    int state = atomic_load(&rt->state);
    if (state == DLP__READY)
        return dlp__fail(DLP_ERR_STATE, "dlp_init", "already initialised");
    if (state == DLP__DONE && rt->own_mpi)
        return dlp__fail(DLP_ERR_FINALIZED, "dlp_init",
                         "dlp_finalize() already finalized MPI; it cannot start again");
    int rc = dlp__mpi_start(argc, argv);
    if (rc != DLP_OK)
        return rc;
    static int exit_hook;
    if (!exit_hook++ && atexit(exit_in_call) != 0)
        fprintf(stderr, "dlp_mpi: cannot register the exit hook: exit() inside a call "
                        "will leave the other ranks waiting\n");
    DLP_MPI_CALL(MPI_Comm_rank(MPI_COMM_WORLD, &rt->rank));
    DLP_MPI_CALL(MPI_Comm_size(MPI_COMM_WORLD, &rt->size));
    DLP_CALL(dlp__launcher_check(rt->size));
    /* Slurm's --cpus-per-task, also for the program's own parallel regions */
    int cpus = dlp__launcher_cpus_per_task();
    if (cpus > 0)
        omp_set_num_threads(cpus);
    int len = 0;
    DLP_MPI_CALL(MPI_Get_processor_name(rt->host, &len));
    rt->host[len] = '\0';
    /* The ranks leave MPI_Init at different times (by tens of ms when they
     * outnumber the cores): the first collective waits for the last rank.
     * MPICH's blocking calls would spin meanwhile, taking the CPU from the
     * ranks (and the launcher's proxy) still initialising. The dup waits
     * politely (wait.h), so most of that wait is spent asleep. */
    MPI_Request dup;
    DLP_MPI_CALL(MPI_Comm_idup(MPI_COMM_WORLD, &rt->comm, &dup));
    DLP_MPI_CALL(dlp__wait(&dup));
    DLP_MPI_CALL(MPI_Comm_set_errhandler(rt->comm, MPI_ERRORS_RETURN));
    rc = build_node_level();
    if (dlp__collective_timeout(&rt->collective_timeout, "dlp_init") != DLP_OK)
        rt->collective_timeout = 0; /* reported by the parallel calls' options */
    if (rc == DLP_OK)
        rc = dlp__entry_start(rt->comm, rt->size, rt->collective_timeout);
    if (rc == DLP_OK)
        rc = dlp__shm_alloc(&rt->node_region, dlp__node_region_bytes(), rt->node_comm);
    if (rc == DLP_OK)
        rc = dlp__netbell_open();
    if (rc != DLP_OK) {
        release_all();
        return rc;
    }
    dlp__liveness_start();
    rt->call_seq = 0;
    rt->main_thread = pthread_self();
    atomic_store(&rt->in_call, 0);
    dlp__rt_set_state(DLP__READY);
    return DLP_OK;
}

int dlp_finalize(void)
{
    static const char *const func = "dlp_finalize";
    DLP_CALL(dlp__check_ready(func));
    struct dlp__runtime *rt = &dlp__rt;
    if (atomic_load(&rt->in_call))
        return dlp__fail(DLP_ERR_STATE, func, "called inside a parallel call");
    DLP_CALL(dlp__check_main(func));
    /* The entry finds every rank here before MPI_Finalize, waiting politely
     * (MPI_Barrier would spin a core while the last ranks end their calls)
     * and no longer than DLP_COLLECTIVE_TIMEOUT. A rank in another
     * collective: nothing is finalised, on every rank. */
    int rc = dlp__enter(func, NULL, DLP_OK, NULL, 0, NULL);
    if (rc == DLP_ERR_MISMATCH)
        return rc;
    dlp__signals_restore(); /* SIGTERM/SIGINT: the program's dispositions again */
    release_all();
    dlp__rt_set_state(DLP__DONE);
    if (rt->own_mpi) {
        int mrc = dlp__mpi_finalize();
        if (rc == DLP_OK)
            rc = dlp__fail_mpi(func, "MPI_Finalize", mrc);
    }
    return rc;
}

/* A query before dlp_init() or after dlp_finalize(): the error, and the
 * first time in this process a line on stderr (a query's value is rarely
 * checked). */
static int query_misused(const char *func)
{
    int rc = dlp__check_ready(func);
    static atomic_flag said = ATOMIC_FLAG_INIT;
    if (!atomic_flag_test_and_set(&said))
        fprintf(stderr, "dlp_mpi: %s() %s: it returns %d (%s); call dlp_init(&argc, &argv) "
                        "first, and no query after dlp_finalize()\n",
                func, rc == DLP_ERR_FINALIZED ? "called after dlp_finalize()"
                                              : "called before dlp_init()",
                rc, rc == DLP_ERR_FINALIZED ? "DLP_ERR_FINALIZED" : "DLP_ERR_NOT_INITIALIZED");
    return rc;
}

#define DLP__QUERY(fn, expr)                                                 \
    int fn(void)                                                             \
    {                                                                        \
        if (atomic_load(&dlp__rt.state) != DLP__READY)                       \
            return query_misused(#fn);                                       \
        return (expr);                                                       \
    }

DLP__QUERY(dlp_rank, dlp__rt.rank)
DLP__QUERY(dlp_size, dlp__rt.size)
DLP__QUERY(dlp_node, dlp__rt.node)
DLP__QUERY(dlp_nodes, dlp__rt.nodes)
DLP__QUERY(dlp_node_rank, dlp__rt.node_rank)
DLP__QUERY(dlp_threads, dlp__default_threads())

/* dlp_is_master() has no value that could not be taken for an answer
 * (0 and -1 both read as one in C): misused, it ends the process. */
int dlp_is_master(void)
{
    if (atomic_load(&dlp__rt.state) == DLP__READY)
        return dlp__rt.rank == 0;
    int finalized = atomic_load(&dlp__rt.state) == DLP__DONE;
    fprintf(stderr,
            "dlp_mpi: dlp_is_master() called %s: no answer could be told from a real one, "
            "so the process ends here (exit status %d); call dlp_init(&argc, &argv) first%s\n",
            finalized ? "after dlp_finalize()" : "before dlp_init()", DLP_EXIT_USAGE,
            finalized ? ", and ask for the master before dlp_finalize()" : "");
    fflush(stderr);
    int up = 0, down = 0;
    MPI_Initialized(&up);
    MPI_Finalized(&down);
    if (up && !down) /* the user's MPI: end every rank, none is left waiting */
        MPI_Abort(MPI_COMM_WORLD, DLP_EXIT_USAGE);
    exit(DLP_EXIT_USAGE); // NOLINT(concurrency-mt-unsafe): ending the process is the point
}

MPI_Comm dlp_comm(void)
{
    return atomic_load(&dlp__rt.state) == DLP__READY ? dlp__rt.comm : MPI_COMM_NULL;
}
