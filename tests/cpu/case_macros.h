/* Assembler macros for the case tables: CASE name, kind, arg ... ENDC
 * brackets one snippet and adds {name, start, end, kind, arg} to the
 * cpu_cases section the runner walks.  Snippets must be position
 * independent, must not use local labels 97-99, and see:
 *   rax = a, rbx = b, rcx = count, rdx = d, rsi -> mem {b, a, ...},
 *   rdi -> second data buffer, rbp -> data, rsp -> stack, r8-r15 random. */
#include "cases.h"

.macro CASE name, kind=0, arg=0
        .pushsection .rodata.cpu_case_names,"a"
99:     .asciz "\name"
        .popsection
        .pushsection cpu_cases,"aw"
        .quad 99b, 98f, 97f, \kind, \arg
        .popsection
98:
.endm
.macro ENDC
97:
.endm
