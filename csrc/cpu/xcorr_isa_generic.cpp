// Baseline build of the loop kernels (the compiler's default instruction set).
#include <cstdint>
#define RASNET_ISA generic
#include "xcorr_core.h"
