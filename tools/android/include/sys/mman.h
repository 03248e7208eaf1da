/* Hush minimal Android libc headers. See README.md.
 * PROT_*, MAP_*: the kernel's UAPI, as in Bionic. */
#ifndef HUSH_SYS_MMAN_H
#define HUSH_SYS_MMAN_H
#include <sys/types.h>
#include <linux/mman.h>
__HUSH_BEGIN_DECLS
#define MAP_FAILED ((void*)-1)
void* mmap(void* addr, size_t size, int prot, int flags, int fd, off_t offset);
int munmap(void* addr, size_t size);
__HUSH_END_DECLS
#endif
