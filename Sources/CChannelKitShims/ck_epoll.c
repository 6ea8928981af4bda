#include "ck_epoll.h"

#include <errno.h>
#include <stddef.h>

#if defined(__linux__)
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

int ck_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int ck_epoll_ctl(int epfd, int op, int fd, uint32_t interest, uint64_t token) {
    struct epoll_event ev;
    ev.events = 0;
    if (interest & CK_EVENT_READ) ev.events |= EPOLLIN | EPOLLRDHUP;
    if (interest & CK_EVENT_WRITE) ev.events |= EPOLLOUT;
    ev.data.u64 = token;
    int cop = op == 0 ? EPOLL_CTL_ADD : op == 1 ? EPOLL_CTL_MOD : EPOLL_CTL_DEL;
    return epoll_ctl(epfd, cop, fd, &ev);
}

int ck_epoll_wait(int epfd, uint64_t *tokens, uint32_t *events, int max, int timeout_ms) {
    struct epoll_event evs[256];
    if (max > 256) max = 256;
    int n = epoll_wait(epfd, evs, max, timeout_ms);
    for (int i = 0; i < n; i++) {
        uint32_t e = 0;
        if (evs[i].events & EPOLLIN) e |= CK_EVENT_READ;
        if (evs[i].events & EPOLLOUT) e |= CK_EVENT_WRITE;
        if (evs[i].events & (EPOLLHUP | EPOLLRDHUP)) e |= CK_EVENT_HANGUP;
        if (evs[i].events & EPOLLERR) e |= CK_EVENT_ERROR;
        tokens[i] = evs[i].data.u64;
        events[i] = e;
    }
    return n;
}

int ck_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

int ck_eventfd_signal(int fd) {
    uint64_t one = 1;
    return write(fd, &one, sizeof one) == sizeof one ? 0 : -1;
}

void ck_eventfd_drain(int fd) {
    uint64_t value;
    while (read(fd, &value, sizeof value) == sizeof value) {}
}

#else
int ck_epoll_create(void) { errno = ENOSYS; return -1; }
int ck_epoll_ctl(int epfd, int op, int fd, uint32_t interest, uint64_t token) { (void)epfd; (void)op; (void)fd; (void)interest; (void)token; errno = ENOSYS; return -1; }
int ck_epoll_wait(int epfd, uint64_t *tokens, uint32_t *events, int max, int timeout_ms) { (void)epfd; (void)tokens; (void)events; (void)max; (void)timeout_ms; errno = ENOSYS; return -1; }
int ck_eventfd(void) { errno = ENOSYS; return -1; }
int ck_eventfd_signal(int fd) { (void)fd; errno = ENOSYS; return -1; }
void ck_eventfd_drain(int fd) { (void)fd; }
#endif
