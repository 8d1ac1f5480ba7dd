// Loop kernels of the CPU attention-xcorr, over raw pointers in a channel-blocked layout.
//
// This header is compiled once per instruction set (xcorr_isa_*.cpp define
// RASNET_ISA and a target pragma before including it), so it includes no
// library header: inline library code compiled for AVX-512 could otherwise be
// picked by the linker for callers on machines without it.  Everything sits in
// an ISA-named namespace and the templates have internal linkage.
//
// Blocked layout: a map of P pixels and C channels is stored as [C/N][P][N], N
// the lanes of one vector register (RASNET_VEC_BYTES: 64 for AVX-512, 32 for
// AVX2, 16 for the baseline), the last block zero-padded.  Neighbouring pixels of
// one channel block are then one vector apart, so a tile addresses all its
// columns from one pointer with constant offsets (in NHWC they are C apart, and a
// tile of 20 columns needs more pointer registers than x86 has, and spills them).
// The driver (attention_xcorr_kernel.cpp) packs slices of x (pack_pixels) and the
// weighted template wt = s*b*z (pack_weighted) into this layout, in per-thread
// buffers that stay in cache, and unpacks the gradients (unpack_pixels); grad_x
// of channels-last x is written in place when C is a whole number of blocks.
//
// Each kernel is a register tile: a row of JB outputs (for grad_w, of VB template
// columns) keeps one accumulator register each, and a few columns of the other
// operand sit in registers too, so that each vector fetched feeds several FMAs.
// Loops inside a tile have compile-time trip counts and are fully unrolled, which
// is what keeps the accumulator arrays in registers.

#include "xcorr_geometry.h"

namespace rasnet {
namespace cpu {
namespace RASNET_ISA {
namespace {

template <typename T> struct Simd;
#ifndef RASNET_VEC_BYTES
#error "define RASNET_VEC_BYTES (the ISA's register width in bytes) before including xcorr_core.h"
#endif
template <> struct Simd<float> { typedef float V __attribute__((vector_size(RASNET_VEC_BYTES))); };
template <> struct Simd<double> { typedef double V __attribute__((vector_size(RASNET_VEC_BYTES))); };

template <typename T> using Vec = typename Simd<T>::V;
template <typename T> constexpr int lanes() { return int(sizeof(Vec<T>) / sizeof(T)); }

// Vector registers: 32 with AVX-512, 16 with AVX2 and SSE2 (NEON's 32 used as 16).
constexpr int kRegisters = RASNET_VEC_BYTES == 64 ? 32 : 16;
// Tile widths: accumulators + operand columns + a streamed vector fit the registers.
constexpr int kOperandCols = 3;                                 // forward, grad_x
// Up to 25 (AVX-512) / 11 (AVX2) outputs per tile.  On AVX2 the 11 accumulators, 3 held
// columns and 1 streamed vector take 15 of the 16 registers: a row of 22 is two tiles of 11,
// which hide the 4-cycle FMA latency, where tiles of 8 + 7 + 7 could not.
constexpr int kMaxOutCols = kRegisters - kOperandCols - (kRegisters == 32 ? 4 : 2);
// grad_w tiles: kGradRows template rows x up to kMaxTemplateCols columns of sums, and
// kGradCols grad values held (AVX-512: 2 x 8 + 8 + 1 streamed = 25 registers; AVX2 has no
// room for a second row: 1 x 8 + 6 + 1 = 15).
constexpr int kGradRows = kRegisters == 32 ? 2 : 1;
constexpr int kMaxTemplateCols = 8;
constexpr int kGradCols = kRegisters == 32 ? 8 : 6;

template <typename T> inline Vec<T> load(const T* p) {
  Vec<T> v;
  __builtin_memcpy(&v, p, sizeof(v));
  return v;
}
// (s - 0 is s for every s, so the compiler drops the subtraction; it keeps the add of 0 + s,
// which is not s for s = -0, and spends an instruction and a register on it)
template <typename T> inline Vec<T> broadcast(T s) { return s - Vec<T>{}; }
template <typename T> inline void store(T* p, Vec<T> v) { __builtin_memcpy(p, &v, sizeof(v)); }
template <typename T> inline T lane_sum(Vec<T> v) {
  T s = T(0);
  for (int k = 0; k < lanes<T>(); ++k) s += v[k];
  return s;
}
template <typename T> inline int64_t blocks_of(int64_t channels) {
  return (channels + lanes<T>() - 1) / lanes<T>();
}

// Calls f(Width<n>{}) for a run-time n in 1..N (compile-time inside f, so a tile of
// that width keeps its accumulators in registers).
template <int N> struct Width { static constexpr int value = N; };
template <int N, typename F> inline void with_width(int64_t n, F&& f) {
  if constexpr (N > 0) {
    if (n == N) f(Width<N>{});
    else with_width<N - 1>(n, f);
  }
}

// Splits n columns into the fewest tiles of at most `most`, of near-equal widths (17 in
// tiles of at most 16: 9 + 8, not 16 + 1), calling f(first column, width).
template <typename F> inline void balanced_tiles(int64_t n, int64_t most, F&& f) {
  const int64_t tiles = (n + most - 1) / most;
  int64_t start = 0;
  for (int64_t t = 0; t < tiles; ++t) {
    const int64_t left = n - start, width = (left + tiles - t - 1) / (tiles - t);
    f(start, width);
    start += width;
  }
}

// Calls f(v0, Width) over the template columns in groups of kOperandCols.
template <typename F> inline void operand_groups(int64_t w, F&& f) {
  for (int64_t v0 = 0; v0 < w; v0 += kOperandCols)
    with_width<kOperandCols>(w - v0 < kOperandCols ? w - v0 : kOperandCols,
                             [&](auto vw) { f(v0, vw); });
}

// ---------------------------------------------------------------- forward
// One step of a 1-D correlation in registers: acc[k] += held[t] * stream(k + t) for every
// k < NA, t < NH.  Each streamed vector is formed once and meets every held value it
// overlaps: NA + NH - 1 streamed vectors feed NA * NH FMAs.  Always inlined, with its
// stream: a call would take the accumulators by reference, in memory.
template <typename T, int NA, int NH, typename Stream>
inline __attribute__((always_inline)) void correlate_step(Vec<T> (&acc)[NA],
                                                          const Vec<T> (&held)[NH],
                                                          Stream&& stream) {
#pragma GCC unroll 32
  for (int q = 0; q < NA + NH - 1; ++q) {
    const Vec<T> sv = stream(q);
#pragma GCC unroll 16
    for (int t = 0; t < NH; ++t) {
      const int k = q - t;
      if (k >= 0 && k < NA) acc[k] += held[t] * sv;
    }
  }
}

// acc[k] += sum_{t<VW} wr[t] * xr[k + t] (one vector per pixel): xr is x at (i+u, j0+v0)
// and wr is wt at (u, v0), both in one channel block; the template columns are held.
template <typename T, int JB, int VW>
inline void forward_cols(Vec<T> (&acc)[JB], const T* __restrict xr, const T* __restrict wr) {
  constexpr int N = lanes<T>();
  Vec<T> wv[VW];
#pragma GCC unroll 8
  for (int t = 0; t < VW; ++t) wv[t] = load(wr + t * N);
  correlate_step<T, JB, VW>(acc, wv, [&](int q) __attribute__((always_inline)) {
    return load(xr + q * N);
  });
}

// out[i, j0+k] for k < JB: sum over (u, v, c) of wt[u,v,c] x[i+u, j0+k+v, c], channel
// blocks cb0..cb1.  Between channel groups the sums stay vectors in `partial`
// (JB vectors); the last group reduces them across lanes into out.
template <typename T, int JB>
inline void forward_tile(const T* __restrict x, const T* __restrict wt, T* __restrict out,
                         T* __restrict partial, const Geometry& g, int64_t i, int64_t j0,
                         int64_t cb0, int64_t cb1) {
  constexpr int N = lanes<T>();
  Vec<T> acc[JB];
#pragma GCC unroll 32
  for (int k = 0; k < JB; ++k) acc[k] = cb0 == 0 ? Vec<T>{} : load(partial + k * N);
  for (int64_t cb = cb0; cb < cb1; ++cb) {
    const T* xc = x + cb * g.H * g.W * N;
    const T* wc = wt + cb * g.h * g.w * N;
    for (int64_t u = 0; u < g.h; ++u) {
      const T* xr = xc + ((i + u) * g.W + j0) * N;
      const T* wr = wc + u * g.w * N;
      operand_groups(g.w, [&](int64_t v0, auto vw) {
        forward_cols<T, JB, decltype(vw)::value>(acc, xr + v0 * N, wr + v0 * N);
      });
    }
  }
  if (cb1 == blocks_of<T>(g.C)) {
#pragma GCC unroll 32
    for (int k = 0; k < JB; ++k) out[i * g.Wo + j0 + k] = lane_sum<T>(acc[k]);
  } else {
#pragma GCC unroll 32
    for (int k = 0; k < JB; ++k) store(partial + k * N, acc[k]);
  }
}

// The response of one map: x holds g.H rows, out gets g.Ho.  Channel blocks are taken
// a group at a time, the group small enough that the h rows one output row reads stay
// in L1 for the next output row (which reads h-1 of them again); taking all channels
// per output row instead streams the map from L2 h times, which AVX-512 FMAs outrun.
// `scratch` holds the vector partial sums: g.Ho * g.Wo * N values.
template <typename T>
inline void forward_rows_impl(const T* x, const T* wt, T* out, const Geometry& g, T* scratch) {
  constexpr int N = lanes<T>();
  constexpr int64_t kL1Budget = 16 * 1024;
  const int64_t window = g.h * g.W * N * int64_t(sizeof(T));
  const int64_t group = window < kL1Budget ? kL1Budget / window : 1;
  const int64_t Cb = blocks_of<T>(g.C);
  for (int64_t cb0 = 0; cb0 < Cb; cb0 += group) {
    const int64_t cb1 = cb0 + group < Cb ? cb0 + group : Cb;
    for (int64_t i = 0; i < g.Ho; ++i)
      balanced_tiles(g.Wo, kMaxOutCols, [&](int64_t j0, int64_t width) {
        with_width<kMaxOutCols>(width, [&](auto jb) {
          forward_tile<T, decltype(jb)::value>(x, wt, out, scratch + (i * g.Wo + j0) * N, g, i,
                                               j0, cb0, cb1);
        });
      });
  }
}

// ---------------------------------------------------------------- grad_x
// Gather form: gx[p, q, c] = sum_{u,v} grad[p-u, q-v] wt[u,v,c].  `gpad` is grad with w-1
// zero columns on each side (row length Wp = Wo + 2(w-1)), so the v loop needs no bounds;
// the u range is clipped per row.
//
// acc[k] += sum_{t<VW} grow[k - t] * wr[t]: grow is the padded grad row at column q0 - v0,
// wr is wt at (u, v0).  A correlation step with the template columns held in reverse
// order and the grad values streamed as broadcasts.
template <typename T, int JB, int VW>
inline void grad_input_cols(Vec<T> (&acc)[JB], const T* __restrict grow, const T* __restrict wr) {
  constexpr int N = lanes<T>();
  Vec<T> wv[VW];
#pragma GCC unroll 8
  for (int t = 0; t < VW; ++t) wv[t] = load(wr + (VW - 1 - t) * N);
  correlate_step<T, JB, VW>(acc, wv, [&](int q) __attribute__((always_inline)) {
    return broadcast<T>(grow[q - (VW - 1)]);
  });
}

// gx at row p, columns q0..q0+JB-1, every channel block; gx starts at row row0, with
// `pixel` values from one pixel to the next and `block` from one channel block to the next.
template <typename T, int JB>
inline void grad_input_tile(const T* __restrict gpad, int64_t Wp, const T* __restrict wt,
                            T* __restrict gx, const Geometry& g, int64_t p, int64_t q0,
                            int64_t u0, int64_t u1, int64_t row0, int64_t rows, int64_t pixel,
                            int64_t block) {
  constexpr int N = lanes<T>();
  for (int64_t cb = 0; cb < blocks_of<T>(g.C); ++cb) {
    Vec<T> acc[JB];
#pragma GCC unroll 32
    for (int k = 0; k < JB; ++k) acc[k] = Vec<T>{};
    const T* wc = wt + cb * g.h * g.w * N;
    for (int64_t u = u0; u < u1; ++u) {
      const T* grow = gpad + (p - u) * Wp + q0 + g.w - 1;
      const T* wr = wc + u * g.w * N;
      operand_groups(g.w, [&](int64_t v0, auto vw) {
        grad_input_cols<T, JB, decltype(vw)::value>(acc, grow - v0, wr + v0 * N);
      });
    }
    T* dst = gx + cb * block + ((p - row0) * g.W + q0) * pixel;
#pragma GCC unroll 32
    for (int k = 0; k < JB; ++k) store(dst + k * pixel, acc[k]);
    // Fetch, for writing, what the next row's tile will store here: grad_x is large and
    // cold, and a store that misses waits for the line to be read first.
    if (p + 1 - row0 < rows)
#pragma GCC unroll 32
      for (int k = 0; k < JB; ++k) __builtin_prefetch(dst + g.W * pixel + k * pixel, 1);
  }
}

// gx rows p0..p1 of one map, from row p0 of `gx`: blocked (pixel = N, block = (p1-p0)*W*N)
// or, when C is a whole number of blocks, channels-last (pixel = C, block = N).
template <typename T>
inline void grad_input_impl(const T* gpad, const T* wt, T* gx, const Geometry& g, int64_t p0,
                            int64_t p1, int64_t pixel, int64_t block) {
  const int64_t Wp = g.Wo + 2 * (g.w - 1);
  for (int64_t p = p0; p < p1; ++p) {
    const int64_t u0 = p - (g.Ho - 1) > 0 ? p - (g.Ho - 1) : 0;
    const int64_t u1 = (p < g.h - 1 ? p : g.h - 1) + 1;
    balanced_tiles(g.W, kMaxOutCols, [&](int64_t q0, int64_t width) {
      with_width<kMaxOutCols>(width, [&](auto qb) {
        grad_input_tile<T, decltype(qb)::value>(gpad, Wp, wt, gx, g, p, q0, u0, u1, p0, p1 - p0,
                                                pixel, block);
      });
    });
  }
}

// ---------------------------------------------------------------- grad_w
// gw[u0+r, v0+t, c] += sum_{i,j} grad[i,j] x[i+u0+r, j+v0+t, c] for r < UB, t < VB.
//
// acc[r][t] += sum_{s<JC} grow[s] * xr[r rows down][s + t]: grow is grad at (i, j0), xr is x
// at (i+u0, j0+v0).  JC grad values are broadcast and held and meet UB template rows, x is
// streamed.  (A template row is only w = 6 sums wide; with AVX-512, two rows make enough
// independent sums to hide the FMA latency.)
template <typename T, int UB, int VB, int JC>
inline void grad_weight_cols(Vec<T> (&acc)[UB][VB], const T* __restrict grow,
                             const T* __restrict xr, int64_t row) {
  constexpr int N = lanes<T>();
  Vec<T> gv[JC];
#pragma GCC unroll 16
  for (int s = 0; s < JC; ++s) gv[s] = broadcast<T>(grow[s]);
#pragma GCC unroll 4
  for (int r = 0; r < UB; ++r) {
    const T* xq = r == 0 ? xr : xr + r * row;
    correlate_step<T, VB, JC>(acc[r], gv, [&](int q) __attribute__((always_inline)) {
      return load(xq + q * N);
    });
  }
}

template <typename T, int UB, int VB>
inline void grad_weight_tile(const T* __restrict grad, const T* __restrict x, T* __restrict gw,
                             const Geometry& g, int64_t cb, int64_t u0, int64_t v0) {
  constexpr int N = lanes<T>();
  T* dst = gw + ((cb * g.h + u0) * g.w + v0) * N;
  Vec<T> acc[UB][VB];
#pragma GCC unroll 4
  for (int r = 0; r < UB; ++r)
#pragma GCC unroll 16
    for (int t = 0; t < VB; ++t) acc[r][t] = load(dst + (r * g.w + t) * N);
  const T* xc = x + cb * g.H * g.W * N;
  for (int64_t i = 0; i < g.Ho; ++i) {
    const T* xrow = xc + ((i + u0) * g.W + v0) * N;
    balanced_tiles(g.Wo, kGradCols, [&](int64_t j0, int64_t width) {
      with_width<kGradCols>(width, [&](auto jc) {
        grad_weight_cols<T, UB, VB, decltype(jc)::value>(acc, grad + i * g.Wo + j0,
                                                         xrow + j0 * N, g.W * N);
      });
    });
  }
#pragma GCC unroll 4
  for (int r = 0; r < UB; ++r)
#pragma GCC unroll 16
    for (int t = 0; t < VB; ++t) store(dst + (r * g.w + t) * N, acc[r][t]);
}

// gw += the weight gradient of one map (x and gw blocked over g.C channels).
template <typename T>
inline void grad_weight_impl(const T* grad, const T* x, T* gw, const Geometry& g) {
  // Channel block outermost: that block of the map (W*H vectors) stays in L1 across (u, v).
  for (int64_t cb = 0; cb < blocks_of<T>(g.C); ++cb)
    balanced_tiles(g.h, kGradRows, [&](int64_t u0, int64_t rows) {
      with_width<kGradRows>(rows, [&](auto ub) {
        balanced_tiles(g.w, kMaxTemplateCols, [&](int64_t v0, int64_t width) {
          with_width<kMaxTemplateCols>(width, [&](auto vb) {
            grad_weight_tile<T, decltype(ub)::value, decltype(vb)::value>(grad, x, gw, g, cb, u0, v0);
          });
        });
      });
    });
}

// gw = dL/d(weighted template) of one template (blocked, np pixels, nc channels) into the
// gradients of its factors: gw becomes dL/dz = gw*s*b in place, gs[p] += sum_c gw*b*z
// (a partial sum when the caller splits the channels), gb[c] = sum_p gw*s*z.
template <typename T>
inline void split_weight_grad_impl(T* __restrict gw, const T* __restrict z, const T* __restrict s,
                                   const T* __restrict b, int64_t np, int64_t nc,
                                   T* __restrict gs, T* __restrict gb) {
  constexpr int N = lanes<T>();
  for (int64_t cb = 0; cb < blocks_of<T>(nc); ++cb) {
    const int64_t n = nc - cb * N < N ? nc - cb * N : N;
    T lanes_b[N];
    for (int l = 0; l < N; ++l) lanes_b[l] = l < n ? b[cb * N + l] : T(0);
    const Vec<T> bv = load(lanes_b);
    Vec<T> acc_b = Vec<T>{};
    for (int64_t p = 0; p < np; ++p) {
      T* gp = gw + (cb * np + p) * N;
      const Vec<T> gv = load(gp), zv = load(z + (cb * np + p) * N);
      gs[p] += lane_sum<T>(gv * bv * zv);
      acc_b += gv * zv * s[p];
      store(gp, gv * bv * s[p]);
    }
    T out_b[N];
    store(out_b, acc_b);
    for (int l = 0; l < n; ++l) gb[cb * N + l] = out_b[l];
  }
}

// ---------------------------------------------------------------- layout
// pack: dst[cb][p][l] = src[(cb*N + l) * c_stride + p * p_stride] for channels < nc, zero
// beyond (the padding of the last block); p < np.  unpack: the reverse, for channels < nc.
// Channels-last slices (c_stride 1) move whole vectors, a pixel's channels at a time so
// that the side in main memory is walked in order; planar ones (p_stride 1) are
// transposed in 16-pixel runs that stay in L1.
constexpr int64_t kPrefetchPixels = 8;

template <typename T>
inline void pack_impl(const T* __restrict src, int64_t c_stride, int64_t p_stride, int64_t np,
                      int64_t nc, T* __restrict dst) {
  constexpr int N = lanes<T>();
  const int64_t full = c_stride == 1 ? nc / N : 0;  // blocks moved as whole vectors
  // (software prefetch a few pixels ahead: the hardware streamer stops at each 4 KB page,
  // which at C = 256 floats is every fourth pixel)
  for (int64_t p = 0; p < np && full > 0; ++p)
    for (int64_t cb = 0; cb < full; ++cb) {
      if (p + kPrefetchPixels < np) __builtin_prefetch(src + (p + kPrefetchPixels) * p_stride + cb * N);
      store(dst + (cb * np + p) * N, load(src + p * p_stride + cb * N));
    }
  for (int64_t cb = full; cb < blocks_of<T>(nc); ++cb) {
    const int64_t c0 = cb * N, n = nc - c0 < N ? nc - c0 : N;
    T* d = dst + cb * np * N;
    for (int64_t pb = 0; pb < np; pb += 16) {
      const int64_t pe = pb + 16 < np ? pb + 16 : np;
      for (int64_t l = 0; l < N; ++l) {
        const T* s = src + (c0 + l) * c_stride;
        for (int64_t p = pb; p < pe; ++p) d[p * N + l] = l < n ? s[p * p_stride] : T(0);
      }
    }
  }
}

// pack, then each pixel p times s[p] and each channel c times b[c]: the weighted template.
template <typename T>
inline void pack_weighted_impl(const T* __restrict src, int64_t c_stride, int64_t p_stride,
                               int64_t np, int64_t nc, const T* __restrict s,
                               const T* __restrict b, T* __restrict dst) {
  constexpr int N = lanes<T>();
  pack_impl(src, c_stride, p_stride, np, nc, dst);
  for (int64_t cb = 0; cb < blocks_of<T>(nc); ++cb) {
    T lane_b[N];
    for (int l = 0; l < N; ++l) lane_b[l] = cb * N + l < nc ? b[cb * N + l] : T(0);
    const Vec<T> bv = load(lane_b);
    T* d = dst + cb * np * N;
    for (int64_t p = 0; p < np; ++p) store(d + p * N, load(d + p * N) * (bv * s[p]));
  }
}

template <typename T>
inline void unpack_impl(const T* __restrict src, int64_t np, int64_t nc, T* __restrict dst,
                        int64_t c_stride, int64_t p_stride) {
  constexpr int N = lanes<T>();
  const int64_t full = c_stride == 1 ? nc / N : 0;
  for (int64_t p = 0; p < np && full > 0; ++p)
    for (int64_t cb = 0; cb < full; ++cb) store(dst + p * p_stride + cb * N, load(src + (cb * np + p) * N));
  for (int64_t cb = full; cb < blocks_of<T>(nc); ++cb) {
    const int64_t c0 = cb * N, n = nc - c0 < N ? nc - c0 : N;
    const T* s = src + cb * np * N;
    for (int64_t pb = 0; pb < np; pb += 16) {
      const int64_t pe = pb + 16 < np ? pb + 16 : np;
      for (int64_t l = 0; l < n; ++l) {
        T* d = dst + (c0 + l) * c_stride;
        for (int64_t p = pb; p < pe; ++p) d[p * p_stride] = s[p * N + l];
      }
    }
  }
}

}  // namespace

// Non-template entry points, one set per instruction set.
#define RASNET_DEFINE_CPU_KERNELS(T)                                                      \
  int block_lanes(T) { return lanes<T>(); }                                              \
  void forward_rows(const T* x, const T* wt, T* out, const Geometry& g, T* scratch) {    \
    forward_rows_impl<T>(x, wt, out, g, scratch);                                        \
  }                                                                                      \
  void grad_input(const T* gpad, const T* wt, T* gx, const Geometry& g, int64_t p0,      \
                  int64_t p1, int64_t pixel, int64_t block) {                            \
    grad_input_impl<T>(gpad, wt, gx, g, p0, p1, pixel, block);                           \
  }                                                                                      \
  void grad_weight(const T* grad, const T* x, T* gw, const Geometry& g) {                \
    grad_weight_impl<T>(grad, x, gw, g);                                                 \
  }                                                                                      \
  void pack_pixels(const T* src, int64_t c_stride, int64_t p_stride, int64_t np,         \
                   int64_t nc, T* dst) {                                                 \
    pack_impl<T>(src, c_stride, p_stride, np, nc, dst);                                  \
  }                                                                                      \
  void split_weight_grad(T* gw, const T* z, const T* s, const T* b, int64_t np,          \
                         int64_t nc, T* gs, T* gb) {                                     \
    split_weight_grad_impl<T>(gw, z, s, b, np, nc, gs, gb);                              \
  }                                                                                      \
  void pack_weighted(const T* src, int64_t c_stride, int64_t p_stride, int64_t np,       \
                     int64_t nc, const T* s, const T* b, T* dst) {                       \
    pack_weighted_impl<T>(src, c_stride, p_stride, np, nc, s, b, dst);                   \
  }                                                                                      \
  void unpack_pixels(const T* src, int64_t np, int64_t nc, T* dst, int64_t c_stride,     \
                     int64_t p_stride) {                                                 \
    unpack_impl<T>(src, np, nc, dst, c_stride, p_stride);                                \
  }

RASNET_DEFINE_CPU_KERNELS(float)
RASNET_DEFINE_CPU_KERNELS(double)
#undef RASNET_DEFINE_CPU_KERNELS

}  // namespace RASNET_ISA
}  // namespace cpu
}  // namespace rasnet
