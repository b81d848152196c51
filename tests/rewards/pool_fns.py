"""Top-level functions the worker pool tests send to workers (they must be importable by reference)."""

import os
import time


def add(a: int, b: int) -> int:
    return a + b


def sleep_then(seconds: float, value: object) -> object:
    time.sleep(seconds)
    return value


def die() -> None:
    os._exit(3)


def allocate(megabytes: int) -> int:
    return len(bytearray(megabytes * 1024 * 1024))


def fail() -> None:
    raise ValueError("bad input")


def pid() -> int:
    return os.getpid()


def niceness_after(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpriority(os.PRIO_PROCESS, 0)


def spin(seconds: float) -> float:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass
    return seconds
