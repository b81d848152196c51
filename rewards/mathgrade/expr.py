"""A LaTeX / plain-text math expression parser that builds sympy objects directly.

Why our own: sympy's `sympify`/`parse_expr` run `eval`, and model output must never reach them.
Here a whitelist tokenizer feeds a recursive-descent parser that only calls sympy constructors,
so no input can execute code. Numbers are size-checked before sympy evaluates them, so inputs
like `9^{9^{9^9}}` or `(10^{10})!` fail fast with `TooLarge` instead of hanging.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import sympy
from sympy import Expr

MAX_BITS = 200_000  # largest exact integer we agree to build (~60k digits)
MAX_DEPTH = 60  # deepest bracket/operator nesting accepted
MAX_TOKENS = 2_000
MAX_EXP_ARG = 100_000  # exp(x) beyond this is refused, like exact powers beyond MAX_BITS
MAX_PERIODIC_ARG = 1e30  # sin(x) needs about log2(x) bits of pi to reduce x: beyond this it costs seconds


class ParseError(ValueError):
    """The text is not an expression this parser understands."""


class TooLarge(ParseError):
    """Evaluating the expression exactly would need an astronomically large number."""


@dataclass
class Token:
    kind: str  # num, name, word, cmd, op, end
    text: str


_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d*)?|\.\d+)|(?P<cmd>\\[a-zA-Z]+|\\[{}|,;!])|(?P<word>[a-zA-Z]+)"
    r"|(?P<op>\*\*|<=|>=|!=|[-+*/^!()\[\]{}|_=<>,']))"
)

FUNCTIONS = {
    "sin": sympy.sin, "cos": sympy.cos, "tan": sympy.tan, "cot": sympy.cot, "sec": sympy.sec,
    "csc": sympy.csc, "arcsin": sympy.asin, "arccos": sympy.acos, "arctan": sympy.atan,
    "asin": sympy.asin, "acos": sympy.acos, "atan": sympy.atan, "sinh": sympy.sinh, "cosh": sympy.cosh,
    "tanh": sympy.tanh, "exp": sympy.exp, "ln": sympy.log, "log": sympy.log, "lg": None,
}
CONSTANTS = {"pi": sympy.pi, "infty": sympy.oo, "infinity": sympy.oo, "inf": sympy.oo, "e": sympy.E, "i": sympy.I}
GREEK = {
    "alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta", "vartheta", "iota",
    "kappa", "lambda", "mu", "nu", "xi", "rho", "sigma", "tau", "upsilon", "phi", "varphi", "chi", "psi",
    "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Sigma", "Phi", "Psi", "Omega",
}
# LaTeX commands that are operators or no-ops once tokenized
_CMD_OPS = {"\\cdot": "*", "\\times": "*", "\\ast": "*", "\\div": "/", "\\{": "{", "\\}": "}", "\\|": "|"}
_CMD_SKIP = {"\\left", "\\right", "\\,", "\\;", "\\!", "\\big", "\\Big", "\\bigg", "\\Bigg", "\\displaystyle"}
_WRAPPERS = {"\\mathrm", "\\mathbf", "\\mathit", "\\operatorname", "\\text", "\\textrm", "\\mbox", "\\boxed"}
_STOPWORDS = {"or", "and", "no", "is", "if", "in", "on", "at", "to", "of", "as", "be", "so", "we", "it"}


def tokenize(text: str) -> list[Token]:
    """Split text into whitelisted tokens; anything else is a ParseError."""
    tokens: list[Token] = []
    pos, end = 0, len(text)
    while pos < end:
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos or match.lastgroup is None:  # (lastgroup is always set: each alternative is named)
            if text[pos:].strip() == "":
                break
            raise ParseError(f"unexpected character {text[pos]!r}")
        pos = match.end()
        kind = match.lastgroup
        value = match.group(kind)
        if kind == "cmd":
            if value in _CMD_SKIP:
                continue
            if value in _CMD_OPS:
                kind, value = "op", _CMD_OPS[value]
        elif kind == "op" and value == "**":
            value = "^"
        elif kind == "word":
            tokens.extend(_split_word(value))
            continue
        tokens.append(Token(kind, value))
        if len(tokens) > MAX_TOKENS:
            raise ParseError("expression too long")
    tokens.append(Token("end", ""))
    return tokens


def _split_word(word: str) -> list[Token]:
    """A run of letters: a known function/constant name, or single-letter variables multiplied."""
    if word in FUNCTIONS or word in ("pi", "infinity", "inf", "sqrt"):
        return [Token("word", word)]
    if len(word) >= 3 or word.lower() in _STOPWORDS:
        raise ParseError(f"unknown word {word!r}")
    return [Token("name", ch) for ch in word]


def _check_int_size(value: int | float, what: str) -> None:
    if abs(value) > 0 and math.log2(abs(value)) > MAX_BITS:
        raise TooLarge(f"{what} too large")


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.depth = 0

    # -- token helpers ------------------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.pos]

    def take(self) -> Token:
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def accept(self, text: str) -> bool:
        if self.tok.text == text and self.tok.kind in ("op", "cmd", "word"):
            self.pos += 1
            return True
        return False

    def expect(self, text: str) -> None:
        if not self.accept(text):
            raise ParseError(f"expected {text!r}, got {self.tok.text!r}")

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ParseError("nesting too deep")

    # -- grammar ------------------------------------------------------------------------------
    def parse(self) -> Expr:
        expr = self.expr()
        if self.tok.kind != "end":
            raise ParseError(f"unexpected {self.tok.text!r}")
        return expr

    def expr(self) -> Expr:
        self.enter()
        value = self.term()
        while self.tok.kind == "op" and self.tok.text in "+-":
            sign = self.take().text
            rhs = self.term()
            value = value + rhs if sign == "+" else value - rhs
        self.depth -= 1
        return value

    def term(self) -> Expr:
        value = self.unary()
        while True:
            tok = self.tok
            if tok.kind == "op" and tok.text in ("*", "/"):
                self.take()
                rhs = self.unary()
                value = value * rhs if tok.text == "*" else _divide(value, rhs)
            elif self._starts_atom(tok):
                value = value * self.power()
            else:
                return value

    def unary(self) -> Expr:
        if self.tok.kind == "op" and self.tok.text in "+-":
            sign = self.take().text
            self.enter()
            value = self.unary()
            self.depth -= 1
            return -value if sign == "-" else value
        return self.power()

    def power(self) -> Expr:
        base = self.postfix()
        if self.accept("^"):
            self.enter()
            exponent = self.exponent()
            self.depth -= 1
            return _pow(base, exponent)
        return base

    def exponent(self) -> Expr:
        if self.tok.kind == "op" and self.tok.text in "+-":
            sign = self.take().text
            value = self.exponent()
            return -value if sign == "-" else value
        return self.power()

    def postfix(self) -> Expr:
        value = self.atom()
        while self.tok.kind == "op" and self.tok.text in ("!", "'"):
            if self.take().text == "'":
                raise ParseError("derivative marks are not supported")
            value = _factorial(value)
        return value

    def _starts_atom(self, tok: Token) -> bool:
        if tok.kind == "num":
            return False  # `1 1` is no product
        if tok.kind in ("name", "word"):
            return True
        if tok.kind == "op":
            return tok.text in ("(", "[", "{")
        return tok.kind == "cmd" and tok.text not in ("\\pm", "\\mp")

    def group(self, close: str) -> Expr:
        value = self.expr()
        self.expect(close)
        return value

    def atom(self) -> Expr:
        tok = self.take()
        if tok.kind == "num":
            return _number(tok.text)
        if tok.kind == "name":
            return self.subscripted(tok.text)
        if tok.kind == "word":
            return self.word(tok.text)
        if tok.kind == "cmd":
            return self.command(tok.text)
        if tok.kind == "op":
            if tok.text == "(":
                return self.group(")")
            if tok.text == "[":
                return self.group("]")
            if tok.text == "{":
                return self.group("}")
            if tok.text == "|":
                return sympy.Abs(self.group("|"), evaluate=False)  # evaluating Abs can explode
        raise ParseError(f"unexpected {tok.text!r}")

    def subscripted(self, name: str) -> Expr:
        if self.accept("_"):
            sub = self.take()
            if sub.text == "{":
                parts = []
                while self.tok.text != "}":
                    if self.tok.kind == "end":
                        raise ParseError("unclosed subscript")
                    parts.append(self.take().text)
                self.take()
                sub_text = "".join(parts)
            elif sub.kind in ("num", "name"):
                sub_text = sub.text
            else:
                raise ParseError("bad subscript")
            return sympy.Symbol(f"{name}_{sub_text}")
        if name in ("e", "i"):
            return CONSTANTS[name]
        return sympy.Symbol(name)

    def word(self, word: str) -> Expr:
        if word == "sqrt":
            return sympy.sqrt(self.argument())
        if word in CONSTANTS:
            return CONSTANTS[word]
        return self.function(word)

    def command(self, cmd: str) -> Expr:
        name = cmd[1:]
        if name in ("frac", "dfrac", "tfrac", "cfrac"):
            num = self.braced_or_single()
            den = self.braced_or_single()
            return _divide(num, den)
        if name == "sqrt":
            index = None
            if self.accept("["):
                index = self.group("]")
            radicand = self.braced_or_single()
            return sympy.sqrt(radicand) if index is None else _pow(radicand, 1 / _nonzero(index))
        if name in CONSTANTS and name not in ("e", "i"):
            return CONSTANTS[name]
        if name in FUNCTIONS:
            return self.function(name)
        if name in GREEK:
            return sympy.Symbol(name)
        if cmd in _WRAPPERS:
            return self.braced_or_single()
        if name in ("binom", "dbinom", "tbinom", "choose"):
            n = self.braced_or_single()
            k = self.braced_or_single()
            return _binomial(n, k)
        raise ParseError(f"unsupported command {cmd}")

    def braced_or_single(self) -> Expr:
        """A LaTeX argument: `{...}`, or a single digit/letter/command (as in `\\frac12`)."""
        tok = self.tok
        if tok.kind == "op" and tok.text == "{":
            self.take()
            return self.group("}")
        if tok.kind == "num":
            self.take()
            if len(tok.text) > 1:  # `\frac12`: the first digit is the argument
                self.tokens.insert(self.pos, Token("num", tok.text[1:]))
            return _number(tok.text[0])
        if tok.kind in ("name", "cmd"):
            return self.atom()
        raise ParseError("missing argument")

    def argument(self) -> Expr:
        """A function argument: parenthesized, braced, or the next power (`\\sin x`)."""
        tok = self.tok
        if tok.kind == "op" and tok.text in ("(", "{", "["):
            self.take()
            return self.group({"(": ")", "{": "}", "[": "]"}[tok.text])
        return self.power()

    def function(self, name: str) -> Expr:
        base = None
        if name in ("log", "lg") and self.accept("_"):
            base = self.braced_or_single()
        power = None
        if self.accept("^"):  # \sin^2 x
            power = self.braced_or_single()
        arg = self.argument()
        if name == "lg":
            base = sympy.Integer(10)
        if base is not None and (base.is_zero or base == 1 or base.is_negative):
            raise ParseError("logarithm to a base that is 0, 1 or negative")  # `\\log_0 3` would be 0
        if name == "exp" and arg.is_number and _magnitude(arg) > MAX_EXP_ARG:
            raise TooLarge("exponential too large")
        if name in _PERIODIC and arg.is_number and _exceeds(arg, MAX_PERIODIC_ARG):
            raise TooLarge("argument of a periodic function too large")  # `\\sin(2^{99999})`: 100k bits to reduce
        func = FUNCTIONS[name] or sympy.log
        value = func(arg) if base is None else sympy.log(arg, base)
        return value if power is None else _pow(value, power)


def _number(text: str) -> Expr:
    if len(text) > 4000:
        raise TooLarge("number literal too long")
    if "." in text:
        whole, _, frac = text.partition(".")
        return sympy.Rational(int((whole or "0") + frac), 10 ** len(frac)) if frac else sympy.Integer(int(whole))
    return sympy.Integer(int(text))


def _nonzero(value: Expr) -> Expr:
    if value.is_zero:
        raise ParseError("division by zero")
    return value


def _divide(num: Expr, den: Expr) -> Expr:
    if den.has(sympy.oo, -sympy.oo, sympy.zoo):
        raise ParseError("division by infinity")  # `\\frac{1}{\\infty}` is a limit, not the number 0
    return num * _pow(_nonzero(den), sympy.Integer(-1))


_PERIODIC = {"sin", "cos", "tan", "cot", "sec", "csc"}


def _exceeds(value: Expr, limit: float) -> bool:
    """|value| > limit, also when the value is too large for a float."""
    try:
        return _magnitude(value) > limit
    except ParseError:
        return True


def _magnitude(value: Expr) -> float:
    try:
        return abs(complex(value.evalf(15)))
    except (TypeError, ValueError, OverflowError) as exc:
        raise ParseError("not a number") from exc


def _size_bits(value: Expr) -> float:
    """Bits needed to write a plain number exactly (rationals), or a conservative guess for others."""
    if value.is_Rational:
        return max(abs(int(value.p)).bit_length(), int(value.q).bit_length(), 1)
    return 16.0


def _pow(base: Expr, exponent: Expr) -> Expr:
    """base^exponent, refusing exact powers of numbers that would need more than MAX_BITS bits."""
    if exponent.is_number:
        # sympy distributes powers over products, so `(7x)^{10^9}` would build 7^{10^9}: check every factor
        for factor in sympy.Mul.make_args(base):
            if not factor.is_number or factor in (0, 1, -1, sympy.I, -sympy.I):
                continue
            limit = MAX_EXP_ARG if factor == sympy.E else MAX_BITS / _size_bits(factor)
            if _magnitude(exponent) > limit:
                raise TooLarge("power too large")
    if base.is_zero and exponent.is_number and (exponent.is_negative or exponent.is_zero):
        raise ParseError("0 to a non-positive power")
    return sympy.Pow(base, exponent)


def _factorial(value: Expr) -> Expr:
    if value.is_Integer:
        n = int(value)
        if n < 0:
            raise ParseError("factorial of a negative integer")
        if n > 100_000 or (n > 2 and math.lgamma(n + 1) / math.log(2) > MAX_BITS):
            raise TooLarge("factorial too large")
    elif value.is_number:
        if _magnitude(value) > 5000:
            raise TooLarge("factorial too large")
    elif not (value.is_polynomial() and sympy.Poly(value).total_degree() <= 1):
        raise TooLarge("factorial of a non-linear expression")  # `(n!)!`, `(x^{100})!`: explosive to evaluate
    return sympy.factorial(value)


def _binomial(n: Expr, k: Expr) -> Expr:
    """binom(n, k), refusing values too large to build: sympy multiplies out |k| factors when k is an integer."""
    if n.is_Integer and abs(int(n)) > 100_000:
        raise TooLarge("binomial too large")
    if k.is_Integer and not n.is_number and abs(int(k)) > 1_000:
        raise TooLarge("binomial too large")  # evaluated at a point as a product of k factors
    if k.is_Integer and n.is_number:
        factors = abs(int(k))
        if not n.is_Integer:
            if factors > 1_000:
                raise TooLarge("binomial too large")
        else:
            top = int(n) if n >= 0 else factors - int(n) - 1  # binom(-m, k) = +-binom(m + k - 1, k)
            if _binomial_bits(top, factors) > MAX_BITS / 4:  # sympy's product over k factors is slow before that
                raise TooLarge("binomial too large")
    return sympy.binomial(n, k)


def _binomial_bits(n: int, k: int) -> float:
    """log2(binom(n, k)) for n, k >= 0 (0 when k > n)."""
    if k > n:
        return 0.0
    return (math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)) / math.log(2)


def parse_expr(text: str) -> Expr:
    """Parse a LaTeX or plain-text expression into a sympy expression (never runs eval)."""
    value = _Parser(tokenize(text)).parse()
    if value.has(sympy.zoo, sympy.nan):
        raise ParseError("undefined value")
    return value
