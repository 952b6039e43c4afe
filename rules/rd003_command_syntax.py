r"""The start command means what it looks like: no broken continuations, open quotes or options after the image.

**What it checks.** In a shell script, pasted command or systemd `ExecStart=`:

- a line-continuation backslash followed by a space (`\ ` at the end of a line):
  the backslash escapes the space, the line ends the command, and the next
  lines run as separate commands (`-v: command not found`);
- a backslash-space in the middle of a line, as when a multi-line command is
  copied from a page that flattened its lines: the shell passes `" -v"` as one
  word and docker fails with `invalid reference format`;
- a quote that is never closed;
- docker options written after the image name: everything after the image is
  the container's command, so `... bitbucket-pipelines-runner:1 --restart=always`
  sets no restart policy;
- options docker does not know, and options missing their value.

**Why.** These mistakes are invisible when reading the command and cost hours:
the command often still starts *something*, just not what was written.

**Fails**

```sh
docker container run -it \
  -v /tmp:/tmp \ 
  -v /var/run/docker.sock:/var/run/docker.sock \
  docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:1 --restart=always
```

(there is a space after the backslash on line 2, and `--restart` comes after the image)

**Passes**

```sh
docker container run -d --restart=always \
  -v /tmp:/tmp \
  -v /var/run/docker.sock:/var/run/docker.sock \
  docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:1
```

**Fix.** Make each backslash the last character of its line (or remove the
backslashes from a one-line command), close every quote, and put all docker
options before the image name.

**References.** Docker run reference (`docker run [OPTIONS] IMAGE [COMMAND] [ARG...]`);
`../shared/reference/bitbucket-runners.md` §7.
"""

from doctor.model import Severity
from doctor.rulebase import Rule

COMMAND_FORMS = ("docker-run", "systemd", "start-script")


class CommandSyntax(Rule):
    id = "RD003"
    name = "command-syntax"
    severity = Severity.ERROR
    docker_only = False

    def check(self, subject, ctx):
        runner = subject.runner
        if runner.form not in COMMAND_FORMS and not runner.syntax_problems:
            yield self.skip(f"not a shell command ({runner.form}): nothing to parse")
            return
        groups = {}
        for p in runner.syntax_problems:
            groups.setdefault((p.code, p.message), []).append(p)
        for (_code, message), problems in groups.items():
            first = problems[0]
            places = sorted({(p.origin.line or 0, p.origin.column or 0) for p in problems})
            if len(places) > 1:
                shown = ", ".join(f"{ln}:{col}" for ln, col in places[:6]) + (", ..." if len(places) > 6 else "")
                message = f"{message} ({len(places)} places: line:column {shown})"
            yield self.fail(message, first.fix, at=first.origin)
        seen = bool(groups)
        if runner.kind.value == "linux-docker" and runner.form != "start-script" and not runner.image:
            yield self.fail("the command names no image: docker needs IMAGE after the options",
                            "end the command with the runner image", at=runner.origin)
        if not seen and (runner.image or runner.form == "start-script"):
            yield self.ok("the command parses as written")


RULE = CommandSyntax()
