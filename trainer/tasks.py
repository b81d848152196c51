"""Procedural tasks with exact answers, so a run needs no downloads: arithmetic, linear equations, word problems."""

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


_NAMES = ("Ana", "Ben", "Chloe", "Dmitri", "Esther", "Farid", "Grace", "Hiro")
_THINGS = ("apples", "stickers", "marbles", "books", "pencils", "shells")


def word(n: int, seed: int = 0) -> list[Problem]:
    """GSM8K-sized word problems (two or three steps, about 200 characters): the reference is the integer result.
    Prompts as long as real ones, for measuring what a trainer spends on prompt tokens."""
    rng = random.Random(seed)
    problems = []
    for _ in range(n):
        name, thing = rng.choice(_NAMES), rng.choice(_THINGS)
        start, bags, per_bag, given = rng.randint(5, 60), rng.randint(2, 9), rng.randint(3, 15), rng.randint(1, 20)
        prompt = (f"{name} has {start} {thing}. At the market, {name} buys {bags} bags with {per_bag} {thing} in "
                  f"each bag, then gives {given} {thing} to a friend who helped carry them home. "
                  f"How many {thing} does {name} have now?")
        problems.append(Problem(prompt=prompt, reference=str(start + bags * per_bag - given)))
    return problems


TASKS: dict[str, Callable[..., list[Problem]]] = {"arithmetic": arithmetic, "linear": linear, "word": word}


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
