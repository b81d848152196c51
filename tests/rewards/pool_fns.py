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


def echo_size(payload: str) -> int:
    return len(payload)


def big_reply(megabytes: int) -> str:
    return "x" * (megabytes * 1024 * 1024)


def die_once(marker: str) -> str:
    """Dies the first time (the marker file does not exist yet), answers the second."""
    if not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(9)
    return "second try"


def unpicklable() -> object:
    return lambda: None
