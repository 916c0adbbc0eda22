#!/usr/bin/env bash
# bench/scale_model.sh — the scale model of docs/scale.md: for one rank per
# node, N nodes of T threads, items of t seconds and one parallel call of D
# seconds of work per thread, the chunk time AUTO uses, the request rate
# the master's one dispatcher sees, its utilisation and the call's
# predicted efficiency, for each way the dispatcher waits. Inputs as
# environment variables (defaults: docs/scale.md's measured or assumed
# values):
#   TAU=0.010        DLP_CHUNK_TIME, seconds of a node's work per chunk
#   GROW=1           1: the chunk time grows under load (the library's
#                    default, lib/call/dispatcher.c): tau_eff = max(TAU,
#                    min(TAU_MAX, (N - 1) * s / RHO)); 0: TAU always
#                    (DLP_CHUNK_TIME set by the user, or the code before)
#   TAU_MAX=1 RHO=0.5  the growth's cap and target utilisation
#   S0=3e-6          dispatcher service time per request, seconds (measured,
#                    an upper bound: docs/scale.md table 1)
#   SCAN=0           its scan per node per wake-up, s (was 3.4e-9 before the
#                    forecast's heap; now O(log N), inside S0)
#   PPOLL=1.9e-7     the doorbell ppoll per node per wake-up, s (variant ppoll)
#   EPOLL=3e-6       the doorbell wait per wake-up with epoll, s, whatever N
#                    (variant epoll; measured: docs/scale.md table 3c)
#   BELL=2.1e-5      a doorbell request's own cost over polling, s (ring
#                    back, drain, wake-up; variants ppoll and epoll;
#                    measured: docs/scale.md table 1b)
#   ALPHA=2e-6 BETA=1e-10   MPI latency (s) and inverse bandwidth (s/B)
#   D=10             seconds of work per thread in the call
#   VARIANTS="polling ppoll epoll"
#   NODES="2 4 8 16 32 100 1000 10000" THREADS="1 64" ITEMS="0.001 0.01"
# Prints a table: N, T, t, variant, tau_eff, chunk (items), r (requests/s
# per node), lambda, s(N), rho, collective cost per call, efficiency.
awk -v tau="${TAU:-0.010}" -v grow="${GROW:-1}" -v tau_max="${TAU_MAX:-1}" \
    -v rho_t="${RHO:-0.5}" -v s0="${S0:-3e-6}" -v scan="${SCAN:-0}" \
    -v ppoll="${PPOLL:-1.9e-7}" -v epoll="${EPOLL:-3e-6}" -v bell="${BELL:-2.1e-5}" -v alpha="${ALPHA:-2e-6}" \
    -v beta="${BETA:-1e-10}" -v D="${D:-10}" -v variants="${VARIANTS:-polling ppoll epoll}" \
    -v nodes="${NODES:-2 4 8 16 32 100 1000 10000}" \
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
function allreduce(P, m) { return 2 * ceil(log2(P)) * alpha + 2 * m * beta }
function gather(P, m) { return ceil(log2(P)) * alpha + P * m * beta }
# The agreements of a parallel call: below 256 ranks the allgather of the
# entry (128 B per rank) and of the outcome (56 B); from 256 on the
# allreduce of the entry (272 B), of the threads (16 B) and their gather to
# the master (4 B per rank, O(P) there only), and the allreduce of the
# outcome (56 B); the allreduce of the threads of a node is in shared
# memory and left out
function call_collectives(P) {
    if (P < 256) return allgather(P, 128) + allgather(P, 56)
    return allreduce(P, 272) + allreduce(P, 16) + gather(P, 4) + allreduce(P, 56)
}
BEGIN {
    printf "%6s %3s %7s %8s %9s %7s %8s %10s %9s %7s %9s %6s\n", "nodes", "T", "item_s",
        "variant", "tau_ms", "chunk", "r_node/s", "lambda/s", "s(N)_us", "rho", "coll_ms", "E"
    n = split(nodes, NN, " "); m = split(threads, TT, " "); q = split(items, II, " ")
    nv = split(variants, VV, " ")
    for (a = 1; a <= m; a++) for (b = 1; b <= q; b++) for (c = 1; c <= n; c++)
    for (v = 1; v <= nv; v++) {
        N = NN[c]; T = TT[a]; t = II[b]
        s = s0 + N * scan
        if (VV[v] == "ppoll") s += N * ppoll
        if (VV[v] == "epoll") s += epoll
        if (VV[v] != "polling") s += bell
        ta = tau
        if (grow) {
            g = (N - 1) * s / rho_t; if (g > tau_max) g = tau_max
            if (g > ta) ta = g
        }
        R = T / t                          # a node'"'"'s items per second
        chunk = ceil(R * ta); if (chunk < 1) chunk = 1
        # its requests per second: the steady state, plus the edges of a call
        # (first and leave requests, the FAC2 tail, the first 50 ms window
        # before the chunk time grows; docs/scale.md table 4)
        r = R / chunk + (2 + log2(chunk) + (ta > tau ? 0.05 * (1 / tau - 1 / ta) : 0)) / D
        if (r > R) r = R
        lambda = (N - 1) * r
        rho = lambda * s
        coll = call_collectives(N)
        Ed = rho > 1 ? 1 / rho : 1         # a saturated dispatcher
        E = Ed * D / (D + coll + t + (rho < 1 ? s / (1 - rho) : 0))
        printf "%6d %3d %7.3f %8s %9.1f %7d %8.1f %10.0f %9.2f %7.3f %9.3f %6.3f\n", N, T, t,
            VV[v], 1e3 * ta, chunk, r, lambda, 1e6 * s, rho, 1e3 * coll, E
    }
}'
