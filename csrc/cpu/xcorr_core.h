// Loop kernels of the CPU attention-xcorr, over raw channels-last pointers.
//
// This header is compiled once per instruction set (xcorr_isa_*.cpp define
// RASNET_ISA and a target pragma before including it), so it includes no
// library header: inline library code compiled for AVX-512 could otherwise be
// picked by the linker for callers on machines without it.  Everything sits in
// an ISA-named namespace and the templates have internal linkage.
//
// Layouts, one map each (the driver in attention_xcorr_kernel.cpp walks the
// batch): x (H,W,C), z (h,w,C), s (h,w), b (C), out and grad (Ho,Wo).  Work is
// vectorised over channels: accumulators are vectors of one register each
// (RASNET_VEC_BYTES: 64 for AVX-512, 32 for AVX2, 16 for the baseline), held in
// registers and reduced across lanes once per output, never inside the inner
// loops.  One register per vector matters: the 8-wide blocks keep 8 accumulators
// live, which 16 AVX2 registers hold only when a vector is not split in two.  The
// forward forms the weighted template s*b*z chunk by chunk in registers; it is
// never stored.

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

template <typename T> inline Vec<T> load(const T* p) {
  Vec<T> v;
  __builtin_memcpy(&v, p, sizeof(v));
  return v;
}
template <typename T> inline void store(T* p, Vec<T> v) { __builtin_memcpy(p, &v, sizeof(v)); }
template <typename T> inline T lane_sum(Vec<T> v) {
  T s = T(0);
  for (int k = 0; k < lanes<T>(); ++k) s += v[k];
  return s;
}

// Calls f(Width<n>{}) for a run-time n in 1..N, so the last columns of a row go through one
// block of exactly their width (compile-time, so its accumulators stay in registers).
template <int N> struct Width { static constexpr int value = N; };
template <int N, typename F> inline void with_width(int64_t n, F&& f) {
  if constexpr (N > 0) {
    if (n == N) f(Width<N>{});
    else with_width<N - 1>(n, f);
  }
}

// ---------------------------------------------------------------- forward
// out[i, j0+k] for k < JB: sum over (u, v, c) of s[u,v] b[c] z[u,v,c] x[i+u, j0+k+v, c].
template <typename T, int JB>
inline void forward_block(const T* __restrict x, const T* __restrict z, const T* __restrict s,
                          const T* __restrict b, T* __restrict out, const Geometry& g,
                          int64_t i, int64_t j0) {
  constexpr int N = lanes<T>();
  const int64_t C = g.C, Cv = C - C % N;
  Vec<T> acc[JB];
  T tail[JB];
  for (int k = 0; k < JB; ++k) { acc[k] = Vec<T>{}; tail[k] = T(0); }
  for (int64_t u = 0; u < g.h; ++u) {
    for (int64_t v = 0; v < g.w; ++v) {
      const T sv = s[u * g.w + v];
      const T* zp = z + (u * g.w + v) * C;
      const T* xp = x + ((i + u) * g.W + j0 + v) * C;
      int64_t c = 0;
      for (; c < Cv; c += N) {
        const Vec<T> wv = load(zp + c) * load(b + c) * sv;
        for (int k = 0; k < JB; ++k) acc[k] += wv * load(xp + k * C + c);
      }
      for (; c < C; ++c) {
        const T wv = zp[c] * b[c] * sv;
        for (int k = 0; k < JB; ++k) tail[k] += wv * xp[k * C + c];
      }
    }
  }
  for (int k = 0; k < JB; ++k) out[i * g.Wo + j0 + k] = lane_sum<T>(acc[k]) + tail[k];
}

template <typename T>
inline void forward_rows_impl(const T* x, const T* z, const T* s, const T* b, T* out,
                              const Geometry& g, int64_t i0, int64_t i1) {
  for (int64_t i = i0; i < i1; ++i) {
    int64_t j = 0;
    for (; j + 8 <= g.Wo; j += 8) forward_block<T, 8>(x, z, s, b, out, g, i, j);
    // the remaining columns in one block, not in 4- and 1-wide passes
    with_width<7>(g.Wo - j, [&](auto jb) { forward_block<T, decltype(jb)::value>(x, z, s, b, out, g, i, j); });
  }
}

// ---------------------------------------------------------------- grad_x
// Gather form: gx[p, q, c] = sum_{u,v} grad[p-u, q-v] wt[u,v,c], with wt the
// weighted template (materialised by the backward; it is tiny).  `gpad` is
// grad with w-1 zero columns on each side (row length Wp = Wo + 2(w-1)), so
// the v loop needs no bounds; the u range is clipped per row.  `gx` points at
// row `row0` of the map (the driver may hand a buffer holding a few rows).
template <typename T, int JB>
inline void grad_input_block(const T* __restrict gpad, int64_t Wp, const T* __restrict wt,
                             T* __restrict gx, const Geometry& g, int64_t p, int64_t q0,
                             int64_t u0, int64_t u1, int64_t c0, int64_t c1, int64_t row0) {
  constexpr int N = lanes<T>();
  const int64_t C = g.C;
  int64_t c = c0;
  for (; c + N <= c1; c += N) {
    Vec<T> acc[JB];
    for (int k = 0; k < JB; ++k) acc[k] = Vec<T>{};
    for (int64_t u = u0; u < u1; ++u) {
      const T* grow = gpad + (p - u) * Wp + q0 + g.w - 1;
      for (int64_t v = 0; v < g.w; ++v) {
        const Vec<T> wv = load(wt + (u * g.w + v) * C + c);
        for (int k = 0; k < JB; ++k) acc[k] += wv * grow[k - v];
      }
    }
    for (int k = 0; k < JB; ++k) store(gx + ((p - row0) * g.W + q0 + k) * C + c, acc[k]);
  }
  for (; c < c1; ++c) {
    for (int k = 0; k < JB; ++k) {
      T acc = T(0);
      for (int64_t u = u0; u < u1; ++u) {
        const T* grow = gpad + (p - u) * Wp + q0 + g.w - 1;
        for (int64_t v = 0; v < g.w; ++v) acc += wt[(u * g.w + v) * C + c] * grow[k - v];
      }
      gx[((p - row0) * g.W + q0 + k) * C + c] = acc;
    }
  }
}

template <typename T>
inline void grad_input_impl(const T* gpad, const T* wt, T* gx, const Geometry& g,
                            int64_t p0, int64_t p1, int64_t c0, int64_t c1, int64_t row0) {
  const int64_t Wp = g.Wo + 2 * (g.w - 1);
  for (int64_t p = p0; p < p1; ++p) {
    const int64_t u0 = p - (g.Ho - 1) > 0 ? p - (g.Ho - 1) : 0;
    const int64_t u1 = (p < g.h - 1 ? p : g.h - 1) + 1;
    int64_t q = 0;
    for (; q + 8 <= g.W; q += 8) grad_input_block<T, 8>(gpad, Wp, wt, gx, g, p, q, u0, u1, c0, c1, row0);
    // the rest in one block (22 columns = 8 + 8 + 6, not 8 + 8 + 4 + 1 + 1)
    with_width<7>(g.W - q, [&](auto qb) {
      grad_input_block<T, decltype(qb)::value>(gpad, Wp, wt, gx, g, p, q, u0, u1, c0, c1, row0);
    });
  }
}

// ---------------------------------------------------------------- grad_w
// gw[u, v0+k, c] += sum_{i,j} grad[i,j] x[i+u, j+v0+k, c] for k < VB.
template <typename T, int VB>
inline void grad_weight_block(const T* __restrict grad, const T* __restrict x, T* __restrict gw,
                              const Geometry& g, int64_t u, int64_t v0, int64_t c0, int64_t c1) {
  constexpr int N = lanes<T>();
  const int64_t C = g.C;
  int64_t c = c0;
  for (; c + N <= c1; c += N) {
    Vec<T> acc[VB];
    for (int k = 0; k < VB; ++k) acc[k] = Vec<T>{};
    for (int64_t i = 0; i < g.Ho; ++i) {
      const T* xrow = x + ((i + u) * g.W + v0) * C + c;
      const T* grow = grad + i * g.Wo;
      for (int64_t j = 0; j < g.Wo; ++j) {
        const T gs = grow[j];
        for (int k = 0; k < VB; ++k) acc[k] += gs * load(xrow + (j + k) * C);
      }
    }
    for (int k = 0; k < VB; ++k) {
      T* dst = gw + (u * g.w + v0 + k) * C + c;
      store(dst, load(dst) + acc[k]);
    }
  }
  for (; c < c1; ++c) {
    for (int k = 0; k < VB; ++k) {
      T acc = T(0);
      for (int64_t i = 0; i < g.Ho; ++i)
        for (int64_t j = 0; j < g.Wo; ++j)
          acc += grad[i * g.Wo + j] * x[((i + u) * g.W + j + v0 + k) * C + c];
      gw[(u * g.w + v0 + k) * C + c] += acc;
    }
  }
}

template <typename T>
inline void grad_weight_impl(const T* grad, const T* x, T* gw, const Geometry& g,
                             int64_t c0, int64_t c1) {
  for (int64_t u = 0; u < g.h; ++u) {
    int64_t v = 0;
    for (; v + 8 <= g.w; v += 8) grad_weight_block<T, 8>(grad, x, gw, g, u, v, c0, c1);
    // the remaining columns in one block (a 6-wide template: one pass)
    with_width<7>(g.w - v, [&](auto vb) { grad_weight_block<T, decltype(vb)::value>(grad, x, gw, g, u, v, c0, c1); });
  }
}

// ---------------------------------------------------------------- layout
// dst[p * dst_stride + c] = src[c * src_stride + p] for c < nc, p < np: a slice
// of an NCHW map to channels-last, in 16x16 tiles that stay in L1.  Kept
// scalar: vectorising it makes gathers, slower than plain loads on x86 cores.
template <typename T>
__attribute__((optimize("no-tree-vectorize"))) inline void transpose_impl(
    const T* __restrict src, int64_t src_stride, T* __restrict dst, int64_t dst_stride,
    int64_t nc, int64_t np) {
  constexpr int64_t tile = 16;
  for (int64_t cb = 0; cb < nc; cb += tile) {
    const int64_t ce = cb + tile < nc ? cb + tile : nc;
    for (int64_t pb = 0; pb < np; pb += tile) {
      const int64_t pe = pb + tile < np ? pb + tile : np;
      for (int64_t p = pb; p < pe; ++p)
        for (int64_t c = cb; c < ce; ++c) dst[p * dst_stride + c] = src[c * src_stride + p];
    }
  }
}

}  // namespace

// Non-template entry points, one set per instruction set.
#define RASNET_DEFINE_CPU_KERNELS(T)                                                   \
  void forward_rows(const T* x, const T* z, const T* s, const T* b, T* out,           \
                    const Geometry& g, int64_t i0, int64_t i1) {                      \
    forward_rows_impl<T>(x, z, s, b, out, g, i0, i1);                                 \
  }                                                                                   \
  void grad_input(const T* gpad, const T* wt, T* gx, const Geometry& g, int64_t p0,   \
                  int64_t p1, int64_t c0, int64_t c1, int64_t row0) {                 \
    grad_input_impl<T>(gpad, wt, gx, g, p0, p1, c0, c1, row0);                        \
  }                                                                                   \
  void grad_weight(const T* grad, const T* x, T* gw, const Geometry& g, int64_t c0,   \
                   int64_t c1) {                                                      \
    grad_weight_impl<T>(grad, x, gw, g, c0, c1);                                      \
  }                                                                                   \
  void transpose(const T* src, int64_t src_stride, T* dst, int64_t dst_stride,       \
                 int64_t nc, int64_t np) {                                            \
    transpose_impl<T>(src, src_stride, dst, dst_stride, nc, np);                      \
  }

RASNET_DEFINE_CPU_KERNELS(float)
RASNET_DEFINE_CPU_KERNELS(double)
#undef RASNET_DEFINE_CPU_KERNELS

}  // namespace RASNET_ISA
}  // namespace cpu
}  // namespace rasnet
