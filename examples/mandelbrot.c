/*
 * mandelbrot.c — a realistic uneven workload: the Mandelbrot set, row by row.
 *
 * Each image row is one item. Rows through the set cost up to max_iter
 * iterations per pixel, rows far from it a handful, so the cost per item
 * varies by orders of magnitude: the case managed splitting is made for.
 * Each row's result is width uint16 iteration counts; with dlp_results the
 * master ends up with the whole image, row-major, and writes a binary PGM.
 *
 *     ./mandelbrot [width [height [max_iter [out.pgm]]]]
 *     ./mandelbrot                                 # 1200 x 800, 2000 iter
 *     mpiexec.mpich -n 4 ./mandelbrot
 *     mpiexec.mpich -launcher fork -hosts n1:1,n2:1 -n 2 ./mandelbrot 2400 1600
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include <dlp_mpi.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Status check: print dlp_last_error() and stop every rank on failure. */
static int check(int rc, const char *call, int line)
{
    if (rc >= 0)
        return rc;
    const char *msg = dlp_last_error();
    fprintf(stderr, "mandelbrot.c:%d: %s: %s\n  %s\n", line, call, dlp_strerror(rc),
            msg && *msg ? msg : "(no further detail)");
    if (rc == DLP_ERR_INTERRUPTED) { /* SIGTERM/SIGINT: every rank's call returned it */
        dlp_finalize();
        exit(DLP_EXIT_INTERRUPTED); /* 76: not a failure, run again (to resume) */
    }
    int up = 0;
    MPI_Initialized(&up);
    if (up)
        MPI_Abort(MPI_COMM_WORLD, 1);
    exit(EXIT_FAILURE);
}
#define CHECK(call) check((call), #call, __LINE__)

struct image {
    long width, height;
    int max_iter;
    double x0, y0, step; /* top-left corner in the complex plane, pixel size */
    dlp_results *rows;   /* height items of width uint16 each */
};

/* The body: iteration counts of one row (max_iter = inside the set). */
static int row_body(long y, void *ctx)
{
    const struct image *im = ctx;
    uint16_t *row = dlp_results_at(im->rows, y);
    if (!row)
        return 1;
    const double ci = im->y0 - (double)y * im->step;
    for (long x = 0; x < im->width; x++) {
        const double cr = im->x0 + (double)x * im->step;
        double zr = 0.0, zi = 0.0, zr2 = 0.0, zi2 = 0.0;
        int it = 0;
        while (it < im->max_iter && zr2 + zi2 <= 4.0) {
            zi = 2.0 * zr * zi + ci;
            zr = zr2 - zi2 + cr;
            zr2 = zr * zr;
            zi2 = zi * zi;
            it++;
        }
        row[x] = (uint16_t)it;
    }
    return 0;
}

/* Binary 8-bit PGM; escape times on a log scale, the set itself black. */
static int write_pgm(const char *path, const struct image *im, const uint16_t *it)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    fprintf(f, "P5\n%ld %ld\n255\n", im->width, im->height);
    const double scale = 255.0 / log1p((double)im->max_iter);
    for (long p = 0; p < im->width * im->height; p++) {
        int v = it[p] >= im->max_iter ? 0 : (int)(scale * log1p((double)it[p]));
        fputc(v > 255 ? 255 : v, f);
    }
    int err = ferror(f);
    if (fclose(f) != 0)
        err = 1;
    return err ? -1 : 0;
}

static long arg_long(int argc, char **argv, int k, long def, long lo, long hi)
{
    if (argc <= k)
        return def;
    char *end = NULL;
    long v = strtol(argv[k], &end, 10);
    if (*argv[k] == '\0' || *end != '\0' || v < lo || v > hi) {
        fprintf(stderr, "mandelbrot: argument %d (\"%s\") must be in %ld..%ld\n", k, argv[k], lo,
                hi);
        exit(EXIT_FAILURE);
    }
    return v;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    CHECK(dlp_init(&argc, &argv));

    struct image im = {0};
    im.width = arg_long(argc, argv, 1, 1200, 1, 1L << 20);
    im.height = arg_long(argc, argv, 2, 800, 1, 1L << 20);
    im.max_iter = (int)arg_long(argc, argv, 3, 2000, 1, UINT16_MAX);
    const char *out = argc > 4 ? argv[4] : "mandelbrot.pgm";
    im.step = 3.2 / (double)im.width; /* real part -2.2 .. 1.0 */
    im.x0 = -2.2;
    im.y0 = 0.5 * (double)im.height * im.step; /* centred on the real axis */

    CHECK(dlp_results_create(&im.rows, im.height, (size_t)im.width * sizeof(uint16_t)));
    dlp_opts opts = DLP_OPTS_INIT;
    opts.results = im.rows;

    CHECK(dlp_barrier());
    const double t0 = now();
    CHECK(dlp_split_managed(im.height, row_body, &im, &opts)); /* rows land on the master */
    const double t = now() - t0;

    /* Total threads over all ranks: plain MPI works on dlp_comm(). */
    int threads = CHECK(dlp_threads()), workers = 0;
    MPI_Reduce(&threads, &workers, 1, MPI_INT, MPI_SUM, 0, dlp_comm());

    if (CHECK(dlp_is_master())) {
        const uint16_t *it = dlp_results_data(im.rows);
        double iters = 0.0;
        for (long p = 0; p < im.width * im.height; p++)
            iters += it[p];
        if (write_pgm(out, &im, it) != 0) {
            perror(out);
            MPI_Abort(dlp_comm(), 1);
        }
        printf("mandelbrot %ldx%ld, max_iter %d: %.3f s, %.0f rows/s, %.3g iterations\n",
               im.width, im.height, im.max_iter, t, (double)im.height / t, iters);
        printf("  %d ranks on %d nodes, %d threads on the master, %d workers -> %s\n",
               CHECK(dlp_size()), CHECK(dlp_nodes()), threads, workers, out);
    }

    CHECK(dlp_results_destroy(&im.rows));
    CHECK(dlp_finalize());
    return 0;
}
