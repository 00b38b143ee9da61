# Networking: link libslirp when its headers are installed (scripts/deps.sh
# installs libslirp-dev); without it --net user reports that it is missing.
ifneq ($(wildcard /usr/include/slirp/libslirp.h),)
CFLAGS += -DHOSTEL_HAVE_SLIRP
LDLIBS += -lslirp
endif
