/* Node-shared memory from POSIX shm_open + mmap (sparse on tmpfs). */
#define _GNU_SOURCE
#include "shm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "wait.h"

#define NAME_MAX_LEN 64

static int map_private(struct dlp__shm *seg, size_t size)
{
    int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
    /* fd -1 goes with MAP_ANONYMOUS (cppcheck's POSIX library wants >= 0) */
    /* cppcheck-suppress invalidFunctionArg */
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, flags, -1, 0);
    if (p == MAP_FAILED) {
        char text[128];
        return dlp__fail(DLP_ERR_NOMEM, "dlp__shm_alloc", "mmap of %zu bytes: %s", size,
                         dlp__errno_text(errno, text, sizeof text));
    }
    seg->base = p;
    seg->size = size;
    return DLP_OK;
}

static int map_named(struct dlp__shm *seg, const char *name, size_t size, int create)
{
    char text[128];
    int fd = shm_open(name, create ? O_CREAT | O_EXCL | O_RDWR : O_RDWR, 0600);
    if (fd < 0)
        return dlp__fail(DLP_ERR_SYSTEM, "dlp__shm_alloc", "shm_open(%s): %s", name,
                         dlp__errno_text(errno, text, sizeof text));
    if (create && ftruncate(fd, (off_t)size) != 0) {
        int e = errno;
        close(fd);
        shm_unlink(name);
        return dlp__fail(DLP_ERR_NOMEM, "dlp__shm_alloc", "ftruncate(%s, %zu): %s", name,
                         size, dlp__errno_text(e, text, sizeof text));
    }
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
    int e = errno;
    close(fd);
    if (p == MAP_FAILED) {
        if (create)
            shm_unlink(name);
        return dlp__fail(DLP_ERR_NOMEM, "dlp__shm_alloc", "mmap of %s (%zu bytes): %s",
                         name, size, dlp__errno_text(e, text, sizeof text));
    }
    seg->base = p;
    seg->size = size;
    return DLP_OK;
}

int dlp__shm_alloc(struct dlp__shm *seg, size_t size, MPI_Comm node_comm)
{
    static _Atomic unsigned counter;
    seg->base = NULL;
    seg->size = 0;
    if (size == 0)
        size = 1;
    int nrank, nsize;
    DLP_MPI_CALL(MPI_Comm_rank(node_comm, &nrank));
    DLP_MPI_CALL(MPI_Comm_size(node_comm, &nsize));
    if (nsize == 1)
        return map_private(seg, size);

    char name[NAME_MAX_LEN] = {0};
    int rc = DLP_OK;
    if (nrank == 0) {
        snprintf(name, sizeof name, "/dlp_mpi.%ld.%u", (long)getpid(),
                 atomic_fetch_add(&counter, 1u));
        rc = map_named(seg, name, size, 1);
        if (rc != DLP_OK)
            name[0] = '\0';
    }
    /* non-blocking + dlp__wait: MPICH's blocking collectives spin, which on
     * a node with more ranks than cores costs the others a time slice */
    MPI_Request req;
    DLP_MPI_CALL(MPI_Ibcast(name, NAME_MAX_LEN, MPI_CHAR, 0, node_comm, &req));
    DLP_MPI_CALL(dlp__wait(&req));
    if (nrank != 0)
        rc = name[0] ? map_named(seg, name, size, 0)
                     : dlp__fail(DLP_ERR_NOMEM, "dlp__shm_alloc",
                                 "the node leader could not create %zu bytes of shared memory",
                                 size);
    int ok = rc == DLP_OK, all_ok = 0;
    DLP_MPI_CALL(MPI_Iallreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, node_comm, &req));
    DLP_MPI_CALL(dlp__wait(&req));
    if (nrank == 0 && name[0])
        shm_unlink(name); /* every rank has it mapped (or gave up): no leftovers */
    if (!all_ok) {
        dlp__shm_free(seg);
        return rc != DLP_OK ? rc
                            : dlp__fail(DLP_ERR_NOMEM, "dlp__shm_alloc",
                                        "another rank of this node could not map %zu bytes "
                                        "of shared memory",
                                        size);
    }
    return DLP_OK;
}

void dlp__shm_free(struct dlp__shm *seg)
{
    if (seg->base)
        munmap(seg->base, seg->size);
    seg->base = NULL;
    seg->size = 0;
}
