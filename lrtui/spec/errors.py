"""The one exception type that reaches the user as a single `lrtui: error:` line."""


class SpecError(ValueError):
    """Bad user input: the message names what was wrong and is shown without a traceback."""


def cannot_write(folder: object, exc: OSError) -> SpecError:
    """`--log-dir DIR` that cannot be made or written, with why; a file standing where a folder
    of its path should be is said as such (the OS only says "File exists" or "Not a
    directory")."""
    if isinstance(exc, FileExistsError | NotADirectoryError):
        why = "a file stands where a folder of that path should be"
    else:
        why = exc.strerror or str(exc)
    return SpecError(f"--log-dir {folder}: cannot write there ({why})")


def no_checkpoints(log_dir: object) -> SpecError:
    """`lrtui resume DIR` where nothing is left to resume: said before any training starts."""
    return SpecError(
        f"resume {log_dir}: no checkpoints there (a comparison whose runs all finished leaves "
        "none, and one stopped or killed before its first checkpoint, every 5 minutes unless "
        "--checkpoint-every says otherwise, has none yet; its logs keep every step it trained)"
    )
