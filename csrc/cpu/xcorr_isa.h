#pragma once
// The loop kernels of xcorr_core.h (channel-blocked layout, one map each), compiled once per instruction set, and a
// table that picks the best set the running CPU supports.
#include "xcorr_geometry.h"

namespace rasnet {
namespace cpu {

#define RASNET_DECLARE_CPU_KERNELS(T)                                                      \
  int block_lanes(T);                                                                    \
  void forward_rows(const T* x, const T* wt, T* out, const Geometry& g, T* scratch);     \
  void grad_input(const T* gpad, const T* wt, T* gx, const Geometry& g, int64_t p0,      \
                  int64_t p1, int64_t pixel, int64_t block);                             \
  void grad_weight(const T* grad, const T* x, T* gw, const Geometry& g);                 \
  void pack_pixels(const T* src, int64_t c_stride, int64_t p_stride, int64_t np,         \
                   int64_t nc, T* dst);                                                  \
  void split_weight_grad(T* gw, const T* z, const T* s, const T* b, int64_t np,          \
                         int64_t nc, T* gs, T* gb);                                      \
  void pack_weighted(const T* src, int64_t c_stride, int64_t p_stride, int64_t np,       \
                     int64_t nc, const T* s, const T* b, T* dst);                        \
  void unpack_pixels(const T* src, int64_t np, int64_t nc, T* dst, int64_t c_stride,     \
                     int64_t p_stride);

#define RASNET_DECLARE_ISA(ISA)      \
  namespace ISA {                    \
  RASNET_DECLARE_CPU_KERNELS(float)  \
  RASNET_DECLARE_CPU_KERNELS(double) \
  }

RASNET_DECLARE_ISA(generic)
#if defined(RASNET_X86_DISPATCH)
RASNET_DECLARE_ISA(avx2)
RASNET_DECLARE_ISA(avx512)
#endif
#undef RASNET_DECLARE_ISA
#undef RASNET_DECLARE_CPU_KERNELS

// The kernels of one instruction set; `lanes` is the channel block of its layout.
template <typename T>
struct KernelTable {
  int lanes;
  void (*forward_rows)(const T*, const T*, T*, const Geometry&, T*);
  void (*grad_input)(const T*, const T*, T*, const Geometry&, int64_t, int64_t, int64_t, int64_t);
  void (*grad_weight)(const T*, const T*, T*, const Geometry&);
  void (*split_weight_grad)(T*, const T*, const T*, const T*, int64_t, int64_t, T*, T*);
  void (*pack_pixels)(const T*, int64_t, int64_t, int64_t, int64_t, T*);
  void (*pack_weighted)(const T*, int64_t, int64_t, int64_t, int64_t, const T*, const T*, T*);
  void (*unpack_pixels)(const T*, int64_t, int64_t, T*, int64_t, int64_t);
};

// The widest instruction set this CPU runs ("avx512", "avx2" or "generic").
const char* active_isa();

template <typename T>
const KernelTable<T>& kernels();

}  // namespace cpu
}  // namespace rasnet
