"""The one exception type that the CLI turns into a one-line message."""


class SirenError(Exception):
    """Bad input or an unrecoverable run state; str(e) is shown as `error: <e>` with exit code 2."""
