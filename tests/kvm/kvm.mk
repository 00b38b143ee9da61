# tests/kvm: kvm_quirks, the probe of this host's /dev/kvm for architectural
# behaviours it gets wrong (docs/kvm-hosts.md); run_guests.sh asks it before
# calling a guest@kvm failure the host's.
KVM_QUIRKS := $(BUILD)/tests/kvm_quirks
TEST_BINS  += $(KVM_QUIRKS)

$(KVM_QUIRKS): $(BUILD)/tests/kvm/kvm_quirks.o
	$(CC) $(LDFLAGS) -o $@ $< -ljansson
