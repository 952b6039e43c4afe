r"""In the autoscaler's runners_config.yaml, each group's scaling parameters are set and in their ranges.

**What it checks.** The `parameters` of every group (the
`percentageRunnersIdle` strategy):

- all six are set: `min`, `max`, `scale_up_threshold`,
  `scale_down_threshold`, `scale_up_multiplier`, `scale_down_multiplier`
  (camelCase names as in older READMEs are read too): a missing one fails;
- `min` and `max` are whole numbers with `0 <= min <= max`; `max` above 100
  warns (Bitbucket allows 100 runners per workspace or repository); `min: 0`
  warns (the autoscaler's README recommends at least 1);
- the thresholds are between 0 and 1, and `scale_down_threshold` is below
  `scale_up_threshold` (warn otherwise);
- `scale_up_multiplier > 1` and `0 < scale_down_multiplier < 1`;
- an unknown parameter name (a typo) warns.

**Why.** The autoscaler compares the share of busy runners with the thresholds
and multiplies the number of online runners by the multipliers. A multiplier
of 1 or less never scales up (`ceil(n * 1) = n`), one of 1 or more never scales
down, a threshold outside 0..1 never triggers, and `min > max` leaves the
group stuck. A missing parameter stops the autoscaler ("parameter is
missing").

**Fails**

```yaml
    parameters:
      min: 5
      max: 2
      scale_up_threshold: 80
      scale_down_threshold: 0.2
      scale_up_multiplier: 1
      scale_down_multiplier: 1.5
```

**Passes**

```yaml
    parameters:
      min: 1
      max: 10
      scale_up_threshold: 0.5
      scale_down_threshold: 0.2
      scale_up_multiplier: 1.5
      scale_down_multiplier: 0.5
```

**Fix.** Keep `min <= max` (at most 100), thresholds as fractions
(`0.8`, not `80`) with the scale-down one lower, `scale_up_multiplier` above 1
and `scale_down_multiplier` between 0 and 1.

**References.** The runners autoscaler's `runners_config.yaml` template and
README (percentageRunnersIdle); `../shared/reference/bitbucket-runners.md` §6.2.
"""

import difflib

from doctor.inputs.autoscaler import PARAMETERS
from doctor.model import Severity
from doctor.rulebase import Rule

MAX_RUNNERS = 100


def _number(value):
    if value.yaml_type in ("mapping", "sequence", "null", "bool") or value.text is None:
        return None
    try:
        return float(value.text)
    except ValueError:
        return None


class AutoscalerParameters(Rule):
    id = "RD612"
    name = "autoscaler-parameters"
    severity = Severity.ERROR
    applies_to = ("autoscaler-group",)

    def check(self, subject, ctx):
        group = subject.group
        if group.parameters_value is None:
            yield self.fail(f"group {group.name!r} has no parameters: the autoscaler refuses it",
                            "add parameters: {min: 1, max: 10, scale_up_threshold: 0.5, scale_down_threshold: 0.2, "
                            "scale_up_multiplier: 1.5, scale_down_multiplier: 0.5}", at=group.origin)
            return
        params, problems = group.parameters, []
        at = group.parameters_value.origin
        numbers = {}
        for name in PARAMETERS:
            if name not in params:
                problems.append(self.fail(f"parameter {name} is missing: the autoscaler stops ('parameter is "
                                          "missing')", f"add {name} under parameters:", at=at))
                continue
            value = _number(params[name])
            if value is None:
                problems.append(self.fail(f"{params[name].key} is {params[name].raw!r}, not a number",
                                          f"write a number for {name}", at=params[name].origin,
                                          evidence=params[name].raw))
                continue
            numbers[name] = value
        for key, value in params.items():
            if key not in PARAMETERS:
                near = difflib.get_close_matches(key, PARAMETERS, n=1, cutoff=0.7)
                hint = f": did you mean {near[0]}?" if near else ""
                problems.append(self.warn(f"parameters has {value.key!r}, which the autoscaler does not read{hint}",
                                          f"rename it to {near[0]}" if near else f"remove {value.key}",
                                          at=value.origin, severity=Severity.WARNING))
        problems.extend(self._ranges(params, numbers))
        yield from problems
        if not problems:
            n = numbers
            yield self.ok(f"{n['min']:g} to {n['max']:g} runners; scale up above {n['scale_up_threshold']:g} busy "
                          f"(x{n['scale_up_multiplier']:g}), down below {n['scale_down_threshold']:g} "
                          f"(x{n['scale_down_multiplier']:g})", at=at)

    def _ranges(self, params, n):
        def bad(name, message, fix, warn=False):
            v = params[name]
            if warn:
                return self.warn(message, fix, at=v.origin, evidence=f"{v.key}: {v.raw}", severity=Severity.WARNING)
            return self.fail(message, fix, at=v.origin, evidence=f"{v.key}: {v.raw}")

        for name in ("min", "max"):
            if name in n and (n[name] != int(n[name]) or n[name] < 0):
                yield bad(name, f"{name} is {n[name]:g}: it must be a whole number of runners, 0 or more",
                          f"{name}: {max(int(n[name]), 0)}")
        if "min" in n and "max" in n and n["min"] > n["max"]:
            yield bad("max", f"max ({n['max']:g}) is below min ({n['min']:g}): the group cannot scale",
                      f"max: {n['min']:g} or more")
        if n.get("max", 0) > MAX_RUNNERS:
            yield bad("max", f"max is {n['max']:g}: Bitbucket allows {MAX_RUNNERS} runners per workspace or "
                      "repository, so the autoscaler stops there", f"max: {MAX_RUNNERS}", warn=True)
        if n.get("min") == 0:
            yield bad("min", "min is 0: with no runner online, steps for this group fail at once instead of waiting "
                      "(the autoscaler's README recommends min 1)", "min: 1", warn=True)
        for name in ("scale_up_threshold", "scale_down_threshold"):
            if name in n and not 0 <= n[name] <= 1:
                hint = f" (a percentage? write {n[name] / 100:g})" if 1 < n[name] <= 100 else ""
                yield bad(name, f"{params[name].key} is {n[name]:g}: it is the share of busy runners, from 0 to 1"
                          f"{hint}", f"{params[name].key}: a value from 0 to 1")
        up, down = n.get("scale_up_threshold"), n.get("scale_down_threshold")
        if up is not None and down is not None and 0 <= up <= 1 and 0 <= down <= 1 and down >= up:
            yield bad("scale_down_threshold", f"scale_down_threshold ({down:g}) is not below scale_up_threshold "
                      f"({up:g}): the group scales up and down on the same load", "keep it lower, e.g. 0.2 with 0.8",
                      warn=True)
        if "scale_up_multiplier" in n and n["scale_up_multiplier"] <= 1:
            yield bad("scale_up_multiplier", f"scale_up_multiplier is {n['scale_up_multiplier']:g}: it must be above "
                      "1, or the group never grows beyond min", "scale_up_multiplier: 1.5")
        if "scale_down_multiplier" in n and not 0 < n["scale_down_multiplier"] < 1:
            yield bad("scale_down_multiplier", f"scale_down_multiplier is {n['scale_down_multiplier']:g}: it must be "
                      "between 0 and 1 (exclusive), or the group never shrinks", "scale_down_multiplier: 0.5")


RULE = AutoscalerParameters()
