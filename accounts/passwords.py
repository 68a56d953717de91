"""How long a password may be: the API's sign-in takes at most `PASSWORD_MAX_LENGTH`
characters, so every new password (web sign-up, change and reset, the API's sign-up, the
admin) is held to it by this validator in AUTH_PASSWORD_VALIDATORS: an account is never
made with a password no app could sign in with."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

PASSWORD_MAX_LENGTH = 128
PASSWORD_TOO_LONG = f"That password is too long ({PASSWORD_MAX_LENGTH} characters at most)."


class MaximumLengthValidator:
    def validate(self, password: str, user: Any = None) -> None:
        if len(password) > PASSWORD_MAX_LENGTH:
            raise ValidationError(PASSWORD_TOO_LONG, code="password_too_long")

    def get_help_text(self) -> str:
        return f"Your password can't be longer than {PASSWORD_MAX_LENGTH} characters."
