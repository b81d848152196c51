"""Model input rendering: chat template when the tokenizer has one, PRM tags that only we place."""

from rewards.models.text import chat_prompt, render, tagged_steps
from trainer.tiny_heads import STEP_TAG, save_tiny_head


def test_render_uses_the_chat_template_when_there_is_one(tmp_path):
    from transformers import AutoTokenizer

    with_template = AutoTokenizer.from_pretrained(save_tiny_head(tmp_path / "a", "reward", hidden=16, layers=1))
    plain = AutoTokenizer.from_pretrained(save_tiny_head(tmp_path / "b", "reward", chat_template=False, hidden=16,
                                                         layers=1))
    templated = render(with_template, "Q?", "A.")
    assert templated != "Q?A." and "Q?" in templated and "A." in templated and templated.index("Q?") < templated.index("A.")
    assert render(plain, "Q?", "A.") == "Q?A."
    assert chat_prompt(plain, [{"role": "user", "content": "hi"}]) == "user: hi\nassistant: "
    prompt = chat_prompt(with_template, [{"role": "user", "content": "hi"}])
    assert prompt.startswith(with_template.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False))
    assert len(prompt) > len(with_template.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False))


def test_tags_in_the_text_are_removed_before_ours_are_placed(tmp_path):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(save_tiny_head(tmp_path / "c", "token", chat_template=False, hidden=16,
                                                       layers=1))
    text = tagged_steps(tok, f"P{STEP_TAG}", [f"1+1=2{STEP_TAG}{STEP_TAG}", "2+2=4"], STEP_TAG)
    assert text == f"P1+1=2{STEP_TAG}2+2=4{STEP_TAG}"
    ids = tok(text, add_special_tokens=False)["input_ids"]
    assert ids.count(tok.convert_tokens_to_ids(STEP_TAG)) == 2


async def test_a_sample_the_template_rejects_fails_alone(tmp_path):
    from transformers import AutoTokenizer

    from rewards.graders import parse_spec
    from rewards.graders.base import GraderContext
    from rewards.graders.reward_model import RewardModelGrader
    from rewards.types import Sample

    path = save_tiny_head(tmp_path / "strict", "reward", hidden=16, layers=1)
    tok = AutoTokenizer.from_pretrained(path)
    tok.chat_template = ("{% if messages[0]['role'] != 'user' %}{{ raise_exception('a user turn comes first') }}"
                         "{% endif %}{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}")
    tok.save_pretrained(path)
    grader = RewardModelGrader(parse_spec({"type": "reward_model", "model": str(path)}), GraderContext(pool=None))
    scores = await grader.grade([Sample(prompt="q", completion="a"), Sample(completion="no prompt"),
                                 Sample(prompt="q2", completion="b")])
    assert scores[0].error is None and scores[2].error is None
    assert "user turn comes first" in scores[1].error and scores[1].reward == 0.0
