#!/usr/bin/env bash
# bench/scale_model.sh — the scale model of docs/scale.md: for one rank per
# node, N nodes of T threads, items of t seconds and one parallel call of D
# seconds of work per thread, the request rate the master's one dispatcher
# sees, its utilisation and the call's predicted efficiency. Inputs as
# environment variables (defaults: docs/scale.md's measured or assumed
# values):
#   TAU=0.010        DLP_CHUNK_TIME, seconds of a node's work per chunk
#   S0=3e-6          dispatcher service time per request, seconds (measured)
#   SCAN=3.4e-9      its scan per node per wake-up (forecast + bell_nap), s
#   PPOLL=1.9e-7     the doorbell ppoll per node per wake-up, s (BELLS=1)
#   BELLS=0          1: with node doorbells
#   ALPHA=2e-6 BETA=1e-10   MPI latency (s) and inverse bandwidth (s/B)
#   D=10             seconds of work per thread in the call
#   RHO=0.5          TAU_SCALE=1: chunk time raised to N * s / RHO
#   TAU_SCALE=0
#   NODES="2 4 8 16 32 100 1000 10000" THREADS="1 64" ITEMS="0.001 0.01"
# Prints a table: N, T, t, chunk (items), r (requests/s per node), lambda,
# s(N), rho, collective cost per call, predicted efficiency.
awk -v tau="${TAU:-0.010}" -v s0="${S0:-3e-6}" -v scan="${SCAN:-3.4e-9}" \
    -v ppoll="${PPOLL:-1.9e-7}" -v bells="${BELLS:-0}" -v alpha="${ALPHA:-2e-6}" \
    -v beta="${BETA:-1e-10}" -v D="${D:-10}" -v rho_t="${RHO:-0.5}" \
    -v tau_scale="${TAU_SCALE:-0}" -v nodes="${NODES:-2 4 8 16 32 100 1000 10000}" \
    -v threads="${THREADS:-1 64}" -v items="${ITEMS:-0.001 0.01}" '
function ceil(x) { return x == int(x) ? x : int(x) + 1 }
function log2(x) { return log(x) / log(2) }
# MPICH 4.0 default allgather: recursive doubling for a power-of-two P and
# total < 512 KiB, Bruck for total < 80 KiB, else ring
function allgather(P, m,   tot, p2) {
    tot = P * m; p2 = (2 ^ int(log2(P) + 0.5) == P)
    if (p2 && tot < 524288) return log2(P) * alpha + tot * beta
    if (tot < 81920) return ceil(log2(P)) * alpha + tot * beta
    return (P - 1) * (alpha + m * beta)
}
function allreduce(P) { return P < 256 ? 0 : 2 * ceil(log2(P)) * alpha + 272 * 2 * beta }
BEGIN {
    printf "%6s %3s %7s %7s %8s %10s %9s %7s %9s %6s\n", "nodes", "T", "item_s",
        "chunk", "r_node/s", "lambda/s", "s(N)_us", "rho", "coll_ms", "E"
    n = split(nodes, NN, " "); m = split(threads, TT, " "); q = split(items, II, " ")
    for (a = 1; a <= m; a++) for (b = 1; b <= q; b++) for (c = 1; c <= n; c++) {
        N = NN[c]; T = TT[a]; t = II[b]
        s = s0 + N * scan + (bells ? N * ppoll : 0)
        ta = tau_scale && N * s / rho_t > tau ? N * s / rho_t : tau
        R = T / t                          # a node'"'"'s items per second
        chunk = ceil(R * ta); if (chunk < 1) chunk = 1
        r = R / chunk                      # its requests per second
        lambda = (N - 1) * r
        rho = lambda * s
        coll = allreduce(N) + allgather(N, 128) + allgather(N, 56)
        Ed = rho > 1 ? 1 / rho : 1         # a saturated dispatcher
        E = Ed * D / (D + coll + t + (rho < 1 ? s / (1 - rho) : 0))
        printf "%6d %3d %7.3f %7d %8.1f %10.0f %9.2f %7.3f %9.3f %6.3f\n", N, T, t, chunk, r,
            lambda, 1e6 * s, rho, 1e3 * coll, E
    }
}'
