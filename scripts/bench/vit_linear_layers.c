// The linear layers of twelve ViT-B/16 blocks at batch 1 on the inference GEMM alone (no Swift,
// no attention, norms or softmax): how close the kernel itself comes to the FMA peak, on one
// thread with and without its epilogue and on two threads splitting the weight panels as the
// engine does. Random weights, packed once per layer as the engine's PackedWeights does.
// Two diagnostics: "outputs in cache" writes every output row onto the same N floats (row stride
// 0, no epilogue), which stay in L1, so the difference to "no epilogue" is what the stores into
// buffers the weight stream has evicted cost; "register tile in cache" repeats one 12-row block
// over one panel at K = 768 (operands in L1/L2), the tile's own rate against the FMA probe.
//   T tokens (197), C width (768); per block QKV C → 3C (+bias), out C → C (+bias +residual),
//   c_fc C → 4C (+bias, QuickGELU), c_proj 4C → C (+bias +residual)
//
//   clang -O3 -pthread -ISources/CTensorKernels/include -ISources/CTensorKernels \
//     scripts/bench/vit_linear_layers.c Sources/CTensorKernels/clip_gemm.c \
//     Sources/CTensorKernels/clip_half.c -lm -o /tmp/vit_linear_layers && /tmp/vit_linear_layers
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "clip_gemm.h"

enum { T = 197, C = 768, LAYERS = 12, ROUNDS = 8 };

typedef struct {
    float *qkv_w, *out_w, *fc_w, *proj_w;  // packed panels, (N/32) × K × 32 each
    float *qkv_b, *out_b, *fc_b, *proj_b;  // (N)
} layer;

static layer layers[LAYERS];
static float *ln, *qkv, *attn, *x, *x2, *hidden, *x3;  // activations, (T, ·)
static int with_epilogue = 1, threads = 1, outputs_in_cache = 0;
static pthread_barrier_t barrier;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static float *random_floats(long n, float scale) {
    float *p = aligned_alloc(64, (size_t)((n * 4 + 63) / 64 * 64));
    for (long i = 0; i < n; i++) p[i] = (float)(rand() % 2001 - 1000) * scale / 1000.0f;
    return p;
}

static float *packed_weight(long n, long k) {
    float *w = random_floats(n * k, 0.03f), *panels = aligned_alloc(64, (size_t)(n / 32 * k * 32 * 4));
    clip_gemm_pack(w, k, 1, n, k, 0, n / 32, panels);
    free(w);
    return panels;
}

// out (T, N) = act(in (T, K) · Wᵀ + b) + residual, weight panels [p0, p1) for this thread.
static void linear(int thread, const float *in, long k, const float *panels, long n, float *out, const float *b,
                   int activation, const float *residual) {
    const long count = n / 32, p0 = count * thread / threads, p1 = count * (thread + 1) / threads;
    if (!with_epilogue) {
        b = NULL;
        activation = 0;
        residual = NULL;
    }
    clip_gemm_compute(in, k, 0, T, panels, n, k, p0, p1, out, outputs_in_cache ? 0 : n, 0, NULL, b,
                      activation | CLIP_GEMM_COLUMN_SHIFT, residual, n);
    if (threads > 1) pthread_barrier_wait(&barrier);
}

static void *forward(void *argument) {
    const int thread = (int)(long)argument;
    for (int l = 0; l < LAYERS; l++) {
        const layer *y = &layers[l];
        linear(thread, ln, C, y->qkv_w, 3 * C, qkv, y->qkv_b, CLIP_GEMM_NONE, NULL);
        linear(thread, attn, C, y->out_w, C, x2, y->out_b, CLIP_GEMM_NONE, x);
        linear(thread, ln, C, y->fc_w, 4 * C, hidden, y->fc_b, CLIP_GEMM_QUICK_GELU, NULL);
        linear(thread, hidden, 4 * C, y->proj_w, C, x3, y->proj_b, CLIP_GEMM_NONE, x2);
    }
    return NULL;
}

static double best_of_rounds(void) {
    double best = 1e30;
    for (int r = 0; r < ROUNDS; r++) {
        const double t0 = now();
        pthread_t other;
        if (threads > 1) pthread_create(&other, NULL, forward, (void *)1L);
        forward((void *)0L);
        if (threads > 1) pthread_join(other, NULL);
        const double t = now() - t0;
        if (t < best) best = t;
    }
    return best;
}

int main(void) {
    for (int l = 0; l < LAYERS; l++) {
        layers[l] = (layer){packed_weight(3 * C, C), packed_weight(C, C), packed_weight(4 * C, C), packed_weight(C, 4 * C),
                            random_floats(3 * C, 0.1f), random_floats(C, 0.1f), random_floats(4 * C, 0.1f),
                            random_floats(C, 0.1f)};
    }
    ln = random_floats(T * C, 1), qkv = random_floats(T * 3 * C, 1), attn = random_floats(T * C, 1);
    x = random_floats(T * C, 1), x2 = random_floats(T * C, 1), hidden = random_floats(T * 4 * C, 1);
    x3 = random_floats(T * C, 1);
    pthread_barrier_init(&barrier, NULL, 2);
    const double flops = 2.0 * T * C * (3 * C + C + 4 * C + 4 * C) * LAYERS;
    const struct { int threads, epilogue, in_cache; const char *name; } runs[] = {
        {1, 1, 0, "1 thread"},  {1, 0, 0, "1 thread, no epilogue"},  {1, 0, 1, "1 thread, outputs in cache"},
        {2, 1, 0, "2 threads"}, {2, 0, 0, "2 threads, no epilogue"}, {2, 0, 1, "2 threads, outputs in cache"}};
    for (int i = 0; i < 6; i++) {
        threads = runs[i].threads;
        with_epilogue = runs[i].epilogue;
        outputs_in_cache = runs[i].in_cache;
        const double t = best_of_rounds();
        printf("%-28s %8.2f ms  %6.1f GFLOP/s\n", runs[i].name, t * 1e3, flops / t / 1e9);
    }
    // One 12-row block over one panel, repeated: tile, buffer and epilogue copy, no memory traffic.
    const long repeats = 40000;
    float *tile_out = random_floats(12 * 32, 1);
    double best = 1e30;
    for (int r = 0; r < ROUNDS; r++) {
        const double t0 = now();
        for (long i = 0; i < repeats; i++)
            clip_gemm_compute(ln, C, 0, 12, layers[0].qkv_w, 32, C, 0, 1, tile_out, 32, 0, NULL, NULL, 0, NULL, 0);
        const double t = now() - t0;
        if (t < best) best = t;
    }
    printf("%-28s %8.2f ms  %6.1f GFLOP/s\n", "register tile in cache", best * 1e3,
           2.0 * 12 * 32 * C * repeats / best / 1e9);
    return 0;
}
