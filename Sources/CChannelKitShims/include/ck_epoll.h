// epoll and eventfd for the socket event loop (Linux). Swift's Glibc module does not
// export <sys/epoll.h>, and struct epoll_event is packed on x86-64, so it is wrapped.
#ifndef CK_EPOLL_H
#define CK_EPOLL_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CK_EVENT_READ 1u
#define CK_EVENT_WRITE 2u
#define CK_EVENT_HANGUP 4u
#define CK_EVENT_ERROR 8u

/// epoll_create1(EPOLL_CLOEXEC); -1 and errno on failure (or on non-Linux).
int ck_epoll_create(void);
/// Adds (op 0), modifies (op 1) or removes (op 2) `fd` with CK_EVENT_* interest and a
/// 64-bit token returned by ck_epoll_wait. Level-triggered. Returns 0 or -1/errno.
int ck_epoll_ctl(int epfd, int op, int fd, uint32_t interest, uint64_t token);
/// Waits for up to `max` events; fills tokens and CK_EVENT_* masks. Returns the count,
/// or -1/errno (EINTR included).
int ck_epoll_wait(int epfd, uint64_t *tokens, uint32_t *events, int max, int timeout_ms);
/// eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC).
int ck_eventfd(void);
/// Adds 1 to an eventfd counter (wakes a waiter).
int ck_eventfd_signal(int fd);
/// Drains an eventfd counter.
void ck_eventfd_drain(int fd);

#ifdef __cplusplus
}
#endif

#endif
