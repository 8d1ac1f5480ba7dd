// Baseline build of the loop kernels (the compiler's default instruction set).
#include <cstdint>
#define RASNET_ISA generic
#define RASNET_VEC_BYTES 16  // SSE2 on x86-64, NEON on arm64
#include "xcorr_core.h"
