/* The call's helper thread (lib/call/helper.c) is kept from call to call:
 * started by the first managed call that needs one (the dispatcher on the
 * master when there are several nodes, the agent on another node's
 * leader), the same thread in every later call, parked between calls
 * without waking up, and joined by dlp_finalize(). The threads are those
 * of /proc/self/task. */
#include "test_forms.h"

#include <dirent.h>
#include <omp.h>

#define MAX_TIDS 256

struct tids {
    int n;
    long id[MAX_TIDS];
};

static void list_tids(struct tids *t)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        TEST_FAIL("cannot open /proc/self/task");
    t->n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.' && t->n < MAX_TIDS)
            t->id[t->n++] = atol(e->d_name);
    closedir(d);
}

static int has_tid(const struct tids *t, long id)
{
    for (int k = 0; k < t->n; k++)
        if (t->id[k] == id)
            return 1;
    return 0;
}

/* The threads of now that were not there before; the first in *first. */
static int new_tids(const struct tids *before, const struct tids *now, long *first)
{
    int count = 0;
    for (int k = 0; k < now->n; k++)
        if (!has_tid(before, now->id[k]) && count++ == 0)
            *first = now->id[k];
    return count;
}

/* The threads of now (listed into *now) that ref does not have, once
 * the threads that a call joined have left the list (a joined thread may
 * be listed for an instant after its join). */
static int settled(const struct tids *ref, struct tids *now)
{
    long first = -1;
    list_tids(now);
    for (int k = 0; k < 50000 && new_tids(ref, now, &first) > 0; k++) {
        test_sleep_us(100);
        list_tids(now);
    }
    return new_tids(ref, now, &first);
}

/* A field of /proc/self/task/<tid>/status ("voluntary_ctxt_switches"), or
 * -1; the state letter of .../stat in *state. */
static long task_field(long tid, const char *field, char *state)
{
    char path[96], line[256];
    snprintf(path, sizeof path, "/proc/self/task/%ld/stat", tid);
    FILE *f = fopen(path, "r");
    *state = '?';
    if (f) {
        if (fgets(line, sizeof line, f)) {
            const char *paren = strrchr(line, ')');
            if (paren && paren[1] == ' ')
                *state = paren[2];
        }
        fclose(f);
    }
    snprintf(path, sizeof path, "/proc/self/task/%ld/status", tid);
    f = fopen(path, "r");
    long value = -1;
    size_t len = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, field, len) == 0 && line[len] == ':')
            value = atol(line + len + 1);
    if (f)
        fclose(f);
    return value;
}

static int add(long i, void *sum)
{
    __atomic_fetch_add((long *)sum, i, __ATOMIC_RELAXED);
    return 0;
}

/* A call of n items in form f: every item exactly once. */
static void call(int f, long n)
{
    long sum = 0, all = 0;
    ASSERT_OK(test_run_form(f, n, add, &sum, NULL, 0));
    ASSERT_MPI(MPI_Allreduce(&sum, &all, 1, MPI_LONG, MPI_SUM, dlp_comm()));
    ASSERT_EQ(all, n * (n - 1) / 2);
}

/* The parked helper (tid) does not wake up between calls: once it sleeps
 * (the body has returned, so it sleeps only where it is parked), its
 * voluntary context switches stay the same while the program sleeps. */
static void check_parked(long tid)
{
    char state = '?';
    for (int k = 0; k < 20000 && state != 'S'; k++) {
        task_field(tid, "voluntary_ctxt_switches", &state);
        if (state != 'S')
            test_sleep_us(100);
    }
    ASSERT_EQ(state, 'S');
    long before = task_field(tid, "voluntary_ctxt_switches", &state);
    test_sleep_us(30000);
    long after = task_field(tid, "voluntary_ctxt_switches", &state);
    ASSERT_GE(before, 0);
    ASSERT_EQ(after, before);
}

int main(int argc, char **argv)
{
    test_begin(&argc, &argv);
    int nodes = dlp_nodes(), node = dlp_node();
    int helper = (g_rank == 0 && nodes > 1) || (dlp_node_rank() == 0 && node > 0);

    test_case("no helper before the first managed call");
    int dummy = 0;
#pragma omp parallel num_threads(g_threads)
    __atomic_fetch_add(&dummy, 1, __ATOMIC_RELAXED); /* the OpenMP team's threads */
    call(TEST_ROUND_ROBIN, 100);
    struct tids before, first, later;
    list_tids(&before);

    test_case("the first managed call starts it");
    call(TEST_MANAGED, 1000);
    list_tids(&first);
    long tid = -1;
    ASSERT_EQ(new_tids(&before, &first, &tid), helper);

    test_case("the same thread in every later call, parked in between");
    for (int f = 0; f < TEST_FORMS; f++) {
        call(f, 500);
        call(TEST_MANAGED, 16);
        long extra = -1;
        ASSERT_EQ(settled(&first, &later), 0);
        ASSERT_EQ(new_tids(&later, &first, &extra), 0); /* none ended */
        if (helper)
            check_parked(tid);
    }

    test_case("dlp_finalize joins it");
    test_expect_end();
    int rank = g_rank;
    ASSERT_OK(dlp_finalize());
    list_tids(&later);
    if (helper) /* (joined: gone, or ending this instant) */
        for (int k = 0; k < 50000 && has_tid(&later, tid); k++) {
            test_sleep_us(100);
            list_tids(&later);
        }
    if (helper)
        ASSERT_EQ(has_tid(&later, tid), 0);
    if (rank == 0)
        printf("test_helper_thread: all cases passed in %.1f s\n", test_now() - test__t0);
    return 0;
}
