/* The x86 decoder: legacy prefixes, REX, the one-, two- and three-byte
 * opcode maps, ModRM/SIB (16-, 32- and 64-bit addressing, RIP-relative)
 * and immediates, from bytes to struct emu_insn.  Blocks are decoded from
 * RAM by cache.c through emu_decode_bytes(); emu_decode() serves the rest. */
#include <pthread.h>
#include <string.h>

#include "engine/emu/cache.h"
#include "engine/emu/ops.h"

/* Per-opcode attributes. */
#define A_M      0x0001   /* has ModRM */
#define A_IMM    0x001e   /* immediate kind, below */
#define A_D64    0x0020   /* operand size defaults to 64 in 64-bit mode */
#define A_F64    0x0040   /* operand size is 64 in 64-bit mode (near branches) */
#define A_I64    0x0080   /* invalid in 64-bit mode */
#define A_END    0x0100   /* ends a decoded block (control transfer, mode change) */
#define A_LOCK   0x0200   /* LOCK allowed (with a memory destination) */

#define I_NONE  (0 << 1)
#define I_B     (1 << 1)  /* imm8, sign-extended */
#define I_W     (2 << 1)  /* imm16, zero-extended */
#define I_Z     (3 << 1)  /* imm16/32 by operand size, sign-extended */
#define I_V     (4 << 1)  /* imm16/32/64 by operand size */
#define I_WB    (5 << 1)  /* ENTER: imm16 then imm8 */
#define I_FAR   (6 << 1)  /* ptr16:16/32: offset in imm, selector in imm2 */
#define I_MOFFS (7 << 1)  /* address-size offset (A0-A3) */
#define I_GRP3  (8 << 1)  /* F6/F7: immediate only for /0 and /1 */

static uint16_t attr[4][256];

static void set_attr(int map, int lo, int hi, uint16_t a)
{
    for (int op = lo; op <= hi; op++)
        attr[map][op] |= a;
}

static void attr_init(void)
{
    /* One-byte map. */
    for (int b = 0; b < 0x40; b += 8) {
        set_attr(MAP_1, b, b + 3, A_M);
        set_attr(MAP_1, b + 4, b + 4, I_B);
        set_attr(MAP_1, b + 5, b + 5, I_Z);
        if (b != 0x38)
            set_attr(MAP_1, b, b + 1, A_LOCK);
    }
    static const uint8_t inv64[] = { 0x06, 0x07, 0x0e, 0x16, 0x17, 0x1e, 0x1f, 0x27, 0x2f,
                                     0x37, 0x3f, 0x60, 0x61, 0x62, 0x82, 0xce, 0xd4, 0xd5, 0xd6 };
    for (unsigned k = 0; k < sizeof(inv64); k++)
        attr[MAP_1][inv64[k]] |= A_I64;
    set_attr(MAP_1, 0x07, 0x07, A_END);
    set_attr(MAP_1, 0x17, 0x17, A_END);
    set_attr(MAP_1, 0x1f, 0x1f, A_END);
    set_attr(MAP_1, 0x50, 0x5f, A_D64);
    set_attr(MAP_1, 0x62, 0x63, A_M);
    set_attr(MAP_1, 0x68, 0x68, I_Z | A_D64);
    set_attr(MAP_1, 0x69, 0x69, A_M | I_Z);
    set_attr(MAP_1, 0x6a, 0x6a, I_B | A_D64);
    set_attr(MAP_1, 0x6b, 0x6b, A_M | I_B);
    set_attr(MAP_1, 0x6c, 0x6f, A_END);
    /* Conditional branches do not end a block: exec.c leaves the block
     * when one is taken. */
    set_attr(MAP_1, 0x70, 0x7f, I_B | A_F64);
    set_attr(MAP_1, 0x80, 0x80, A_M | I_B | A_LOCK);
    set_attr(MAP_1, 0x81, 0x81, A_M | I_Z | A_LOCK);
    set_attr(MAP_1, 0x82, 0x83, A_M | I_B | A_LOCK);
    set_attr(MAP_1, 0x84, 0x8f, A_M);
    set_attr(MAP_1, 0x86, 0x87, A_LOCK);
    set_attr(MAP_1, 0x8e, 0x8e, A_END);
    set_attr(MAP_1, 0x8f, 0x8f, A_D64);
    set_attr(MAP_1, 0x9a, 0x9a, I_FAR | A_I64 | A_END);
    set_attr(MAP_1, 0x9c, 0x9d, A_D64 | A_END);
    set_attr(MAP_1, 0xa0, 0xa3, I_MOFFS);
    set_attr(MAP_1, 0xa8, 0xa8, I_B);
    set_attr(MAP_1, 0xa9, 0xa9, I_Z);
    set_attr(MAP_1, 0xb0, 0xb7, I_B);
    set_attr(MAP_1, 0xb8, 0xbf, I_V);
    set_attr(MAP_1, 0xc0, 0xc1, A_M | I_B);
    set_attr(MAP_1, 0xc2, 0xc2, I_W | A_F64 | A_END);
    set_attr(MAP_1, 0xc3, 0xc3, A_F64 | A_END);
    set_attr(MAP_1, 0xc4, 0xc5, A_M | A_I64 | A_END);
    set_attr(MAP_1, 0xc6, 0xc6, A_M | I_B);
    set_attr(MAP_1, 0xc7, 0xc7, A_M | I_Z);
    set_attr(MAP_1, 0xc8, 0xc8, I_WB | A_D64);
    set_attr(MAP_1, 0xc9, 0xc9, A_D64);
    set_attr(MAP_1, 0xca, 0xca, I_W | A_END);
    set_attr(MAP_1, 0xcb, 0xcc, A_END);
    set_attr(MAP_1, 0xcd, 0xcd, I_B | A_END);
    set_attr(MAP_1, 0xce, 0xcf, A_END);
    set_attr(MAP_1, 0xd0, 0xd3, A_M);
    set_attr(MAP_1, 0xd4, 0xd5, I_B);
    set_attr(MAP_1, 0xd8, 0xdf, A_M);
    set_attr(MAP_1, 0xe0, 0xe3, I_B | A_F64);
    set_attr(MAP_1, 0xe4, 0xe7, I_B | A_END);
    set_attr(MAP_1, 0xe8, 0xe9, I_Z | A_F64 | A_END);
    set_attr(MAP_1, 0xea, 0xea, I_FAR | A_I64 | A_END);
    set_attr(MAP_1, 0xeb, 0xeb, I_B | A_F64 | A_END);
    set_attr(MAP_1, 0xec, 0xef, A_END);
    set_attr(MAP_1, 0xf1, 0xf1, A_END);
    set_attr(MAP_1, 0xf4, 0xf4, A_END);
    set_attr(MAP_1, 0xf6, 0xf7, A_M | I_GRP3 | A_LOCK);
    set_attr(MAP_1, 0xfa, 0xfb, A_END);
    set_attr(MAP_1, 0xfe, 0xff, A_M | A_LOCK);

    /* Two-byte map: ModRM unless listed. */
    set_attr(MAP_0F, 0x00, 0xff, A_M);
    static const uint8_t nomodrm[] = { 0x05, 0x06, 0x07, 0x08, 0x09, 0x0b, 0x0e, 0x30, 0x31, 0x32,
                                       0x33, 0x34, 0x35, 0x36, 0x37, 0x77, 0xa0, 0xa1, 0xa2, 0xa8,
                                       0xa9, 0xaa };
    for (unsigned k = 0; k < sizeof(nomodrm); k++)
        attr[MAP_0F][nomodrm[k]] &= (uint16_t)~A_M;
    for (int op = 0x80; op <= 0x8f; op++)
        attr[MAP_0F][op] = I_Z | A_F64;
    for (int op = 0xc8; op <= 0xcf; op++)
        attr[MAP_0F][op] = 0;
    set_attr(MAP_0F, 0x70, 0x73, I_B);
    set_attr(MAP_0F, 0xa4, 0xa4, I_B);
    set_attr(MAP_0F, 0xac, 0xac, I_B);
    set_attr(MAP_0F, 0xba, 0xba, I_B | A_LOCK);
    set_attr(MAP_0F, 0xc2, 0xc2, I_B);
    set_attr(MAP_0F, 0xc4, 0xc6, I_B);
    static const uint8_t sys_end[] = { 0x00, 0x01, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0b, 0x20, 0x21,
                                       0x22, 0x23, 0x30, 0x32, 0x34, 0x35, 0xa1, 0xa9, 0xb2, 0xb4,
                                       0xb5, 0xaa };
    for (unsigned k = 0; k < sizeof(sys_end); k++)
        attr[MAP_0F][sys_end[k]] |= A_END;
    set_attr(MAP_0F, 0xa0, 0xa1, A_D64);
    set_attr(MAP_0F, 0xa8, 0xa9, A_D64);
    static const uint8_t lockok[] = { 0xab, 0xb3, 0xbb, 0xb0, 0xb1, 0xc0, 0xc1, 0xc7 };
    for (unsigned k = 0; k < sizeof(lockok); k++)
        attr[MAP_0F][lockok[k]] |= A_LOCK;

    set_attr(MAP_0F38, 0x00, 0xff, A_M);
    set_attr(MAP_0F3A, 0x00, 0xff, A_M | I_B);
}

static pthread_once_t attr_once = PTHREAD_ONCE_INIT;

void emu_decode_init(void)
{
    pthread_once(&attr_once, attr_init);
}

static HANDLER(op_too_long)
{
    (void)i;
    emu_raise(c, EXC_GP, 0);
}

/* Is LOCK allowed on this (memory-destination) form? */
static bool lock_ok(const struct emu_insn *d, uint16_t a)
{
    if (!(a & A_LOCK) || d->mod == 3)
        return false;
    unsigned g = (d->modrm >> 3) & 7;
    if (d->map == MAP_1) {
        switch (d->op) {
        case 0x80: case 0x81: case 0x82: case 0x83: return g != 7;
        case 0xf6: case 0xf7: return g == 2 || g == 3;
        case 0xfe: case 0xff: return g <= 1;
        default: return true;
        }
    }
    if (d->map == MAP_0F) {
        if (d->op == 0xba) return g >= 5;
        if (d->op == 0xc7) return g == 1;
    }
    return true;
}

bool emu_insn_ends_block(const struct emu_insn *d)
{
    if (d->kind == EK_INVALID)
        return true;
    if (attr[d->map][d->op] & A_END)
        return true;
    if (d->map == MAP_1) {
        if (d->op == 0xff) {
            unsigned g = (d->modrm >> 3) & 7;
            return g >= 2 && g <= 5;
        }
    }
    return false;
}

/* What an instruction does (enum emu_kind in ops.h), from its opcode. */
static uint8_t classify(const struct emu_insn *d, unsigned csize)
{
    unsigned g = (d->modrm >> 3) & 7;
    uint8_t op = d->op;
    if (d->prefix & PFX_VEX)
        return EK_OTHER;   /* the translator's VEX forms are jit_vex.c's, by opcode */
    if (d->map == MAP_1) {
        if (op < 0x40)
            return (op & 7) < 6 ? EK_ALU : EK_OTHER;
        if (op < 0x48)
            return EK_INC;   /* REX prefixes in 64-bit mode: never an opcode there */
        if (op < 0x50)
            return EK_DEC;
        if (op < 0x58)
            return EK_PUSH;
        if (op < 0x60)
            return EK_POP;
        if (op >= 0x70 && op <= 0x7f)
            return EK_JCC;
        if (op >= 0x80 && op <= 0x83)
            return EK_ALU;
        if (op >= 0x88 && op <= 0x8b)
            return EK_MOV;
        if (op >= 0x90 && op <= 0x97)
            return EK_XCHG;
        if (op >= 0xa0 && op <= 0xa3)
            return EK_MOV_MOFFS;
        if (op >= 0xb0 && op <= 0xbf)
            return EK_MOV_IMM;
        if (op >= 0xd0 && op <= 0xd3)
            return EK_SHIFT;
        switch (op) {
        case 0x63: return csize == 8 ? EK_MOVSXD : EK_OTHER;   /* ARPL elsewhere */
        case 0x68: case 0x6a: return EK_PUSH;
        case 0x69: case 0x6b: return EK_IMUL;
        case 0x84: case 0x85: case 0xa8: case 0xa9: return EK_TEST;
        case 0x86: case 0x87: return EK_XCHG;
        case 0x8d: return EK_LEA;
        case 0x8f: return g == 0 ? EK_POP : EK_OTHER;
        case 0x98: return EK_CBW;
        case 0x99: return EK_CWD;
        case 0xc0: case 0xc1: return EK_SHIFT;
        case 0xc2: case 0xc3: return EK_RET;
        case 0xc6: case 0xc7: return g == 0 ? EK_MOV : EK_OTHER;
        case 0xc9: return EK_LEAVE;
        case 0xe8: return EK_CALL;
        case 0xe9: case 0xeb: return EK_JMP;
        case 0xf6: case 0xf7: {
            static const uint8_t grp3[8] = { EK_TEST, EK_TEST, EK_NOT, EK_NEG,
                                             EK_MUL, EK_MUL, EK_DIV, EK_DIV };
            return grp3[g];
        }
        case 0xfe: return g == 0 ? EK_INC : g == 1 ? EK_DEC : EK_OTHER;
        case 0xff: {
            static const uint8_t grp5[8] = { EK_INC, EK_DEC, EK_CALL_IND, EK_OTHER,
                                             EK_JMP_IND, EK_OTHER, EK_PUSH, EK_OTHER };
            return grp5[g];
        }
        default: return EK_OTHER;
        }
    }
    if (d->map == MAP_0F) {
        if (op == 0x0d || (op >= 0x18 && op <= 0x1f))
            return EK_NOP;
        if (op >= 0x40 && op <= 0x4f)
            return EK_CMOV;
        if (op >= 0x80 && op <= 0x8f)
            return EK_JCC;
        if (op >= 0x90 && op <= 0x9f)
            return EK_SETCC;
        if (op >= 0xc8)
            return op <= 0xcf ? EK_BSWAP : EK_OTHER;
        switch (op) {
        case 0xa3: case 0xab: case 0xb3: case 0xbb: return EK_BT;
        case 0xba: return g >= 4 ? EK_BT : EK_OTHER;
        case 0xbc: return (d->prefix & PFX_REP) ? EK_OTHER : EK_BITSCAN;   /* F3: TZCNT */
        case 0xbd: return (d->prefix & PFX_REP) ? EK_OTHER : EK_BITSCAN;   /* F3: LZCNT */
        case 0xaf: return EK_IMUL;
        case 0xb6: case 0xb7: return EK_MOVZX;
        case 0xbe: case 0xbf: return EK_MOVSX;
        default: return EK_OTHER;
        }
    }
    return EK_OTHER;
}

#define NEXT(v)                                          \
    do {                                                 \
        if (n >= 15) goto too_long;                      \
        if (n >= avail) return EMU_DECODE_MORE;          \
        (v) = p[n++];                                    \
    } while (0)

static int fetch_imm(const uint8_t *p, unsigned avail, unsigned *np, unsigned size, uint64_t *out)
{
    unsigned n = *np;
    if (n + size > 15)
        return EMU_DECODE_TOO_LONG;
    if (n + size > avail)
        return EMU_DECODE_MORE;
    uint64_t v = 0;
    memcpy(&v, p + n, size);
    *out = v;
    *np = n + size;
    return 0;
}

#define IMM(size, dst)                                                  \
    do {                                                                \
        int r_ = fetch_imm(p, avail, &n, (size), (dst));                \
        if (r_ == EMU_DECODE_TOO_LONG) goto too_long;                   \
        if (r_) return r_;                                              \
    } while (0)

int emu_decode_bytes(const uint8_t *p, unsigned avail, unsigned csize, struct emu_insn *d)
{
    unsigned n = 0, pfx = 0, rex = 0;
    int seg = -1;
    uint8_t b;

    memset(d, 0, sizeof(*d));
    for (;;) {
        NEXT(b);
        switch (b) {
        case 0xf0: pfx |= PFX_LOCK; break;
        case 0xf2: pfx = (pfx & ~PFX_REP) | PFX_REPNE; break;
        case 0xf3: pfx = (pfx & ~PFX_REPNE) | PFX_REP; break;
        case 0x26: seg = S_ES; break;
        case 0x2e: seg = S_CS; break;
        case 0x36: seg = S_SS; break;
        case 0x3e: seg = S_DS; break;
        case 0x64: seg = S_FS; break;
        case 0x65: seg = S_GS; break;
        case 0x66: pfx |= PFX_OPSIZE; break;
        case 0x67: pfx |= PFX_ADSIZE; break;
        default:
            if (csize == 8 && (b & 0xf0) == 0x40) {
                rex = b;
                continue;
            }
            goto opcode;
        }
        rex = 0;   /* a REX prefix counts only right before the opcode */
    }
opcode:
    /* 64-bit mode ignores ES, CS, SS and DS overrides: the base register
     * still picks the segment a fault names (#SS for RBP/RSP, else #GP). */
    if (csize == 8 && seg >= 0 && seg != S_FS && seg != S_GS)
        seg = -1;
    if (seg >= 0)
        pfx |= PFX_SEG;
    /* VEX: C4/C5 in 64-bit mode; elsewhere only when the next byte's top
     * two bits are set (a register operand, which LES/LDS cannot have). */
    unsigned vex = 0, vex_bits = 0;
    if (b == 0xc4 || b == 0xc5) {
        if (n >= avail)
            return EMU_DECODE_MORE;
        if (csize == 8 || (p[n] & 0xc0) == 0xc0) {
            uint8_t v1, v2;
            unsigned map = 1;
            NEXT(v1);
            if (b == 0xc5) {
                v2 = v1;
                v1 = (uint8_t)((v1 & 0x80) | 0x61);   /* R; X = B = 1 (absent); map 0F */
            } else {
                NEXT(v2);
                map = v1 & 0x1f;
            }
            /* 66/F2/F3/LOCK/REX before VEX, or a reserved map: #UD. */
            vex = (pfx & (PFX_LOCK | PFX_OPSIZE | PFX_REP | PFX_REPNE)) || rex || map < 1 || map > 3
                      ? 2 : 1;
            unsigned vvvv = (~v2 >> 3) & 15;
            if (csize != 8)
                vvvv &= 7;
            vex_bits = vvvv | ((v2 >> 2) & 1) << 4;
            rex = 0x40 | (b == 0xc4 ? (v2 >> 7) << 3 : 0);   /* W (C5: 0) */
            if (csize == 8)
                rex |= (~v1 >> 5) & 7;      /* R X B, inverted in the prefix */
            pfx |= PFX_VEX | ((v2 & 3) == 1 ? PFX_OPSIZE : (v2 & 3) == 2 ? PFX_REP
                                        : (v2 & 3) == 3 ? PFX_REPNE : 0);
            NEXT(b);
            d->map = (uint8_t)(map <= 3 ? map : 0);
            d->op = b;
            goto vex_opcode;
        }
    }
    if (rex)
        pfx |= PFX_REX;
    d->map = MAP_1;
    d->op = b;
    if (b == 0x0f) {
        NEXT(b);
        if (b == 0x38 || b == 0x3a) {
            d->map = b == 0x38 ? MAP_0F38 : MAP_0F3A;
            NEXT(b);
        } else {
            d->map = MAP_0F;
        }
        d->op = b;
    }
vex_opcode:;
    uint16_t a = attr[d->map][d->op];
    if (vex)
        a &= (uint16_t)(A_M | A_IMM);       /* ModRM and immediates as the legacy map */

    /* Operand and address size. */
    unsigned os, as;
    if (vex) {
        os = (rex & 8) && csize == 8 ? 8 : 4;     /* VEX.W; pp is no operand size */
        as = csize == 8 ? ((pfx & PFX_ADSIZE) ? 4 : 8) : csize == 4 ? ((pfx & PFX_ADSIZE) ? 2 : 4)
                                                                    : ((pfx & PFX_ADSIZE) ? 4 : 2);
    } else if (csize == 8) {
        os = (rex & 8) ? 8 : (pfx & PFX_OPSIZE) ? 2 : 4;
        as = (pfx & PFX_ADSIZE) ? 4 : 8;
    } else if (csize == 4) {
        os = (pfx & PFX_OPSIZE) ? 2 : 4;
        as = (pfx & PFX_ADSIZE) ? 2 : 4;
    } else {
        os = (pfx & PFX_OPSIZE) ? 4 : 2;
        as = (pfx & PFX_ADSIZE) ? 4 : 2;
    }

    d->prefix = (uint8_t)pfx;
    d->rex = (uint8_t)rex;
    d->base = d->index = 0xff;
    d->seg = (uint8_t)(seg >= 0 ? seg : S_DS);

    if (a & A_M) {
        uint8_t m;
        NEXT(m);
        d->modrm = m;
        d->mod = m >> 6;
        d->reg = (uint8_t)(((m >> 3) & 7) | ((rex & 4) << 1));
        unsigned rm = m & 7;
        if (d->mod == 3) {
            d->rm = (uint8_t)(rm | ((rex & 1) << 3));
        } else if (as == 2) {
            static const uint8_t base16[8] = { R_RBX, R_RBX, R_RBP, R_RBP, R_RSI, R_RDI, R_RBP, R_RBX };
            static const uint8_t index16[8] = { R_RSI, R_RDI, R_RSI, R_RDI, 0xff, 0xff, 0xff, 0xff };
            d->base = base16[rm];
            d->index = index16[rm];
            if (d->mod == 0 && rm == 6) {
                uint64_t v;
                d->base = 0xff;
                IMM(2, &v);
                d->disp = (int16_t)v;
            } else if (d->mod == 1) {
                uint8_t v;
                NEXT(v);
                d->disp = (int8_t)v;
            } else if (d->mod == 2) {
                uint64_t v;
                IMM(2, &v);
                d->disp = (int16_t)v;
            }
            if (seg < 0 && d->base == R_RBP)
                d->seg = S_SS;
        } else {
            bool disp32 = d->mod == 2;
            if (rm == 4) {
                uint8_t sib;
                NEXT(sib);
                d->scale = sib >> 6;
                unsigned idx = ((sib >> 3) & 7) | ((rex & 2) << 2);
                d->index = idx == 4 ? 0xff : (uint8_t)idx;
                if ((sib & 7) == 5 && d->mod == 0) {
                    d->base = 0xff;
                    disp32 = true;
                } else {
                    d->base = (uint8_t)((sib & 7) | ((rex & 1) << 3));
                }
            } else if (rm == 5 && d->mod == 0) {
                d->base = csize == 8 ? 0xfe : 0xff;
                disp32 = true;
            } else {
                d->base = (uint8_t)(rm | ((rex & 1) << 3));
            }
            if (d->mod == 1) {
                uint8_t v;
                NEXT(v);
                d->disp = (int8_t)v;
            } else if (disp32) {
                uint64_t v;
                IMM(4, &v);
                d->disp = (int32_t)v;
            }
            if (seg < 0 && (d->base == R_RSP || d->base == R_RBP))
                d->seg = S_SS;
        }
    } else {
        /* Register encoded in the opcode (push, mov imm, xchg, bswap). */
        d->mod = 3;
        d->rm = (uint8_t)((d->op & 7) | ((rex & 1) << 3));
    }

    /* Group FF: near call/jmp are 64-bit, push defaults to 64. */
    if (d->map == MAP_1 && d->op == 0xff && csize == 8) {
        unsigned g = (d->modrm >> 3) & 7;
        if (g == 2 || g == 4)
            a |= A_F64;
        else if (g == 6)
            a |= A_D64;
    }
    if (csize == 8) {
        if (a & A_F64)
            os = 8;
        else if ((a & A_D64) && !(rex & 8))
            os = (pfx & PFX_OPSIZE) ? 2 : 8;
    }
    d->opsize = (uint8_t)os;
    d->adsize = (uint8_t)as;

    switch (a & A_IMM) {
    case I_B: { uint8_t v; NEXT(v); d->imm = (uint64_t)(int64_t)(int8_t)v; break; }
    case I_W: IMM(2, &d->imm); break;
    case I_Z:
        if (os == 2) {
            IMM(2, &d->imm);
            d->imm = (uint64_t)(int64_t)(int16_t)d->imm;
        } else {
            IMM(4, &d->imm);
            d->imm = (uint64_t)(int64_t)(int32_t)d->imm;
        }
        break;
    case I_V: IMM(os, &d->imm); break;
    case I_WB: {
        uint8_t v;
        IMM(2, &d->imm);
        NEXT(v);
        d->imm2 = v;
        break;
    }
    case I_FAR:
        IMM(os == 2 ? 2 : 4, &d->imm);
        IMM(2, &d->imm2);
        break;
    case I_MOFFS: {
        uint64_t v;
        IMM(as, &v);
        d->disp = (int64_t)v;
        d->mod = 0;
        d->base = d->index = 0xff;
        break;
    }
    case I_GRP3:
        if (((d->modrm >> 3) & 7) <= 1) {
            if (d->op == 0xf6) {
                uint8_t v;
                NEXT(v);
                d->imm = v;
            } else if (os == 2) {
                IMM(2, &d->imm);
            } else {
                IMM(4, &d->imm);
                d->imm = (uint64_t)(int64_t)(int32_t)d->imm;
            }
        }
        break;
    default:
        break;
    }
    d->len = (uint8_t)n;
    if (vex)
        d->imm2 = vex_bits;

    emu_handler fn = vex ? (vex == 1 ? emu_vex_ops[d->map][d->op] : NULL) : emu_ops[d->map][d->op];
    if (!fn)
        fn = emu_op_ud;
    if ((a & A_I64) && csize == 8 && !vex)
        fn = emu_op_ud;
    if (!vex && d->map == MAP_1 && (d->op == 0xc4 || d->op == 0xc5) && d->mod == 3)
        fn = emu_op_ud;   /* LES/LDS with a register operand */
    if ((pfx & PFX_LOCK) && !lock_ok(d, a))
        fn = emu_op_ud;
    d->fn = fn;
    d->kind = fn == emu_op_ud ? EK_INVALID : classify(d, csize);
    d->fn = emu_specialize(d);
    return (int)n;

too_long:
    memset(d, 0, sizeof(*d));
    d->len = 15;
    d->fn = op_too_long;
    d->kind = EK_INVALID;
    d->base = d->index = 0xff;
    return EMU_DECODE_TOO_LONG;
}

int emu_decode(struct emu_cpu *c, uint64_t rip, struct emu_insn *out)
{
    uint8_t buf[16];
    uint64_t la = emu_code_linear(c, rip);
    unsigned avail = 4096 - (unsigned)(la & 0xfff);
    if (avail > 15)
        avail = 15;
    emu_ops_init();   /* the handlers too: out->fn is compared below (a first decode before any emu_execute took every handler for #UD) */
    emu_fetch(c, la, buf, avail);
    int r = emu_decode_bytes(buf, avail, emu_code_size(c), out);
    if (r == EMU_DECODE_MORE) {
        /* The instruction continues on the next page: fetch only now, so a
         * fault there is reported only for an instruction that needs it. */
        emu_fetch(c, la + avail, buf + avail, 15 - avail);
        r = emu_decode_bytes(buf, 15, emu_code_size(c), out);
    }
    if (r == EMU_DECODE_TOO_LONG)
        emu_raise(c, EXC_GP, 0);
    if (out->fn == emu_op_ud)
        emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
    return r;
}
