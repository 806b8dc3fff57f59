/* The Windows baseline, "one per write": a message-mode named pipe, each
 * socket sent as its own WriteFile of one WSAPROTOCOL_INFOW made by
 * WSADuplicateSocketW for the child, rebuilt there by WSASocketW after one
 * ReadFile.  Plain synchronous pipe I/O, as a program without a library
 * would write it.  Plus the driver's OS helpers. */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef PSAPI_VERSION
#define PSAPI_VERSION 2 /* K32GetProcessMemoryInfo, in kernel32 */
#endif

#include "bench/bench.h"

#include <winsock2.h>
#include <windows.h>
#include <psapi.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- OS helpers -------------------------------------------------------- */

const char *const bench_os_name = "windows";

static double qpc_us; /* microseconds per performance-counter tick */

void bench_os_init(void) {
  WSADATA wsa;
  LARGE_INTEGER f;
  WSAStartup(MAKEWORD(2, 2), &wsa);
  QueryPerformanceFrequency(&f);
  qpc_us = 1e6 / (double)f.QuadPart;
}

double bench_now_us(void) {
  LARGE_INTEGER t;
  QueryPerformanceCounter(&t);
  return (double)t.QuadPart * qpc_us;
}

long bench_peak_rss_kib(void) {
  PROCESS_MEMORY_COUNTERS pmc;
  if (!GetProcessMemoryInfo(GetCurrentProcess(), &pmc, sizeof pmc)) return -1;
  return (long)(pmc.PeakWorkingSetSize / 1024);
}

handoff_sock_t bench_udp_socket(void) {
  return socket(AF_INET, SOCK_DGRAM, 0);
}

void bench_close_sock(handoff_sock_t s) { closesocket(s); }

int bench_pin(int which) {
  static DWORD_PTR orig;
  DWORD_PTR proc, sys, bit;
  int seen = 0;
  if (which < 0) {
    if (orig != 0) SetThreadAffinityMask(GetCurrentThread(), orig);
    return 0;
  }
  if (!GetProcessAffinityMask(GetCurrentProcess(), &proc, &sys)) return -1;
  for (bit = 1; bit != 0; bit <<= 1) {
    DWORD_PTR old;
    if ((proc & bit) == 0 || seen++ != which) continue;
    old = SetThreadAffinityMask(GetCurrentThread(), bit);
    if (old == 0) return -1;
    if (orig == 0) orig = old;
    return 0;
  }
  return -1;
}

/* ---- The baseline ------------------------------------------------------ */

struct bench_raw {
  HANDLE pipe;
  HANDLE proc;    /* the child, in the parent; NULL in the child */
  DWORD peer_pid; /* whom WSADuplicateSocketW duplicates for */
};

#define INFO_SIZE sizeof(WSAPROTOCOL_INFOW)

int bench_raw_spawn(const char *self, bench_raw_t **out) {
  static unsigned serial;
  bench_raw_t *c = malloc(sizeof *c);
  char name[96], exe[MAX_PATH], *cmd;
  STARTUPINFOA si;
  PROCESS_INFORMATION pi;
  size_t n;

  (void)self; /* the module's own path is more reliable than argv[0] */
  if (c == NULL) return HANDOFF_ENOMEM;
  snprintf(name, sizeof name, "\\\\.\\pipe\\handoff-bench-raw-%lu-%u",
           (unsigned long)GetCurrentProcessId(), serial++);
  c->pipe = CreateNamedPipeA(
      name, PIPE_ACCESS_DUPLEX | FILE_FLAG_FIRST_PIPE_INSTANCE,
      PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT |
          PIPE_REJECT_REMOTE_CLIENTS,
      1, 65536, 65536, 0, NULL);
  if (c->pipe == INVALID_HANDLE_VALUE) {
    free(c);
    return HANDOFF_ESYS;
  }
  GetModuleFileNameA(NULL, exe, sizeof exe);
  n = strlen(exe) + strlen(name) + 32;
  cmd = malloc(n);
  if (cmd == NULL) {
    CloseHandle(c->pipe);
    free(c);
    return HANDOFF_ENOMEM;
  }
  snprintf(cmd, n, "\"%s\" child raw %s", exe, name);
  memset(&si, 0, sizeof si);
  si.cb = sizeof si;
  if (!CreateProcessA(exe, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi)) {
    free(cmd);
    CloseHandle(c->pipe);
    free(c);
    return HANDOFF_ESYS;
  }
  free(cmd);
  CloseHandle(pi.hThread);
  if (!ConnectNamedPipe(c->pipe, NULL) &&
      GetLastError() != ERROR_PIPE_CONNECTED) {
    TerminateProcess(pi.hProcess, 1);
    CloseHandle(pi.hProcess);
    CloseHandle(c->pipe);
    free(c);
    return HANDOFF_ESYS;
  }
  c->proc = pi.hProcess;
  c->peer_pid = pi.dwProcessId;
  *out = c;
  return 0;
}

int bench_raw_child(const char *arg, bench_raw_t **out) {
  bench_raw_t *c = malloc(sizeof *c);
  DWORD mode = PIPE_READMODE_MESSAGE;
  ULONG pid = 0;
  if (c == NULL) return HANDOFF_ENOMEM;
  c->pipe = CreateFileA(arg, GENERIC_READ | GENERIC_WRITE, 0, NULL,
                        OPEN_EXISTING, 0, NULL);
  if (c->pipe == INVALID_HANDLE_VALUE ||
      !SetNamedPipeHandleState(c->pipe, &mode, NULL, NULL)) {
    free(c);
    return HANDOFF_ESYS;
  }
  GetNamedPipeServerProcessId(c->pipe, &pid);
  c->proc = NULL;
  c->peer_pid = (DWORD)pid;
  *out = c;
  return 0;
}

static int write_msg(bench_raw_t *c, const void *p, size_t n) {
  DWORD w;
  if (!WriteFile(c->pipe, p, (DWORD)n, &w, NULL))
    return GetLastError() == ERROR_NO_DATA ? HANDOFF_ECLOSED : HANDOFF_ESYS;
  return w == (DWORD)n ? 0 : HANDOFF_ESYS;
}

int bench_raw_send(bench_raw_t *c, const handoff_sock_t *socks, size_t nsocks,
                   const void *data, size_t len) {
  WSAPROTOCOL_INFOW info;
  size_t i;
  int r;
  for (i = 0; i < nsocks; i++) {
    if (WSADuplicateSocketW(socks[i], c->peer_pid, &info) != 0)
      return HANDOFF_ESYS;
    if ((r = write_msg(c, &info, INFO_SIZE)) != 0) return r;
  }
  if (len != 0) return write_msg(c, data, len);
  return 0;
}

int bench_raw_recv(bench_raw_t *c, handoff_sock_t *socks, size_t *nsocks,
                   void *data, size_t *len) {
  union {
    WSAPROTOCOL_INFOW info;
    unsigned char b[INFO_SIZE + 64];
  } u;
  DWORD got = 0, err;
  SOCKET s;

  if (!ReadFile(c->pipe, u.b, sizeof u.b, &got, NULL)) {
    err = GetLastError();
    return err == ERROR_BROKEN_PIPE || err == ERROR_PIPE_NOT_CONNECTED
               ? HANDOFF_ECLOSED
               : HANDOFF_ESYS;
  }
  if (got == INFO_SIZE) {
    if (*nsocks < 1) return HANDOFF_ETOOBIG;
    s = WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO,
                   &u.info, 0,
                   WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
    if (s == INVALID_SOCKET) return HANDOFF_ETRUNC;
    socks[0] = s;
    *nsocks = 1;
    *len = 0;
    return 0;
  }
  if (got > *len) return HANDOFF_ETOOBIG;
  memcpy(data, u.b, got);
  *nsocks = 0;
  *len = got;
  return 0;
}

int bench_raw_close(bench_raw_t *c) {
  DWORD code = 1;
  int r = 0;
  if (c->proc != NULL) {
    /* Reap first: the child reads everything we wrote before it exits. */
    if (WaitForSingleObject(c->proc, 30000) != WAIT_OBJECT_0 ||
        !GetExitCodeProcess(c->proc, &code) || code != 0)
      r = HANDOFF_ESYS;
    CloseHandle(c->proc);
  }
  CloseHandle(c->pipe);
  free(c);
  return r;
}
