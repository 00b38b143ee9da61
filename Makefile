# hostel: `make run` boots the default guest, `make test` runs every test.
BUILD     ?= build
CC        ?= gcc
OPT       ?= -O2
CFLAGS    := -std=gnu11 $(OPT) -g -Wall -Wextra -Werror -Isrc -MMD -MP -D_GNU_SOURCE $(EXTRA_CFLAGS)
LDFLAGS   := $(EXTRA_LDFLAGS)
LDLIBS    := -lpthread -lm -ljansson -larchive -lyaml -lvncserver -lmicrohttpd -lnettle

# The VMM's sandbox (lib/sandbox.c): libseccomp, where its headers are.
ifneq ($(wildcard /usr/include/seccomp.h),)
CFLAGS += -DHOSTEL_HAVE_SECCOMP
LDLIBS += -lseccomp
endif

SRCS      := $(shell find src -name '*.c' | sort)
LIB_SRCS  := $(filter-out src/cli/main.c,$(SRCS))
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%)

# Filled in by the tests/*/*.mk fragments (guests, cpu tests, ...).
TEST_BINS :=
GUESTS    :=
DEFAULT_KERNEL ?= $(BUILD)/guests/hello.elf
RUN_ARGS  ?=

.PHONY: all deps run run-guest test test-all asan clean
# Keep intermediate objects (unit-test .o files): no relinking on every make.
.SECONDARY:
all: $(BUILD)/hostel $(BUILD)/web/index.html

# hostel web's page, and the browser libraries it serves (noVNC, xterm.js)
# bundled from Debian's packages (scripts/web-vendor.sh).
$(BUILD)/web/index.html: web/index.html web/hostel.js scripts/web-vendor.sh
	@scripts/web-vendor.sh $(BUILD)/web
	cp web/hostel.js $(BUILD)/web/hostel.js
	cp web/index.html $@

-include tests/*/*.mk bench/*.mk

all: $(GUESTS) $(TEST_BINS) $(UNIT_BINS)

deps:
	@scripts/deps.sh all

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libhostel.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/hostel: $(BUILD)/src/cli/main.o $(BUILD)/libhostel.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(BUILD)/libhostel.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The default machine: the tiny appliance (built from Debian packages on first
# use); `make run APPLIANCE=debian` boots the debian one.  `make run-guest`
# boots the hello test guest instead.
APPLIANCE ?= tiny
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
run: deps
	@$(MAKE) --no-print-directory -j$(JOBS) all
	@$(MAKE) --no-print-directory appliance-$(APPLIANCE)
	@echo "hostel: booting the $(APPLIANCE) appliance; Ctrl-A x quits, Ctrl-A h lists the console keys"
	$(BUILD)/hostel run -v $(BUILD)/appliances/$(APPLIANCE) $(RUN_ARGS)

run-guest: deps
	@$(MAKE) --no-print-directory all
	$(BUILD)/hostel run --kernel $(DEFAULT_KERNEL) -v $(RUN_ARGS)

appliance-%:
	@appliances/$*/build.sh $(abspath $(BUILD))/appliances/$*

test: deps
	@$(MAKE) --no-print-directory -j$(JOBS) all
	@BUILD=$(BUILD) tests/run.sh

test-all: deps
	@$(MAKE) --no-print-directory -j$(JOBS) all
	@BUILD=$(BUILD) HOSTEL_TEST_ALL=1 tests/run.sh

# Unit tests under AddressSanitizer and UndefinedBehaviorSanitizer.
asan:
	@$(MAKE) --no-print-directory BUILD=build-asan OPT=-O1 \
	  EXTRA_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer" \
	  EXTRA_LDFLAGS="-fsanitize=address,undefined" build-asan/hostel $(UNIT_BINS:$(BUILD)/%=build-asan/%)
	@BUILD=build-asan HOSTEL_TEST_ONLY=unit tests/run.sh

clean:
	rm -rf build build-asan

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
