#pragma once
// The loop kernels of xcorr_core.h (channels-last pointers, one map each), compiled once per instruction set, and a
// table that picks the best set the running CPU supports.
#include "xcorr_geometry.h"

namespace rasnet {
namespace cpu {

#define RASNET_DECLARE_CPU_KERNELS(T)                                            \
  void forward_rows(const T* x, const T* z, const T* s, const T* b, T* out,     \
                    const Geometry& g, int64_t i0, int64_t i1);                 \
  void grad_input(const T* gpad, const T* wt, T* gx, const Geometry& g,        \
                  int64_t p0, int64_t p1, int64_t c0, int64_t c1, int64_t row0); \
  void grad_weight(const T* grad, const T* x, T* gw, const Geometry& g,         \
                   int64_t c0, int64_t c1);                                     \
  void transpose(const T* src, int64_t src_stride, T* dst, int64_t dst_stride, \
                 int64_t nc, int64_t np);

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

template <typename T>
struct KernelTable {
  void (*forward_rows)(const T*, const T*, const T*, const T*, T*, const Geometry&, int64_t, int64_t);
  void (*grad_input)(const T*, const T*, T*, const Geometry&, int64_t, int64_t, int64_t, int64_t, int64_t);
  void (*grad_weight)(const T*, const T*, T*, const Geometry&, int64_t, int64_t);
  void (*transpose)(const T*, int64_t, T*, int64_t, int64_t, int64_t);
};

// The widest instruction set this CPU runs ("avx512", "avx2" or "generic").
const char* active_isa();

template <typename T>
const KernelTable<T>& kernels();

}  // namespace cpu
}  // namespace rasnet
