r"""On Kubernetes, the runner's pod is restarted when the runner stops, and only one copy runs.

**What it checks.** The workload around the runner container and its pod's
`restartPolicy` (other runner forms: skip):

- a Job (or CronJob): `restartPolicy: OnFailure` passes (Atlassian's Job),
  with the `backoffLimit` noted; none or `Always`: fail, the API server
  refuses the Job; `Never` with a dind sidecar in `containers:`: fail, the
  sidecar keeps the pod running, so nothing replaces the runner after it stops
  (with a native sidecar: warn, each stop creates a new pod until
  `backoffLimit`);
- a Deployment, StatefulSet, ReplicaSet or DaemonSet: `restartPolicy` other
  than `Always`: fail (refused); more than one replica, or a DaemonSet: warn,
  every copy is the same registered runner;
- a bare Pod: `Always` (the default) warns (nothing recreates the pod when its
  node goes away or it is evicted); `Never` or `OnFailure`: fail or warn.

**Why.** The runner is a long-running agent: when it stops (a crash, an
out-of-memory kill, an expired connection) something must start it again, or
steps wait in the queue for a runner that shows as offline. A runner is one
registration (RUNNER_UUID and its OAuth client): copies started from one
template share it, which Bitbucket does not expect; each runner needs its own
registration (or use the runners autoscaler).

**Fails**

```yaml
apiVersion: batch/v1
kind: Job
spec:
  template:
    spec:
      containers:
        - name: runner
          ...
        - name: docker
          image: docker:27.3-dind
      restartPolicy: Never
```

**Passes**

```yaml
apiVersion: batch/v1
kind: Job
spec:
  template:
    spec:
      ...
      restartPolicy: OnFailure
  backoffLimit: 6
```

**Fix.** For a Job use `restartPolicy: OnFailure` (as Atlassian's Job does),
or run the runner as a Deployment with `replicas: 1`. For more runners,
register one runner per Deployment (each with its own UUID and Secret), or use
the runners autoscaler.

**References.** Atlassian, "Deploying the Docker-based runner on Kubernetes";
`../shared/reference/bitbucket-runners.md` §6.1 (the Job, the native-sidecar
variant), §6.2; Kubernetes, "Jobs" (pod failure, backoffLimit).
"""

from doctor.model import Severity
from doctor.rules._kubernetes import KubernetesRule, kubernetes_facts

JOBS = ("Job", "CronJob")
CONTROLLERS = ("Deployment", "StatefulSet", "ReplicaSet", "ReplicationController", "DaemonSet")


class RestartPolicy(KubernetesRule):
    id = "RD604"
    name = "restart-policy"
    severity = Severity.ERROR

    def check(self, subject, ctx):
        facts = kubernetes_facts(subject)
        kind = facts.workload
        policy, at = facts.restart_policy or (None, facts.workload_origin)
        if kind in JOBS:
            yield self._job(facts, policy, at)
        elif kind in CONTROLLERS:
            yield from self._controller(facts, policy, at)
        else:
            yield self._pod(facts, policy, at)

    def _job(self, facts, policy, at):
        kind, name = facts.workload, facts.workload_name
        if policy in (None, "Always"):
            what = "has no restartPolicy" if policy is None else "has restartPolicy Always"
            return self.fail(f"the pod template of {kind} {name} {what}: a Job's pods must use OnFailure or Never, so "
                             "the API server refuses the Job", "set restartPolicy: OnFailure in the pod spec", at=at)
        limit = facts.backoff_limit[0] if facts.backoff_limit else "6 (the default)"
        if policy == "Never":
            sidecars = [c for c in facts.daemons if not c.init]
            if sidecars:
                return self.fail(
                    f"{kind} {name} uses restartPolicy Never: when the runner stops, the dind sidecar "
                    f"{sidecars[0].name} keeps the pod running, so the Job never replaces it and the runner stays "
                    "offline", "set restartPolicy: OnFailure: the kubelet then restarts the runner container in place",
                    at=at)
            return self.warn(f"{kind} {name} uses restartPolicy Never: each time the runner stops, the Job starts a "
                             f"new pod, and after backoffLimit {limit} failures it gives up and the runner stays "
                             "offline", "set restartPolicy: OnFailure", at=at, severity=Severity.WARNING)
        if policy == "OnFailure":
            return self.ok(f"{kind} {name}: the kubelet restarts the runner when it fails (restartPolicy OnFailure); "
                           f"after backoffLimit {limit} failures the Job stops and must be recreated", at=at)
        return self.fail(f"restartPolicy {policy!r} is not one Kubernetes knows (OnFailure, Never)",
                         "set restartPolicy: OnFailure", at=at)

    def _controller(self, facts, policy, at):
        kind, name = facts.workload, facts.workload_name
        if policy not in (None, "Always"):
            yield self.fail(f"{kind} {name} has restartPolicy {policy}: a {kind}'s pods must use Always, so the API "
                            "server refuses it", "remove restartPolicy (Always is the default)", at=at)
            return
        replicas = facts.replicas[0] if facts.replicas else "1"
        if kind == "DaemonSet":
            yield self.warn(f"DaemonSet {name} starts the runner on every node, all with one RUNNER_UUID and OAuth "
                            "client: they are copies of one registered runner, not several runners",
                            "register one runner per node and run each as its own Deployment (replicas: 1), or use "
                            "the runners autoscaler", at=facts.workload_origin, severity=Severity.WARNING)
            return
        if replicas.isdigit() and int(replicas) > 1:
            yield self.warn(f"{kind} {name} runs {replicas} replicas of the runner with one RUNNER_UUID and OAuth "
                            "client: they are copies of one registered runner, not several runners",
                            "set replicas: 1 and create one Deployment per registered runner (each with its own UUIDs "
                            "and Secret), or use the runners autoscaler", at=facts.replicas[1],
                            severity=Severity.WARNING)
            return
        yield self.ok(f"{kind} {name} keeps one runner pod running and restarts it (restartPolicy Always)", at=at)

    def _pod(self, facts, policy, at):
        name = facts.workload_name
        if policy in (None, "Always"):
            return self.warn(f"Pod {name} is not managed by a controller: the kubelet restarts the runner container, "
                             "but nothing recreates the pod when its node goes away or it is evicted",
                             "run it as a Deployment with replicas: 1, or as Atlassian's Job", at=facts.workload_origin,
                             severity=Severity.WARNING)
        if policy == "Never":
            return self.fail(f"Pod {name} has restartPolicy Never: once the runner stops, it stays offline",
                             "run it as a Deployment with replicas: 1 (or set restartPolicy: Always)", at=at)
        return self.warn(f"Pod {name} has restartPolicy {policy} and no controller: the runner is restarted only "
                         "after a failure, and nothing recreates the pod", "run it as a Deployment with replicas: 1",
                         at=at, severity=Severity.WARNING)


RULE = RestartPolicy()
