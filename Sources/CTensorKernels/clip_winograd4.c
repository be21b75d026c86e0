// Winograd F(4×4, 3×3) transforms (see include/clip_winograd4.h for the symbols and matrices).
// Tile t = ty · ⌈W/4⌉ + tx covers input rows 4ty − 1 … 4ty + 4 and columns 4tx − 1 … 4tx + 4
// (zero outside the image) and outputs (4ty + dy, 4tx + dx), dy, dx ∈ {0, 1, 2, 3}.
#include "clip_winograd4.h"

#include "clip_gemm.h"
#include "clip_math.h"
#include "clip_winograd.h"
#include "clip_winograd_tiles.h"

#include <string.h>

#define PANEL CLIP_GEMM_PANEL
#define CHUNK 64  // tiles of one tile row per pass (stack buffers)

// G k for the three values k0, k1, k2 along one axis (Double: 1/6 and 1/24 are inexact).
static void g_apply(double k0, double k1, double k2, double t[6]) {
    t[0] = k0 / 4;
    t[1] = -(k0 + k1 + k2) / 6;
    t[2] = -(k0 - k1 + k2) / 6;
    t[3] = k0 / 24 + k1 / 12 + k2 / 6;
    t[4] = k0 / 24 - k1 / 12 + k2 / 6;
    t[5] = k2;
}

// Sixteen input channels at a time through a local (36, 16) block, then one 64-byte run per
// position ξ: the 36 destinations lie Co·Ci floats apart (1 MB for 512 channels), all in one
// cache set, and storing kernel by kernel evicted each line 16 times over (this transform was
// ~15 % of a one-image RN50 `clip embed`).
void clip_winograd4_weights(const float *g, long co, long ci, long o0, long o1, float *u) {
    enum { RUN = 16 };
    const long plane = co * ci;
    float block[36][RUN];
    for (long o = o0; o < o1; o++) {
        for (long i0 = 0; i0 < ci; i0 += RUN) {
            const int n = ci - i0 < RUN ? (int)(ci - i0) : RUN;
            for (int j = 0; j < n; j++) {
                const float *k = g + (o * ci + i0 + j) * 9;  // (3, 3)
                double t[3][6];                              // (G g)ᵀ: column c of G g
                for (int c = 0; c < 3; c++) g_apply(k[c], k[3 + c], k[6 + c], t[c]);
                for (int r = 0; r < 6; r++) {  // (G g) Gᵀ: (6, 6)
                    double row[6];
                    g_apply(t[0][r], t[1][r], t[2][r], row);
                    for (int s = 0; s < 6; s++) block[r * 6 + s][j] = (float)row[s];
                }
            }
            for (int xi = 0; xi < 36; xi++) memcpy(u + xi * plane + o * ci + i0, block[xi], n * sizeof(float));
        }
    }
}

// Bᵀ applied to six values a0 … a5 (a column or a row of a tile).
#define BT0(a0, a1, a2, a3, a4, a5) (4.0f * (a0) - 5.0f * (a2) + (a4))
#define BT1(a0, a1, a2, a3, a4, a5) ((a3) + (a4) - 4.0f * ((a1) + (a2)))
#define BT2(a0, a1, a2, a3, a4, a5) (4.0f * ((a1) - (a2)) + (a4) - (a3))
#define BT3(a0, a1, a2, a3, a4, a5) (2.0f * ((a3) - (a1)) + (a4) - (a2))
#define BT4(a0, a1, a2, a3, a4, a5) (2.0f * ((a1) - (a3)) + (a4) - (a2))
#define BT5(a0, a1, a2, a3, a4, a5) (4.0f * (a1) - 5.0f * (a3) + (a5))

// As F(2×2, 3×3): a tile row at a time, Bᵀ down the columns first (contiguous runs), then the
// columns split by their position modulo 4, so the transform along the rows is again contiguous
// runs over tiles, written straight into the panels (channels innermost: a few write streams).
void clip_winograd4_input(const float *image, long ci, long h, long w, long c0, long c1, long p0, long p1,
                          float *v) {
    const long th = (h + 3) / 4, tw = (w + 3) / 4, tiles = th * tw;
    const long xi_stride = clip_winograd_v_stride(ci, tiles);
    const long t_begin = p0 * PANEL, t_end = p1 * PANEL < tiles ? p1 * PANEL : tiles;
    for (long ty = t_begin / tw; ty < th && ty * tw < t_end; ty++) {
        const long lo = t_begin - ty * tw > 0 ? t_begin - ty * tw : 0;
        const long hi = t_end - ty * tw < tw ? t_end - ty * tw : tw;
        for (long tx0 = lo; tx0 < hi; tx0 += CHUNK) {
            const long n = hi - tx0 < CHUNK ? hi - tx0 : CHUNK;
            for (long c = c0; c < c1; c++) {
                const float *plane = image + c * h * w;
                // Input columns 4·tx0 − 1 … 4·(tx0 + n) of rows 4ty − 1 … 4ty + 4.
                const long span = 4 * n + 2;
                float d[6][4 * CHUNK + 4];
                clip_winograd_load_rows(plane, h, w, 4 * ty - 1, 6, 4 * tx0 - 1, span, d[0], 4 * CHUNK + 4);
                // Bᵀ d down the columns, split by column position: q[r][m][j] = (Bᵀ d)[r][4j + m].
                float q[6][4][CHUNK + 1];
                for (long i = 0; i < span; i++) {
                    const float a0 = d[0][i], a1 = d[1][i], a2 = d[2][i], a3 = d[3][i], a4 = d[4][i], a5 = d[5][i];
                    const long j = i / 4, m = i % 4;
                    q[0][m][j] = BT0(a0, a1, a2, a3, a4, a5);
                    q[1][m][j] = BT1(a0, a1, a2, a3, a4, a5);
                    q[2][m][j] = BT2(a0, a1, a2, a3, a4, a5);
                    q[3][m][j] = BT3(a0, a1, a2, a3, a4, a5);
                    q[4][m][j] = BT4(a0, a1, a2, a3, a4, a5);
                    q[5][m][j] = BT5(a0, a1, a2, a3, a4, a5);
                }
                // (Bᵀ d) B for tile tx0 + j: columns q[r][0..3][j], q[r][0][j + 1], q[r][1][j + 1].
                for (long j = 0; j < n;) {
                    const long t = ty * tw + tx0 + j, p = t / PANEL, col = t % PANEL;
                    const long run = PANEL - col < n - j ? PANEL - col : n - j;
                    float *dst = v + p * ci * PANEL + c * PANEL + col;
                    for (int r = 0; r < 6; r++) {
                        const float *restrict e0 = q[r][0] + j, *restrict e1 = q[r][1] + j;
                        const float *restrict e2 = q[r][2] + j, *restrict e3 = q[r][3] + j;
                        float *restrict x0 = dst + (r * 6 + 0) * xi_stride, *restrict x1 = dst + (r * 6 + 1) * xi_stride;
                        float *restrict x2 = dst + (r * 6 + 2) * xi_stride, *restrict x3 = dst + (r * 6 + 3) * xi_stride;
                        float *restrict x4 = dst + (r * 6 + 4) * xi_stride, *restrict x5 = dst + (r * 6 + 5) * xi_stride;
                        for (long u = 0; u < run; u++) {
                            const float a0 = e0[u], a1 = e1[u], a2 = e2[u], a3 = e3[u], a4 = e0[u + 1], a5 = e1[u + 1];
                            x0[u] = BT0(a0, a1, a2, a3, a4, a5);
                            x1[u] = BT1(a0, a1, a2, a3, a4, a5);
                            x2[u] = BT2(a0, a1, a2, a3, a4, a5);
                            x3[u] = BT3(a0, a1, a2, a3, a4, a5);
                            x4[u] = BT4(a0, a1, a2, a3, a4, a5);
                            x5[u] = BT5(a0, a1, a2, a3, a4, a5);
                        }
                    }
                    j += run;
                }
            }
        }
    }
    clip_winograd_zero_padding(v, ci, tiles, t_begin, p1, c0, c1, 36, xi_stride, PANEL);
}

// Aᵀ applied to six values b0 … b5.
#define AT0(b0, b1, b2, b3, b4, b5) ((b0) + (b1) + (b2) + (b3) + (b4))
#define AT1(b0, b1, b2, b3, b4, b5) ((b1) - (b2) + 2.0f * ((b3) - (b4)))
#define AT2(b0, b1, b2, b3, b4, b5) ((b1) + (b2) + 4.0f * ((b3) + (b4)))
#define AT3(b0, b1, b2, b3, b4, b5) ((b1) - (b2) + 8.0f * ((b3) - (b4)) + (b5))

void clip_winograd4_output(const float *m, long co, long h, long w, long c0, long c1, long p0, long p1,
                           const float *shift, const float *residual, int activation, float *out) {
    const long th = (h + 3) / 4, tw = (w + 3) / 4, tiles = th * tw;
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
                float a[4][6][CHUNK];  // Aᵀ M for the n tiles: a[r][s] row r, column s
                for (int s = 0; s < 6; s++) {
                    const float *m0 = mt + (0 + s) * xi_stride, *m1 = mt + (6 + s) * xi_stride;
                    const float *m2 = mt + (12 + s) * xi_stride, *m3 = mt + (18 + s) * xi_stride;
                    const float *m4 = mt + (24 + s) * xi_stride, *m5 = mt + (30 + s) * xi_stride;
                    for (long u = 0; u < n; u++) {
                        const float b0 = m0[u], b1 = m1[u], b2 = m2[u], b3 = m3[u], b4 = m4[u], b5 = m5[u];
                        a[0][s][u] = AT0(b0, b1, b2, b3, b4, b5);
                        a[1][s][u] = AT1(b0, b1, b2, b3, b4, b5);
                        a[2][s][u] = AT2(b0, b1, b2, b3, b4, b5);
                        a[3][s][u] = AT3(b0, b1, b2, b3, b4, b5);
                    }
                }
                const long count = 4 * (tx0 + n) <= w ? 4 * n : w - 4 * tx0;  // outputs of the row inside
                for (int r = 0; r < 4 && 4 * ty + r < h; r++) {  // (Aᵀ M) A: outputs 4tx … 4tx + 3
                    const long offset = (4 * ty + r) * w + 4 * tx0;
                    float *row = plane + offset;
                    float y[4 * CHUNK];
                    const float *b0 = a[r][0], *b1 = a[r][1], *b2 = a[r][2];
                    const float *b3 = a[r][3], *b4 = a[r][4], *b5 = a[r][5];
                    for (long u = 0; u < n; u++) {
                        y[4 * u + 0] = AT0(b0[u], b1[u], b2[u], b3[u], b4[u], b5[u]) + bias;
                        y[4 * u + 1] = AT1(b0[u], b1[u], b2[u], b3[u], b4[u], b5[u]) + bias;
                        y[4 * u + 2] = AT2(b0[u], b1[u], b2[u], b3[u], b4[u], b5[u]) + bias;
                        y[4 * u + 3] = AT3(b0[u], b1[u], b2[u], b3[u], b4[u], b5[u]) + bias;
                    }
                    clip_winograd_finish_row(row, y, res_plane ? res_plane + offset : 0, count, activation);
                }
            }
        }
    }
}
