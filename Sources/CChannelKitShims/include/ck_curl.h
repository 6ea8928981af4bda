// A tiny C shim that loads libcurl at run time (dlopen) so ChannelKit builds without
// curl headers or a -dev package, and wraps curl's variadic calls, which Swift cannot
// call directly. Option and info numbers are curl's ABI-stable constants.
#ifndef CK_CURL_H
#define CK_CURL_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Loads libcurl (once per process) and resolves the functions used. Returns 0 on
/// success; otherwise writes a message into `errbuf` and returns -1. Thread-safe.
int ck_curl_load(char *errbuf, size_t errlen);

void *ck_curl_easy_init(void);
void ck_curl_easy_cleanup(void *handle);
int ck_curl_setopt_long(void *handle, int option, long value);
int ck_curl_setopt_string(void *handle, int option, const char *value);
int ck_curl_easy_perform(void *handle);
int ck_curl_easy_send(void *handle, const void *buffer, size_t length, size_t *sent);
int ck_curl_easy_recv(void *handle, void *buffer, size_t length, size_t *received);
/// CURLINFO_ACTIVESOCKET; returns the curl code, stores the socket (or -1).
int ck_curl_active_socket(void *handle, long long *socket);
const char *ck_curl_strerror(int code);

#ifdef __cplusplus
}
#endif

#endif
