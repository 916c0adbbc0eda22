/* The self-scheduling family (see selfsched.h). */
#include "selfsched.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedule.h"

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

int dlp__ss_parse(const char *text, struct dlp__ss_spec *out, char *err, size_t errlen)
{
    if (!text || !*text)
        return reject(text, "no policy given", err, errlen);
    size_t len = strlen(text);
    if (text[0] == ' ' || text[0] == '\t' || text[len - 1] == ' ' || text[len - 1] == '\t')
        return reject(text, "leading or trailing spaces", err, errlen);
    const char *colon = strchr(text, ':');
    size_t name_len = colon ? (size_t)(colon - text) : len;
    int kind = -1;
    for (int k = 0; k < DLP__SS_KINDS; k++)
        if (strlen(names[k]) == name_len && strncmp(text, names[k], name_len) == 0)
            kind = k;
    if (kind < 0)
        return reject(text, "unknown policy", err, errlen);
    long k = kind == DLP__SS_GSS ? 1 : 0;
    if (kind == DLP__SS_FIXED && !colon)
        return reject(text, "fixed needs its chunk size, fixed:K", err, errlen);
    if (colon && kind != DLP__SS_FIXED && kind != DLP__SS_GSS)
        return reject(text, "this policy takes no :K", err, errlen);
    if (colon) {
        const char *digits = colon + 1;
        if (!*digits || strspn(digits, "0123456789") != strlen(digits))
            return reject(text, "K is not a decimal integer", err, errlen);
        errno = 0;
        k = strtol(digits, NULL, 10);
        if (errno == ERANGE)
            return reject(text, "K is too large", err, errlen);
        if (k < 1)
            return reject(text, "K must be at least 1", err, errlen);
    }
    out->kind = kind;
    out->k = k;
    return 0;
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
 * arithmetic of dlp__schedule_chunk() (so auto rounds as it does). */
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
