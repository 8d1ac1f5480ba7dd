#pragma once
// Sizes shared by the CPU and CUDA kernels of attention_xcorr (plain data, no
// library code, so it can be included by the per-instruction-set CPU files).
#include <cstdint>

// GCC on x86: the CPU loop kernels are also built for AVX2 and AVX-512 and the
// widest one the running CPU supports is picked at run time.
#if defined(__GNUC__) && !defined(__clang__) && (defined(__x86_64__) || defined(__i386__))
#define RASNET_X86_DISPATCH 1
#endif

namespace rasnet {

struct Geometry {
  int64_t C, H, W;   // search features (per map)
  int64_t h, w;      // template features
  int64_t Ho, Wo;    // response: H-h+1, W-w+1
};

}  // namespace rasnet
