/* Option resolution and the DLP_* environment variables. */
#include "options.h"

#include <errno.h>
#include <limits.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "launcher.h"
#include "schedule.h"

/* The DLP_ variables of the environment, and the two others a call reads
 * (OMP_NUM_THREADS, SLURM_CPUS_PER_TASK), read in one pass at the start
 * of dlp__options_resolve() and looked up there and by dlp__knob(): a
 * call reads some twenty knobs, and a getenv() walks the whole
 * environment each time. They are read per call, since a program may
 * change them between calls. Main thread, like the resolution. */
#define ENV_SEEN 64

static const char *const others[] = {"OMP_NUM_THREADS", "SLURM_CPUS_PER_TASK"};
#define OTHERS (sizeof others / sizeof others[0])

static struct {
    const char *entry[ENV_SEEN]; /* "DLP_...=value" strings of environ */
    int n;
    int overflow; /* more than ENV_SEEN: knob() falls back to getenv() */
    const char *other[OTHERS]; /* the values of others[], NULL when unset */
} seen;

/* s is "name=...": its value, else NULL. */
static const char *value_of(const char *s, const char *name, size_t len)
{
    return strncmp(s, name, len) == 0 && s[len] == '=' ? s + len + 1 : NULL;
}

static void env_scan(void)
{
    extern char **environ;
    seen.n = 0;
    seen.overflow = 0;
    for (size_t k = 0; k < OTHERS; k++)
        seen.other[k] = NULL;
    for (char **e = environ; e && *e; e++) {
        const char *s = *e;
        if (s[0] != 'D' || s[1] != 'L' || s[2] != 'P' || s[3] != '_') {
            for (size_t k = 0; k < OTHERS; k++) /* (a byte's test first: most are neither) */
                if (s[0] == others[k][0] && !seen.other[k])
                    seen.other[k] = value_of(s, others[k], strlen(others[k]));
            continue;
        }
        if (seen.n == ENV_SEEN) {
            seen.overflow = 1;
            return;
        }
        seen.entry[seen.n++] = *e;
    }
}

/* getenv(var) as of the last env_scan(), for var "DLP_..." or one of
 * others[] */
static const char *knob(const char *var)
{
    if (seen.overflow)
        return getenv(var);
    if (seen.n == 0 && var[0] == 'D') /* (the usual case: no DLP_ knob set) */
        return NULL;
    size_t len = strlen(var);
    if (var[0] != 'D')
        for (size_t k = 0; k < OTHERS; k++)
            if (strcmp(var, others[k]) == 0)
                return seen.other[k];
    for (int k = 0; k < seen.n; k++) {
        const char *v = value_of(seen.entry[k], var, len);
        if (v)
            return v;
    }
    return NULL;
}

const char *dlp__knob(const char *var) { return knob(var); }

/* The one rule of the numeric knobs: a value starts with a digit (seconds
 * also with '.'): no leading space, sign or letter, as DLP_SCHEDULE's N. */
static int starts_number(const char *s, int dot)
{
    return (*s >= '0' && *s <= '9') || (dot && *s == '.');
}

/* Parse a whole decimal integer in [lo, hi]; 0 on success. */
static int parse_long(const char *s, long lo, long hi, long *out)
{
    if (!s || !starts_number(s, 0))
        return -1;
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* Parse a decimal number of seconds in [lo, hi] (lo 0: also 0; lo < 0:
 * above 0); 0 on success. */
static int parse_seconds(const char *s, double lo, double hi, double *out)
{
    /* decimal only: no hex, inf or nan (strtod takes them) */
    if (!s || !starts_number(s, 1) || s[strspn(s, "0123456789.eE+-")] != '\0')
        return -1;
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end != '\0' || !(lo < 0 ? v > 0 : v >= lo) || !(v <= hi))
        return -1;
    *out = v;
    return 0;
}

/* Parse a byte count with an optional binary suffix K, M or G; 0 on success. */
static int parse_bytes(const char *s, size_t *out)
{
    if (!s || !starts_number(s, 0))
        return -1;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s)
        return -1;
    unsigned shift = 0;
    switch (*end) {
    case '\0': break;
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    default: return -1;
    }
    if (*end != '\0' || v == 0 || v > ((unsigned long long)1 << 30) >> shift)
        return -1;
    *out = (size_t)(v << shift);
    return 0;
}

/* The one rule of the on/off knobs: 1, on, yes, true or 0, off, no, false
 * (unset or empty: dflt); -1 for anything else. */
static int bool_value(const char *v, int dflt)
{
    static const char *const yes[] = {"1", "on", "yes", "true"};
    static const char *const no[] = {"0", "off", "no", "false"};
    if (!v || !*v)
        return dflt;
    for (size_t k = 0; k < sizeof yes / sizeof *yes; k++) {
        if (strcmp(v, yes[k]) == 0)
            return 1;
        if (strcmp(v, no[k]) == 0)
            return 0;
    }
    return -1;
}

int dlp__env_flag(const char *var)
{
    return bool_value(getenv(var), 0) == 1;
}

/* An on/off knob into *out; DLP_ERR_OPTION for another value. */
static int env_bool(const char *var, int dflt, int *out, const char *func)
{
    const char *v = knob(var);
    int b = bool_value(v, dflt);
    if (b < 0)
        return dlp__fail(DLP_ERR_OPTION, func,
                         "%s=\"%s\" is not 1, on, yes, true or 0, off, no, false", var, v);
    *out = b;
    return DLP_OK;
}

static int resolve_progress(const dlp_opts *opts, struct dlp__options *o, const char *func)
{
    switch (opts->progress) {
    case DLP_PROGRESS_AUTO:
    case DLP_PROGRESS_ON:
    case DLP_PROGRESS_OFF:
    case DLP_PROGRESS_TTY: o->progress = opts->progress; break;
    case DLP_PROGRESS_DEFAULT: {
        const char *env = knob("DLP_PROGRESS");
        o->progress = DLP_PROGRESS_AUTO;
        if (!env || !*env || strcmp(env, "auto") == 0)
            break;
        if (strcmp(env, "1") == 0 || strcmp(env, "on") == 0)
            o->progress = DLP_PROGRESS_ON;
        else if (strcmp(env, "0") == 0 || strcmp(env, "off") == 0)
            o->progress = DLP_PROGRESS_OFF;
        else if (strcmp(env, "tty") == 0)
            o->progress = DLP_PROGRESS_TTY;
        else
            return dlp__fail(DLP_ERR_OPTION, func,
                             "DLP_PROGRESS=\"%s\" is not 0, 1, auto or tty", env);
        break;
    }
    default:
        return dlp__fail(DLP_ERR_OPTION, func,
                         "opts.progress = %d is not a dlp_progress value", opts->progress);
    }
    o->label = opts->label;
    if (!(opts->progress_interval >= 0) || opts->progress_interval > 3600)
        return dlp__fail(DLP_ERR_OPTION, func,
                         "opts.progress_interval = %g must be in 0..3600 s (0 = default)",
                         opts->progress_interval);
    o->progress_interval = opts->progress_interval;
    const char *env = knob("DLP_PROGRESS_INTERVAL");
    if (o->progress_interval == 0 && env && *env &&
        parse_seconds(env, -1, 3600, &o->progress_interval) != 0)
        return dlp__fail(DLP_ERR_OPTION, func,
                         "DLP_PROGRESS_INTERVAL=\"%s\" is not a number of seconds in (0, 3600]",
                         env);
    return DLP_OK;
}

/* DLP_ON_ERROR: abort, skip or retry=N. */
static int env_on_error(struct dlp__options *o, const char *func)
{
    const char *env = knob("DLP_ON_ERROR");
    long n = 1;
    o->on_error = DLP_ON_ERROR_ABORT;
    if (!env || !*env || strcmp(env, "abort") == 0)
        return DLP_OK;
    if (strcmp(env, "skip") == 0) {
        o->on_error = DLP_ON_ERROR_SKIP;
        return DLP_OK;
    }
    if (strcmp(env, "retry") == 0 ||
        (strncmp(env, "retry=", 6) == 0 && parse_long(env + 6, 1, DLP__RETRIES_MAX, &n) == 0)) {
        o->on_error = DLP_ON_ERROR_RETRY;
        o->retries = (int)n;
        return DLP_OK;
    }
    return dlp__fail(DLP_ERR_OPTION, func,
                     "DLP_ON_ERROR=\"%s\" is not abort, skip, retry or retry=N (N in 1..%d)",
                     env, DLP__RETRIES_MAX);
}

/* A number of seconds from opts (if > 0) or the environment, else dflt. */
static int seconds_option(double field, const char *field_name, const char *var, double lo,
                          double hi, double dflt, double *out, const char *func)
{
    if (!(field >= 0) || field > hi)
        return dlp__fail(DLP_ERR_OPTION, func, "opts.%s = %g must be in 0..%g s (0 = %s)",
                         field_name, field, hi, var);
    *out = field > 0 ? field : dflt;
    const char *env = knob(var);
    if (field > 0 || !env || !*env || parse_seconds(env, lo, hi, out) == 0)
        return DLP_OK;
    return dlp__fail(DLP_ERR_OPTION, func, "%s=\"%s\" is not a number of seconds in %g..%g",
                     var, env, lo, hi);
}

int dlp__collective_timeout(double *seconds, const char *func)
{
    return dlp__collective_timeout_of(getenv("DLP_COLLECTIVE_TIMEOUT"), seconds, func);
}

int dlp__collective_timeout_of(const char *env, double *seconds, const char *func)
{
    *seconds = 0;
    if (!env || !*env || parse_seconds(env, -1, 1e9, seconds) == 0)
        return DLP_OK;
    return dlp__fail(DLP_ERR_OPTION, func,
                     "DLP_COLLECTIVE_TIMEOUT=\"%s\" is not a number of seconds in (0, 1e9]",
                     env);
}

int dlp__liveness_timeout(double *seconds)
{
    const char *env = getenv("DLP_LIVENESS_TIMEOUT");
    double t;
    if (!env || !*env)
        return 0;
    if (strcmp(env, "0") == 0) {
        *seconds = 0;
        return 0;
    }
    if (parse_seconds(env, DLP__LIVENESS_MIN, DLP__LIVENESS_MAX, &t) != 0)
        return -1;
    *seconds = t;
    return 0;
}

static int resolve_failures(const dlp_opts *opts, struct dlp__options *o, const char *func)
{
    switch (opts->on_error) {
    case DLP_ON_ERROR_ABORT:
    case DLP_ON_ERROR_SKIP:
    case DLP_ON_ERROR_RETRY: o->on_error = opts->on_error; break;
    case DLP_ON_ERROR_DEFAULT: DLP_CALL(env_on_error(o, func)); break;
    default:
        return dlp__fail(DLP_ERR_OPTION, func,
                         "opts.on_error = %d is not a dlp_on_error value", opts->on_error);
    }
    if (opts->retries < 0 || opts->retries > DLP__RETRIES_MAX)
        return dlp__fail(DLP_ERR_OPTION, func, "opts.retries = %d must be in 0..%d",
                         opts->retries, DLP__RETRIES_MAX);
    if (o->on_error == DLP_ON_ERROR_RETRY && opts->retries > 0)
        o->retries = opts->retries;
    else if (o->on_error == DLP_ON_ERROR_RETRY && o->retries == 0)
        o->retries = 1;
    /* time_limit: 0 in opts and no DLP_TIME_LIMIT = none */
    DLP_CALL(seconds_option(opts->time_limit, "time_limit", "DLP_TIME_LIMIT", 1e-6, 1e9, 0,
                            &o->time_limit, func));
    DLP_CALL(seconds_option(0, "grace", "DLP_GRACE", 0, 1e6, DLP__GRACE_DEFAULT, &o->grace,
                            func));
    DLP_CALL(env_bool("DLP_SIGNALS", 1, &o->signals, func));
    o->journal = opts->journal;
    const char *env = knob("DLP_JOURNAL");
    if (!o->journal && env && *env)
        o->journal = env;
    if (o->journal && !*o->journal)
        return dlp__fail(DLP_ERR_OPTION, func, "opts.journal is an empty path");
    return seconds_option(0, "journal_sync", "DLP_JOURNAL_SYNC", 0, 3600,
                          DLP__JOURNAL_SYNC_DEFAULT, &o->journal_sync, func);
}

static int resolve_inflight(const dlp_opts *opts, struct dlp__options *o, const char *func)
{
    o->inflight = DLP__INFLIGHT_DEFAULT;
    if (opts->inflight > ((size_t)1 << 30))
        return dlp__fail(DLP_ERR_OPTION, func, "opts.inflight = %zu bytes is more than 1 GiB",
                         opts->inflight);
    if (opts->inflight > 0) {
        o->inflight = opts->inflight;
        return DLP_OK;
    }
    const char *env = knob("DLP_INFLIGHT");
    if (env && *env && parse_bytes(env, &o->inflight) != 0)
        return dlp__fail(DLP_ERR_OPTION, func,
                         "DLP_INFLIGHT=\"%s\" is not a byte count >= 1 (suffix K, M or G "
                         "allowed, at most 1G)",
                         env);
    return DLP_OK;
}

/* The team size of these values of DLP_THREADS, OMP_NUM_THREADS and
 * SLURM_CPUS_PER_TASK (NULL: unset). */
static int default_threads_of(const char *dlp, const char *omp, const char *slurm)
{
    long t;
    if (dlp && parse_long(dlp, 1, 4096, &t) == 0)
        return (int)t;
    int cpus = dlp__launcher_cpus(omp, dlp, slurm); /* Slurm's --cpus-per-task */
    return cpus > 0 ? cpus : omp_get_max_threads();
}

int dlp__default_threads(void)
{
    return default_threads_of(getenv("DLP_THREADS"), getenv("OMP_NUM_THREADS"),
                              getenv("SLURM_CPUS_PER_TASK"));
}

/* DLP_SCHEDULE: P for both levels or P1/P2 (node level / thread level),
 * each what dlp__ss_parse() accepts or bare fixed (its chunk from opts.chunk
 * / DLP_CHUNK); a part's :K also sets that level's chunk. Read only when
 * opts.schedule is DEFAULT; its thread part only when opts.thread_schedule
 * is DEFAULT too (else the text is still checked). */
static int env_schedule(const dlp_opts *opts, struct dlp__options *o, const char *func)
{
    const char *env = knob("DLP_SCHEDULE");
    struct dlp__ss_spec node = {DLP__SS_AUTO, 0}, thread = {DLP__SS_AUTO, 0};
    char why[160];
    if (env && *env && dlp__ss_parse_levels(env, &node, &thread, why, sizeof why) != 0)
        return dlp__fail(DLP_ERR_OPTION, func,
                         "DLP_SCHEDULE=\"%s\" is not one of auto, static, fixed, fixed:N, gss, "
                         "gss:N, tss, fac2, wf, awf (N an integer >= 1) for both levels, nor "
                         "two of them as P1/P2 (node level / thread level): %s",
                         env, why);
    o->schedule = dlp__schedule_of_kind(node.kind);
    o->chunk = node.k;
    if (opts->thread_schedule == DLP_SCHEDULE_DEFAULT) {
        o->thread_schedule = dlp__schedule_of_kind(thread.kind);
        o->thread_chunk = thread.k;
    }
    return DLP_OK;
}

/* opts.schedule / opts.thread_schedule: a dlp_schedule value. */
static int check_schedule(int value, const char *field, const char *func)
{
    if (value >= DLP_SCHEDULE_DEFAULT && value <= DLP_SCHEDULE_AWF)
        return DLP_OK;
    return dlp__fail(DLP_ERR_OPTION, func, "opts.%s = %d is not a dlp_schedule value", field,
                     value);
}

/* A chunk of opts (> 0), else what DLP_SCHEDULE's :K set (*out > 0), else
 * DLP_CHUNK, else 1. */
static int resolve_chunk(long field, const char *field_name, long *out, const char *func)
{
    if (field < 0)
        return dlp__fail(DLP_ERR_OPTION, func, "opts.%s = %ld must be >= 0 (0 = default)",
                         field_name, field);
    if (field > 0) {
        *out = field;
    } else if (*out == 0) {
        const char *env = knob("DLP_CHUNK");
        long c = 1;
        if (env && *env && parse_long(env, 1, 1L << 62, &c) != 0)
            return dlp__fail(DLP_ERR_OPTION, func, "DLP_CHUNK=\"%s\" is not an integer >= 1",
                             env);
        *out = c;
    }
    return DLP_OK;
}

/* dlp__options_resolve() without the memo. */
static int resolve(const dlp_opts *opts, struct dlp__options *o, const char *func)
{
    memset(o, 0, sizeof *o);
    o->chunk_time = DLP__CHUNK_TIME_DEFAULT;
    o->results = opts->results;
    o->collector = opts->collector;
    o->reduce = opts->reduce;
    if (opts->on_all_ranks != 0 && opts->on_all_ranks != 1)
        return dlp__fail(DLP_ERR_OPTION, func, "opts.on_all_ranks = %d must be 0 or 1",
                         opts->on_all_ranks);
    o->on_all_ranks = opts->on_all_ranks;

    if (opts->split != DLP_SPLIT_MANAGED && opts->split != DLP_SPLIT_ROUND_ROBIN)
        return dlp__fail(DLP_ERR_OPTION, func, "opts.split = %d is not a dlp_split value",
                         opts->split);
    o->split = opts->split;

    DLP_CALL(check_schedule(opts->schedule, "schedule", func));
    DLP_CALL(check_schedule(opts->thread_schedule, "thread_schedule", func));
    /* the thread level: opts.thread_schedule, else DLP_SCHEDULE's when the
     * node level comes from it, else auto */
    o->thread_schedule = opts->thread_schedule != DLP_SCHEDULE_DEFAULT ? opts->thread_schedule
                                                                       : DLP_SCHEDULE_AUTO;
    if (opts->schedule == DLP_SCHEDULE_DEFAULT)
        DLP_CALL(env_schedule(opts, o, func));
    else
        o->schedule = opts->schedule;
    DLP_CALL(resolve_chunk(opts->chunk, "chunk", &o->chunk, func));
    DLP_CALL(resolve_chunk(opts->thread_chunk, "thread_chunk", &o->thread_chunk, func));

    if (opts->threads < 0)
        return dlp__fail(DLP_ERR_OPTION, func, "opts.threads = %d must be >= 0 (0 = default)",
                         opts->threads);
    if (opts->threads > 0) {
        o->threads = opts->threads;
    } else {
        const char *env = knob("DLP_THREADS");
        long t;
        if (env && *env && parse_long(env, 1, 4096, &t) != 0)
            return dlp__fail(DLP_ERR_OPTION, func,
                             "DLP_THREADS=\"%s\" is not an integer in 1..4096", env);
        o->threads = default_threads_of(env, knob("OMP_NUM_THREADS"),
                                        knob("SLURM_CPUS_PER_TASK"));
    }

    const char *ct = knob("DLP_CHUNK_TIME");
    if (ct && *ct) {
        long ms;
        if (parse_long(ct, 1, 3600000, &ms) != 0)
            return dlp__fail(DLP_ERR_OPTION, func,
                             "DLP_CHUNK_TIME=\"%s\" is not a whole number of ms in 1..3600000",
                             ct);
        o->chunk_time = (double)ms * 1e-3;
        o->chunk_time_set = 1;
    }
    const char *slice = knob("DLP_HELPER_SLICE");
    long us = DLP__HELPER_SLICE_DEFAULT;
    if (slice && *slice && parse_long(slice, 0, 100000, &us) != 0)
        return dlp__fail(DLP_ERR_OPTION, func,
                         "DLP_HELPER_SLICE=\"%s\" is not a whole number of us in 0..100000",
                         slice);
    o->helper_slice = (unsigned)us;
    DLP_CALL(resolve_progress(opts, o, func));
    DLP_CALL(env_bool("DLP_STATS", 0, &o->stats, func));
    DLP_CALL(env_bool("DLP_TRACE_ITEMS", 0, &o->trace_items, func));
    const char *trace = knob("DLP_TRACE");
    o->trace = trace && *trace ? trace : NULL;
    const char *spans = knob("DLP_TRACE_MAX_SPANS");
    o->trace_max_spans = DLP__TRACE_MAX_SPANS_DEFAULT;
    if (spans && *spans && parse_long(spans, 1, LONG_MAX, &o->trace_max_spans) != 0)
        return dlp__fail(DLP_ERR_OPTION, func,
                         "DLP_TRACE_MAX_SPANS=\"%s\" is not a whole number in 1..%ld", spans,
                         LONG_MAX);
    DLP_CALL(resolve_failures(opts, o, func));
    return resolve_inflight(opts, o, func);
}

/* The last resolution, reused while what it read is the same: every
 * field of opts, the environment's strings it looked at (where they are
 * and what they say) and omp_get_max_threads(). A call of a time-stepping
 * code then resolves nothing (docs/call_cost.md). Main thread. */
#define MEMO_TEXT 1024

static struct {
    int valid;
    dlp_opts opts;
    int max_threads;
    const char *entry[ENV_SEEN];
    const char *other[OTHERS];
    int n;
    size_t text_len;
    char text[MEMO_TEXT]; /* the strings of entry[] and other[], each with its NUL */
    struct dlp__options o;
} memo;

/* Every field of dlp_opts (a new field belongs here too). */
static int same_opts(const dlp_opts *a, const dlp_opts *b)
{
    return a->split == b->split && a->schedule == b->schedule && a->chunk == b->chunk &&
           a->threads == b->threads && a->results == b->results &&
           a->collector == b->collector && a->progress == b->progress &&
           a->label == b->label && a->progress_interval == b->progress_interval &&
           a->inflight == b->inflight && a->on_error == b->on_error &&
           a->time_limit == b->time_limit && a->retries == b->retries &&
           a->journal == b->journal && a->thread_schedule == b->thread_schedule &&
           a->thread_chunk == b->thread_chunk && a->reduce == b->reduce &&
           a->on_all_ranks == b->on_all_ranks;
}

/* Append s and its NUL to the memo's text at *len; 0 when it does not fit. */
static int text_add(char *text, size_t *len, const char *s)
{
    size_t k = strlen(s) + 1;
    if (k > MEMO_TEXT - *len)
        return 0;
    memcpy(text + *len, s, k);
    *len += k;
    return 1;
}

/* The strings env_scan() found, in text (NULL: too long); their length. */
static const char *env_text(char *text, size_t *len)
{
    *len = 0;
    for (int k = 0; k < seen.n; k++)
        if (!text_add(text, len, seen.entry[k]))
            return NULL;
    for (size_t k = 0; k < OTHERS; k++)
        if (!text_add(text, len, seen.other[k] ? seen.other[k] : ""))
            return NULL;
    return text;
}

/* opts and the environment are what the memo's resolution read. */
static int memo_matches(const dlp_opts *opts, int max_threads)
{
    if (!memo.valid || seen.overflow || seen.n != memo.n || max_threads != memo.max_threads ||
        !same_opts(opts, &memo.opts))
        return 0;
    if (memcmp(seen.entry, memo.entry, (size_t)seen.n * sizeof *seen.entry) != 0 ||
        memcmp(seen.other, memo.other, sizeof seen.other) != 0)
        return 0;
    char text[MEMO_TEXT];
    size_t len;
    return env_text(text, &len) && len == memo.text_len && memcmp(text, memo.text, len) == 0;
}

static void memo_keep(const dlp_opts *opts, int max_threads, const struct dlp__options *o)
{
    memo.valid = !seen.overflow && env_text(memo.text, &memo.text_len);
    if (!memo.valid)
        return;
    memo.opts = *opts;
    memo.max_threads = max_threads;
    memo.n = seen.n;
    memcpy(memo.entry, seen.entry, (size_t)seen.n * sizeof *seen.entry);
    memcpy(memo.other, seen.other, sizeof seen.other);
    memo.o = *o;
}

int dlp__options_resolve(const dlp_opts *opts, struct dlp__options *o, const char *func)
{
    static const dlp_opts defaults = DLP_OPTS_INIT;
    if (!opts)
        opts = &defaults;
    env_scan();
    int max_threads = omp_get_max_threads();
    if (memo_matches(opts, max_threads)) {
        *o = memo.o;
        return DLP_OK;
    }
    memo.valid = 0;
    DLP_CALL(resolve(opts, o, func));
    memo_keep(opts, max_threads, o);
    return DLP_OK;
}
