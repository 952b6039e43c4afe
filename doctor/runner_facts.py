"""Facts about the Bitbucket Pipelines runner that several rules share (see ../shared/reference/bitbucket-runners.md)."""

RUNNER_REPOSITORY = "docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner"
RUNNER_TAG = "1"
# internal tags seen in Atlassian UI code; not for users
INTERNAL_RUNNER_TAGS = ("stg-stable", "ddev-stable")

# The helper images the runner pulls, with the documented defaults.
HELPER_IMAGE_DEFAULTS = {
    "PAUSE_IMAGE": "docker-hub.packages.atlassian.com/google/pause:latest",
    "AUTH_PROXY_IMAGE": "docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-auth-proxy:prod-stable",
    "CLONE_IMAGE": "docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-dvcs-tools:prod-stable",
}

REQUIRED_ENV = ("ACCOUNT_UUID", "RUNNER_UUID", "OAUTH_CLIENT_ID", "OAUTH_CLIENT_SECRET", "WORKING_DIRECTORY")
UUID_ENV = ("ACCOUNT_UUID", "RUNNER_UUID", "REPOSITORY_UUID")

# Variables the Linux Docker runner reads (documented), plus the ones that are harmless and common.
KNOWN_ENV = frozenset({
    "ACCOUNT_UUID", "REPOSITORY_UUID", "RUNNER_UUID", "OAUTH_CLIENT_ID", "OAUTH_CLIENT_SECRET",
    "WORKING_DIRECTORY", "RUNTIME_PREREQUISITES_ENABLED", "PAUSE_IMAGE", "AUTH_PROXY_IMAGE", "CLONE_IMAGE",
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
    "BITBUCKET_PIPELINES_RUNNER_BUILD_LOG_ENABLED", "JAVA_OPTS", "DOCKER_HOST", "TZ",
})

CONFIG_DIR = "/root/.docker"
CONFIG_FILE = "/root/.docker/config.json"
SOCKET_PATH = "/var/run/docker.sock"
CONTAINERS_DIR = "/var/lib/docker/containers"
MIN_CONTAINER_MEMORY = 512 * 1024 * 1024

# A machine's architecture as `uname -m` and `docker info` name it -> as image platforms and Kubernetes
# name it (Go's GOARCH), the names runner labels such as linux.arm64 use.
GO_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm"}


def go_arch(arch):
    """The Go name of an architecture (``aarch64`` -> ``arm64``; a Go name stays), or None for none."""
    return GO_ARCH.get(arch, arch) if arch else None


def custom_helper_images(runner):
    """The helper image variables (PAUSE_IMAGE, AUTH_PROXY_IMAGE, CLONE_IMAGE) set to a non-default image.

    Returns the effective EnvVar of each (the last one of a name wins); a value given by an unresolved
    reference (``$VAR``) counts as custom, since it may name a private image.
    """
    out = []
    for name, default in HELPER_IMAGE_DEFAULTS.items():
        var = runner.env_var(name)
        if var is None:
            continue
        if var.value is not None and var.value.strip() in ("", default):
            continue
        out.append(var)
    return out
