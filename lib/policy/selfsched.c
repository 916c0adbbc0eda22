/* The self-scheduling family (see selfsched.h). */
#include "selfsched.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

long dlp__schedule_min_chunk(long n)
{
    /* ceil(n / DLP__MAX_CHUNKS) without forming n + DLP__MAX_CHUNKS - 1 */
    return n <= DLP__MAX_CHUNKS ? 1 : n / DLP__MAX_CHUNKS + (n % DLP__MAX_CHUNKS != 0);
}

#define FORMS "static, fixed:K, gss, gss:K, tss, fac2, wf, awf, auto (K an integer >= 1)"
#define TEXT_SHOWN 64 /* bytes of a rejected text quoted in the message */

static const char *const names[DLP__SS_KINDS] = {
    [DLP__SS_AUTO] = "auto", [DLP__SS_STATIC] = "static", [DLP__SS_FIXED] = "fixed",
    [DLP__SS_GSS] = "gss",   [DLP__SS_TSS] = "tss",       [DLP__SS_FAC2] = "fac2",
    [DLP__SS_WF] = "wf",     [DLP__SS_AWF] = "awf",
};

const char *dlp__ss_name(int kind)
{
    return kind >= 0 && kind < DLP__SS_KINDS ? names[kind] : "unknown";
}

/* -1, with `schedule "<text>": <why>; accepted: <forms>` in err. */
static int reject(const char *text, const char *why, char *err, size_t errlen)
{
    if (err && errlen > 0) {
        if (!text)
            snprintf(err, errlen, "schedule (null): %s; accepted: " FORMS, why);
        else
            snprintf(err, errlen, "schedule \"%.*s%s\": %s; accepted: " FORMS, TEXT_SHOWN,
                     text, strlen(text) > TEXT_SHOWN ? "..." : "", why);
    }
    return -1;
}

/* Parse len bytes of text (no NUL needed) as one policy; NULL on success,
 * else why not. bare_fixed: "fixed" alone is fixed with k = 0; no_k: k = 0
 * where no :K was given (gss too), else gss's k is 1. */
static const char *parse_part(const char *text, size_t len, struct dlp__ss_spec *out,
                              int bare_fixed, int no_k)
{
    if (len == 0)
        return "no policy given";
    if (text[0] == ' ' || text[0] == '\t' || text[len - 1] == ' ' || text[len - 1] == '\t')
        return "leading or trailing spaces";
    const char *colon = memchr(text, ':', len);
    size_t name_len = colon ? (size_t)(colon - text) : len;
    int kind = -1;
    for (int k = 0; k < DLP__SS_KINDS; k++)
        if (strlen(names[k]) == name_len && strncmp(text, names[k], name_len) == 0)
            kind = k;
    if (kind < 0)
        return "unknown policy";
    long k = kind == DLP__SS_GSS && !no_k ? 1 : 0;
    if (kind == DLP__SS_FIXED && !colon && !bare_fixed)
        return "fixed needs its chunk size, fixed:K";
    if (colon && kind != DLP__SS_FIXED && kind != DLP__SS_GSS)
        return "this policy takes no :K";
    if (colon) {
        const char *d = colon + 1, *end = text + len;
        if (d == end)
            return "K is not a decimal integer";
        for (k = 0; d < end; d++) {
            if (*d < '0' || *d > '9')
                return "K is not a decimal integer";
            if (k > (LONG_MAX - (*d - '0')) / 10)
                return "K is too large";
            k = 10 * k + (*d - '0');
        }
        if (k < 1)
            return "K must be at least 1";
    }
    out->kind = kind;
    out->k = k;
    return NULL;
}

int dlp__ss_parse(const char *text, struct dlp__ss_spec *out, char *err, size_t errlen)
{
    if (!text)
        return reject(text, "no policy given", err, errlen);
    struct dlp__ss_spec spec;
    const char *why = parse_part(text, strlen(text), &spec, 0, 0);
    if (why)
        return reject(text, why, err, errlen);
    *out = spec;
    return 0;
}

int dlp__ss_parse_levels(const char *text, struct dlp__ss_spec *node,
                         struct dlp__ss_spec *thread, char *err, size_t errlen)
{
    const char *why = "no policy given";
    struct dlp__ss_spec a, b;
    const char *slash = text ? strchr(text, '/') : NULL;
    size_t len = text ? strlen(text) : 0;
    if (!text || !*text) {
        if (err && errlen > 0)
            snprintf(err, errlen, "%s", why);
        return -1;
    }
    if (!slash) {
        why = parse_part(text, len, &a, 1, 1);
        if (why) {
            if (err && errlen > 0)
                snprintf(err, errlen, "\"%.*s%s\": %s", TEXT_SHOWN, text,
                         len > TEXT_SHOWN ? "..." : "", why);
            return -1;
        }
        *node = a;
        *thread = a;
        return 0;
    }
    if (strchr(slash + 1, '/')) {
        if (err && errlen > 0)
            snprintf(err, errlen, "more than one '/' (P1/P2 names two levels)");
        return -1;
    }
    size_t node_len = (size_t)(slash - text), thread_len = len - node_len - 1;
    const char *level = "node", *part = text;
    size_t part_len = node_len;
    why = parse_part(text, node_len, &a, 1, 1);
    if (!why) {
        level = "thread";
        part = slash + 1;
        part_len = thread_len;
        why = parse_part(part, part_len, &b, 1, 1);
    }
    if (why) {
        if (err && errlen > 0)
            snprintf(err, errlen, "the %s level \"%.*s%s\": %s", level,
                     (int)(part_len < TEXT_SHOWN ? part_len : TEXT_SHOWN), part,
                     part_len > TEXT_SHOWN ? "..." : "", why);
        return -1;
    }
    *node = a;
    *thread = b;
    return 0;
}

double dlp__ss_rate_sum(struct dlp__ss_rates *e, int workers, double weight,
                        double weight_sum, double rate)
{
    if (!(rate > 0))
        return 0;
    double p = workers > 0 ? workers : 1;
    double w = weight > 0 ? weight : 1;
    double ws = weight_sum > 0 ? weight_sum : p * w;
    ws = ws > w ? ws : w;
    if (e->seen < p)
        e->seen++;
    double f = 1.0 / e->seen;
    e->rate += f * (rate - e->rate);
    e->weight += f * (w - e->weight);
    return ws * e->rate / e->weight;
}

/* ceil(a / b) for a >= 0, b > 0, without overflow. */
static long ceil_div(long a, long b)
{
    return a / b + (a % b != 0);
}

/* c raised to the smallest chunk, cut to what remains. */
static long clamp_long(const struct dlp__ss_state *s, long c)
{
    if (c < s->min)
        c = s->min;
    return c < s->remaining ? c : s->remaining;
}

/* The same for a chunk computed in floating point (NaN: the smallest). */
static long clamp_double(const struct dlp__ss_state *s, double c)
{
    if (!(c >= (double)s->min))
        c = (double)s->min;
    if (c >= (double)s->remaining)
        return s->remaining;
    return (long)c;
}

/* ceil(r * w / (2 ws)): half of the share w / ws of r items, in the very
 * arithmetic of schedule.c's auto (so that both round alike). */
static double half_share(long r, double w, double ws)
{
    return ceil((double)r * w / (2.0 * ws));
}

/* ceil(2n / m) for n >= 0, m > 0, without forming 2n. */
static long ceil_twice_div(long n, long m)
{
    long r = n % m;
    return 2 * (n / m) + (r == 0 ? 0 : r <= m - r ? 1 : 2);
}

void dlp__ss_init(struct dlp__ss_state *s, const struct dlp__ss_spec *spec, long n,
                  int workers)
{
    memset(s, 0, sizeof *s);
    s->kind = spec->kind >= 0 && spec->kind < DLP__SS_KINDS ? spec->kind : DLP__SS_AUTO;
    s->workers = workers > 0 ? workers : 1;
    s->n = n > 0 ? n : 0;
    s->remaining = s->n;
    s->min = dlp__schedule_min_chunk(s->n);
    long p = s->workers;
    switch (s->kind) {
    case DLP__SS_STATIC:
        s->chunk = ceil_div(s->n, p);
        break;
    case DLP__SS_FIXED:
        s->chunk = spec->k > 0 ? spec->k : 1;
        break;
    case DLP__SS_GSS:
        if (spec->k > s->min)
            s->min = spec->k;
        break;
    case DLP__SS_TSS: {
        long f = ceil_div(s->n, 2 * p), l = s->min;
        if (f < l) /* 2P > DLP__MAX_CHUNKS: a flat trapezoid of l (d = 0) */
            f = l;
        s->chunk = f;
        s->count = ceil_twice_div(s->n, f + l);
        if (s->count > 1) {
            s->step = (f - l) / (s->count - 1);
            s->step_rem = (f - l) % (s->count - 1);
        }
        break;
    }
    default:
        break;
    }
}

/* Trapezoid: f - floor(k (f-l) / (C-1)) for the k-th chunk, l = min from
 * k = C on; the floor is carried from chunk to chunk as a quotient and a
 * remainder below C-1. */
static long tss_chunk(struct dlp__ss_state *s)
{
    if (s->handed >= s->count)
        return s->min;
    long c = s->chunk - s->dec;
    s->dec += s->step;
    s->dec_rem += s->step_rem;
    if (s->step_rem > 0 && s->dec_rem >= s->count - 1) {
        s->dec_rem -= s->count - 1;
        s->dec++;
    }
    return c;
}

/* fac2, wf, awf: the batch's half of what remained at its start, split
 * into P chunks, each by the requester's share when the policy knows it. */
static long factoring_chunk(struct dlp__ss_state *s, const struct dlp__ss_worker *w)
{
    if (s->batch_left == 0) {
        s->batch_start = s->remaining;
        s->batch_left = s->workers;
    }
    s->batch_left--;
    double v = 0, sum = 0; /* the requester's value and the sum of all */
    if (s->kind == DLP__SS_AWF && w->rate > 0 && w->rate_sum > 0) {
        v = w->rate;
        sum = w->rate_sum;
    } else if (s->kind != DLP__SS_FAC2 && w->weight > 0 && w->weight_sum > 0) {
        v = w->weight;
        sum = w->weight_sum;
    }
    if (v > 0) /* a sum below the value: the requester is all there is */
        return clamp_double(s, half_share(s->batch_start, v, sum > v ? sum : v));
    return clamp_long(s, ceil_div(s->batch_start, 2L * s->workers));
}

/* auto: half the requester's share of what remains, capped at target
 * seconds at its rate (ceil(weight) items while the rate is unknown). */
static long auto_chunk(const struct dlp__ss_state *s, const struct dlp__ss_worker *w)
{
    double nt = w->weight > 0 ? w->weight : 1.0;
    double tt = w->weight_sum <= 0 ? nt * s->workers : w->weight_sum >= nt ? w->weight_sum : nt;
    double fac = half_share(s->remaining, nt, tt);
    double cap = w->rate > 0 ? ceil(w->rate * w->target) : ceil(nt);
    return clamp_double(s, fac < cap ? fac : cap);
}

long dlp__ss_next(struct dlp__ss_state *s, int worker, const struct dlp__ss_worker *w)
{
    (void)worker;
    if (s->remaining <= 0)
        return 0;
    const struct dlp__ss_worker none = {0};
    if (!w)
        w = &none;
    long c;
    switch (s->kind) {
    case DLP__SS_STATIC:
    case DLP__SS_FIXED:
        c = clamp_long(s, s->chunk);
        break;
    case DLP__SS_GSS:
        c = clamp_long(s, ceil_div(s->remaining, s->workers));
        break;
    case DLP__SS_TSS:
        c = clamp_long(s, tss_chunk(s));
        break;
    case DLP__SS_FAC2:
    case DLP__SS_WF:
    case DLP__SS_AWF:
        c = factoring_chunk(s, w);
        break;
    default:
        c = auto_chunk(s, w);
        break;
    }
    s->remaining -= c;
    s->handed++;
    return c;
}
