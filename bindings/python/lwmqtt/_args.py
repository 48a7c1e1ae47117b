"""Argument checks shared by the modules: each converts a Python value for
the C API or raises TypeError/ValueError naming the argument."""


def text(name, value, allow_empty=True):
    if not isinstance(value, str):
        raise TypeError("%s must be a str, not %s" % (name, type(value).__name__))
    if "\0" in value:
        raise ValueError("%s must not contain a NUL character" % name)
    if not allow_empty and not value:
        raise ValueError("%s must not be empty" % name)
    return value.encode("utf-8")


def binary(name, value):
    """A payload or password: str (sent as UTF-8), bytes-like, or None (empty)."""
    if value is None:
        return b""
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError("%s must be str or bytes, not %s" % (name, type(value).__name__))


def integer(name, value, low, high):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("%s must be an int, not %s" % (name, type(value).__name__))
    if not low <= value <= high:
        raise ValueError("%s must be in %d..%d, not %d" % (name, low, high, value))
    return value


def flag(name, value):
    if not isinstance(value, int):  # bool is an int; Zerynth takes 0/1 too
        raise TypeError("%s must be a bool, not %s" % (name, type(value).__name__))
    return bool(value)


def callable_or_none(name, value):
    if value is not None and not callable(value):
        raise TypeError("%s must be callable or None, not %s" % (name, type(value).__name__))
    return value
