"""Starts moto's server with moto_cfn_plugin installed: the deploy test's own control plane.

Usage: python moto_server.py <port>   (the Python of moto's venv; binds 127.0.0.1 only)
Prints "ready <port>" on stdout once the plugin is installed, before serving.
"""

import os
import sys

# AWS's managed policies (AWSLambdaBasicExecutionRole, ...), so roles can attach them as in AWS.
os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import moto_cfn_plugin  # noqa: E402
from moto import server  # noqa: E402

if __name__ == "__main__":
    port = sys.argv[1]
    moto_cfn_plugin.install()
    print(f"ready {port}", flush=True)
    server.main(["-H", "127.0.0.1", "-p", port])
