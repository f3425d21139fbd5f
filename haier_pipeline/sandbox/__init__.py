"""A local Haier open-platform gateway ("sandbox") that speaks the API contract exactly.

It is a real HTTP server on 127.0.0.1 over a deterministic catalogue of any size, with real images,
latency, a 100 calls/s rate limit, expiring tokens and injectable faults. It serves the tests, the
benchmarks and the project's default demo (when ``HAIER_BASE_URL`` is unset); ``haier-sandbox``
starts one from a shell.

    with run_sandbox(SandboxOptions(products=200)) as sandbox:
        settings = load_settings(sandbox.env())
        expected = sandbox.catalogue.expected_prices()
"""

from .catalogue import Catalogue
from .endpoints import BUSINESS_PATHS, PATH_OF
from .images import ImageTruth
from .options import FaultProfile, SandboxOptions, credentials_from_env
from .running import RunningSandbox, SandboxProcess, run_sandbox, start_sandbox_process
from .stats import SandboxStats
from .styles import AnswerStyle

__all__ = ["AnswerStyle", "BUSINESS_PATHS", "PATH_OF", "Catalogue", "FaultProfile", "ImageTruth", "RunningSandbox",
           "SandboxOptions", "SandboxProcess", "SandboxStats", "credentials_from_env", "run_sandbox",
           "start_sandbox_process"]
