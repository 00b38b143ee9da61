# The named-machine tests' guest (built with the test guests' library).
GUESTS += $(GUEST_OUT)/idle.elf
$(GUEST_OUT)/idle.32.o: tests/machines/idle.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -m32 -march=i686 -c $< -o $@
$(GUEST_OUT)/idle.elf: $(GUEST_OUT)/idle.32.o $(GUEST_LIB32) $(GUEST_SRC)/guest.ld
	$(GUEST_LD) -m elf_i386 $(GUEST_LDFLAGS) -o $@ $(filter %.o,$^)
