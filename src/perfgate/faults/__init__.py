"""Fault injection: a TCP fault proxy with toxics, HTTP-level faults, in-process faults for
callables, and fault schedules for load tests (see docs/faults.md)."""
