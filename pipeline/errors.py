"""Errors the CLI turns into one clear line and exit code 2 (no traceback unless --debug)."""


class CrmError(Exception):
    """A problem the user can fix: bad config, missing file, bad input."""


class ConfigError(CrmError):
    """The merged configuration is invalid; the message names the key."""


class InputError(CrmError):
    """An input file is missing, empty, unreadable or breaks the data contract."""
