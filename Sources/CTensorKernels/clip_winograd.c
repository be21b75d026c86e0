// Winograd F(2×2, 3×3) transforms (see include/clip_winograd.h for the symbols):
//   Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]
//   G  = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]
//   Aᵀ = [1 1 1 0; 0 1 −1 −1]
// Tile t = ty · ⌈W/2⌉ + tx covers input rows 2ty − 1 … 2ty + 2 and columns 2tx − 1 … 2tx + 2
// (zero outside the image) and outputs (2ty + dy, 2tx + dx), dy, dx ∈ {0, 1}.
#include "clip_winograd.h"

#include "clip_gemm.h"
#include "clip_math.h"
#include "clip_winograd_tiles.h"

#include <string.h>

#define PANEL CLIP_GEMM_PANEL

// The 16 blocks of V (or M) are written and read together, a run in each: whole powers of two
// apart (a 512-channel map's V blocks are 128 KB apart), all 16 runs fall into the same cache
// sets and evict each other (the input transform of a 512-channel 14×14 map ran 2× slower). One extra cache line per
// block staggers them.
long clip_winograd_v_stride(long ci, long tiles) { return (tiles + PANEL - 1) / PANEL * ci * PANEL + 16; }
long clip_winograd_m_stride(long co, long tiles) { return (co * tiles + 15) / 16 * 16 + 16; }

// Sixteen input channels at a time through a local (16, 16) block, then one 64-byte run per
// position ξ: the 16 destinations lie Co·Ci floats apart, in one cache set (see
// clip_winograd4_weights).
void clip_winograd_weights(const float *g, long co, long ci, long o0, long o1, float *u) {
    enum { RUN = 16 };
    const long plane = co * ci;
    float block[16][RUN];
    for (long o = o0; o < o1; o++) {
        for (long i0 = 0; i0 < ci; i0 += RUN) {
            const int n = ci - i0 < RUN ? (int)(ci - i0) : RUN;
            for (int j = 0; j < n; j++) {
                const float *k = g + (o * ci + i0 + j) * 9;  // (3, 3)
                float t[4][3];                               // G g: (4, 3)
                for (int c = 0; c < 3; c++) {
                    const float k0 = k[c], k1 = k[3 + c], k2 = k[6 + c];
                    t[0][c] = k0;
                    t[1][c] = 0.5f * (k0 + k1 + k2);
                    t[2][c] = 0.5f * (k0 - k1 + k2);
                    t[3][c] = k2;
                }
                for (int r = 0; r < 4; r++) {  // (G g) Gᵀ: (4, 4)
                    const float a = t[r][0], b = t[r][1], c = t[r][2];
                    block[r * 4 + 0][j] = a;
                    block[r * 4 + 1][j] = 0.5f * (a + b + c);
                    block[r * 4 + 2][j] = 0.5f * (a - b + c);
                    block[r * 4 + 3][j] = c;
                }
            }
            for (int xi = 0; xi < 16; xi++) memcpy(u + xi * plane + o * ci + i0, block[xi], n * sizeof(float));
        }
    }
}

// Tiles are taken a tile row at a time: the four input rows are combined down the columns
// first (Bᵀ d, contiguous runs), then split into even and odd columns, so that the transform
// along the rows is again contiguous runs over tiles, written straight into the panels.
#define CHUNK 64  // tiles of one tile row per pass (stack buffers)

void clip_winograd_input(const float *image, long ci, long h, long w, long c0, long c1, long p0, long p1,
                         float *v) {
    const long th = (h + 1) / 2, tw = (w + 1) / 2, tiles = th * tw;
    const long xi_stride = clip_winograd_v_stride(ci, tiles);
    const long t_begin = p0 * PANEL, t_end = p1 * PANEL < tiles ? p1 * PANEL : tiles;
    // Channels innermost: consecutive channels write consecutive rows of the same panels, so
    // the writes form a few sequential streams (with channels outermost they were hundreds of
    // scattered ones, 6× slower on a 128-channel 56×56 map).
    for (long ty = t_begin / tw; ty < th && ty * tw < t_end; ty++) {
        const long lo = t_begin - ty * tw > 0 ? t_begin - ty * tw : 0;
        const long hi = t_end - ty * tw < tw ? t_end - ty * tw : tw;
        for (long tx0 = lo; tx0 < hi; tx0 += CHUNK) {
            const long n = hi - tx0 < CHUNK ? hi - tx0 : CHUNK;
            for (long c = c0; c < c1; c++) {
                const float *plane = image + c * h * w;
                // Input columns 2·tx0 − 1 … 2·(tx0 + n) of rows 2ty − 1 … 2ty + 2: x at x − 2·tx0 + 1.
                const long span = 2 * n + 2;
                float d[4][2 * CHUNK + 2];
                clip_winograd_load_rows(plane, h, w, 2 * ty - 1, 4, 2 * tx0 - 1, span, d[0], 2 * CHUNK + 2);
                // Bᵀ d down the columns, then split into even (column 2j) and odd (2j + 1) positions.
                float e[4][2 * CHUNK + 2];
                for (long i = 0; i < span; i++) {
                    e[0][i] = d[0][i] - d[2][i];
                    e[1][i] = d[1][i] + d[2][i];
                    e[2][i] = d[2][i] - d[1][i];
                    e[3][i] = d[1][i] - d[3][i];
                }
                float ev[4][CHUNK + 1], od[4][CHUNK + 1];
                for (int r = 0; r < 4; r++)
                    for (long j = 0; j <= n; j++) {
                        ev[r][j] = e[r][2 * j];
                        od[r][j] = e[r][2 * j + 1];
                    }
                // (Bᵀ d) B for tile tx0 + j: columns a = ev[j], b = od[j], c = ev[j + 1], d = od[j + 1].
                for (long j = 0; j < n;) {
                    const long t = ty * tw + tx0 + j, p = t / PANEL, col = t % PANEL;
                    const long run = PANEL - col < n - j ? PANEL - col : n - j;
                    float *dst = v + p * ci * PANEL + c * PANEL + col;
                    for (int r = 0; r < 4; r++) {
                        const float *restrict a = ev[r] + j, *restrict b = od[r] + j;
                        float *restrict x0 = dst + (r * 4 + 0) * xi_stride;
                        float *restrict x1 = dst + (r * 4 + 1) * xi_stride;
                        float *restrict x2 = dst + (r * 4 + 2) * xi_stride;
                        float *restrict x3 = dst + (r * 4 + 3) * xi_stride;
                        for (long u = 0; u < run; u++) {
                            x0[u] = a[u] - a[u + 1];
                            x1[u] = b[u] + a[u + 1];
                            x2[u] = a[u + 1] - b[u];
                            x3[u] = b[u] - b[u + 1];
                        }
                    }
                    j += run;
                }
            }
        }
    }
    clip_winograd_zero_padding(v, ci, tiles, t_begin, p1, c0, c1, 16, xi_stride, PANEL);
}

void clip_winograd_output(const float *m, long co, long h, long w, long c0, long c1, long p0, long p1,
                          const float *shift, const float *residual, int activation, float *out) {
    const long th = (h + 1) / 2, tw = (w + 1) / 2, tiles = th * tw;
    const long xi_stride = clip_winograd_m_stride(co, tiles);
    const long t_begin = p0 * PANEL, t_end = p1 * PANEL < tiles ? p1 * PANEL : tiles;
    for (long c = c0; c < c1; c++) {
        const float *mc = m + c * tiles;
        float *plane = out + c * h * w;
        const float *res_plane = residual ? residual + c * h * w : 0;
        const float bias = shift ? shift[c] : 0.0f;
        for (long ty = t_begin / tw; ty < th && ty * tw < t_end; ty++) {
            const long lo = t_begin - ty * tw > 0 ? t_begin - ty * tw : 0;
            const long hi = t_end - ty * tw < tw ? t_end - ty * tw : tw;
            for (long tx0 = lo; tx0 < hi; tx0 += CHUNK) {
                const long n = hi - tx0 < CHUNK ? hi - tx0 : CHUNK;
                const float *mt = mc + ty * tw + tx0;
                float a[2][4][CHUNK];  // Aᵀ M for the n tiles
                for (int s = 0; s < 4; s++) {
                    const float *m0 = mt + (0 + s) * xi_stride, *m1 = mt + (4 + s) * xi_stride;
                    const float *m2 = mt + (8 + s) * xi_stride, *m3 = mt + (12 + s) * xi_stride;
                    for (long u = 0; u < n; u++) {
                        a[0][s][u] = m0[u] + m1[u] + m2[u];
                        a[1][s][u] = m1[u] - m2[u] - m3[u];
                    }
                }
                for (int r = 0; r < 2 && 2 * ty + r < h; r++) {  // (Aᵀ M) A, outputs 2tx and 2tx + 1
                    const long offset = (2 * ty + r) * w + 2 * tx0;
                    float *row = plane + offset;
                    const long last = 2 * (tx0 + n) <= w ? n : n - 1;  // tiles with both outputs inside
                    for (long u = 0; u < last; u++) {
                        row[2 * u] = (a[r][0][u] + a[r][1][u] + a[r][2][u]) + bias;
                        row[2 * u + 1] = (a[r][1][u] - a[r][2][u] - a[r][3][u]) + bias;
                    }
                    if (last < n) row[2 * last] = (a[r][0][last] + a[r][1][last] + a[r][2][last]) + bias;
                    const long count = 2 * (tx0 + n) <= w ? 2 * n : w - 2 * tx0;
                    clip_winograd_finish_row(row, row, res_plane ? res_plane + offset : 0, count, activation);
                }
            }
        }
    }
}
