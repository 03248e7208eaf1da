/* Hush minimal Android libc headers. See README.md.
 * Bionic's LP64 pthread types (sizes checked: abi.list). */
#ifndef HUSH_PTHREAD_H
#define HUSH_PTHREAD_H
#include <sys/types.h>
__HUSH_BEGIN_DECLS
typedef long pthread_t;
typedef long pthread_mutexattr_t;
typedef struct { int32_t __private[10]; } pthread_mutex_t;
#define PTHREAD_MUTEX_NORMAL 0
#define PTHREAD_MUTEX_RECURSIVE 1
#define PTHREAD_MUTEX_ERRORCHECK 2
#define PTHREAD_MUTEX_DEFAULT PTHREAD_MUTEX_NORMAL
#define PTHREAD_MUTEX_INITIALIZER { { 0 } }
int pthread_mutex_init(pthread_mutex_t* m, const pthread_mutexattr_t* attr);
int pthread_mutex_destroy(pthread_mutex_t* m);
int pthread_mutex_lock(pthread_mutex_t* m);
int pthread_mutex_trylock(pthread_mutex_t* m);
int pthread_mutex_unlock(pthread_mutex_t* m);
int pthread_mutexattr_init(pthread_mutexattr_t* attr);
int pthread_mutexattr_destroy(pthread_mutexattr_t* attr);
int pthread_mutexattr_settype(pthread_mutexattr_t* attr, int type);
__HUSH_END_DECLS
#endif
