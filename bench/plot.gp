# bench/plot.gp — PNG plots of the CSV files written by bench/run.sh.
#
#   gnuplot -e "dir='bench_results/DATE'" bench/plot.gp
#   gnuplot -e "dir='...'; layouts='1x2 2x1'" bench/plot.gp
#
# Reads DIR/efficiency_LAYOUT.csv and DIR/throughput_LAYOUT.csv, writes
# DIR/efficiency.png (efficiency per variant, one bar per layout) and
# DIR/throughput.png (items/s per variant, log scale).
if (!exists("dir")) dir = "."
if (!exists("layouts")) layouts = "1x2 2x1 2n1"

set datafile separator ","
set datafile columnheaders
set terminal pngcairo size 900,500 noenhanced font ",10"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set grid ytics
set key top right

set output dir."/efficiency.png"
set title "dlp_mpi parallel efficiency, uneven 1-30 ms items (1.0 = perfect)"
set ylabel "(serial / workers) / median time"
set yrange [0:1.1]
plot for [l in layouts] dir."/efficiency_".l.".csv" using "efficiency":xtic(1) title l

set output dir."/throughput.png"
set title "dlp_mpi throughput on empty items"
set ylabel "items per second (median)"
set logscale y
set yrange [*:*]
plot for [l in layouts] dir."/throughput_".l.".csv" using "items_per_s":xtic(1) title l
