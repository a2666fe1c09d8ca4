// AVX-512 (F, BW, VL, VNNI) variants, compiled per function so the target stays baseline x86-64.
#include "formats.h"

#if defined(__x86_64__)
const forge_kernel_table forge_avx512_kernels = {0};
#endif
