"""The one exception type a user ever sees: one line, exit code 2."""

from __future__ import annotations


class UserError(Exception):
    """Bad input from the user: a missing file, a malformed line, an unknown name.

    The CLI prints ``Error: <message>`` on one line and exits with code 2, so the
    message must say what is wrong and where (file and line where there is one).
    """

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def where(path: object, line: int | None = None) -> str:
    """``path:line`` for messages, the form editors and terminals link to."""
    return f"{path}:{line}" if line is not None else str(path)
