"""How a (prompt, completion) pair becomes model input, the same way at training and at serving time."""

from __future__ import annotations

from typing import Any


def has_chat_template(tokenizer: Any) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def render(tokenizer: Any, prompt: str, completion: str) -> str:
    """The conversation as text: through the chat template when the tokenizer has one, else concatenated."""
    if has_chat_template(tokenizer):
        messages = [{"role": "user", "content": prompt}] if prompt else []
        messages.append({"role": "assistant", "content": completion})
        return str(tokenizer.apply_chat_template(messages, tokenize=False))
    return prompt + completion


def encode(tokenizer: Any, texts: list[str], max_length: int) -> Any:
    """Pad and truncate rendered texts into a batch of tensors (templates already hold the special tokens)."""
    return tokenizer(
        texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt",
        add_special_tokens=not has_chat_template(tokenizer),
    )


def tagged_steps(tokenizer: Any, prompt: str, steps: list[str], tag: str) -> str:
    """A PRM's input: the conversation whose answer is every step followed by the tag (tags in the text removed)."""
    bare = tag.strip() or tag
    content = "".join(step.replace(bare, "") + tag for step in steps)
    return render(tokenizer, prompt.replace(bare, ""), content)


def chat_prompt(tokenizer: Any, messages: list[dict[str, str]]) -> str:
    """Chat messages as the prompt a causal LM continues (its chat template, or a plain transcript)."""
    if has_chat_template(tokenizer):
        return str(tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))
    return "".join(f"{m['role']}: {m['content']}\n" for m in messages) + "assistant: "
