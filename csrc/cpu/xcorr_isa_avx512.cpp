// AVX-512 build of the loop kernels, chosen at run time on CPUs that have it.
#include <cstdint>
#include "xcorr_isa.h"
#if defined(RASNET_X86_DISPATCH)
#pragma GCC target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,prefer-vector-width=512")
#define RASNET_ISA avx512
#define RASNET_VEC_BYTES 64
#include "xcorr_core.h"
#endif
