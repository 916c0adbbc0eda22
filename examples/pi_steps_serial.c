/*
 * pi_steps_serial.c — the serial twin of pi_steps.c: a Monte Carlo estimate
 * of pi refined step by step, stopping when it settles. Nothing here uses
 * dlp_mpi; pi_steps.c prints exactly the same lines.
 *
 *     ./pi_steps_serial [steps]      # default 1000 steps
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define ITEMS 16       /* items per step */
#define SAMPLES 1000   /* points per item */

/* The points of item i of a step: a generator seeded by (step, i), so any
 * process can compute any item. */
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

int main(int argc, char **argv)
{
    long steps = argc > 1 ? atol(argv[1]) : 1000;
    int64_t hits = 0, trials = 0;
    double prev = 0;
    for (long step = 0; step < steps; step++) {
        int64_t step_hits = 0;
        for (long i = 0; i < ITEMS; i++)
            step_hits += hits_of(step, i);
        hits += step_hits;
        trials += (int64_t)ITEMS * SAMPLES;
        double pi = 4.0 * (double)hits / (double)trials;
        if (step % 100 == 99 || step == steps - 1)
            printf("step %ld: pi ~ %.10f (%lld points)\n", step + 1, pi, (long long)trials);
        if (step > 10 && fabs(pi - prev) < 1e-9) { /* settled */
            printf("settled at step %ld\n", step + 1);
            break;
        }
        prev = pi;
    }
    return 0;
}
