/* Node-shared memory against another process on the node (lib/base/shm.c).
 *
 * test_shm [--undumpable]
 *   Before dlp_init every process takes the shared-memory names
 *   /dlp_mpi.<its pid>.0 .. .7, which the library used to give its segments
 *   (another local user who creates them first made every job of two or more
 *   ranks per node fail in dlp_init). dlp_init, a node-shared dlp_results
 *   call and a second one must still work, the taken names stay as they
 *   are, and no new /dev/shm/dlp_mpi.* name is left once the calls are set
 *   up (the segments have no name, or lose it as soon as every rank of the
 *   node has mapped them).
 *   --undumpable: after dlp_init (whose node region takes the memfd; MPI's
 *   own shared memory needs /proc too) every process makes itself not
 *   dumpable (PR_SET_DUMPABLE 0), so that the others cannot open the memfd
 *   of the results through /proc/<pid>/fd: the library falls back to named
 *   segments, under random names. Run as root, the processes first become uid 65534 (nobody), for
 *   whom that holds too. */
#include "test_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#define TAKEN 8

static int body(long i, void *ctx)
{
    long *slot = dlp_results_at(ctx, i);
    if (!slot)
        return 1;
    *slot = 3 * i + 1;
    return 0;
}

/* The /dev/shm names that start with dlp_mpi. (up to max), sorted. */
static int shm_names(char (*names)[256], int max)
{
    int k = 0;
    DIR *d = opendir("/dev/shm");
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && k < max)
        if (strncmp(e->d_name, "dlp_mpi.", 8) == 0)
            snprintf(names[k++], 256, "%s", e->d_name);
    closedir(d);
    return k;
}

static int listed(char (*names)[256], int k, const char *name)
{
    for (int j = 0; j < k; j++)
        if (strcmp(names[j], name) == 0)
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    int undumpable = argc > 1 && strcmp(argv[1], "--undumpable") == 0;
    /* root may open any /proc/<pid>/fd: become nobody first */
    if (undumpable && geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
        TEST_FAIL("cannot become uid 65534 (nobody): %s", strerror(errno));
    /* (a change of uid makes a process not dumpable: MPI_Init needs it to be) */
    if (undumpable && prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0)
        TEST_FAIL("prctl(PR_SET_DUMPABLE, 1): %s", strerror(errno));
    char taken[TAKEN][64];
    int ours[TAKEN]; /* taken here (else it was there already: taken all the same) */
    for (int k = 0; k < TAKEN; k++) {
        snprintf(taken[k], sizeof taken[k], "/dlp_mpi.%ld.%d", (long)getpid(), k);
        int fd = shm_open(taken[k], O_CREAT | O_EXCL | O_RDWR, 0600);
        ours[k] = fd >= 0;
        if (fd < 0 && errno == EEXIST) /* left by an earlier job of this pid */
            continue;
        if (fd < 0)
            TEST_FAIL("cannot take the name %s: %s", taken[k], strerror(errno));
        if (write(fd, "x", 1) != 1)
            TEST_FAIL("cannot write to %s: %s", taken[k], strerror(errno));
        close(fd);
    }
    static char before[512][256], after[512][256];
    int nbefore = shm_names(before, 512);

    test_case("dlp_init with the old predictable names taken");
    ASSERT_OK(dlp_init(&argc, &argv));
    int rank = dlp_rank();
    /* after dlp_init: MPI's own shared memory (UCX) needs the others' /proc */
    if (undumpable && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        TEST_FAIL("prctl(PR_SET_DUMPABLE, 0): %s", strerror(errno));

    test_case("node-shared results with the old predictable names taken");
    for (int call = 0; call < 2; call++) {
        const long n = 1000;
        dlp_results *r = NULL;
        ASSERT_OK(dlp_results_create(&r, n, sizeof(long)));
        dlp_opts o = DLP_OPTS_INIT;
        o.results = r;
        ASSERT_OK(dlp_split_managed(n, body, r, &o));
        if (rank == 0)
            for (long i = 0; i < n; i++) {
                const long *v = dlp_results_at(r, i);
                ASSERT_NOT_NULL(v);
                ASSERT_EQ(*v, 3 * i + 1);
            }
        /* every rank has set up its segments: no new name is left */
        ASSERT_OK(dlp_barrier());
        int nafter = shm_names(after, 512);
        for (int j = 0; j < nafter; j++) {
            char path[600];
            snprintf(path, sizeof path, "/dev/shm/%.255s", after[j]);
            /* only names of the library's form now count (dlp_mpi. and 32
             * hex digits): other jobs' old-style names come and go */
            if (!listed(before, nbefore, after[j]) && strlen(after[j]) == 8 + 32 &&
                strspn(after[j] + 8, "0123456789abcdef") == 32) {
                /* a segment of a call starting elsewhere: look again once */
                test_sleep_us(200000);
                if (access(path, F_OK) == 0)
                    TEST_FAIL("a shared-memory name is left in /dev/shm: %s", after[j]);
            }
        }
        ASSERT_OK(dlp_results_destroy(&r));
    }

    test_case("the taken names are untouched");
    for (int k = 0; k < TAKEN; k++) {
        char path[600];
        snprintf(path, sizeof path, "/dev/shm%s", taken[k]);
        if (!ours[k]) {
            ASSERT_EQ(access(path, F_OK), 0);
            continue;
        }
        FILE *f = fopen(path, "r");
        ASSERT_NOT_NULL(f);
        ASSERT_EQ(fgetc(f), 'x');
        fclose(f);
        shm_unlink(taken[k]);
    }
    test_case("end");
    ASSERT_OK(dlp_finalize());
    if (rank == 0)
        printf("test_shm%s: passed\n", undumpable ? " --undumpable" : "");
    return 0;
}
