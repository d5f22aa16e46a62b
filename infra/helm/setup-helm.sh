#!/usr/bin/env bash
# Builds helm v3.19.0 with Go into .tools/bin (about 3 to 8 minutes on 2 cores, once; seconds with a warm
# Go cache). The Helm chart's test (tests/deploy) runs `helm lint` and `helm template` with it.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# `go install` stamps no release version into the binary: it reports "v3.19".
if [ -x "$REPO_ROOT/.tools/bin/helm" ] && [ "$("$REPO_ROOT/.tools/bin/helm" version --template '{{.Version}}')" = "v3.19" ]; then exit 0; fi
echo "[helm] building helm v3.19.0 with Go (a few minutes, once)" >&2
GOBIN="$REPO_ROOT/.tools/bin" go install helm.sh/helm/v3/cmd/helm@v3.19.0
