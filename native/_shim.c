/* C shim for orcrt's native layer: the pieces ctypes cannot express (see native/__init__.py). */
#include <stddef.h>
#include <stdint.h>

/* Returns the shim's ABI version so the loader can check it found the right library. */
uint32_t orcrt_shim_abi_version(void) { return 1; }
