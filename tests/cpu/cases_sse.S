/* SSE..SSE4.2 and x87 forms for the differential test (tests/cpu/cpu_diff.c). */
#include "case_macros.h"

        .text

        .section .note.GNU-stack,"",@progbits
