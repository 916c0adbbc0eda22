/* What the launcher says about the job, see launcher.h. */
#include "launcher.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

/* Text s as a whole number in 1..hi, else 0. */
static long count_of(const char *s, long hi)
{
    if (!s || !*s)
        return 0;
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    return errno || *end || v < 1 || v > hi ? 0 : v;
}

/* The value of env var NAME as a whole number in 1..hi, else 0. */
static long env_count(const char *name, long hi)
{
    return count_of(getenv(name), hi);
}

int dlp__launcher_check(int mpi_size)
{
    const char *off = getenv("DLP_LAUNCH_CHECK");
    if (mpi_size != 1 || (off && strcmp(off, "0") == 0))
        return DLP_OK;
    /* a process manager that says 1 (hydra's proxies started by srun, one
     * step task per node, for a job of one rank) */
    if (env_count("PMI_SIZE", 1L << 30) == 1)
        return DLP_OK;
    /* srun: SLURM_STEP_NUM_TASKS is the step's task count; a batch script
     * (no SLURM_STEP_ID, or the "batch"/"extern" steps) runs one task */
    const char *step = getenv("SLURM_STEP_ID");
    long slurm = 0;
    if (step && *step >= '0' && *step <= '9')
        slurm = env_count("SLURM_STEP_NUM_TASKS", 1L << 30);
    if (slurm > 1)
        return dlp__fail(DLP_ERR_MPI, "dlp_init",
                         "srun started %ld tasks (SLURM_STEP_NUM_TASKS=%ld), but MPI sees a job "
                         "of one rank: MPI did not reach Slurm's process manager, and each task "
                         "would run the whole job alone. Launch with srun --mpi=pmi2 (MPICH "
                         "speaks PMI-1 and PMI-2, not PMIx), or with mpiexec inside the "
                         "allocation (DLP_LAUNCH_CHECK=0 runs the copies anyway)",
                         slurm, slurm);
    static const char *const vars[] = {"PMI_SIZE", "OMPI_COMM_WORLD_SIZE"};
    for (size_t k = 0; k < sizeof vars / sizeof vars[0]; k++) {
        long n = env_count(vars[k], 1L << 30);
        if (n > 1)
            return dlp__fail(DLP_ERR_MPI, "dlp_init",
                             "the launcher started %ld processes (%s=%ld), but MPI sees a job "
                             "of one rank: each would run the whole job alone. Launch the "
                             "program with the mpiexec of the MPI it was built with (MPICH: "
                             "mpiexec.mpich), or under Slurm with srun --mpi=pmi2 "
                             "(DLP_LAUNCH_CHECK=0 runs the copies anyway)",
                             n, vars[k], n);
    }
    return DLP_OK;
}

int dlp__launcher_cpus_per_task(void)
{
    return dlp__launcher_cpus(getenv("OMP_NUM_THREADS"), getenv("DLP_THREADS"),
                              getenv("SLURM_CPUS_PER_TASK"));
}

int dlp__launcher_cpus(const char *omp_num_threads, const char *dlp_threads,
                       const char *slurm_cpus_per_task)
{
    if ((omp_num_threads && *omp_num_threads) || (dlp_threads && *dlp_threads))
        return 0;
    return (int)count_of(slurm_cpus_per_task, 4096);
}
