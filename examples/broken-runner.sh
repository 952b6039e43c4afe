#!/usr/bin/env bash
# A runner start command with the mistakes runner-doctor exists for.
docker container run -it \
  -v /tmp/runner-1:/tmp \
  -v /var/run/docker.sock:/var/run/docker.sock \ 
  -v /var/lib/docker/containers:/var/lib/docker/containers \
  -v $HOME/.docker:/root/.docker \
  -e ACCOUNT_UUID=3f9b1c2e-6d4a-4b8e-9f0a-1c2d3e4f5a6b \
  -e RUNNER_UUID={0f1e2d3c-4b5a-5968-8776-a5b4c3d2e1f0} \
  -e OAUTH_CLIENT_ID=Zq4VtW8yXk2LmN9pRs5TuB7cDe3FgH6J \
  -e OAUTH_CLIENT_SECRET=ATOAx9K2mP7qR4sT8vW1yZ3bC6dF0gH5jL9nQ2rS7uV4wX8zA1cE5fG3hJ6kM0pR4tV8xZ2bD \
  -e WORKING_DIRECTORY=/tmp \
  -e RUNNER_LABELS=linux,docker \
  -e PAUSE_IMAGE=my-private-registry/pause:latest \
  --name runner-{0f1e2d3c-4b5a-5968-8776-a5b4c3d2e1f0} \
  docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner --restart=always
