/* Hush minimal Android libc headers. See README.md. */
#ifndef HUSH_SYS_IOCTL_H
#define HUSH_SYS_IOCTL_H
#include "../bionic_common.h"
#include <linux/ioctl.h>
/* SQLite includes <sys/ioctl.h> but, under the options used, calls nothing
 * from it. */
#endif
