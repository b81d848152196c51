"""The formats real models write, each a class seen in published completions, with the hedges next to them.

Every row names its class; correct answers in that format earn 1, and the trick that looks like it earns 0.
"""

import pytest

from rewards.graders.math import MathSpec, score
from rewards.mathgrade.interpret import decimal_comma, final_value, number_word, prose_value
from rewards.types import Sample

SPEC = MathSpec()


def reward(reference: str, completion: str) -> float:
    result = score(SPEC, Sample(completion=completion, reference=reference))
    assert result.error is None
    return result.reward


RIGHT = [
    # references in the MATH dataset's own style
    (r"10,\!080", r"The answer is $\boxed{10080}$."), (r"10080", r"so \boxed{10,\!080}"), (r"2,\!000", r"\boxed{2000}"),
    (r"50{,}625", r"\boxed{50625}"), (r"\$57,500", r"\boxed{57500}"), (r"\$57,500", r"\boxed{\$57,500}"),
    (r"\text{east}", r"\boxed{\text{East}}"), (r"4210_{5}", r"\boxed{4210_5}"), (r"4210_{5}", r"\boxed{4210}"),
    (r"\dfrac{3}{4}", r"\boxed{\frac34}"), (r"125 miles", r"\boxed{125}"),
    # final-answer lines
    ("18", "Janet has 18 eggs left.\nA: 18"), ("73", "blah 12 and 15\n**Final answer: 73**"), ("42", "Answer: **42**"),
    ("210", "The final answer is **210**."), ("73", "✅ Final Answer: **73**"), ("B", "The correct option is (B)."),
    ("A", r"So the answer is \textbf{A}"), ("A", r"Looking at the options, \textbf{A}"), ("E", r"\boxed{E: 12 apples}"),
    ("3", "Answer: It takes a total of 3 bolts."), ("460", "<think>..</think><answer> So she paid 400 + 60 = $460. </answer>"),
    ("520", "Therefore, the answer (arabic numerals) is: \n\n$520"), ("480", "Therefore, the answer (arabic numerals) is 96 * 5 = 480."),
    ("B", r"\[ The\ answer\ is\ (B)\ 220. \]"), ("J", "The total is 838. The closest option is (J)."),
    ("12", "answer: value of x is $12$</answer>"), ("4", "so $n$ = 4.\nAnswer: 4</answer>"),
    # special tokens that decoding kept
    ("14", "The answer is 14<|im_end|>"), ("14", "so the result is 14</s>"), ("14", "Answer: 14<|eot_id|>"),
    ("14", r"\boxed{14}<｜end▁of▁sentence｜>"),
    # numbers
    ("0.4", r"\boxed{.4}"), ("1000", r"\boxed{1 000}"), ("11111111100", r"\boxed{11,\! 111,\! 111,\! 100}"),
    ("26", r"\boxed{\$26.00}"), (r"12\pi", r"\boxed{12π}"), ("-3", "\\boxed{\u22123}"), ("-3", "\\boxed{\uff0d3}"),
    ("2.74", r"\boxed{2,74}"), (r"\frac{1}{3}", r"\boxed{0.\overline{3}}"), (r"\frac{1}{6}", r"\boxed{0.1\overline{6}}"),
    (r"\frac{7}{2}", r"\boxed{3\frac12}"),
    # words inside the box
    ("125", r"\boxed{125\textnormal{ miles}}"), ("550", r"\boxed{550 gallons}"), ("7", r"\boxed{Hillary has 7 nickels.}"),
    (r"12\pi", r"\boxed{12π \text{ inches per second}}"), ("28", r"\boxed{28 pct}"), ("5", "The answer is five."),
    ("152", "The answer is one hundred fifty-two dollars."), (r"\pi", r"<answer>So the smallest value of \(c\) is \(\pi\).</answer>"),
    ("60", "<answer>10×15=150, 150×24=3600, ∴ the positive square root of 3600 is 60.</answer>"),
    ("16", "<answer>We get $5x = 80$. Dividing by 5, we find $x = 16$. Thus, the value of $x$ is $16$</answer>"),
    ("18", "<answer> f(-2)=5(-2)^2+3(-2)+4\n   20-6+4\n   18 </answer>"),
    # equations and labels around the value
    ("2", r"\boxed{\tan A = 2}"), ("(3,2)", r"\boxed{(p,q)=(3,2)}"), ("1", r"\boxed{|AB|=1}"), ("2x+3", r"\boxed{f(x)=2x+3}"),
    ("11:21", r"\boxed{V_1:V_2=11:21}"), ("11", r"\boxed{x = 5+5+1 = 11}"), ("11", r"\boxed{x \approx 11}"),
    (r"-\frac{25}{4}", "<answer> $x^2-5x$ = $(x-2.5)^2 -6.25$  So,     k=-6.25</answer>"),
    ("x < 1", r"\boxed{x \lt 1}"), ("x > 1", r"\boxed{x \gt 1}"), ("x < 1", r"\boxed{-x > -1}"),
    (r"\varnothing", r"\boxed{\emptyset}"), (r"(-\infty,\infty)", r"\boxed{\mathbb{R}}"), ("C", r"\boxed{c}"),
    # several boxes that are one answer
    (r"\{2,3\}", r"\boxed{2} and \boxed{3}"), ("(1,2)", r"\boxed{1}\boxed{2}"), ("(3, \\frac{\\pi}{2})", r"\(r = \boxed{3}\), \(\theta = \boxed{\frac{\pi}{2}}\)"),
    (r"\frac{1}{3}", r"\boxed{\frac{1}{3}} \approx \boxed{0.333}"), (r"\sqrt{2}", r"\boxed{\sqrt{2}}, numerically \boxed{\approx 1.414}"),
    (r"\frac{\sqrt{3}}{3}", r"\boxed{\frac{\sqrt{3}}{3} \approx 0.577}"), ("5", r"\boxed{5} and \boxed{5}"),
    # LaTeX with no delimiters
    (r"\frac{10}{9}", r"\frac{10}{9}"), (r"\begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix}", r"\boxed{\left[\begin{array}{cc} 1 & 2 \\ 3 & 4 \end{array}\right]}"),
    # no marked answer: the last sentence with math in it states the value
    ("12", "Since $x = 5$, the total is 12."), ("45", "Let $n = 10$. Then there are 45 handshakes."),
    ("30", r"Each of the \(15\) students gets 2 pencils, so 30 pencils are needed."),
    ("-10", r"Thus, the value of the expression when \(x = -1\) is -10."),
    (r"\begin{pmatrix} 1 & 0 \\ 0 & 1 \end{pmatrix}", r"The identity matrix is $\begin{pmatrix}1 & 0 \\ 0 & 1\end{pmatrix}$."),
    ("1000", "1 000"), ("0.4", ".4"), (r"\text{odd}", "$odd$"), ("E", "$E$"),
    # sentences in answer tags: the one computation, a bracketed check, HTML, a tag left open before the next turn
    ("75", "<answer> The farmer will earn $2.5 * 30 = $75 if he sells it for $2.5 per tray. </answer>"),
    ("216", "<answer> The volume is 6 * 4 * 3 = 72 cubic feet. It takes 3 seconds per cubic foot, so Bob needs 72 * 3 = 216 seconds. </answer>"),
    ("180", "<answer>The actual distance between the two cities is 180 miles (15 * 12 = 180).</answer>"),
    ("71", '<answer> <span class ="answer">71</span> </answer>'), ("16", '<answer>{"answer": 16}</answer>'),
    ("30", "<answer> In a week, Mason eats 30 carrots. \nUser: Great! Thank you."),
    (r"\dfrac{5}{11}", r"<answer> \\(\\frac{5}{11}\\)</answer>"), ("20", r"Answer: $\textdollar 20$"),
    (r"428\text{ square centimeters}", r"<answer>428</answer>"), (r"9\pi\text{ sq cm}", r"\boxed{9\pi}"), ("12", "<answer>12 km/h</answer>"),
    # a reference that names its values, and chains against chains
    ("(p,q,r)=(3,2,7)", r"\boxed{(3,2,7)}"), (r"V_{1}:V_{2}=11:21", r"\boxed{11:21}"), ("|AB|=1", r"\boxed{1}"),
    (r"\frac{NO}{BO}=\frac{1}{\sqrt{6}}", r"\boxed{\frac{1}{\sqrt{6}}}"), (r"f^{-1}(x) = \frac{x-3}{2}", r"\boxed{\frac{x-3}{2}}"),
    ("z = 1 + 1 = 2", r"\boxed{z = 3 - 1 = 2}"), ("x = 11", r"\boxed{x = 5+5+1 = 11}"), ("(5, 8), (8, 5)", r"\boxed{(x, y) = (5, 8) \text{ and } (8, 5)}"),
    ("(37,3,3,13),(3,3,2,3)", r"\boxed{(3,3,2,3), (37,3,3,13), (3,3,2,3)}"), (r"{1,2,3}", r"\boxed{\{3, 2, 1\}}"),
    ("3", r"\boxed{3} (I first thought \boxed{4})"), (r"\{3,4\}", r"x = \boxed{3} or x = \boxed{4}"),
    ("4", r"Not bad! The answer is \boxed{4}"), ("x = 3, y = 4", r"\boxed{3, 4}"),
    # a template answer tag states nothing: the box before it counts
    ("0", r"So the remainder is \boxed{0}.</think> <answer> Answer here</answer>"),
    # a negation inside the subject does not negate the box (ToRA-70B's GSM8K outputs)
    ("16", r"The total length of the glue sticks that are not used is $\boxed{16.0}$ millimeters."),
    ("5", r"The number of students who did not pass is \boxed{5}."), ("7", r"Days it never rained $= \boxed{7}$"),
    # an exact value and its rounding against a rounded reference: the rounding counts at the reference's decimals
    ("2.3", r"<answer> 2\pi - 4 \approx 2.283 \approx 2.3 \text{ cm}^2 \text{ (to the nearest tenth)} </answer>"),
    ("2.3", r"<answer> 2.2831853071795864 \approx 2.3 </answer>"), ("0.33", r"\boxed{\frac{1}{3}} \approx \boxed{0.33}"),
    ("2.3", r"\boxed{2\pi - 4 \approx 2(3.14159) - 4 = 2.28318 \approx 2.3}"), ("1.41", r"$\sqrt{2} \approx 1.41$"),
    # a stated confidence after the answer is no answer (university-maths answers of four chat models)
    ("2", "is \\(\\boxed{2}\\).\n\nmy confidence level in the answer is \\(100\\%\\)."),
    ("3", "\\boxed{3}\n\nConfidence Level: 100%\n\nthe confidence level is 100% that the answer is correct."),
    ("0", r"The answer is $\boxed{0}$. My confidence: $\boxed{90\%}$"),
    ("3", r"is \(\boxed{3}\). My confidence level in percentage regarding my answer is \(\boxed{100}\)."),
    ("2", r"&= \boxed{2}. I am $\boxed{100\%}$ confident in my answer."),
    ("1", r"is \(\boxed{1}\). My confidence level in the answer is \( \boxed{100} \)%."),
    ("(7, 0)", "The projection is (7, 0).\n\nAs for my confidence level, I would say it is 100%. I used the formulas."),
    ("3", r"I am confident the answer is \boxed{3}."),
    # statistics keeps its confidence intervals and levels
    ("(2.1, 3.4)", "The 95% confidence interval is (2.1, 3.4)."), ("3.2", "At the 95% confidence level, the margin is 3.2."),
    # a verdict on the answer is none (MathCoder, GPT-4 PRM800K solutions)
    ("3", r"The term is \( \boxed{3} \). This confirms that our answer is correct."),
    ("7", r"So $x=\boxed{7}$. Therefore the answer is verified."),
    # the value before its reason (ZeroEval's chat models)
    ("11", "The answer is 11 because there are 11 integer values of $n$ (0 to 10)."),
    ("1058", "The answer is 1058, which can be verified by checking that (160 * 1058) mod 1399 = 1"),
    ("3", "The answer is 3 distinct values: 1, 0, and -1."),
    # an empty box mentioned before the answer's box (MathCoder)
    (r"-\frac{40}{153}", "put our answer in the \\(\\boxed{}\\):\n\n\\[\n\\boxed{\\frac{-40}{153}}\n\\]"),
    # JSON answers: the string's value (ZeroEval)
    ("3", '"answer": "___3___"'), ("23", 'So, the final answer is `"23"`.'),
    ("369", '{\n  "answer": "369"`'), ("23", '{"answer": "23"}'), (r"\text{east}", '{"answer": "\\\\text{east}"}'),
    # base subscripts: negative, a letter base, unicode subscript digits (ZeroEval)
    ("-221_3", r"\boxed{-221}"), ("100100", r"\boxed{100100_b}"), ("-221_3", r"\boxed{-221₃}"), (r"4210_{5}", r"\boxed{4210₅}"),
    # PRM800K's `# Answer` heading
    ("-50", "I conclude that my answer is correct.\n# Answer\n\n-50"), (r"\text{(C)}", "so I choose (C).\n# Answer\n\nC"),
]

WRONG = [
    # a digit inside a word is no number
    ("2", "The code is AZYUK2A"),
    # relations hold at points of every sign, not only positive ones
    ("x = 3", r"\boxed{|x| = 3}"), ("x = 3", r"\boxed{\sqrt{x^2} = 3}"), ("y = 2x + 3", r"\boxed{|y| = 2x+3}"),
    (r"x + y \le 1", r"\boxed{|x| + |y| \le 1}"),
    # percent is read one way per reference
    ("50", r"\boxed{5000\%}"), ("0.5", r"\boxed{0.5\%}"),
    # one reading of mixed numbers; an integer reference is exact however close
    (r"\frac{3}{2}", r"\boxed{3\frac12}"), ("262537412640768744", r"\boxed{e^{\pi\sqrt{163}}}"),
    # a point is no inequality
    ("(1, 2)", r"\boxed{1 < x < 2}"),
    # several different values are a hedge, boxed side by side or in a sentence
    (r"\{2,3\}", r"\boxed{2} and \boxed{4}"), ("3", r"\boxed{3} or \boxed{4}"), ("4", r"\boxed{3} or \boxed{4}"),
    ("3", r"\boxed{3} \boxed{4}"), ("3", "Answer: It takes 3 or 4 bolts."), ("3", "<answer>It is 3 or 4</answer>"),
    ("3", "Answer: three or four"), ("5", "The final answer is not 5."), ("5", "<answer>It is never 5</answer>"),
    # an approximation is not the exact value, and one that disagrees voids the pair
    (r"\frac{1}{3}", r"\boxed{0.333}"), (r"\frac{1}{3}", r"\boxed{\frac{1}{3}} \approx \boxed{0.5}"),
    (r"\frac{1}{3}", r"\boxed{x \approx 0.333}"), ("391", r"\boxed{17 \times 23 \approx 400}"), ("3", r"\boxed{3 \approx 4}"),
    ("100", r"\boxed{100 \approx 101}"), ("4", r"\boxed{x = 3 = 4}"), ("4", r"\boxed{3 = 4}"),
    # a letter in running math is a variable, not an option
    ("C", "Let $D$ be the disk enclosed by $C$"), ("B", "so we are left with $b$"),
    # a sentence that ends unsure states nothing; an unclosed answer tag at the end is a cut-off answer
    ("12", "Since $x = 5$, the total is 12 or 13."), ("5", "Since $x = 5$, the total is 12 or 13."),
    ("30", "<answer> In a week, Mason eats 30"), ("35", r"\boxed{3 5}"), ("1050", r"\boxed{10 50}"),
    # an expression is exact however large its terms: a hidden +1 is not numeric noise
    ("10^{20}x+1", r"\boxed{10^{20}x}"), ("*".join(f"(x+{k})" for k in range(1, 20)) + "+1",
                                            r"\boxed{" + "*".join(f"(x+{k})" for k in range(1, 20)) + "}"),
    # a reference equation is not matched by its right side alone unless its left side only names the value
    ("x^2+y^2=25", r"\boxed{25}"), ("2x = 6", r"\boxed{6}"),
    # red team: a solved reference wants a solved answer; named values keep their order; qualified values
    ("x = 2", r"\boxed{3x + 5 = 11}"), ("x=2", r"\boxed{7x - 14 = 0}"), ("x > 2", r"\boxed{2x - 4 > 0}"),
    (r"(2, \infty)", r"\boxed{2x - 4 > 0}"), ("x = 3, y = 4", r"\boxed{4, 3}"),
    ("x = 3, y = 4", r"So $x = \boxed{4}$ and $y = \boxed{3}$."), ("3", r"\boxed{\text{more than } 3}"),
    ("3", r"\boxed{3 \text{ or more}}"), ("3", "The answer is at least 3."), ("3", "It is 3 thousand dollars."),
    ("4", "It is 3 or it is 4."), ("4", "Maybe 3. Maybe 4."),
    ("12", "<answer>She has 3 * 4 = 12 apples and gives away 5, leaving 7</answer>"), ("34", r"\boxed{3\%4}"), ("5", r"\boxed{5,0}"),
    ("B", r"\boxed{\text{B}\text{C}}"),
    # red team: negated, struck-out and first-thought boxes; "or" and arrows do not join boxes into a tuple
    ("4", r"\boxed{3} \text{ and not } \boxed{4}"), ("4", r"it is \boxed{3}, not equal to \boxed{4}"),
    ("4", r"\boxed{3} ~~\boxed{4}~~"), ("4", r"\boxed{3} \cancel{\boxed{4}}"), ("4", r"\boxed{3} (I first thought \boxed{4})"),
    ("(3,4)", r"\boxed{3} or \boxed{4}"), ("(3,4)", r"\boxed{3 \text{ or } 4}"), ("(3,4)", r"\boxed{3} \neq \boxed{4}"),
    ("(3,4)", r"\boxed{3} \to \boxed{4}"),
    # a rounding that is not the exact value rounded, or not at the reference's decimals, or a hedge
    ("2.3", r"\boxed{2.21 \approx 2.3}"), ("2.3", r"\boxed{2.283 \approx 2.28}"), ("2.28", r"\boxed{2.283 \approx 2.3}"),
    ("2.3", r"\boxed{2.283 \approx 2.2 \text{ or } 2.3}"), ("2", r"\boxed{\frac{7}{3} \approx 2}"),
    ("0.3", r"\boxed{\frac{1}{3}}"),
    # a value inside a reason, or under a negation, is not the answer (ZeroEval)
    ("3", "The final answer is 0, meaning there are no values of x for which f(f(x)) = 3."),
    ("7", "Final answer: none of the 7 options work."), ("1", '"answer": "x + 1"'),
    ("0", r"The answer is $\boxed{3}$. The confidence level that the answer is correct is $\boxed{0\%}$"),
    # the answer slot holds the prompt's template: values in the working are no answer (a box or marker would be)
    ("16", "96 divided by 6 equals 16. Each nephew got 16 cookies.\n</think> <answer>answer</answer>"),
    ("16", "So $x = 16$.</think> <answer> Answer here </answer>"),
    # cut off inside a code block: values before it are no answer
    ("5", "So $x = 5$, as we can check:\n```python\nprint(solve("),
]


@pytest.mark.parametrize("reference, completion", RIGHT)
def test_real_formats_of_right_answers_earn_one(reference, completion):
    assert reward(reference, completion) == 1.0


@pytest.mark.parametrize("reference, completion", WRONG)
def test_wrong_hedged_or_unstated_answers_earn_nothing(reference, completion):
    assert reward(reference, completion) == 0.0


def test_each_box_of_a_hedge_loses_with_either_reference():
    assert reward("3", r"\boxed{3}, \boxed{4}") == reward("4", r"\boxed{3}, \boxed{4}") == 0.0
    assert score(SPEC, Sample(completion=r"\boxed{3} or \boxed{4}", reference="3")).details["reason"] == (
        "several different answers")


def test_short_answers_that_would_cost_seconds_are_refused_at_once():
    slow = r"\boxed{" + "+".join(rf"\sin(2^{{{99_999 - k}}})" for k in range(40)) + "}"
    result = score(SPEC, Sample(completion=slow, reference="1"))  # refused before any evaluation
    assert result.reward == 0.0 and "periodic function too large" in result.details["reason"]
    with_variable = r"\boxed{\sin(2^{99999} x)+\cos(2^{99998} x)+\tan(2^{99997}x)}"
    assert score(SPEC, Sample(completion=with_variable, reference="x")).reward == 0.0


@pytest.mark.parametrize("text, value", [
    ("x = 5+5+1 = 11", "11"), ("(p,q)=(3,2)", "(3,2)"), (r"\frac{1}{3} \approx 0.333", r"\frac{1}{3}"),
    (r"x \approx 11", "11"), ("x = 1, y = 2", "x = 1, y = 2"), ("7", "7"), (r"x = 1 \text{ or } x = 2", "x = 1 or x = 2"),
])
def test_final_value_of_a_chain(text, value):
    assert " ".join(final_value(text).split()) == value


@pytest.mark.parametrize("text, value", [
    ("Hillary has 7 nickels.", "7"), ("It takes a total of 3 bolts.", "3"), ("It is 3 or 4", None),
    ("five", "5"), ("Twenty-one", "21"), ("two thousand and five", "2005"), ("no numbers here", None),
    ("After 2 days she has 14 apples", None), ("So the answer is 14 apples", "14"), ("It is not 5.", None),
    ("It is not 5, it is 6", "6"),
])
def test_prose_value(text, value):
    assert prose_value(text) == value


def test_number_words_and_decimal_commas():
    assert number_word("seventeen") == "17" and number_word("forty-two") == "42" and number_word("many") is None
    assert decimal_comma("2,74") == "2.74" and decimal_comma("1,5") == "1.5"
    assert decimal_comma("2,740") is None and decimal_comma("2, 74") is None


def test_a_rounding_counts_only_where_the_prompt_asks_for_one():
    completion = r"The area is $\boxed{2\pi - 4 \approx 2.3}$."
    asked = Sample(prompt="Find the area to the nearest tenth.", completion=completion, reference="2.3")
    exact = Sample(prompt="Find the area of the region.", completion=completion, reference="2.3")
    assert score(SPEC, asked).reward == 1.0 and score(SPEC, asked).details["stage"] == "rounding"
    assert score(SPEC, exact).reward == 0.0


ZOO = ("Monkeys need 200 bananas a month, so for 2 months they need 200 * 2 = 400 bananas. Gorillas need 400 * 2 = 800.\n"
       "Baboons need 100 * 2 = 200. In total: 400 + 800 + 200 = 1400 bananas.\n\n")


@pytest.mark.parametrize("reference, completion, expected", [
    # a closing sentence that restates the last computed result beside numbers given earlier states that result
    ("1400", ZOO + "Therefore, the zookeeper needs to order 1400 bananas to last for 2 months.", 1.0),
    ("2", ZOO + "Therefore, the zookeeper needs to order 1400 bananas to last for 2 months.", 0.0),
    # a new number in the sentence is a further step: no single value; so are hedges, bounds and derivation steps
    ("1400", ZOO + "So 1400 bananas a month makes 2800 bananas for 2 months.", 0.0),
    ("1400", ZOO + "So the zookeeper orders 1400 or 1200 bananas for 2 months.", 0.0),
    ("1400", ZOO + "So the zookeeper orders at least 1400 bananas for 2 months.", 0.0),
    ("1", r"Their product is $(1 + w)(1 + w^2) = 2 - 1 = 1.$" "\n"
          r"Similarly, the conjugate of $1 + w^2$ is $1 + w,$ and their product is also $1.$", 0.0),
    # an open <answer> ends at another element's closing tag: prose after it is not the answer
    ("300", "Clothes cost 20% of $500 = $100, leaving $400.\n<answer> She spent 25% of the remaining $400 on CDs, "
            "$400 * 25% = $100. Therefore, Julie had $400 - $100 = $300 left.\n</end think>\nBy the end of this "
            "discussion, Julie has subtracted the amounts spent from her initial $500.", 1.0),
    ("500", "Clothes cost 20% of $500 = $100, leaving $400.\n<answer> She spent 25% of the remaining $400 on CDs, "
            "$400 * 25% = $100. Therefore, Julie had $400 - $100 = $300 left.\n</end think>\nBy the end of this "
            "discussion, Julie has subtracted the amounts spent from her initial $500.", 0.0),
    # "answer:" followed by a sentence of words only (`To find ...`) is a lead-in, not the answer
    ("308", "The kitten broke 4 vases.\nanswer: To find the total cost, we add them all together. The spay cost is "
            "$200. The vaccines cost $20 * 3 = $60. The vases cost $12 * 4 = $48. Adding these, the total cost so "
            "far is $200 + $60 + $48 = $308.\n<end think>", 1.0),
    ("60", "The kitten broke 4 vases.\nanswer: To find the total cost, we add them all together. The spay cost is "
           "$200. The vaccines cost $20 * 3 = $60. The vases cost $12 * 4 = $48. Adding these, the total cost so "
           "far is $200 + $60 + $48 = $308.\n<end think>", 0.0),
])
def test_closing_sentences_and_open_tags_of_base_model_runs(reference, completion, expected):
    """Shapes from R1-Zero runs of a base model (Qwen2.5-Math-1.5B on GSM8K)."""
    assert reward(reference, completion) == expected
