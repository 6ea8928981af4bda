#include "ck_curl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

typedef void CURL;
typedef int (*easy_setopt_fn)(CURL *, int, ...);
typedef int (*easy_getinfo_fn)(CURL *, int, ...);

static struct {
    int loaded;
    char error[256];
    int (*global_init)(long);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *);
    easy_setopt_fn easy_setopt;
    easy_getinfo_fn easy_getinfo;
    int (*easy_perform)(CURL *);
    int (*easy_send)(CURL *, const void *, size_t, size_t *);
    int (*easy_recv)(CURL *, void *, size_t, size_t *);
    const char *(*easy_strerror)(int);
} curl;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static void load(void) {
    const char *names[] = {
#if defined(__APPLE__)
        "libcurl.4.dylib", "libcurl.dylib",
#else
        "libcurl.so.4", "libcurl.so", "libcurl-gnutls.so.4",
#endif
        NULL };
    void *lib = NULL;
    for (int i = 0; names[i] && !lib; i++) lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char *reason = dlerror();
        snprintf(curl.error, sizeof curl.error, "cannot load libcurl: %s", reason ? reason : "not found");
        return;
    }
#define RESOLVE(field, symbol) \
    do { *(void **)(&curl.field) = dlsym(lib, symbol); \
         if (!curl.field) { snprintf(curl.error, sizeof curl.error, "libcurl lacks %s", symbol); return; } } while (0)
    RESOLVE(global_init, "curl_global_init");
    RESOLVE(easy_init, "curl_easy_init");
    RESOLVE(easy_cleanup, "curl_easy_cleanup");
    RESOLVE(easy_setopt, "curl_easy_setopt");
    RESOLVE(easy_getinfo, "curl_easy_getinfo");
    RESOLVE(easy_perform, "curl_easy_perform");
    RESOLVE(easy_send, "curl_easy_send");
    RESOLVE(easy_recv, "curl_easy_recv");
    RESOLVE(easy_strerror, "curl_easy_strerror");
#undef RESOLVE
    // CURL_GLOBAL_ALL = 3. Harmless if FoundationNetworking already initialised curl.
    if (curl.global_init(3) != 0) {
        snprintf(curl.error, sizeof curl.error, "curl_global_init failed");
        return;
    }
    curl.loaded = 1;
}

int ck_curl_load(char *errbuf, size_t errlen) {
    pthread_once(&load_once, load);
    if (curl.loaded) return 0;
    if (errbuf && errlen) snprintf(errbuf, errlen, "%s", curl.error);
    return -1;
}

void *ck_curl_easy_init(void) { return curl.loaded ? curl.easy_init() : NULL; }
void ck_curl_easy_cleanup(void *handle) { if (curl.loaded && handle) curl.easy_cleanup(handle); }
int ck_curl_setopt_long(void *handle, int option, long value) { return curl.easy_setopt(handle, option, value); }
int ck_curl_setopt_string(void *handle, int option, const char *value) { return curl.easy_setopt(handle, option, value); }
int ck_curl_easy_perform(void *handle) { return curl.easy_perform(handle); }
int ck_curl_easy_send(void *handle, const void *buffer, size_t length, size_t *sent) {
    return curl.easy_send(handle, buffer, length, sent);
}
int ck_curl_easy_recv(void *handle, void *buffer, size_t length, size_t *received) {
    return curl.easy_recv(handle, buffer, length, received);
}
int ck_curl_active_socket(void *handle, long long *socket) {
    // curl_socket_t is int on POSIX; CURLINFO_ACTIVESOCKET = CURLINFO_SOCKET (0x500000) + 44.
    int fd = -1;
    int rc = curl.easy_getinfo(handle, 0x500000 + 44, &fd);
    *socket = fd;
    return rc;
}
const char *ck_curl_strerror(int code) { return curl.loaded ? curl.easy_strerror(code) : "libcurl not loaded"; }
