r"""The setup is a Linux Docker runner: the only kind that runs steps in containers.

**What it checks.** The runner is started as a container from the runner image
(`docker run`, compose, a systemd unit running docker, a container seen by
`docker inspect`). Linux Shell (`start.sh --runtime linux-shell`), macOS
(`start.sh --runtime macos-bash`) and Windows (`.\start.ps1`) start commands
fail here.

**Why.** Only the Linux Docker runner runs steps in containers. Linux Shell,
Windows and macOS runners run steps directly on the host, so custom and private
images (`image:` in bitbucket-pipelines.yml, PAUSE_IMAGE, AUTH_PROXY_IMAGE,
CLONE_IMAGE, a Docker `config.json` with registry credentials) do not apply to
them. When runner-doctor is asked about private images for such a runner, the
answer is that they cannot work there; the container checks are reported `skip`.

**Fails**

```sh
./start.sh --accountUuid {3f9b1c2e-...} --runnerUuid {0f1e2d3c-...} \
  --OAuthClientId ... --OAuthClientSecret ... \
  --runtime linux-shell --workingDirectory ../temp
```

**Passes**

```sh
docker container run -it \
  -v /tmp:/tmp \
  -v /var/run/docker.sock:/var/run/docker.sock \
  -v /var/lib/docker/containers:/var/lib/docker/containers:ro \
  ... \
  docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:1
```

**Fix.** To run steps in containers (custom images, services, private
registries), create a "Linux Docker" runner in Bitbucket (Repository or
Workspace settings > Runners) and start it with the `docker container run`
command the dialog shows. A shell runner needs steps with
`runs-on: [self.hosted, linux.shell]` and no `image:`.

**References.** Atlassian, "Use your Docker images in self-hosted runners"
(limitations); "Docker image options"; `../shared/reference/bitbucket-runners.md` §3.2, §5.
"""

from doctor.model import RunnerKind, Severity
from doctor.rulebase import Rule


class DockerRunner(Rule):
    id = "RD001"
    name = "docker-runner"
    severity = Severity.ERROR
    docker_only = False

    def check(self, subject, ctx):
        runner = subject.runner
        if runner.kind is RunnerKind.LINUX_DOCKER:
            how = {"docker-run": "a docker run command", "compose": "a compose service",
                   "systemd": "a systemd unit running docker", "inspect": "a container",
                   "start-script": "a start script", "kubernetes": "a Kubernetes pod"}.get(runner.form, runner.form)
            yield self.ok(f"a Linux Docker runner, started by {how}")
            return
        runtime = runner.flags.get("runtime")
        yield self.fail(
            f"this is a {runner.kind.label} runner start command: it runs steps on the host without containers, "
            "so custom or private images, a Docker config.json and the container checks do not apply "
            "(they are reported as skip)",
            "for steps in containers, create a Linux Docker runner in Bitbucket and start it with the "
            "'docker container run' command its dialog shows",
            at=runtime[1] if runtime else runner.origin,
            evidence=f"--runtime {runtime[0]}" if runtime else "",
        )


RULE = DockerRunner()
