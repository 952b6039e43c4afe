#!/usr/bin/env bash
# Start a Bitbucket Pipelines Linux Docker runner on this host.
# The OAuth secret comes from the environment (e.g. exported by a secret manager):
#   OAUTH_CLIENT_SECRET=... ./start-runner.sh
set -euo pipefail

docker container rm -f runner-0f1e2d3c-4b5a-5968-8776-a5b4c3d2e1f0 2>/dev/null || true

docker container run -d --restart unless-stopped \
  -v /tmp:/tmp \
  -v /var/run/docker.sock:/var/run/docker.sock \
  -v /var/lib/docker/containers:/var/lib/docker/containers:ro \
  -e ACCOUNT_UUID={3f9b1c2e-6d4a-4b8e-9f0a-1c2d3e4f5a6b} \
  -e REPOSITORY_UUID={7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d} \
  -e RUNNER_UUID={0f1e2d3c-4b5a-5968-8776-a5b4c3d2e1f0} \
  -e RUNTIME_PREREQUISITES_ENABLED=true \
  -e OAUTH_CLIENT_ID=Zq4VtW8yXk2LmN9pRs5TuB7cDe3FgH6J \
  -e OAUTH_CLIENT_SECRET \
  -e WORKING_DIRECTORY=/tmp \
  --name runner-0f1e2d3c-4b5a-5968-8776-a5b4c3d2e1f0 \
  docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:1
