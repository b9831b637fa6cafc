"""A Modal app that imports a sibling module but never ships it: fails in the container only."""

import helper

import modal

app = modal.App("modalsim-forgot")


@app.function()
def uses_helper(x: int) -> int:
    return helper.double(x)
