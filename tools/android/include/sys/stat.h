/* Hush minimal Android libc headers. See README.md.
 * struct stat as Bionic's for each LP64 ABI (checked: abi.list). */
#ifndef HUSH_SYS_STAT_H
#define HUSH_SYS_STAT_H
#include <sys/types.h>
#include <time.h>
#include <linux/stat.h>   /* S_IF*, S_IS*, S_I[RWX]* */
__HUSH_BEGIN_DECLS
#if defined(__aarch64__)
struct stat {
  dev_t st_dev;
  ino_t st_ino;
  unsigned int st_mode;
  nlink_t st_nlink;
  uid_t st_uid;
  gid_t st_gid;
  dev_t st_rdev;
  unsigned long __pad1;
  off_t st_size;
  int st_blksize;
  int __pad2;
  long st_blocks;
  struct timespec st_atim;
  struct timespec st_mtim;
  struct timespec st_ctim;
  unsigned int __unused4;
  unsigned int __unused5;
};
#elif defined(__x86_64__)
struct stat {
  dev_t st_dev;
  ino_t st_ino;
  unsigned long st_nlink;
  unsigned int st_mode;
  uid_t st_uid;
  gid_t st_gid;
  unsigned int __pad0;
  dev_t st_rdev;
  off_t st_size;
  long st_blksize;
  long st_blocks;
  struct timespec st_atim;
  struct timespec st_mtim;
  struct timespec st_ctim;
  long __pad3[3];
};
#endif
#define st_atime st_atim.tv_sec
#define st_mtime st_mtim.tv_sec
#define st_ctime st_ctim.tv_sec
int stat(const char* path, struct stat* st);
int fstat(int fd, struct stat* st);
int lstat(const char* path, struct stat* st);
int mkdir(const char* path, mode_t mode);
int fchmod(int fd, mode_t mode);
__HUSH_END_DECLS
#endif
