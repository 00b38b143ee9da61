/* The SSE/MMX/x87 differential tests again, through the whole software CPU
 * (emu's decoder, block cache, executor and MMU) instead of calling the
 * handlers directly: this catches decoding mistakes (ModRM, immediates,
 * prefixes) in the forms the handlers own. */
#define EMU_SIMD_REAL 1
#include <math.h>

#include "check.h"
#include "emu_simd_diff.h"
#include "emu_simd_specs.h"

int main(void)
{
    cases_per_form = 40;
    x87_cases = 12;
    if (getenv("EMU_SSE_CASES"))
        cases_per_form = x87_cases = (unsigned)atoi(getenv("EMU_SSE_CASES"));
    RUN_TEST(sse_moves_and_integer_match_host);
    RUN_TEST(sse_float_matches_host);
    RUN_TEST(sse_string_compares_match_host);
    RUN_TEST(x87_register_forms_match_host);
    RUN_TEST(x87_memory_forms_match_host);
    return CHECK_DONE();
}
