# bench/plot.gp — PNG plots of the CSV files written by bench/run.sh.
#
#   gnuplot -e "dir='bench_results/DATE'" bench/plot.gp
#   gnuplot -e "dir='...'; layouts='1x2 2x1'" bench/plot.gp
#
# Reads DIR/efficiency_LAYOUT.csv, DIR/throughput_LAYOUT.csv and
# DIR/workloads_LAYOUT.csv (each when present), writes
# DIR/efficiency.png (efficiency per variant, one bar per layout),
# DIR/throughput.png (items/s per variant, log scale) and, per workload W
# of the workloads program, DIR/workloads_W.png (efficiency per variant, one
# bar per layout; a skipped variant has no bar).
if (!exists("dir")) dir = "."
if (!exists("layouts")) layouts = "1x2 2x1 2n1 2n1off"

# The layouts L for which DIR/PROG_L.csv exists.
have(prog) = system(sprintf("for l in %s; do [ -f '%s/%s_'$l.csv ] && printf '%%s ' $l; done", \
                            layouts, dir, prog))

set datafile separator ","
set datafile columnheaders
set terminal pngcairo size 900,500 noenhanced font ",10"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set grid ytics
set key top right

ls = have("efficiency")
if (words(ls) > 0) {
    set output dir."/efficiency.png"
    set title "dlp_mpi parallel efficiency, uneven 1-30 ms items (1.0 = perfect)"
    set ylabel "(serial / workers) / median time"
    set yrange [0:1.1]
    plot for [l in ls] dir."/efficiency_".l.".csv" using "efficiency":xtic(1) title l
}

ls = have("throughput")
if (words(ls) > 0) {
    set output dir."/throughput.png"
    set title "dlp_mpi throughput on empty items"
    set ylabel "items per second (median)"
    set logscale y
    set yrange [*:*]
    plot for [l in ls] dir."/throughput_".l.".csv" using "items_per_s":xtic(1) title l
    unset logscale y
}

# workloads: the rows of one workload, per layout, into datablocks $wl1,
# $wl2 ... (variant, efficiency; 0 for a skipped variant), then one
# clustered histogram. Every layout lists the same variants in the same
# order (a skipped one too), so the bars line up; a layout that did not run
# the workload (2n1off runs two of them) has no bars in its plot.
ls = have("workloads")
if (words(ls) > 0) {
    wls = system(sprintf("tail -n +2 '%s/workloads_%s.csv' | cut -d, -f2 | uniq", dir, word(ls, 1)))
    do for [w in wls] {
        lw = system(sprintf("for l in %s; do cut -d, -f2 '%s/workloads_'$l.csv | grep -qx '%s' && printf '%%s ' $l; done", \
                            ls, dir, w))
        set datafile separator ","
        set datafile columnheaders
        do for [j = 1:words(lw)] {
            eval "set table $wl".j
            plot dir."/workloads_".word(lw, j).".csv" \
                using (strcol("variant")):(strlen(strcol("efficiency")) ? column("efficiency") : 0) \
                with table if (strcol("workload") eq w)
            unset table
        }
        set datafile separator whitespace
        unset datafile columnheaders
        set output dir."/workloads_".w.".png"
        set title "dlp_mpi efficiency per variant, workload ".w. \
                  " (1.0 = perfect; omp_*: the master rank alone at > 1 rank)"
        set ylabel "(serial / workers) / median time"
        set yrange [0:1.1<*]
        set xtics rotate by -30
        plot for [j = 1:words(lw)] "$wl".j using 2:xtic(1) title word(lw, j)
        unset xtics
        set xtics
    }
}
