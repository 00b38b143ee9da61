# Runs one module of CPython's own regression tests (Debian's
# libpython3.X-testsuite) with unittest, leaving out the tests named on the
# command line, and prints one summary line:
#   RESULT ran=N failures=N errors=N skipped=N
# Usage: python3 py_unittest.py MODULE [EXCLUDED-TEST-ID-SUFFIX...]
# An excluded id is matched against the end of each test's id
# ("StructTest.test_struct_cleans_up_at_runtime_shutdown"); one ending in a
# dot names a whole class ("TestMain." or "test_tool.TestTool.").  run_emu_python.sh
# runs this natively and under hostel-emu-user and compares.
import sys
import unittest


def flatten(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from flatten(t)
        else:
            yield t


def main():
    module, excluded = sys.argv[1], sys.argv[2:]
    loaded = unittest.defaultTestLoader.loadTestsFromName("test." + module)
    tests, unused = [], set(excluded)
    for t in flatten(loaded):
        hit = [e for e in excluded if ("." + e in t.id() if e.endswith(".") else t.id().endswith(e))]
        unused.difference_update(hit)
        if not hit:
            tests.append(t)
    if unused:
        # A name that matches nothing is a typo or a test upstream renamed.
        print("RESULT error: excluded tests not found in %s: %s" % (module, " ".join(sorted(unused))))
        sys.exit(2)
    result = unittest.TextTestRunner(stream=sys.stderr, verbosity=1).run(unittest.TestSuite(tests))
    print("RESULT ran=%d failures=%d errors=%d skipped=%d" % (
        result.testsRun, len(result.failures), len(result.errors), len(result.skipped)))
    sys.exit(0 if result.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
