"""The kernel provisioner behind warm kernels (entry point ``labs-warm-provisioner``, see :mod:`labs.grading.warm`).

jupyter_client's own :class:`~jupyter_client.provisioning.LocalProvisioner` with one change: instead of
starting the kernel command as a new process it hands it to a spare the sandbox forked (same command line,
environment and working folder), and manages that process through the same ``Popen``-like interface. When no
spare fits, it starts the kernel cold, exactly as the local provisioner does, and says why in the result.
"""

from __future__ import annotations

import os
import pathlib
from typing import Any

from jupyter_client.connect import KernelConnectionInfo
from jupyter_client.provisioning import LocalProvisioner

from labs.grading import warm


class WarmProvisioner(LocalProvisioner):  # type: ignore[misc]
    """Start the kernel from a warm spare when one fits, else cold (see :mod:`labs.grading.warm`)."""

    def _finalize_env(self, env: dict[str, str]) -> None:
        super()._finalize_env(env)
        cleaned = warm.kernel_env(env)
        env.clear()
        env.update(cleaned)

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> KernelConnectionInfo:
        env = dict(kwargs.get("env") or os.environ)
        env["JPY_PARENT_PID"] = str(os.getpid())  # what jupyter_client's launcher adds
        cwd = str(kwargs.get("cwd") or os.getcwd())
        argv = [os.path.expanduser(part) for part in cmd]
        reason = warm.cold_reason(argv, env, cwd)
        spare = warm.take_spare() if not reason else None
        if spare is not None and not spare.launch(argv, env, cwd):
            spare.release()
            spare, reason = None, "the warm kernel did not start"
        if spare is None:
            warm.note(f"cold kernel: {reason}")
            warm.count("cold")
            return await super().launch_kernel(cmd, **kwargs)
        warm.count("warm")
        self.process = spare
        self.pid = self.pgid = spare.pid
        self.cwd = kwargs.get("cwd", pathlib.Path.cwd())
        return self.connection_info
