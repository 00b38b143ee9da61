# Test guests: freestanding Multiboot images built with the host gcc and
# binutils (no multilib needed: 32-bit code is compiled with -m32 -c and
# linked by ld directly, without libgcc).  Included by the top Makefile.
GUEST_SRC    := tests/guests
GUEST_OUT    := $(BUILD)/guests
GUEST_LD     ?= ld
GUEST_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -ffreestanding -fno-pic -fno-pie \
                -fno-stack-protector -nostdlib -mno-red-zone -mgeneral-regs-only \
                -fno-asynchronous-unwind-tables -fno-unwind-tables \
                -fno-tree-loop-distribute-patterns -fno-omit-frame-pointer \
                -I$(GUEST_SRC) -MMD -MP
GUEST_LDFLAGS := -nostdlib -T $(GUEST_SRC)/guest.ld -z max-page-size=0x1000 -z noexecstack \
                 --no-warn-rwx-segments

# Guests that stay in 32-bit protected mode, and guests entering long mode.
GUESTS_32 := hello realmode pm32 reset display
GUESTS_64 := longmode interrupts rtc pci smp triplefault pagefault gp doublefault syscall ioapic acpi poweroff \
             smc irqlatency dmacode hostile hostile_dev hostile_bar flood sysret idt smap irqtrigger exits lapictimer hpet

GUEST_LIB32 := $(addprefix $(GUEST_OUT)/lib32/,multiboot.o boot32.o lib.o)
GUEST_LIB64 := $(addprefix $(GUEST_OUT)/lib64/,multiboot.o boot64.o isr64.o lib.o cpu64.o)

GUESTS += $(GUESTS_32:%=$(GUEST_OUT)/%.elf) $(GUESTS_64:%=$(GUEST_OUT)/%.elf)
DEFAULT_KERNEL := $(GUEST_OUT)/hello.elf

.PHONY: guests
guests: $(GUESTS)

$(GUEST_OUT)/lib32/%.o: $(GUEST_SRC)/lib/%.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -m32 -march=i686 -c $< -o $@
$(GUEST_OUT)/lib32/%.o: $(GUEST_SRC)/lib/%.S
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -m32 -c $< -o $@
$(GUEST_OUT)/lib64/%.o: $(GUEST_SRC)/lib/%.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -m64 -c $< -o $@
$(GUEST_OUT)/lib64/%.o: $(GUEST_SRC)/lib/%.S
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -m64 -c $< -o $@
$(GUEST_OUT)/%.32.o: $(GUEST_SRC)/%.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -m32 -march=i686 -c $< -o $@
$(GUEST_OUT)/%.64.o: $(GUEST_SRC)/%.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -m64 -c $< -o $@

$(GUESTS_32:%=$(GUEST_OUT)/%.elf): $(GUEST_OUT)/%.elf: $(GUEST_OUT)/%.32.o $(GUEST_LIB32) $(GUEST_SRC)/guest.ld
	$(GUEST_LD) -m elf_i386 $(GUEST_LDFLAGS) -o $@ $(filter %.o,$^)
$(GUESTS_64:%=$(GUEST_OUT)/%.elf): $(GUEST_OUT)/%.elf: $(GUEST_OUT)/%.64.o $(GUEST_LIB64) $(GUEST_SRC)/guest.ld
	$(GUEST_LD) -m elf_x86_64 $(GUEST_LDFLAGS) -o $@ $(filter %.o,$^)

# Extra objects of single guests.
$(GUEST_OUT)/smp.elf: $(GUEST_OUT)/lib64/smp_ap.o
$(GUEST_OUT)/acpi.elf $(GUEST_OUT)/poweroff.elf: $(GUEST_OUT)/lib64/acpitab.o
$(GUEST_OUT)/syscall.elf: $(GUEST_OUT)/lib64/syscall_user.o
$(GUEST_OUT)/sysret.elf: $(GUEST_OUT)/lib64/sysret_asm.o
$(GUEST_OUT)/syscall.elf $(GUEST_OUT)/sysret.elf $(GUEST_OUT)/idt.elf $(GUEST_OUT)/smap.elf: $(GUEST_OUT)/lib64/user.o $(GUEST_OUT)/lib64/user_asm.o
$(GUEST_OUT)/realmode.elf: $(GUEST_OUT)/lib32/realmode.o
$(GUEST_OUT)/pm32.elf: $(GUEST_OUT)/lib32/pm32_pf.o
$(GUEST_OUT)/dmacode.elf $(GUEST_OUT)/hostile.elf: $(GUEST_OUT)/lib64/virtio_blk_min.o $(GUEST_OUT)/lib64/virtio_min.o
$(GUEST_OUT)/hostile_dev.elf $(GUEST_OUT)/hostile_bar.elf $(GUEST_OUT)/flood.elf: $(GUEST_OUT)/lib64/virtio_min.o
