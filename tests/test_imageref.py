"""Image references parsed as distribution/reference (ParseNormalizedNamed) parses them."""

import pytest

from doctor.imageref import InvalidReference, parse_reference, unresolved_variable

HEX64 = "0123456789abcdef" * 4
RUNNER = "docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner"

# text, domain, path, tag, digest, explicit_domain, familiar
VALID = [
    ("ubuntu", "docker.io", "library/ubuntu", None, None, False, "ubuntu"),
    ("ubuntu:22.04", "docker.io", "library/ubuntu", "22.04", None, False, "ubuntu:22.04"),
    ("docker.io/ubuntu", "docker.io", "library/ubuntu", None, None, True, "ubuntu"),
    ("index.docker.io/library/ubuntu:22.04", "docker.io", "library/ubuntu", "22.04", None, True, "ubuntu:22.04"),
    ("docker.io/library/distros/ubuntu", "docker.io", "library/distros/ubuntu", None, None, True,
     "library/distros/ubuntu"),
    # a first component without '.', ':' or uppercase is a Docker Hub namespace, not a host
    ("my-private-registry/my-pause:latest", "docker.io", "my-private-registry/my-pause", "latest", None, False,
     "my-private-registry/my-pause:latest"),
    ("registry/pause", "docker.io", "registry/pause", None, None, False, "registry/pause"),
    # no slash: always Docker Hub, and ':5443' is a tag
    ("registry.acme.example:5443", "docker.io", "library/registry.acme.example", "5443", None, False,
     "registry.acme.example:5443"),
    ("localhost", "docker.io", "library/localhost", None, None, False, "localhost"),
    ("localhost/foo", "localhost", "foo", None, None, True, "localhost/foo"),
    ("localhost:5000/foo", "localhost:5000", "foo", None, None, True, "localhost:5000/foo"),
    ("10.0.0.5/x", "10.0.0.5", "x", None, None, True, "10.0.0.5/x"),
    ("10.0.0.5:5000/team/x:v1.2", "10.0.0.5:5000", "team/x", "v1.2", None, True, "10.0.0.5:5000/team/x:v1.2"),
    # uppercase first component: a host (uppercase is illegal in paths)
    ("Foo/bar", "Foo", "bar", None, None, True, "Foo/bar"),
    ("[::1]:5000/x", "[::1]:5000", "x", None, None, True, "[::1]:5000/x"),
    ("[2001:db8::1]/team/app:1", "[2001:db8::1]", "team/app", "1", None, True, "[2001:db8::1]/team/app:1"),
    (RUNNER + ":1", "docker-public.packages.atlassian.com", "sox/atlassian/bitbucket-pipelines-runner", "1",
     None, True, RUNNER + ":1"),
    ("docker-hub.packages.atlassian.com/google/pause:latest", "docker-hub.packages.atlassian.com", "google/pause",
     "latest", None, True, "docker-hub.packages.atlassian.com/google/pause:latest"),
    ("foo@sha256:" + HEX64, "docker.io", "library/foo", None, "sha256:" + HEX64, False, "foo@sha256:" + HEX64),
    ("reg.example.com/a/b:1@sha256:" + HEX64, "reg.example.com", "a/b", "1", "sha256:" + HEX64, True,
     "reg.example.com/a/b:1@sha256:" + HEX64),
    ("foo@sha384:" + "ab" * 48, "docker.io", "library/foo", None, "sha384:" + "ab" * 48, False,
     "foo@sha384:" + "ab" * 48),
    ("foo@sha512:" + "cd" * 64, "docker.io", "library/foo", None, "sha512:" + "cd" * 64, False,
     "foo@sha512:" + "cd" * 64),
    # separators: '.', '_', '__', runs of '-'
    ("a_b__c---d/e.f", "docker.io", "a_b__c---d/e.f", None, None, False, "a_b__c---d/e.f"),
    ("foo:" + "t" * 128, "docker.io", "library/foo", "t" * 128, None, False, "foo:" + "t" * 128),
    ("my-host:8443/x", "my-host:8443", "x", None, None, True, "my-host:8443/x"),
]


@pytest.mark.parametrize("text,domain,path,tag,digest,explicit,familiar", VALID, ids=[v[0][:60] for v in VALID])
def test_valid(text, domain, path, tag, digest, explicit, familiar):
    ref = parse_reference(text)
    assert (ref.domain, ref.path, ref.tag, ref.digest, ref.explicit_domain) == (domain, path, tag, digest, explicit)
    assert ref.repository == f"{domain}/{path}"
    assert ref.is_docker_hub == (domain == "docker.io")
    assert ref.familiar == familiar
    assert ref.original == text


# text, a substring of the error message
INVALID = [
    ("", "empty"),
    (" ubuntu", "whitespace"),
    ("FOO", "repository name (library/FOO) must be lowercase"),
    ("myorg/MyApp", "repository name (myorg/MyApp) must be lowercase"),
    ("reg.example.com/Team/app", "repository name (Team/app) must be lowercase"),
    (HEX64, "cannot specify 64-byte hexadecimal strings"),
    ("foo:", "tag after ':' is empty"),
    ("foo:-x", "must not start with '.' or '-'"),
    ("foo:" + "t" * 129, "limit is 128"),
    ("foo:a/b", "invalid reference format"),
    ("foo@md5:" + "a" * 32, "unsupported digest algorithm 'md5'"),
    ("foo@sha256:" + "a" * 32, "sha256 digest has 64 hex digits"),
    ("foo@sha256:" + HEX64.upper(), "lowercase"),
    ("foo@sha256:abc", "not a digest"),
    ("my_reg.com/foo", "'my_reg.com' is not a valid registry host"),
    ("-bad.example.com/foo", "not a valid registry host"),
    ("[fe80::1%eth0]:5000/x", "not a valid registry host"),
    ("reg.example.com/team//app", "''"),
    ("reg.example.com/team/app-", "'app-'"),
    ("docker.io/" + "a" * 256, "must not be more than 255 characters"),
    ("https://reg.example.com/app", "invalid reference format"),
]


@pytest.mark.parametrize("text,message", INVALID, ids=[v[0][:40] or "empty" for v in INVALID])
def test_invalid(text, message):
    with pytest.raises(InvalidReference) as info:
        parse_reference(text)
    assert message in str(info.value)


def test_path_length_counts_the_path_only():
    # distribution/reference v0.6 counts the path, not the domain
    ref = parse_reference("a-very-long-registry-host.example.com/" + "a" * 255)
    assert len(ref.path) == 255


def test_effective_tag():
    assert parse_reference("ubuntu").effective_tag == "latest"
    assert parse_reference("ubuntu:1").effective_tag == "1"
    assert parse_reference("ubuntu:1@sha256:" + HEX64).effective_tag is None


def test_unresolved_variable():
    assert unresolved_variable("$REGISTRY/pause:3.9") == "$REGISTRY"
    assert unresolved_variable("reg.example.com/pause:${TAG:-3.9}") == "${TAG:-3.9}"
    assert unresolved_variable("reg.example.com/pause:3.9") is None
    assert unresolved_variable(None) is None
