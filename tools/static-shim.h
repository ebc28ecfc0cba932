/* tools/static-shim.h: included before every source by tools/check-static,
   never by a build. Some of Dovecot's macros are written for gcc and the
   analyzers misread them; here they get plain equivalents. lib.h and
   array.h have include guards, so the sources' own includes of them
   change nothing. */
#include "lib.h"
#include "array.h"
#include <assert.h>

/* an assertion as the analyzers know one: the condition holds after it
   (i_panic() carries no noreturn attribute for cppcheck, so every
   i_assert() read as a mere check) */
#undef i_assert
#define i_assert(expr) assert(expr)

/* p_new() multiplies through malloc_multiply_check(sizeof(sizeof(type)),
   which clang-tidy reports as sizeof(sizeof(...)) at every call */
#undef p_new
#define p_new(pool, type, count) \
	((type *)p_malloc(pool, sizeof(type) * (count)))

/* cppcheck's preprocessor expands e_error() & co. again inside their own
   expansion and then reports _tmp_event as used uninitialized; calling
   the functions directly keeps what matters, the format checks */
#undef e_error
#define e_error(_event, ...) (e_error)(_event, __FILE__, __LINE__, __VA_ARGS__)
#undef e_warning
#define e_warning(_event, ...) \
	(e_warning)(_event, __FILE__, __LINE__, __VA_ARGS__)
#undef e_info
#define e_info(_event, ...) (e_info)(_event, __FILE__, __LINE__, __VA_ARGS__)
#undef e_debug
#define e_debug(_event, ...) (e_debug)(_event, __FILE__, __LINE__, __VA_ARGS__)

/* t_new() too */
#undef t_new
#define t_new(type, count) ((type *)t_malloc0(sizeof(type) * (count)))

/* arrays of pointers: the element size is sizeof(pointer) by design,
   which clang-tidy's bugprone-sizeof-expression reports as "sizeof(A*)"
   in these two macros; the same sizes, taken of types */
#undef p_array_init
#define p_array_init(array, pool, init_count) \
	array_create(array, pool, sizeof(__typeof__(**(array)->v)), init_count)
#undef array_foreach_elem
#define array_foreach_elem(array, elem) \
	for (const void *_foreach_end = \
		CONST_PTR_OFFSET(*(array)->v, (array)->arr.buffer->used), \
	     *_foreach_ptr = CONST_PTR_OFFSET(*(array)->v, 0) \
		     ; \
	     (_foreach_ptr != _foreach_end && \
	     (memcpy(&elem, _foreach_ptr, sizeof(__typeof__(elem))), TRUE)) \
		; \
	     _foreach_ptr = CONST_PTR_OFFSET(_foreach_ptr, \
					     sizeof(__typeof__(elem))))
