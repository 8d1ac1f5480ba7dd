// AVX2 + FMA build of the loop kernels, chosen at run time on CPUs that have it.
#include <cstdint>
#include "xcorr_isa.h"
#if defined(RASNET_X86_DISPATCH)
#pragma GCC target("avx2,fma")
#define RASNET_ISA avx2
#define RASNET_VEC_BYTES 32
#include "xcorr_core.h"
#endif
