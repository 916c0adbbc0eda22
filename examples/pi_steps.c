/*
 * pi_steps.c — a time-stepping code with a reduction to every rank each
 * step: the Monte Carlo estimate of pi of pi_steps_serial.c, refined step by
 * step. Each step is one dlp_split_round_robin() call over 16 items; every
 * item adds its hits to the calling thread's accumulator of an int64 sum,
 * and opts.on_all_ranks = 1 delivers the step's total to every rank, so
 * that every rank computes the same estimate and they all stop at the same
 * step. Prints exactly what the serial twin prints.
 *
 *     mpiexec -n 2 ./pi_steps [steps]      # default 1000 steps
 */
#include <dlp_mpi.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define ITEMS 16
#define SAMPLES 1000

static uint64_t next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int64_t hits_of(long step, long i)
{
    uint64_t s = (uint64_t)step * 1000003u + (uint64_t)i;
    int64_t hits = 0;
    for (int k = 0; k < SAMPLES; k++) {
        double x = (double)(next(&s) >> 11) * 0x1p-53, y = (double)(next(&s) >> 11) * 0x1p-53;
        hits += x * x + y * y <= 1.0;
    }
    return hits;
}

struct step {
    long step;
    dlp_reduce *hits;
};

static int body(long i, void *ctx)
{
    struct step *s = ctx;
    *(int64_t *)dlp_reduce_acc(s->hits) += hits_of(s->step, i);
    return 0;
}

int main(int argc, char **argv)
{
    if (dlp_init(&argc, &argv) != DLP_OK) {
        fprintf(stderr, "dlp_init: %s\n", dlp_last_error());
        return 1;
    }
    long steps = argc > 1 ? atol(argv[1]) : 1000;
    struct step s = {0, NULL};
    if (dlp_reduce_create(&s.hits, DLP_REDUCE_SUM, DLP_REDUCE_INT64, 1) != DLP_OK) {
        fprintf(stderr, "dlp_reduce_create: %s\n", dlp_last_error());
        return 1;
    }
    dlp_opts opts = DLP_OPTS_INIT;
    opts.reduce = s.hits;
    opts.on_all_ranks = 1; /* every rank needs the total to decide when to stop */
    int64_t hits = 0, trials = 0;
    double prev = 0;
    int rc = DLP_OK;
    for (s.step = 0; s.step < steps; s.step++) {
        rc = dlp_split_round_robin(ITEMS, body, &s, &opts);
        if (rc != DLP_OK)
            break;
        hits += *(const int64_t *)dlp_reduce_result(s.hits);
        trials += (int64_t)ITEMS * SAMPLES;
        double pi = 4.0 * (double)hits / (double)trials;
        if (dlp_is_master() && (s.step % 100 == 99 || s.step == steps - 1))
            printf("step %ld: pi ~ %.10f (%lld points)\n", s.step + 1, pi, (long long)trials);
        if (s.step > 10 && fabs(pi - prev) < 1e-9) { /* every rank stops here */
            if (dlp_is_master())
                printf("settled at step %ld\n", s.step + 1);
            break;
        }
        prev = pi;
    }
    if (rc != DLP_OK)
        fprintf(stderr, "dlp_split_round_robin: %s\n", dlp_last_error());
    dlp_reduce_destroy(&s.hits);
    dlp_finalize();
    return rc == DLP_OK ? 0 : 1;
}
