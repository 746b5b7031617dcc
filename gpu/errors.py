"""Errors the gpu package raises. Plain exceptions, so callers need not import wgpu."""
from __future__ import annotations


class GpuError(Exception):
    """Base class of every error raised by the gpu package."""


class NoAdapterError(GpuError):
    """No usable wgpu adapter (GPU or software rasterizer) was found."""


class ShaderError(GpuError):
    """A WGSL file or entry point could not be found or split."""


class KernelError(GpuError):
    """A kernel failed to build or run. Names the node, shader and entry it belongs to.

    `node`, `shader` and `entry` are None when the failure can't be pinned on one Dispatch.
    `cause` is the underlying wgpu (or shader) exception.
    """

    def __init__(self, message: str, *, node: str | None = None, shader: str | None = None,
                 entry: str | None = None, cause: BaseException | None = None):
        super().__init__(message)
        self.node, self.shader, self.entry, self.cause = node, shader, entry, cause

    @classmethod
    def wrap(cls, what: str, cause: BaseException, *, node: str | None = None,
             shader: str | None = None, entry: str | None = None) -> "KernelError":
        """'<what> failed for node N (shader:entry): <underlying message>'."""
        where = f" for node {node!r}" if node else ""
        kernel = f" ({shader}:{entry})" if shader else ""
        detail = str(cause).strip() or type(cause).__name__
        return cls(f"{what} failed{where}{kernel}: {detail}",
                   node=node, shader=shader, entry=entry, cause=cause)
