/* Hush minimal Android libc headers. See README.md. Types as Bionic's LP64
 * ones; their sizes are checked against the libc crate (abi.list). */
#ifndef HUSH_SYS_TYPES_H
#define HUSH_SYS_TYPES_H
#include "../bionic_common.h"
#include <linux/types.h>
#include <linux/posix_types.h>
typedef long ssize_t;
typedef long off_t;          /* 64-bit on LP64 */
typedef int64_t off64_t;
typedef long time_t;
typedef long suseconds_t;
typedef long clock_t;
typedef uint32_t useconds_t;
typedef int clockid_t;
typedef int pid_t;
typedef uint32_t uid_t;
typedef uint32_t gid_t;
typedef uint32_t mode_t;
typedef uint64_t dev_t;
typedef unsigned long ino_t;
typedef uint32_t nlink_t;
typedef unsigned long blksize_t;
typedef unsigned long blkcnt_t;
#endif
