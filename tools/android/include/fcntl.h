/* Hush minimal Android libc headers. See README.md.
 * O_*, F_*, struct flock: the kernel's UAPI, as in Bionic. */
#ifndef HUSH_FCNTL_H
#define HUSH_FCNTL_H
#include <sys/types.h>
#include <linux/fcntl.h>
__HUSH_BEGIN_DECLS
int open(const char* path, int flags, ...);
int fcntl(int fd, int cmd, ...);
__HUSH_END_DECLS
#endif
