"""Every exception the sandbox raises, under one base: SandboxError.

The rule, once: bad program output is a verdict, machinery failure is an error. A program that crashes, loops,
prints the wrong thing, exits early or reaches past its own objects gets a verdict (a RunResult status, a
TestResult) and never an exception of the service. These exceptions are for requests the sandbox cannot serve
and for the sandbox itself failing; a failing worker's job gets the status sandbox_error, never a verdict the
program could have earned. SandboxRefusal is the one exception a program meets: the guard raises it inside the
program's own process, and what the program then does with it ends as a verdict like anything else it does.

Plain classes without imports: this file is also the first part of the jailed worker's program (see
sandbox.worker), which runs from the standard library alone.
"""


class SandboxError(Exception):
    """Base of the sandbox's exceptions."""


class BadRequest(SandboxError, ValueError):
    """A request this sandbox cannot serve (unknown language, call tests in a language without them): a 422."""


class Overloaded(SandboxError, RuntimeError):
    """Every worker is busy and the queue is full: a 503 with Retry-After."""


class WorkerDied(SandboxError, RuntimeError):
    """The worker stopped answering or reported its own failure; its job gets a sandbox_error."""


class IsolationUnavailable(SandboxError, RuntimeError):
    """bwrap or user namespaces are missing: refuse to run untrusted code without --insecure-no-isolation."""


class ServiceStartError(SandboxError, RuntimeError):
    """A child service (a private sandbox) exited or never became healthy; the message has its output."""


class SandboxRefusal(SandboxError, ValueError):
    """What a program under test gets for reaching past its own objects; a ValueError, so the standard library's
    own frame lookups (namedtuple, enum, typing, logging) fall back quietly as on interpreters without frames."""
