#ifndef CFORGE_KERNELS_H
#define CFORGE_KERNELS_H
#include <stddef.h>
#include <stdint.h>
#endif
