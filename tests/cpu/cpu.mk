# tests/cpu: the differential test of emu against the host CPU (cpu_diff)
# and the user-mode harness that runs static Linux programs on emu.
CPU_DIFF      := $(BUILD)/tests/cpu/cpu_diff
EMU_USER      := $(BUILD)/hostel-emu-user
CPU_DIFF_OBJS := $(addprefix $(BUILD)/tests/cpu/,cpu_diff.o native.o cases_int.o cases_sse.o cases_xsave.o \
                 cases_avx.o cases_avx2.o cases_fma.o cases_gpr_v3.o \
                 cases_bmi.o cases_vexsse.o)
USER_LIBC     := $(BUILD)/tests/cpu/user_libc $(BUILD)/tests/cpu/user_libc_pie $(BUILD)/tests/cpu/user_code
TEST_BINS     += $(CPU_DIFF) $(EMU_USER) $(USER_LIBC)

$(BUILD)/tests/cpu/%.o: tests/cpu/%.S
	@mkdir -p $(dir $@)
	$(CC) -c -MMD -MP -Itests/cpu $< -o $@

# Plain links: a missing emu entry point is a link error, never a skipped test.
$(CPU_DIFF): $(CPU_DIFF_OBJS) $(BUILD)/libhostel.a
	$(CC) $(LDFLAGS) -o $@ $(CPU_DIFF_OBJS) $(BUILD)/libhostel.a $(LDLIBS)

$(EMU_USER): $(BUILD)/tests/cpu/emu_user.o $(BUILD)/libhostel.a
	$(CC) $(LDFLAGS) -o $@ $< $(BUILD)/libhostel.a $(LDLIBS)

# Guest programs for hostel-emu-user: static (ET_EXEC) and static-PIE.
$(BUILD)/tests/cpu/user_libc: tests/cpu/user_libc.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -static -o $@ $< -lm
$(BUILD)/tests/cpu/user_code: tests/cpu/user_code.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -static -o $@ $<
$(BUILD)/tests/cpu/user_libc_pie: tests/cpu/user_libc.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -static-pie -fPIE -o $@ $< -lm
