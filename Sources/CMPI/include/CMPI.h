#ifndef CMPI_H
#define CMPI_H
// A thin C shim over Open MPI, loaded at run time with dlopen so the `clip` binary neither
// links nor needs libmpi: a process that is never started by mpirun or srun never loads it.
// MPI's handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, ...) are macros Swift cannot import;
// the shim resolves them as the Open MPI ABI defines them (addresses of predefined objects,
// stable since Open MPI 1.x, libmpi.so.40 since 3.0). Every function returns an MPI error
// code (0 = MPI_SUCCESS) or a negative CMPI_* code; no public API.
#include <stddef.h>

#define CMPI_NOT_LOADED (-1)
#define CMPI_MISSING_SYMBOL (-2)

/// Loads libmpi from `path` (NULL: libmpi.so.40, then libmpi.so). Writes dlerror into `message`.
int cmpi_load(const char *path, char *message, size_t length);
/// MPI_Init, then MPI_ERRORS_RETURN on MPI_COMM_WORLD (errors come back as codes, not aborts).
int cmpi_init(void);
int cmpi_initialized(int *flag);
int cmpi_finalize(void);
int cmpi_rank(int *rank);
int cmpi_size(int *size);
int cmpi_barrier(void);
/// MPI_Abort(MPI_COMM_WORLD, code): ends every rank of the job.
int cmpi_abort(int code);
/// MPI_Error_string into `message` (at least 256 bytes).
void cmpi_error_string(int code, char *message, size_t length);

/// MPI_Allreduce with MPI_SUM over floats (send and receive may not overlap).
int cmpi_allreduce_sum_float(const float *send, float *receive, int count);
int cmpi_allreduce_sum_double(const double *send, double *receive, int count);
int cmpi_allreduce_min_int(const int *send, int *receive, int count);
int cmpi_allreduce_max_int(const int *send, int *receive, int count);
/// MPI_Allgather: `count` floats from each rank, in rank order, into `receive`.
int cmpi_allgather_float(const float *send, int count, float *receive);
/// MPI_Allgather of `count` ints from each rank.
int cmpi_allgather_int(const int *send, int count, int *receive);
/// MPI_Allgatherv: `counts[r]` floats from rank r at `displacements[r]` of `receive`.
int cmpi_allgatherv_float(const float *send, int count, float *receive, const int *counts, const int *displacements);
/// MPI_Gatherv to `root`: as allgatherv, but only root receives.
int cmpi_gatherv_float(
    const float *send, int count, float *receive, const int *counts, const int *displacements, int root);
/// MPI_Reduce_scatter_block with MPI_SUM: rank r receives the sum of block r (`count` floats).
int cmpi_reduce_scatter_sum_float(const float *send, float *receive, int count);
/// MPI_Bcast of bytes from `root`.
int cmpi_broadcast_bytes(void *buffer, int count, int root);

#endif
