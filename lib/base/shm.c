/* Node-shared memory from POSIX shm_open + mmap (sparse on tmpfs). */
#define _GNU_SOURCE
#include "shm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "wait.h"

#define NAME_MAX_LEN 64
#define NAME_ATTEMPTS 16

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
    if (fd < 0) {
        int e = errno;
        int rc = dlp__fail(DLP_ERR_SYSTEM, "dlp__shm_alloc", "shm_open(%s): %s", name,
                           dlp__errno_text(e, text, sizeof text));
        errno = e; /* EEXIST: the caller tries another name */
        return rc;
    }
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

/* n random bytes from the kernel (getrandom, else /dev/urandom); 0 or -1. */
static int kernel_random(void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t k = getrandom((char *)buf + got, n - got, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    if (got == n)
        return 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    while (got < n) {
        ssize_t k = read(fd, (char *)buf + got, n - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    close(fd);
    return got == n ? 0 : -1;
}

/* The leader: a segment under a random name nobody can guess (128 bits from
 * the kernel), created with O_EXCL; another name when one is taken. */
static int create_named(struct dlp__shm *seg, char *name, size_t size)
{
    for (int attempt = 0; attempt < NAME_ATTEMPTS; attempt++) {
        uint64_t r[2];
        if (kernel_random(r, sizeof r) != 0)
            return dlp__fail(DLP_ERR_SYSTEM, "dlp__shm_alloc",
                             "no random bytes from the kernel (getrandom, /dev/urandom) for "
                             "the name of a shared-memory segment");
        snprintf(name, NAME_MAX_LEN, "/dlp_mpi.%016llx%016llx", (unsigned long long)r[0],
                 (unsigned long long)r[1]);
        int rc = map_named(seg, name, size, 1);
        if (rc == DLP_OK || errno != EEXIST)
            return rc;
    }
    return dlp__fail(DLP_ERR_SYSTEM, "dlp__shm_alloc",
                     "%d random names for a shared-memory segment were all taken", NAME_ATTEMPTS);
}

/* Whether every rank of the node succeeded (*all_ok, on every rank). */
static int agree(int *ok, int *all_ok, MPI_Comm node_comm)
{
    MPI_Request req;
    DLP_MPI_CALL(MPI_Iallreduce(ok, all_ok, 1, MPI_INT, MPI_MIN, node_comm, &req));
    return dlp__wait(&req);
}

/* The leader's anonymous memory file (memfd: no name in /dev/shm at any
 * time, so a killed job leaves nothing), opened by the others through
 * /proc/<leader>/fd/<fd>. DLP_OK on every rank, or *fallback set on every
 * rank (nothing mapped) when some rank could not open it. */
static int share_memfd(struct dlp__shm *seg, size_t size, int nrank, MPI_Comm node_comm,
                       int *fallback)
{
    long where[2] = {-1, -1}; /* leader pid, fd */
    int fd = -1;
    *fallback = 0;
    if (nrank == 0) {
        fd = memfd_create("dlp_mpi", MFD_CLOEXEC);
        if (fd >= 0 && ftruncate(fd, (off_t)size) != 0) {
            close(fd);
            fd = -1;
        }
        if (fd >= 0) {
            where[0] = (long)getpid();
            where[1] = fd;
        }
    }
    MPI_Request req;
    DLP_MPI_CALL(MPI_Ibcast(where, 2, MPI_LONG, 0, node_comm, &req));
    DLP_MPI_CALL(dlp__wait(&req));
    if (nrank != 0 && where[0] > 0) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%ld/fd/%ld", where[0], where[1]);
        fd = open(path, O_RDWR | O_CLOEXEC);
    }
    void *p = MAP_FAILED;
    if (fd >= 0)
        p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
    int ok = p != MAP_FAILED, all_ok = 0;
    int rc = agree(&ok, &all_ok, node_comm);
    if (fd >= 0) /* everyone who could open it has: the mappings keep it */
        close(fd);
    if (rc == DLP_OK && all_ok) {
        seg->base = p;
        seg->size = size;
        return DLP_OK;
    }
    if (p != MAP_FAILED)
        munmap(p, size);
    *fallback = rc == DLP_OK;
    return rc;
}

int dlp__shm_alloc(struct dlp__shm *seg, size_t size, MPI_Comm node_comm)
{
    seg->base = NULL;
    seg->size = 0;
    if (size == 0)
        size = 1;
    int nrank, nsize;
    DLP_MPI_CALL(MPI_Comm_rank(node_comm, &nrank));
    DLP_MPI_CALL(MPI_Comm_size(node_comm, &nsize));
    if (nsize == 1)
        return map_private(seg, size);
    int fallback = 0;
    int rc = share_memfd(seg, size, nrank, node_comm, &fallback);
    if (!fallback)
        return rc;

    /* /proc/<pid>/fd is closed to some rank (another pid namespace, a
     * process that is not dumpable ...): a named segment, unlinked as soon
     * as every rank has mapped it */
    char name[NAME_MAX_LEN] = {0};
    rc = DLP_OK;
    if (nrank == 0) {
        rc = create_named(seg, name, size);
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
    DLP_CALL(agree(&ok, &all_ok, node_comm));
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
