/* The exact accumulator of doubles (superacc.h). */
#include "superacc.h"

#include <math.h>
#include <string.h>

#define LIMB_BITS 32
#define LIMB_MASK 0xffffffffu
#define BASE 4294967296.0
#define BASE_INT ((int64_t)1 << LIMB_BITS) /* BASE as an integer */
/* Additions each limb absorbs before its carries must move up: each adds
 * less than 2^32 in magnitude, an int64_t holds 2^63. */
#define ADDS_MAX (1L << 29)

void dlp__superacc_init(struct dlp__superacc *a) { memset(a, 0, sizeof *a); }

/* floor(v / 2^32), without shifting a negative value */
static inline int64_t carry_of(int64_t v)
{
    return v >= 0 ? v / BASE_INT : -((-(v + 1)) / BASE_INT) - 1;
}

/* Every limb but the top one into [0, 2^32); the top one keeps the sign. */
static void normalize(struct dlp__superacc *a)
{
    for (int k = 0; k < DLP__SUPERACC_LIMBS - 1; k++) {
        int64_t c = carry_of(a->limb[k]);
        a->limb[k] -= c * BASE_INT;
        a->limb[k + 1] += c;
    }
    a->adds = 0;
}

void dlp__superacc_add(struct dlp__superacc *a, double x)
{
    if (x == 0)
        return;
    if (!isfinite(x)) {
        a->special |= isnan(x) ? 1 : x > 0 ? 2 : 4;
        return;
    }
    if (a->adds >= ADDS_MAX)
        normalize(a);
    a->adds++;
    /* x = mag 2^(p - 1074) from its bits: a normal number's biased
     * exponent be gives p = be - 1 with the hidden bit; a subnormal's
     * (be = 0) significand weighs 2^-1074 */
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    int be = (int)((b >> 52) & 0x7ff);
    uint64_t mag = b & (((uint64_t)1 << 52) - 1);
    int p = 0;
    if (be != 0) {
        mag |= (uint64_t)1 << 52;
        p = be - 1;
    }
    int k = p / LIMB_BITS, s = p % LIMB_BITS;
    int64_t lo = (int64_t)((mag << s) & LIMB_MASK);
    uint64_t hi = mag >> (LIMB_BITS - s);   /* s < 32: a shift of 1..32 */
    int64_t mid = (int64_t)(hi & LIMB_MASK), top = (int64_t)(hi >> LIMB_BITS);
    if (b >> 63) {
        lo = -lo;
        mid = -mid;
        top = -top;
    }
    a->limb[k] += lo;
    a->limb[k + 1] += mid;
    a->limb[k + 2] += top;
}

void dlp__superacc_combine(struct dlp__superacc *into, const struct dlp__superacc *from)
{
    if (from->adds >= ADDS_MAX || into->adds + from->adds >= ADDS_MAX)
        normalize(into);
    for (int k = 0; k < DLP__SUPERACC_LIMBS; k++)
        into->limb[k] += from->limb[k];
    into->adds += from->adds + 1;
    into->special |= from->special;
    if (into->adds >= ADDS_MAX)
        normalize(into);
}

double dlp__superacc_round(const struct dlp__superacc *a)
{
    if ((a->special & 1) || (a->special & 6) == 6)
        return NAN;
    if (a->special)
        return a->special & 2 ? INFINITY : -INFINITY;
    struct dlp__superacc v = *a;
    normalize(&v);
    int negative = v.limb[DLP__SUPERACC_LIMBS - 1] < 0;
    if (negative) { /* the magnitude: negate every limb, then carry again */
        for (int k = 0; k < DLP__SUPERACC_LIMBS; k++)
            v.limb[k] = -v.limb[k];
        normalize(&v);
    }
    int t = DLP__SUPERACC_LIMBS - 1;
    while (t >= 0 && v.limb[t] == 0)
        t--;
    if (t < 0)
        return 0.0;
    if (v.limb[t] >= BASE_INT || t >= 66) /* far above 2^1024 */
        return negative ? -INFINITY : INFINITY;
    /* the top 64 bits m (its top bit set), the bits below them in sticky */
    uint64_t m = (uint64_t)v.limb[t] << LIMB_BITS | (uint64_t)(t >= 1 ? v.limb[t - 1] : 0);
    uint64_t next = (uint64_t)(t >= 2 ? v.limb[t - 2] : 0);
    int sticky = 0;
    for (int k = t - 3; k >= 0 && !sticky; k--)
        sticky = v.limb[k] != 0;
    int lz = 0;
    while (!(m >> 63)) {
        m <<= 1;
        lz++;
    }
    if (lz) {
        m |= next >> (LIMB_BITS - lz);
        sticky |= (next & ((1ULL << (LIMB_BITS - lz)) - 1)) != 0;
    } else {
        sticky |= next != 0;
    }
    int lsb = LIMB_BITS * (t - 1) - 1074 - lz; /* weight of m's bit 0 */
    int top = lsb + 63;                        /* weight of its top bit */
    int want = top - 52 > -1074 ? top - 52 : -1074; /* the result's last bit */
    int d = want - lsb;                        /* 11 .. 63 bits to drop */
    uint64_t q = m >> d, rem = m & ((1ULL << d) - 1), half = 1ULL << (d - 1);
    if (rem > half || (rem == half && (sticky || (q & 1))))
        q++;
    double r = ldexp((double)q, want);
    return negative ? -r : r;
}
