"""Errors a user is shown: one line, in Chinese and English, never a traceback."""

from __future__ import annotations


class PuhuiError(Exception):
    """An error whose message is meant for the user.

    ``message_zh`` is shown first (the platform is Chinese first); ``message_en`` follows.
    """

    def __init__(self, message_zh: str, message_en: str) -> None:
        super().__init__(message_en)
        self.message_zh = message_zh
        self.message_en = message_en

    def __str__(self) -> str:
        return f"{self.message_zh} ({self.message_en})"
