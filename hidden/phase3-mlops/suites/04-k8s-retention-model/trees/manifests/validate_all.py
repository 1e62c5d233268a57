"""kubernetes-validate --strict on every k8s/*.yaml file, against one pinned Kubernetes version.

Runs kubernetes-validate's own command-line entry point in this process. jsonschema's optional
`iri` format checker (rfc3987_syntax) is kept out: it builds a grammar at import, which takes
seconds in the sandbox where no cache is writable, and no Kubernetes schema uses that format.
"""

import sys
from pathlib import Path

sys.modules["rfc3987_syntax"] = None  # an ImportError for jsonschema, which then skips `iri`

from kubernetes_validate.__main__ import main  # noqa: E402

files = sorted(str(p) for p in Path("k8s").rglob("*.yaml"))
if not files:
    print("no k8s/*.yaml file")
    sys.exit(1)
sys.argv = [
    "kubernetes-validate",
    "--strict",
    "--no-warn",
    "--quiet",
    "--kubernetes-version",
    "1.33.0",
    *files,
]
sys.exit(main())
