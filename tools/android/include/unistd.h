/* Hush minimal Android libc headers. See README.md.
 * _SC_* are Bionic's own numbering (not glibc's): checked in abi.list. */
#ifndef HUSH_UNISTD_H
#define HUSH_UNISTD_H
#include <sys/types.h>
__HUSH_BEGIN_DECLS
#define F_OK 0
#define X_OK 1
#define W_OK 2
#define R_OK 4
#define SEEK_SET 0
#define SEEK_CUR 1
#define SEEK_END 2
#define _SC_PAGESIZE 0x0027
#define _SC_PAGE_SIZE 0x0028
int close(int fd);
int access(const char* path, int mode);
char* getcwd(char* buf, size_t size);
int ftruncate(int fd, off_t length);
ssize_t read(int fd, void* buf, size_t count);
ssize_t write(int fd, const void* buf, size_t count);
ssize_t pread(int fd, void* buf, size_t count, off_t offset);
ssize_t pwrite(int fd, const void* buf, size_t count, off_t offset);
int unlink(const char* path);
int rmdir(const char* path);
int fchown(int fd, uid_t owner, gid_t group);
uid_t geteuid(void);
pid_t getpid(void);
ssize_t readlink(const char* path, char* buf, size_t size);
int fsync(int fd);
long sysconf(int name);
__HUSH_END_DECLS
#endif
