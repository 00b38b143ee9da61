/* Near control transfer and condition codes: Jcc, JMP, CALL, RET, LOOP,
 * JCXZ, group 5 (FF), CMOVcc and SETcc.  Far transfers belong to system.c. */
#include "engine/emu/ops.h"
#include "engine/emu/system.h"   /* far CALL/JMP: emu_far_call, emu_far_jmp */

#define GRP(i) (((i)->modrm >> 3) & 7)

static HANDLER(op_jcc)
{
    if (emu_cond(c, i->op & 15))
        jump_to(c, i, c->next_rip + i->imm);
}

static HANDLER(op_jmp_rel)
{
    jump_to(c, i, c->next_rip + i->imm);
}

static HANDLER(op_call_rel)
{
    uint64_t target = branch_target(c, i, c->next_rip + i->imm);
    push(c, i->opsize, c->next_rip);
    c->next_rip = target;
}

static HANDLER(op_ret)
{
    uint64_t target = branch_target(c, i, stack_peek(c, i->opsize, 0));
    uint64_t extra = i->op == 0xc2 ? (i->imm & 0xffff) : 0;
    stack_adjust(c, (int64_t)(i->opsize + extra));
    c->next_rip = target;
}

static HANDLER(op_loop)
{
    unsigned as = i->adsize;
    uint64_t cnt = reg_get(c, R_RCX, as, PFX_REX);
    bool take;
    if (i->op == 0xe3) {
        take = cnt == 0;
    } else {
        cnt = (cnt - 1) & emu_size_mask(as);
        take = cnt != 0;
        if (i->op == 0xe0)
            take = take && !emu_cond(c, 4);
        else if (i->op == 0xe1)
            take = take && emu_cond(c, 4);
    }
    /* The target first: a #GP leaves the count as it was. */
    uint64_t target = take ? branch_target(c, i, c->next_rip + i->imm) : 0;
    if (i->op != 0xe3)
        reg_set(c, R_RCX, as, PFX_REX, cnt);
    if (take)
        c->next_rip = target;
}

/* FF /3 and FF /5: the m16:16, m16:32 or m16:64 pointer is read here. */
static void far_indirect(struct emu_cpu *c, const struct emu_insn *i, bool call)
{
    if (i->mod == 3)
        emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
    uint64_t la = ea(c, i, i->opsize + 2u, false);
    uint64_t off = lin_read(c, la, i->opsize);
    uint16_t sel = (uint16_t)lin_read(c, la + i->opsize, 2);
    if (call)
        emu_far_call(c, sel, off, i->opsize, c->next_rip);
    else
        emu_far_jmp(c, sel, off);
}
void emu_op_ff_incdec(struct emu_cpu *c, const struct emu_insn *i);

static HANDLER(op_grp5)
{
    switch (GRP(i)) {
    case 0: case 1:
        emu_op_ff_incdec(c, i);
        return;
    case 2: {
        uint64_t target = branch_target(c, i, rm_get(c, i, i->opsize));
        push(c, i->opsize, c->next_rip);
        c->next_rip = target;
        return;
    }
    case 4:
        jump_to(c, i, rm_get(c, i, i->opsize));
        return;
    case 3:
        far_indirect(c, i, true);
        return;
    case 5:
        far_indirect(c, i, false);
        return;
    case 6: {
        uint64_t v = rm_get(c, i, i->opsize);
        push(c, i->opsize, v);
        return;
    }
    default:
        emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
    }
}

static HANDLER(op_cmov)
{
    unsigned size = i->opsize;
    uint64_t v = rm_get(c, i, size);
    if (emu_cond(c, i->op & 15))
        reg_set(c, i->reg, size, i->prefix, v);
    else if (size == 4)
        c->gpr[i->reg] &= 0xffffffffULL;   /* a 32-bit destination is written either way */
}

static HANDLER(op_setcc)
{
    rm_set(c, i, 1, emu_cond(c, i->op & 15));
}

void emu_branch_register(void)
{
    for (int k = 0; k < 16; k++) {
        emu_ops[MAP_1][0x70 + k] = op_jcc;
        emu_ops[MAP_0F][0x80 + k] = op_jcc;
        emu_ops[MAP_0F][0x40 + k] = op_cmov;
        emu_ops[MAP_0F][0x90 + k] = op_setcc;
    }
    emu_ops[MAP_1][0xe9] = op_jmp_rel;
    emu_ops[MAP_1][0xeb] = op_jmp_rel;
    emu_ops[MAP_1][0xe8] = op_call_rel;
    emu_ops[MAP_1][0xc2] = op_ret;
    emu_ops[MAP_1][0xc3] = op_ret;
    for (int op = 0xe0; op <= 0xe3; op++)
        emu_ops[MAP_1][op] = op_loop;
    emu_ops[MAP_1][0xff] = op_grp5;
}
