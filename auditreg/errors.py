class DomainError(ValueError):
    """A rule of auditreg refused an action. The message says why, in words for a person.

    The API maps it to problem+json, the portal to a form error, commands to a non-zero
    exit with the message on one line.
    """


class Conflict(DomainError):
    """The request contradicts a fact already recorded (the API answers 409)."""
