"""How the one-line verdict is phrased: sentences, capitals and hints joined."""

from __future__ import annotations


def _join_hints(hints) -> str:
    seen = []
    for h in hints:
        if h and h not in seen:
            seen.append(h)
    return " ".join(_sentence(h if i == 0 else _capitalized(h)) for i, h in enumerate(seen))


def _capitalized(text: str) -> str:
    """A following sentence starts with a capital, unless it starts with code (``np.where``, ``X_grad``)."""
    word = text.split(" ", 1)[0]
    return text[0].upper() + text[1:] if word.isalpha() and word.islower() else text


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def _with_hint(text: str, hint: str) -> str:
    return _sentence(text) + (f" Hint: {_sentence(hint)}" if hint else "")


def _verb(subjects: list, singular: str, plural: str) -> str:
    return singular if len(subjects) == 1 else plural
