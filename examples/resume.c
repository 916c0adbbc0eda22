/*
 * resume.c — a job that can be stopped and resumed: the pattern for batch
 * systems with time limits.
 *
 * Every item writes its own output file, and the journal (DLP_JOURNAL, a
 * file on storage every node sees) records the items that are done. When
 * SIGTERM arrives (Slurm's time limit, scancel, a requeue) or SIGINT, the
 * ranks finish their running items, the call returns DLP_ERR_INTERRUPTED on
 * every rank, and the program ends with status DLP_EXIT_INTERRUPTED (76),
 * not 1: a batch script can tell "run again to resume" from a failure
 * (examples/slurm_job.sh requeues itself). The next run with the same
 * journal runs only the items not done yet.
 *
 *     DLP_JOURNAL=out/journal.dlpj mpiexec.mpich -n 2 ./resume out 400 50
 *     srun --mpi=pmi2 ./resume out            # in examples/slurm_job.sh
 *
 * Arguments: OUTDIR [N items, default 400] [MS per item, default 50].
 * Item i appends one line to OUTDIR/<i>.txt; after a SIGTERM nothing runs
 * twice, after kill -9 the items of the last fraction of a second may.
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep */

#include <dlp_mpi.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct job {
    const char *dir;
    long ms;
    const char *restart; /* Slurm's SLURM_RESTART_COUNT: which run this is */
};

/* On failure print the full message and stop: an interruption ends every
 * rank with DLP_EXIT_INTERRUPTED (every rank's call returned it), anything
 * else aborts the job with status 1. */
static int check(int rc, const char *call, int line)
{
    if (rc >= 0)
        return rc;
    const char *msg = dlp_last_error();
    fprintf(stderr, "resume.c:%d: %s: %s\n  %s\n", line, call, dlp_strerror(rc),
            msg && *msg ? msg : "(no further detail)");
    if (rc == DLP_ERR_INTERRUPTED) {
        dlp_finalize();
        exit(DLP_EXIT_INTERRUPTED);
    }
    int up = 0;
    MPI_Initialized(&up);
    if (up)
        MPI_Abort(MPI_COMM_WORLD, 1);
    exit(EXIT_FAILURE);
}
#define CHECK(call) check((call), #call, __LINE__)

/* Item i: some work, then its output. Returns non-zero on failure. */
static int item(long i, void *ctx)
{
    const struct job *job = ctx;
    struct timespec ts = {.tv_sec = job->ms / 1000, .tv_nsec = job->ms % 1000 * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
    char path[4096], line[300], host[256] = "?";
    gethostname(host, sizeof host - 1);
    snprintf(path, sizeof path, "%s/%ld.txt", job->dir, i);
    int len = snprintf(line, sizeof line, "item %ld, run %s, host %s, rank %d\n", i,
                       job->restart, host, dlp_rank());
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0)
        return 1; /* "item i failed", e.g. OUTDIR not on this node */
    int ok = write(fd, line, (size_t)len) == len;
    return close(fd) == 0 && ok ? 0 : 1;
}

static long arg_long(int argc, char **argv, int k, long def)
{
    if (argc <= k)
        return def;
    char *end;
    long v = strtol(argv[k], &end, 10);
    if (*argv[k] == '\0' || *end != '\0' || v < 0) {
        fprintf(stderr, "resume: argument %d (\"%s\") must be a whole number >= 0\n", k,
                argv[k]);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    CHECK(dlp_init(&argc, &argv));
    if (argc < 2) {
        if (CHECK(dlp_is_master()))
            fprintf(stderr, "usage: %s OUTDIR [N] [MS]   (with DLP_JOURNAL=FILE)\n", argv[0]);
        CHECK(dlp_finalize());
        return 2;
    }
    const char *restart = getenv("SLURM_RESTART_COUNT");
    struct job job = {argv[1], arg_long(argc, argv, 3, 50), restart ? restart : "0"};
    long n = arg_long(argc, argv, 2, 400);

    dlp_opts opts = DLP_OPTS_INIT; /* DLP_JOURNAL names the journal */
    double t0 = MPI_Wtime();
    CHECK(dlp_split_managed(n, item, &job, &opts));
    if (CHECK(dlp_is_master()))
        printf("resume: %ld items done in %s (run %s) in %.2f s on %d ranks x %d threads\n", n,
               job.dir, job.restart, MPI_Wtime() - t0, CHECK(dlp_size()), CHECK(dlp_threads()));
    CHECK(dlp_finalize());
    return 0;
}
