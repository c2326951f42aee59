"""The one exception type that the CLI turns into a one-line message."""


class SirenError(Exception):
    """Bad input or an unrecoverable run state; the CLI shows `error: <e>` with exit code 2.

    field: the option the error is about, by its config field name (e.g. "render_size"): str(e) reads
    "render_size must be ...", and the CLI names the flag instead ("--render-size must be ...")."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message, self.field = message, field

    def __str__(self) -> str:
        return f"{self.field} {self.message}" if self.field else self.message
