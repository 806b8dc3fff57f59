/* What CreateProcessW is given for handoff_spawn: the command line, quoted
 * so that the child's C runtime gives back the same argv, and the program,
 * resolved here so that Windows searches nothing itself. */
#include "internal.h"
#include "spawn.h"

#include <stdlib.h>
#include <string.h>
#include <wchar.h>

/* CreateProcessW's limit on lpCommandLine, terminating NUL included
 * ("CreateProcessW function", Remarks: "The maximum length of this string
 * is 32,767 characters, including the Unicode terminating null
 * character"). */
#define CMDLINE_MAX 32767

/* ---- Command line ------------------------------------------------------ */

static int widen(const char *s, WCHAR **out) {
  int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
  if (n <= 0) return handoff__oserr((int)GetLastError(), HANDOFF_EINVAL);
  *out = malloc((size_t)n * sizeof(WCHAR));
  if (*out == NULL) return handoff__err(HANDOFF_ENOMEM);
  MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, *out, n);
  return 0;
}

/* s quoted so that CommandLineToArgvW (and the C runtime) give it back;
 * writes to out if not NULL, returns the length.  The program name follows
 * CreateProcess's simpler rule: quotes around it, no escapes inside. */
static size_t quote(WCHAR *out, const WCHAR *s, int program) {
  size_t n = 0, i, bs, k;
  int plain = s[0] != 0;
  for (i = 0; s[i] != 0; i++)
    if (s[i] == L' ' || s[i] == L'\t' || s[i] == L'\n' || s[i] == L'\v' ||
        s[i] == L'"')
      plain = 0;
#define PUT(ch)                                                              \
  do {                                                                       \
    if (out != NULL) out[n] = (ch);                                          \
    n++;                                                                     \
  } while (0)
  if (plain) {
    for (i = 0; s[i] != 0; i++) PUT(s[i]);
    return n;
  }
  PUT(L'"');
  for (i = 0; s[i] != 0; i++) {
    for (bs = 0; !program && s[i] == L'\\'; i++) bs++;
    /* Backslashes double only before a quote (ours or an escaped one). */
    if (s[i] == 0 || s[i] == L'"') bs *= 2;
    for (k = 0; k < bs; k++) PUT(L'\\');
    if (s[i] == 0) break;
    if (s[i] == L'"') PUT(L'\\');
    PUT(s[i]);
  }
  PUT(L'"');
#undef PUT
  return n;
}

int handoff__win_cmdline(const char *const argv[], WCHAR **out) {
  WCHAR *cmd = NULL, *w = NULL;
  size_t total = 0, n = 0, i;
  int pass, r;

  for (pass = 0; pass < 2; pass++) {
    for (i = 0; argv[i] != NULL; i++) {
      r = widen(argv[i], &w);
      if (r != 0) {
        free(cmd);
        return r;
      }
      /* No file name holds a quote, and CreateProcess cannot take one. */
      if (i == 0 && (w[0] == 0 || wcschr(w, L'"') != NULL)) {
        free(w);
        free(cmd);
        return handoff__err(HANDOFF_ENOENT);
      }
      if (i > 0) {
        if (cmd != NULL) cmd[n] = L' ';
        n++;
      }
      n += quote(cmd != NULL ? cmd + n : NULL, w, i == 0);
      free(w);
    }
    if (pass == 0) {
      if (n + 1 > CMDLINE_MAX) return handoff__err(HANDOFF_EINVAL);
      total = n;
      n = 0;
      cmd = malloc((total + 1) * sizeof(WCHAR));
      if (cmd == NULL) return handoff__err(HANDOFF_ENOMEM);
    }
  }
  cmd[total] = 0;
  *out = cmd;
  return 0;
}

/* ---- Finding the program ----------------------------------------------- */

/* The extension of the last path component (".exe"), or NULL. */
static const WCHAR *extension(const WCHAR *path) {
  const WCHAR *base = path, *p, *dot = NULL;
  for (p = path; *p != 0; p++)
    if (*p == L'\\' || *p == L'/' || *p == L':') base = p + 1;
  for (p = base; *p != 0; p++)
    if (*p == L'.') dot = p;
  return dot;
}

static int ext_is(const WCHAR *ext, const WCHAR *what) {
  return ext != NULL &&
         CompareStringOrdinal(ext, -1, what, -1, TRUE) == CSTR_EQUAL;
}

/* .bat and .cmd run through cmd.exe, which parses the command line again:
 * never start one. */
static int is_batch(const WCHAR *path) {
  const WCHAR *ext = extension(path);
  return ext_is(ext, L".bat") || ext_is(ext, L".cmd");
}

static int is_file(const WCHAR *path) {
  DWORD a = GetFileAttributesW(path);
  return a != INVALID_FILE_ATTRIBUTES && !(a & FILE_ATTRIBUTE_DIRECTORY);
}

/* dir (dl characters, may be 0) + '\' + name + ext, malloc'd. */
static WCHAR *join(const WCHAR *dir, size_t dl, const WCHAR *name,
                   const WCHAR *ext) {
  size_t nl = wcslen(name), el = wcslen(ext);
  WCHAR *out = malloc((dl + nl + el + 2) * sizeof(WCHAR));
  if (out == NULL) return NULL;
  memcpy(out, dir, dl * sizeof(WCHAR));
  if (dl > 0 && dir[dl - 1] != L'\\' && dir[dl - 1] != L'/') out[dl++] = L'\\';
  memcpy(out + dl, name, nl * sizeof(WCHAR));
  memcpy(out + dl + nl, ext, (el + 1) * sizeof(WCHAR));
  return out;
}

/* Look for name in one directory (dl == 0: name is a path as given).
 * 0 found (*out), 1 not there, or an error.  *batch is set when a batch
 * file answers to the name, as PATHEXT would find it. */
static int try_dir(const WCHAR *dir, size_t dl, const WCHAR *name,
                   WCHAR **out, int *batch) {
  static const WCHAR *const batch_ext[] = {L".bat", L".cmd"};
  int has_ext = extension(name) != NULL;
  WCHAR *cand = join(dir, dl, name, has_ext ? L"" : L".exe");
  size_t i;
  if (cand == NULL) return handoff__err(HANDOFF_ENOMEM);
  if (is_file(cand) && !is_batch(cand)) {
    *out = cand;
    return 0;
  }
  if (is_file(cand)) *batch = 1; /* named with its extension */
  for (i = 0; !has_ext && i < 2; i++) {
    free(cand);
    cand = join(dir, dl, name, batch_ext[i]);
    if (cand == NULL) return handoff__err(HANDOFF_ENOMEM);
    if (is_file(cand)) *batch = 1;
  }
  free(cand);
  return 1;
}

/* Resolve argv[0] as include/handoff.h says: a name with a directory
 * separator as given, any other in PATH's directories only; ".exe" added
 * to a name without extension.  ENOENT, or EINVAL for a batch file. */
static int find_in_path(const WCHAR *name, WCHAR **out) {
  WCHAR *path = NULL, *p, *end;
  DWORD n;
  int r = 1, batch = 0;
  if (wcspbrk(name, L"\\/:") != NULL) {
    r = try_dir(L"", 0, name, out, &batch);
  } else if ((n = GetEnvironmentVariableW(L"PATH", NULL, 0)) > 0 &&
             (path = malloc(n * sizeof(WCHAR))) != NULL &&
             GetEnvironmentVariableW(L"PATH", path, n) < n) {
    for (p = path; r == 1 && *p != 0; p = *end != 0 ? end + 1 : end) {
      end = wcschr(p, L';');
      if (end == NULL) end = p + wcslen(p);
      if (*p == L'"' && end - p >= 2 && end[-1] == L'"') { /* "C:\a b" */
        end[-1] = 0;
        r = try_dir(p + 1, (size_t)(end - p - 2), name, out, &batch);
        end[-1] = L'"';
      } else if (end > p) {
        r = try_dir(p, (size_t)(end - p), name, out, &batch);
      }
    }
  } else if (n > 0 && path == NULL) {
    r = handoff__err(HANDOFF_ENOMEM);
  }
  free(path);
  if (r != 1) return r;
  if (batch) return handoff__err(HANDOFF_EINVAL); /* our refusal, not the OS's */
  return handoff__oserr(ERROR_FILE_NOT_FOUND, HANDOFF_ENOENT);
}

int handoff__win_find_program(const char *argv0, WCHAR **out) {
  WCHAR *name = NULL;
  int r = widen(argv0, &name);
  if (r == 0) r = find_in_path(name, out);
  free(name);
  return r;
}
