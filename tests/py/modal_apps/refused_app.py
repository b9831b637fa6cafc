"""Modal app for the stand-in's image tests: an image step the stand-in cannot give its effect
(an apt package the host does not have) must fail the app's image build, not be ignored."""

import modal

image = modal.Image.debian_slim(python_version="3.11").apt_install("hubferry-no-such-package")
app = modal.App("modalsim-refused", image=image)


@app.function()
def never() -> str:
    return "ran without its image"


@app.local_entrypoint()
def main():
    print(never.remote())
