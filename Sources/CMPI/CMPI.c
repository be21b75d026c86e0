#include "CMPI.h"

#include <stdio.h>
#include <string.h>

#if defined(__linux__) || defined(__APPLE__)
#include <dlfcn.h>
#define CMPI_HAS_DLOPEN 1
#endif

// Open MPI's handle types are pointers to opaque structs; the shim sees them as void *.
typedef void *Handle;

static struct {
    void *library;
    Handle comm_world, type_float, type_double, type_int, type_byte, op_sum, op_min, op_max, errors_return;
    int (*init)(int *, char ***);
    int (*initialized)(int *);
    int (*finalize)(void);
    int (*comm_rank)(Handle, int *);
    int (*comm_size)(Handle, int *);
    int (*comm_set_errhandler)(Handle, Handle);
    int (*barrier)(Handle);
    int (*abort_)(Handle, int);
    int (*error_string)(int, char *, int *);
    int (*allreduce)(const void *, void *, int, Handle, Handle, Handle);
    int (*allgather)(const void *, int, Handle, void *, int, Handle, Handle);
    int (*allgatherv)(const void *, int, Handle, void *, const int *, const int *, Handle, Handle);
    int (*gatherv)(const void *, int, Handle, void *, const int *, const int *, Handle, int, Handle);
    int (*reduce_scatter_block)(const void *, void *, int, Handle, Handle, Handle);
    int (*bcast)(void *, int, Handle, int, Handle);
} mpi;

#ifdef CMPI_HAS_DLOPEN
static int resolve(void **slot, const char *name, char *message, size_t length) {
    *slot = dlsym(mpi.library, name);
    if (*slot == NULL) {
        snprintf(message, length, "symbol %s not found in libmpi (is it Open MPI?)", name);
        return CMPI_MISSING_SYMBOL;
    }
    return 0;
}
#endif

int cmpi_load(const char *path, char *message, size_t length) {
#ifdef CMPI_HAS_DLOPEN
    if (mpi.library != NULL) return 0;
    // RTLD_GLOBAL: Open MPI's own plugins (mca components) resolve symbols of libmpi.
    const char *candidates[] = {path, "libmpi.so.40", "libmpi.so", "libmpi.dylib", "libmpi.40.dylib"};
    for (size_t i = path ? 0 : 1; i < sizeof candidates / sizeof *candidates; i++) {
        mpi.library = dlopen(candidates[i], RTLD_NOW | RTLD_GLOBAL);
        if (mpi.library != NULL || path != NULL) break;
    }
    if (mpi.library == NULL) {
        const char *error = dlerror();
        snprintf(message, length, "%s", error ? error : "libmpi not found");
        return CMPI_NOT_LOADED;
    }
    int rc = 0;
#define CMPI_RESOLVE(slot, name) \
    if (rc == 0) rc = resolve((void **)&(slot), name, message, length)
    CMPI_RESOLVE(mpi.comm_world, "ompi_mpi_comm_world");
    CMPI_RESOLVE(mpi.type_float, "ompi_mpi_float");
    CMPI_RESOLVE(mpi.type_double, "ompi_mpi_double");
    CMPI_RESOLVE(mpi.type_int, "ompi_mpi_int");
    CMPI_RESOLVE(mpi.type_byte, "ompi_mpi_byte");
    CMPI_RESOLVE(mpi.op_sum, "ompi_mpi_op_sum");
    CMPI_RESOLVE(mpi.op_min, "ompi_mpi_op_min");
    CMPI_RESOLVE(mpi.op_max, "ompi_mpi_op_max");
    CMPI_RESOLVE(mpi.errors_return, "ompi_mpi_errors_return");
    CMPI_RESOLVE(mpi.init, "MPI_Init");
    CMPI_RESOLVE(mpi.initialized, "MPI_Initialized");
    CMPI_RESOLVE(mpi.finalize, "MPI_Finalize");
    CMPI_RESOLVE(mpi.comm_rank, "MPI_Comm_rank");
    CMPI_RESOLVE(mpi.comm_size, "MPI_Comm_size");
    CMPI_RESOLVE(mpi.comm_set_errhandler, "MPI_Comm_set_errhandler");
    CMPI_RESOLVE(mpi.barrier, "MPI_Barrier");
    CMPI_RESOLVE(mpi.abort_, "MPI_Abort");
    CMPI_RESOLVE(mpi.error_string, "MPI_Error_string");
    CMPI_RESOLVE(mpi.allreduce, "MPI_Allreduce");
    CMPI_RESOLVE(mpi.allgather, "MPI_Allgather");
    CMPI_RESOLVE(mpi.allgatherv, "MPI_Allgatherv");
    CMPI_RESOLVE(mpi.gatherv, "MPI_Gatherv");
    CMPI_RESOLVE(mpi.reduce_scatter_block, "MPI_Reduce_scatter_block");
    CMPI_RESOLVE(mpi.bcast, "MPI_Bcast");
#undef CMPI_RESOLVE
    if (rc != 0) {
        dlclose(mpi.library);
        memset(&mpi, 0, sizeof mpi);
    }
    return rc;
#else
    snprintf(message, length, "this platform has no dlopen");
    return CMPI_NOT_LOADED;
#endif
}

#define CMPI_REQUIRE_LOADED \
    if (mpi.library == NULL) return CMPI_NOT_LOADED

int cmpi_init(void) {
    CMPI_REQUIRE_LOADED;
    int rc = mpi.init(NULL, NULL);
    if (rc != 0) return rc;
    return mpi.comm_set_errhandler(mpi.comm_world, mpi.errors_return);
}

int cmpi_initialized(int *flag) {
    CMPI_REQUIRE_LOADED;
    return mpi.initialized(flag);
}

int cmpi_finalize(void) {
    CMPI_REQUIRE_LOADED;
    return mpi.finalize();
}

int cmpi_rank(int *rank) {
    CMPI_REQUIRE_LOADED;
    return mpi.comm_rank(mpi.comm_world, rank);
}

int cmpi_size(int *size) {
    CMPI_REQUIRE_LOADED;
    return mpi.comm_size(mpi.comm_world, size);
}

int cmpi_barrier(void) {
    CMPI_REQUIRE_LOADED;
    return mpi.barrier(mpi.comm_world);
}

int cmpi_abort(int code) {
    CMPI_REQUIRE_LOADED;
    return mpi.abort_(mpi.comm_world, code);
}

void cmpi_error_string(int code, char *message, size_t length) {
    if (length == 0) return;
    message[0] = 0;
    if (code == CMPI_NOT_LOADED) {
        snprintf(message, length, "libmpi is not loaded");
        return;
    }
    if (mpi.library == NULL || length < 256) {
        snprintf(message, length, "MPI error %d", code);
        return;
    }
    // MPI_MAX_ERROR_STRING is 256 in Open MPI.
    char buffer[256];
    int used = 0;
    if (mpi.error_string(code, buffer, &used) != 0) used = snprintf(buffer, sizeof buffer, "MPI error %d", code);
    snprintf(message, length, "%.*s", used, buffer);
}

int cmpi_allreduce_sum_float(const float *send, float *receive, int count) {
    CMPI_REQUIRE_LOADED;
    return mpi.allreduce(send, receive, count, mpi.type_float, mpi.op_sum, mpi.comm_world);
}

int cmpi_allreduce_sum_double(const double *send, double *receive, int count) {
    CMPI_REQUIRE_LOADED;
    return mpi.allreduce(send, receive, count, mpi.type_double, mpi.op_sum, mpi.comm_world);
}

int cmpi_allreduce_min_int(const int *send, int *receive, int count) {
    CMPI_REQUIRE_LOADED;
    return mpi.allreduce(send, receive, count, mpi.type_int, mpi.op_min, mpi.comm_world);
}

int cmpi_allreduce_max_int(const int *send, int *receive, int count) {
    CMPI_REQUIRE_LOADED;
    return mpi.allreduce(send, receive, count, mpi.type_int, mpi.op_max, mpi.comm_world);
}

int cmpi_allgather_float(const float *send, int count, float *receive) {
    CMPI_REQUIRE_LOADED;
    return mpi.allgather(send, count, mpi.type_float, receive, count, mpi.type_float, mpi.comm_world);
}

int cmpi_allgather_int(const int *send, int count, int *receive) {
    CMPI_REQUIRE_LOADED;
    return mpi.allgather(send, count, mpi.type_int, receive, count, mpi.type_int, mpi.comm_world);
}

int cmpi_allgatherv_float(const float *send, int count, float *receive, const int *counts, const int *displacements) {
    CMPI_REQUIRE_LOADED;
    return mpi.allgatherv(
        send, count, mpi.type_float, receive, counts, displacements, mpi.type_float, mpi.comm_world);
}

int cmpi_gatherv_float(
    const float *send, int count, float *receive, const int *counts, const int *displacements, int root) {
    CMPI_REQUIRE_LOADED;
    return mpi.gatherv(
        send, count, mpi.type_float, receive, counts, displacements, mpi.type_float, root, mpi.comm_world);
}

int cmpi_reduce_scatter_sum_float(const float *send, float *receive, int count) {
    CMPI_REQUIRE_LOADED;
    return mpi.reduce_scatter_block(send, receive, count, mpi.type_float, mpi.op_sum, mpi.comm_world);
}

int cmpi_broadcast_bytes(void *buffer, int count, int root) {
    CMPI_REQUIRE_LOADED;
    return mpi.bcast(buffer, count, mpi.type_byte, root, mpi.comm_world);
}
