class DomainError(ValueError):
    """A rule of auditreg refused an action. The message says why, in words for a person;
    `code` names the rule, so pages and the API choose what to add by the code, never by
    matching the wording.

    The API maps it to problem+json, the portal to a form error, commands to a non-zero
    exit with the message on one line.
    """

    def __init__(self, message: str = "", *, code: str = "refused") -> None:
        super().__init__(message)
        self.code = code


class Conflict(DomainError):
    """The request contradicts a fact already recorded (the API answers 409)."""

    def __init__(self, message: str = "", *, code: str = "conflict") -> None:
        super().__init__(message, code=code)
