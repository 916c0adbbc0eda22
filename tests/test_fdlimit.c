/* The open-file limit against the node doorbells (lib/base/fdlimit.c,
 * lib/cluster/netbell.c): rank 0 lowers its own RLIMIT_NOFILE before dlp_init, to
 * the descriptors it has open plus --free=F, keeping the hard limit
 * (--hard=keep: the library must raise the soft one) or lowering it too
 * (--hard=same: the nodes beyond the limit are served by polling, with one
 * warning). Then --calls managed calls, every item exactly once with its
 * result; after dlp_finalize rank 0's soft limit is the one it set.
 * tests/fdlimit.sh runs it and reads the messages. */
#include "test_util.h"

#include <dirent.h>
#include <errno.h>
#include <sys/resource.h>

static long open_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    long n = 0;
    if (!d)
        return -1;
    while (readdir(d))
        n++;
    closedir(d);
    return n - 3; /* ".", "..", the listing's own */
}

struct ctx {
    int *count;
    long *result;
};

static int body(long i, void *vctx) {
    struct ctx *c = vctx;
    __atomic_fetch_add(&c->count[i], 1, __ATOMIC_RELAXED);
    c->result[i] = 3 * i + 1;
    return 0;
}

int main(int argc, char **argv) {
    long free_fds = 8, calls = 5, n = 2000;
    int same = 0;
    for (int a = 1; a < argc; a++) {
        if (strncmp(argv[a], "--free=", 7) == 0)
            free_fds = strtol(argv[a] + 7, NULL, 10);
        else if (strcmp(argv[a], "--hard=same") == 0)
            same = 1;
        else if (strncmp(argv[a], "--calls=", 8) == 0)
            calls = strtol(argv[a] + 8, NULL, 10);
    }
    int provided;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    struct rlimit set = {0, 0};
    if (rank == 0) {
        long open = open_fds();
        if (!(open > 0))
            TEST_FAIL("open descriptors counted: %ld", open);
        struct rlimit rl;
        if (!(getrlimit(RLIMIT_NOFILE, &rl) == 0))
            TEST_FAIL("getrlimit: %s", strerror(errno));
        set.rlim_cur = (rlim_t)(open + free_fds);
        set.rlim_max = same ? set.rlim_cur : rl.rlim_max;
        if (!(set.rlim_cur <= rl.rlim_max))
            TEST_FAIL("soft %ld <= hard %ld", (long)set.rlim_cur, (long)rl.rlim_max);
        if (!(setrlimit(RLIMIT_NOFILE, &set) == 0))
            TEST_FAIL("setrlimit(%ld, %ld): %s", (long)set.rlim_cur, (long)set.rlim_max,
                      strerror(errno));
        printf("test_fdlimit: rank 0 has %ld descriptors open, soft limit %ld, hard %s\n", open,
               (long)set.rlim_cur, same ? "the same" : "kept");
    }
    ASSERT_OK(dlp_init(&argc, &argv));
    int *count = calloc((size_t)n, sizeof *count), *sum = calloc((size_t)n, sizeof *sum);
    long *result = calloc((size_t)n, sizeof *result), *got = calloc((size_t)n, sizeof *got);
    if (!(count && sum && result && got))
        TEST_FAIL("allocations of %ld items", n);
    struct ctx c = {count, result};
    for (long k = 0; k < calls; k++) {
        memset(count, 0, sizeof *count * (size_t)n);
        memset(result, 0, sizeof *result * (size_t)n);
        ASSERT_OK(dlp_split_managed(n, body, &c, NULL));
        MPI_Allreduce(count, sum, (int)n, MPI_INT, MPI_SUM, dlp_comm());
        MPI_Allreduce(result, got, (int)n, MPI_LONG, MPI_SUM, dlp_comm());
        for (long i = 0; i < n; i++) {
            if (!(sum[i] == 1))
                TEST_FAIL("call %ld: item %ld ran %d times, expected 1", k, i, sum[i]);
            if (!(got[i] == 3 * i + 1))
                TEST_FAIL("call %ld: item %ld's result %ld, expected %ld", k, i, got[i], 3 * i + 1);
        }
    }
    free(count);
    free(sum);
    free(result);
    free(got);
    ASSERT_OK(dlp_finalize());
    if (rank == 0) {
        struct rlimit rl;
        if (!(getrlimit(RLIMIT_NOFILE, &rl) == 0))
            TEST_FAIL("getrlimit: %s", strerror(errno));
        if (!(rl.rlim_cur == set.rlim_cur))
            TEST_FAIL("soft limit after dlp_finalize %ld, expected %ld", (long)rl.rlim_cur,
                      (long)set.rlim_cur);
        printf("test_fdlimit: %ld calls of %ld items, each exactly once\n", calls, n);
    }
    MPI_Finalize();
    return 0;
}
