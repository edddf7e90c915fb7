"""What the imaplib client scripts share: a failed step prints FAIL and why, then exits 1."""
import sys


def check(condition, what):
    if not condition:
        print("FAIL:", what)
        sys.exit(1)


def ok(result, what):
    typ, data = result
    check(typ == "OK", f"{what}: {typ} {data!r}")
    return data
