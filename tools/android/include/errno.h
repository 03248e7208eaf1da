/* Hush minimal Android libc headers. See README.md.
 * Bionic's errno is per thread behind the accessor __errno(). */
#ifndef HUSH_ERRNO_H
#define HUSH_ERRNO_H
#include "bionic_common.h"
#include <linux/errno.h>
__HUSH_BEGIN_DECLS
int* __errno(void) __attribute__((__const__));
#define errno (*__errno())
__HUSH_END_DECLS
#endif
