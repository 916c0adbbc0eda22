/* What the launcher (Slurm, hydra, another MPI's mpirun) says about the
 * job, for dlp_init and the team size. */
#ifndef DLP_LIB_LAUNCHER_H
#define DLP_LIB_LAUNCHER_H

/** DLP_OK unless MPI sees a job of one rank (mpi_size 1) that a launcher
 *  started as several tasks: then every task would run the whole job alone
 *  (srun without --mpi=pmi2 under MpiDefault=none, srun --mpi=pmix with an
 *  MPI without a PMIx client, one MPI's mpirun starting another MPI's
 *  program). Read: SLURM_STEP_NUM_TASKS (srun's tasks of this step; only
 *  when SLURM_STEP_ID says the process is in a step srun started), PMI_SIZE
 *  (hydra, Slurm's PMI-1/PMI-2 plugins) and OMPI_COMM_WORLD_SIZE (Open MPI's
 *  mpirun); PMI_SIZE=1 (a process manager that agrees) wins over Slurm's
 *  count, which under hydra in an allocation counts its proxies.
 *  DLP_LAUNCH_CHECK=0 turns the check off. Errors: DLP_ERR_MPI
 *  (recorded for dlp_init) with the variable, its value and the launch line
 *  that works. */
int dlp__launcher_check(int mpi_size);

/** Slurm's SLURM_CPUS_PER_TASK (1 … 4096) when neither OMP_NUM_THREADS nor
 *  DLP_THREADS is set, else 0: the team size that --cpus-per-task asked
 *  for (without a CPU-binding task plugin the OpenMP default is every core
 *  of the node). */
int dlp__launcher_cpus_per_task(void);

/** dlp__launcher_cpus_per_task() of these values of OMP_NUM_THREADS,
 *  DLP_THREADS and SLURM_CPUS_PER_TASK (each may be NULL: unset). */
int dlp__launcher_cpus(const char *omp_num_threads, const char *dlp_threads,
                       const char *slurm_cpus_per_task);

#endif
