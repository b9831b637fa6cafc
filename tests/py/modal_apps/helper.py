"""A sibling module that apps ship with `add_local_python_source("helper")`."""


def double(x: int) -> int:
    return 2 * x
