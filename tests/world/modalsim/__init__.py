"""modal-sim: a loopback Modal control plane that the real, pinned `modal` CLI talks to through
`MODAL_SERVER_URL`, running each function call as a local subprocess. See docs/modal-sim.md."""
