/* An exact accumulator of doubles (a "superaccumulator"): a fixed-point
 * number over the whole double range, 2^-1074 .. 2^1024 and 190 bits of
 * headroom above, in signed 64-bit limbs of 32 bits each with room for
 * carries. Adding and combining are exact, so the sum does not depend on
 * the order of the additions; it is rounded to a double once, at the end
 * (to nearest, ties to even). Infinities and NaNs are kept aside as in IEEE
 * arithmetic: a NaN, or +inf and -inf both, give NaN. */
#ifndef DLP_LIB_SUPERACC_H
#define DLP_LIB_SUPERACC_H

#include <stdint.h>

#define DLP__SUPERACC_LIMBS 72

struct dlp__superacc {
    int64_t limb[DLP__SUPERACC_LIMBS]; /* limb k weighs 2^(32k - 1074) */
    int64_t adds;                      /* additions since the last carry propagation */
    int64_t special;                   /* bits: 1 a NaN, 2 +inf, 4 -inf was added */
};

/** Zero. */
void dlp__superacc_init(struct dlp__superacc *a);
/** a += x, exactly. */
void dlp__superacc_add(struct dlp__superacc *a, double x);
/** into += from, exactly. */
void dlp__superacc_combine(struct dlp__superacc *into, const struct dlp__superacc *from);
/** The sum, rounded once to the nearest double (ties to even). */
double dlp__superacc_round(const struct dlp__superacc *a);

#endif
