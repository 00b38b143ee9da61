# tests/kvm: kvm_quirks, the probe of this host's /dev/kvm for architectural
# behaviours it gets wrong (docs/kvm-hosts.md); run_guests.sh asks it before
# calling a guest@kvm failure the host's.
KVM_QUIRKS := $(BUILD)/tests/kvm_quirks
TEST_BINS  += $(KVM_QUIRKS)

$(KVM_QUIRKS): $(BUILD)/tests/kvm/kvm_quirks.o
	$(CC) $(LDFLAGS) -o $@ $< -ljansson

# kvm_state: vCPU, irqchip, PIT and clock state saved on kvm and loaded into
# kvm and into emu (tests/kvm/run_kvm_state.sh; docs/snapshot-cpu.md).
KVM_STATE := $(BUILD)/tests/kvm_state
TEST_BINS += $(KVM_STATE)

$(BUILD)/tests/kvm/kvm_state_guest.o: tests/kvm/kvm_state_guest.S
	@mkdir -p $(dir $@)
	$(CC) -c $< -o $@

$(KVM_STATE): $(BUILD)/tests/kvm/kvm_state.o $(BUILD)/tests/kvm/kvm_state_guest.o $(BUILD)/libhostel.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
