"""wgpu only: adapter choice, shaders, and running Programs. Never imports Qt or app/."""
import os as _os
import tempfile as _tempfile

# wgpu-native probes for a Wayland display through XDG_RUNTIME_DIR and prints an "error:" line
# for each probe when it is unset (normal on a headless machine or in CI). A private, empty
# runtime folder keeps that noise out of the user's terminal and logs.
if not _os.environ.get("XDG_RUNTIME_DIR"):
    _os.environ["XDG_RUNTIME_DIR"] = _tempfile.mkdtemp(prefix="wiregrad-runtime-")
