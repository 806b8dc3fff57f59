/* Relaxed atomic access to an int that one thread writes while another
 * reads it (a channel's sticky failure: one sender plus one receiver may
 * use a channel at once).  Relaxed is enough: the value is a flag read on
 * its own, not a guard that publishes other data.
 *
 * A field declared handoff__atomic_int is only ever read with
 * HANDOFF__LOAD(field) and written with HANDOFF__STORE(field, v); plain
 * reads and writes of it are not allowed (with stdatomic they would be
 * sequentially consistent and slower, with the builtins a data race).
 * configure picks the implementation:
 *  - the GCC/clang __atomic builtins (gcc 4.7+, clang, mingw-w64 gcc) on a
 *    plain int: relaxed loads and stores of an aligned int compile to
 *    ordinary moves on every target we build;
 *  - else C11 <stdatomic.h> on an _Atomic int (atomic_load_explicit /
 *    atomic_store_explicit with memory_order_relaxed).  Casting a plain int
 *    to _Atomic is not allowed by C11 (the representations may differ), so
 *    the field type itself changes;
 *  - else configure stops: there is no correct fallback (volatile is not
 *    atomic in C). */
#ifndef HANDOFF_ATOMIC_H
#define HANDOFF_ATOMIC_H

#include "config.h"

#if defined(HANDOFF_ATOMIC_BUILTINS)
typedef int handoff__atomic_int;
#define HANDOFF__LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define HANDOFF__STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#elif defined(HANDOFF_ATOMIC_STDATOMIC)
#include <stdatomic.h>
typedef _Atomic int handoff__atomic_int;
#define HANDOFF__LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)
#define HANDOFF__STORE(x, v) \
  atomic_store_explicit(&(x), (v), memory_order_relaxed)
#else
#error "configure found no atomic int access (see configure.ac)"
#endif

#endif /* HANDOFF_ATOMIC_H */
