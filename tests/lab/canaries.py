"""Runner configurations with a known secret (a canary) planted in each place a secret can live.

tests/test_secrets.py (every output format and command) and tests/test_bundle.py (the support bundle) plant
the same files, each with canaries of its own so that a leak says which test's value escaped.
"""

import base64
import json

RUNNER = "docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:1"
IDS = ("ACCOUNT_UUID={3f9b1c2e-6d4a-4b8e-9f0a-1c2d3e4f5a6b}\n"
       "RUNNER_UUID={0f1e2d3c-4b5a-5968-8776-a5b4c3d2e1f0}\n"
       "OAUTH_CLIENT_ID=Zq4VtW8yXk2LmN9pRs5TuB7cDe3FgH6J\n")
# the places plant() puts a canary in: each key must be in the canaries given to it
PLACES = ("envfile", "registry_password", "plain_password", "identitytoken", "registrytoken", "script",
          "shell_runner", "dotenv", "compose", "systemd_file", "systemd", "inspect")


def b64(text):
    return base64.b64encode(text.encode()).decode()


def plant(d, canary):
    """Write into folder ``d`` a start script (with an inline suppression; its docker run is on line 3), an env
    file, a Docker config.json with each kind of credential, a compose file with its .env, a systemd unit with
    its EnvironmentFile and `docker inspect` output, with canary[place] for each of PLACES."""
    (d / "runner.env").write_text(IDS + f"OAUTH_CLIENT_SECRET={canary['envfile']}\nWORKING_DIRECTORY=/tmp\n")
    (d / "docker").mkdir()
    (d / "docker" / "config.json").write_text(json.dumps({"auths": {
        "registry.acme.example:5443": {"auth": b64("ci-bot:" + canary["registry_password"])},
        "registry2.acme.example": {"username": "ci", "password": canary["plain_password"]},
        "registry3.acme.example": {"identitytoken": canary["identitytoken"]},
        "registry4.acme.example": {"registrytoken": canary["registrytoken"]},
    }}, indent=2))
    (d / "start.sh").write_text(f"""#!/bin/sh
# runner-doctor: ignore RD205 until 2099-01-01 -- the canary is rotated by the test
docker run -d --restart unless-stopped \\
  -v /tmp:/tmp -v ./docker:/root/.docker:ro \\
  -e OAUTH_CLIENT_SECRET={canary['script']} \\
  -e PAUSE_IMAGE=registry.acme.example:5443/pause:latest \\
  {RUNNER}
docker run -d --env-file runner.env --name runner-2 {RUNNER}
./start.sh --accountUuid {{a}} --runnerUuid {{r}} --OAuthClientId x --OAuthClientSecret {canary['shell_runner']} \\
  --runtime linux-shell --workingDirectory ../temp
""")
    (d / ".env").write_text(f"RUNNER_SECRET={canary['dotenv']}\n")
    (d / "docker-compose.yml").write_text(f"""services:
  runner-1:
    image: {RUNNER}
    restart: unless-stopped
    volumes: [/tmp:/tmp, ./docker:/root/.docker:ro]
    environment:
      OAUTH_CLIENT_SECRET: {canary['compose']}
  runner-2:
    image: {RUNNER}
    environment:
      - OAUTH_CLIENT_SECRET=${{RUNNER_SECRET}}
""")
    (d / "secret.env").write_text(f"OAUTH_CLIENT_SECRET={canary['systemd_file']}\n")
    (d / "runner.service").write_text(f"""[Unit]
Description=Bitbucket runner
[Service]
Environment="OAUTH_CLIENT_SECRET={canary['systemd']}"
EnvironmentFile={d / 'secret.env'}
ExecStart=/usr/bin/docker run --rm -e OAUTH_CLIENT_SECRET -v /tmp:/tmp {RUNNER}
Restart=always
""")
    (d / "inspect.json").write_text(json.dumps([{
        "Id": "4f2c0a", "Name": "/runner-0f1e2d3c",
        "Config": {"Image": RUNNER, "Env": [f"OAUTH_CLIENT_SECRET={canary['inspect']}", "WORKING_DIRECTORY=/tmp"],
                   "Tty": False, "OpenStdin": False},
        "HostConfig": {"RestartPolicy": {"Name": "always"}, "Memory": 0, "Binds": ["/tmp:/tmp"]},
        "Mounts": [{"Type": "bind", "Source": "/tmp", "Destination": "/tmp", "Mode": "", "RW": True}],
    }], indent=2))
