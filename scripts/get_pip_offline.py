"""Stand-in for the get-pip.py that ansible-test downloads from a host this network cannot reach.

ansible-test runs it as ``python get_pip.py [pip options] pip==X [--no-setuptools] [--no-wheel]``
inside a fresh virtual environment: bootstrap pip from the interpreter's bundled
wheel (ensurepip), then let that pip install the requested version from the
package index, which is reachable.
"""

import subprocess
import sys

args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"], stdout=subprocess.DEVNULL)
subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet"] + args)
