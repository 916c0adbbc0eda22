/*
 * serial.c — the starting point: a plain serial loop over the examples.
 *
 * This is the first column of the dlp_mpi README in C. Nothing here uses
 * dlp_mpi; compare it with split_managed.c (the same loop, in parallel) and
 * loop.c (the same loop written as a loop rather than a callback).
 *
 *     ./serial                # about 10 x 0.2 s = 2 s
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep */

#include <stdio.h>
#include <time.h>

#define N_EXAMPLES 10

/* Some heavy workload: CPU or IO. Here: sleep 0.2 s. */
static long heavy_work(long example)
{
    struct timespec ts = {.tv_sec = 0, .tv_nsec = 200000000L};
    while (nanosleep(&ts, &ts) != 0) /* resume if a signal interrupted it */
        ;
    return example; /* the "result" of this example */
}

int main(void)
{
    long results[N_EXAMPLES];

    for (long example = 0; example < N_EXAMPLES; example++) {
        long result = heavy_work(example);
        results[example] = result; /* remember the result */
    }

    /* Summarize your experiment. */
    long sum = 0;
    for (long i = 0; i < N_EXAMPLES; i++)
        sum += results[i];
    printf("%ld\n", sum);
    return 0;
}
