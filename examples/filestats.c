/*
 * filestats.c — size, checksum and line count of every file under a
 * directory, computed in parallel, collected by the master as CSV.
 *
 * The master walks the directory (nftw, paths sorted) and every rank gets
 * the list (dlp_call_on_root_and_bcast, then dlp_bcast). dlp_map_unordered()
 * reads the files on every rank and thread; the result of file i is its
 * numbers and its CSV line. The master writes each line as it arrives
 * (filestats.csv, arrival order), keeps it by item, and after the call
 * writes the lines in item order, which is path order (filestats_sorted.csv).
 * A file that cannot be read gets its error in the last column instead of
 * failing the run.
 *
 *     ./filestats DIR
 *     mpiexec.mpich -n 4 ./filestats DIR
 *     OMP_NUM_THREADS=1 mpiexec.mpich -launcher fork -hosts n1:1,n2:1 -n 2 ./filestats DIR
 */
#define _XOPEN_SOURCE 700 /* nftw, the XSI strerror_r */

#include <dlp_mpi.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CSV_ARRIVAL "filestats.csv"
#define CSV_SORTED "filestats_sorted.csv"
#define CSV_HEADER "item,path,bytes,fnv1a64,lines,error\n"

/* Status check: print dlp_last_error() and stop every rank on failure;
 * CHECK(call) returns the call's value (query functions return >= 0). */
static int check(int rc, const char *call, int line)
{
    if (rc >= 0)
        return rc;
    const char *msg = dlp_last_error();
    fprintf(stderr, "filestats.c:%d: %s: %s\n  %s\n", line, call, dlp_strerror(rc),
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

static void *xmalloc(size_t len)
{
    void *p = malloc(len ? len : 1);
    if (!p) {
        fprintf(stderr, "filestats: out of memory (%zu bytes)\n", len);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    return p;
}

/* ------------------------------------------------ the list (master) -- */

/* The files found by the walk: paths back to back, each NUL-terminated.
 * Static because nftw's callback has no context argument. */
static struct {
    char *text;
    size_t len, cap;
    long files, skipped;
} walk;

static int visit(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)ftw;
    if (type == FTW_DNR || type == FTW_NS) { /* unreadable directory, no stat */
        fprintf(stderr, "filestats: skipping %s: cannot read it\n", path);
        walk.skipped++;
        return 0;
    }
    if (type != FTW_F || !S_ISREG(st->st_mode)) /* symlinks, devices, fifos ... */
        return 0;
    size_t len = strlen(path) + 1;
    if (walk.len + len > walk.cap) {
        size_t cap = walk.cap ? 2 * walk.cap : 4096;
        while (cap < walk.len + len)
            cap *= 2;
        char *p = realloc(walk.text, cap);
        if (!p)
            return ENOMEM; /* stops the walk */
        walk.text = p;
        walk.cap = cap;
    }
    memcpy(walk.text + walk.len, path, len);
    walk.len += len;
    walk.files++;
    return 0;
}

static int by_path(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* What every rank learns from the master before the list itself. */
struct listing {
    uint64_t bytes; /* of the packed list */
    long files;
    int error;      /* errno of a failed walk or output file, 0 = fine */
    int in_output;  /* 1: the error is the output file's */
};

struct prepare_ctx {
    const char *dir;
    FILE *csv; /* out: the arrival-order file */
};

/* On the master (dlp_call_on_root_and_bcast): walk dir, sort the paths,
 * create the arrival-order CSV. Fills out with a struct listing. */
static int prepare(void *ctx, void *out, size_t len)
{
    struct prepare_ctx *prep = ctx;
    struct listing info = {0, 0, 0, 0};
    int rc = nftw(prep->dir, visit, 32, FTW_PHYS);
    if (rc != 0) {
        info.error = rc > 0 ? rc : errno;
    } else {
        /* sort: a table of pointers, then repack the text in that order */
        const char **paths = xmalloc((size_t)walk.files * sizeof *paths);
        const char *p = walk.text;
        for (long k = 0; k < walk.files; k++, p += strlen(p) + 1)
            paths[k] = p;
        qsort(paths, (size_t)walk.files, sizeof *paths, by_path);
        char *sorted = xmalloc(walk.len), *at = sorted;
        for (long k = 0; k < walk.files; k++) {
            size_t l = strlen(paths[k]) + 1;
            memcpy(at, paths[k], l);
            at += l;
        }
        free(paths);
        free(walk.text);
        walk.text = sorted;
        info.bytes = walk.len;
        info.files = walk.files;
        errno = 0;
        prep->csv = fopen(CSV_ARRIVAL, "w");
        if (!prep->csv || fputs(CSV_HEADER, prep->csv) == EOF) {
            info.error = errno ? errno : EIO;
            info.in_output = 1;
        }
    }
    memcpy(out, &info, len < sizeof info ? len : sizeof info);
    return 0; /* failures travel in info.error, with their errno */
}

/* -------------------------------------------------- work (any rank) -- */

/* The context of both map functions: the list (every rank) and, on the
 * master, what the results become. */
struct report {
    const char *const *paths; /* [files] */
    FILE *csv;                /* master: the arrival-order file */
    char **line;              /* master: [files] each file's line, kept by item */
    size_t *len;
    long done, unreadable;
    long long bytes, lines;
};

/* The numbers of one file, at the head of its result; its CSV line follows. */
struct numbers {
    int64_t bytes;
    int64_t lines;
    int32_t failed;
    int32_t pad;
};

/* A CSV field: quoted (with doubled quotes) when it holds , " or a newline. */
static int put_field(dlp_buf *out, const char *s)
{
    if (!strpbrk(s, ",\"\r\n"))
        return dlp_buf_append(out, s, strlen(s));
    int rc = dlp_buf_append(out, "\"", 1);
    for (const char *q; rc == DLP_OK && (q = strchr(s, '"')); s = q + 1) {
        rc = dlp_buf_append(out, s, (size_t)(q - s) + 1);
        if (rc == DLP_OK)
            rc = dlp_buf_append(out, "\"", 1);
    }
    if (rc == DLP_OK)
        rc = dlp_buf_append(out, s, strlen(s));
    return rc == DLP_OK ? dlp_buf_append(out, "\"", 1) : rc;
}

/* Size, FNV-1a 64 checksum and newline count of file i; a file that cannot
 * be opened or read gets its error message instead (the item succeeds). */
static int file_stats(long i, void *ctx, dlp_buf *out)
{
    const struct report *r = ctx;
    const char *path = r->paths[i];
    struct numbers num = {0, 0, 0, 0};
    uint64_t hash = 0xcbf29ce484222325ULL;
    char error[128] = "";
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        num.failed = errno;
    } else {
        unsigned char buf[1 << 16];
        for (;;) {
            ssize_t got = read(fd, buf, sizeof buf);
            if (got < 0 && errno == EINTR)
                continue;
            if (got <= 0) {
                num.failed = got < 0 ? errno : 0;
                break;
            }
            for (ssize_t k = 0; k < got; k++) {
                hash = (hash ^ buf[k]) * 0x100000001b3ULL;
                num.lines += buf[k] == '\n';
            }
            num.bytes += got;
        }
        close(fd);
    }
    if (num.failed && strerror_r(num.failed, error, sizeof error) != 0)
        snprintf(error, sizeof error, "error %d", (int)num.failed);

    int rc = dlp_buf_append(out, &num, sizeof num);
    if (rc == DLP_OK)
        rc = dlp_buf_printf(out, "%ld,", i);
    if (rc == DLP_OK)
        rc = put_field(out, path);
    if (rc == DLP_OK && num.failed)
        rc = dlp_buf_printf(out, ",,,,");
    else if (rc == DLP_OK)
        rc = dlp_buf_printf(out, ",%lld,%016llx,%lld,", (long long)num.bytes,
                            (unsigned long long)hash, (long long)num.lines);
    if (rc == DLP_OK)
        rc = put_field(out, error);
    if (rc == DLP_OK)
        rc = dlp_buf_append(out, "\n", 1);
    return rc; /* non-zero (out of memory): the item fails, the call stops */
}

/* ------------------------------------------------ results (master) -- */

/* One result at a time, in arrival order: write its line, keep it. */
static int write_line(long i, const void *data, size_t len, void *ctx)
{
    struct report *r = ctx;
    struct numbers num;
    if (len < sizeof num)
        return 1; /* not ours: stop the map */
    memcpy(&num, data, sizeof num);
    const char *text = (const char *)data + sizeof num;
    size_t tlen = len - sizeof num;
    if (fwrite(text, 1, tlen, r->csv) != tlen)
        return 2; /* disk full ...: stop the map (DLP_ERR_ITEM everywhere) */
    r->line[i] = xmalloc(tlen);
    memcpy(r->line[i], text, tlen);
    r->len[i] = tlen;
    r->done++;
    r->unreadable += num.failed != 0;
    r->bytes += num.bytes;
    r->lines += num.lines;
    return 0;
}

/* After the call: the lines in item (= path) order; 0 on success. */
static int write_sorted(const struct report *r, long files)
{
    FILE *f = fopen(CSV_SORTED, "w");
    int ok = f && fputs(CSV_HEADER, f) != EOF;
    for (long i = 0; ok && i < files; i++)
        ok = fwrite(r->line[i], 1, r->len[i], f) == r->len[i];
    if (f && fclose(f) != 0)
        ok = 0;
    if (!ok)
        perror("filestats: " CSV_SORTED);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    CHECK(dlp_init(&argc, &argv));
    int master = CHECK(dlp_is_master());
    if (argc != 2) {
        if (master)
            fprintf(stderr, "usage: %s DIR\n", argv[0]);
        CHECK(dlp_finalize());
        return 2;
    }

    /* The master walks the directory and opens the output; everyone learns
     * the outcome and the list's size, then receives the list. */
    struct prepare_ctx prep = {argv[1], NULL};
    struct listing info;
    CHECK(dlp_call_on_root_and_bcast(prepare, &prep, &info, sizeof info));
    if (info.error) {
        if (master)
            fprintf(stderr, "filestats: %s: %s\n", info.in_output ? CSV_ARRIVAL : argv[1],
                    strerror(info.error));
        free(walk.text);
        CHECK(dlp_finalize());
        return 1;
    }
    char *text = master ? walk.text : xmalloc((size_t)info.bytes);
    if (info.bytes > 0)
        CHECK(dlp_bcast(text, (size_t)info.bytes, 0));
    const char **paths = xmalloc((size_t)info.files * sizeof *paths);
    const char *p = text;
    for (long k = 0; k < info.files; k++, p += strlen(p) + 1)
        paths[k] = p;

    struct report r = {paths, prep.csv, NULL, NULL, 0, 0, 0, 0};
    if (master) {
        r.line = xmalloc((size_t)info.files * sizeof *r.line);
        r.len = xmalloc((size_t)info.files * sizeof *r.len);
    }
    double t0 = MPI_Wtime();
    CHECK(dlp_map_unordered(info.files, file_stats, write_line, &r, NULL));
    double took = MPI_Wtime() - t0;

    int status = 0;
    if (master) {
        if (fclose(r.csv) != 0) {
            perror("filestats: " CSV_ARRIVAL);
            status = 1;
        }
        status |= write_sorted(&r, info.files);
        printf("filestats: %ld files, %lld bytes, %lld lines, %ld unreadable, %ld "
               "directories skipped, in %.3f s on %d ranks x %d threads -> %s, %s\n",
               r.done, r.bytes, r.lines, r.unreadable, walk.skipped, took, CHECK(dlp_size()),
               CHECK(dlp_threads()), CSV_ARRIVAL, CSV_SORTED);
        for (long i = 0; i < info.files; i++)
            free(r.line[i]);
        free(r.line);
        free(r.len);
    }
    free(paths);
    free(text);
    CHECK(dlp_finalize());
    return status;
}
