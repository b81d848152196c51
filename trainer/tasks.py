"""Procedural tasks with exact answers, so a run needs no downloads: arithmetic and linear equations."""

from __future__ import annotations

import operator
import random
from collections.abc import Callable

from trainer.problems import Problem

OPERATORS = {"+": operator.add, "-": operator.sub, "*": operator.mul}


def arithmetic(n: int, seed: int = 0, digits: int = 2, operators: str = "+") -> list[Problem]:
    """`a<op>b=` with operands of up to `digits` digits; the reference is the exact integer result."""
    rng = random.Random(seed)
    high = 10**digits - 1
    problems = []
    for _ in range(n):
        a, b, op = rng.randint(0, high), rng.randint(0, high), rng.choice(operators)
        problems.append(Problem(prompt=f"{a}{op}{b}=", reference=str(OPERATORS[op](a, b))))
    return problems


def linear(n: int, seed: int = 0, max_coefficient: int = 9, max_solution: int = 20) -> list[Problem]:
    """`a*x+b=c, x=` with an integer solution; the reference is x."""
    rng = random.Random(seed)
    problems = []
    for _ in range(n):
        a, x, b = rng.randint(1, max_coefficient), rng.randint(-max_solution, max_solution), rng.randint(0, 99)
        problems.append(Problem(prompt=f"{a}*x+{b}={a * x + b}, x=", reference=str(x)))
    return problems


TASKS: dict[str, Callable[..., list[Problem]]] = {"arithmetic": arithmetic, "linear": linear}


def demonstrations(problems: list[Problem], wrong_fraction: float, seed: int = 0) -> list[dict[str, str]]:
    """SFT rows `{prompt, response}` in which `wrong_fraction` of the answers are off by a small amount."""
    rng = random.Random(seed)
    rows = []
    for problem in problems:
        answer = int(problem.reference)
        if rng.random() < wrong_fraction:
            answer += rng.choice([-1, 1]) * rng.randint(1, 10)
        rows.append({"prompt": problem.prompt, "response": str(answer)})
    return rows
