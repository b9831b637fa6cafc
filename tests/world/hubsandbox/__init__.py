"""hubsandbox: an offline Hugging Face Hub + ModelScope stand-in that the official clients accept.

Run with `scripts/sandbox`; the layout is described in store.py, httpbase.py and __main__.py.
"""
