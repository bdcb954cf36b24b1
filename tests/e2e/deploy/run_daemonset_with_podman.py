#!/usr/bin/env python3
"""Runs the DaemonSet's agent container for real with podman, as the kubelet would, and checks it works.

Everything that decides how the container runs is read from deploy/kubernetes/base (the rendered base): the image,
command and args, env (the downward-API node name becomes this host's name), volumes and mounts (ConfigMaps written
out as files, host paths, propagation, read-only), the host PID namespace, the user, capabilities, seccomp,
read-only root filesystem, no_new_privs, resource limits, and the probes' paths and ports. Then: it attaches,
records a secret read made on the host (`cat` of a temporary .aws/credentials), answers the readiness probe, and
/metrics parses as Prometheus text with the agent's series.

Writable host paths (the database directory) are redirected into a temporary directory, and missing
DirectoryOrCreate host paths are created there, so the test leaves this machine as it found it. Exit 77: skipped.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

SKIP = 77
REPO = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "../../.."))
BASE = os.path.join(REPO, "deploy/kubernetes/base")


def skip(why):
    print(f"SKIPPED: {why}")
    sys.exit(SKIP)


def log(msg):
    print(f"[deploy-e2e] {msg}", flush=True)


try:
    import yaml
except ImportError:
    skip("python3-yaml is not installed (apt-get install python3-yaml)")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from exposition import parse_exposition  # noqa: E402


def render_base(directory):
    """The base is plain resources (see its kustomization.yaml): rendering is reading them in order."""
    with open(os.path.join(directory, "kustomization.yaml")) as f:
        k = yaml.safe_load(f)
    extra = set(k) - {"apiVersion", "kind", "resources"}
    if extra:
        sys.exit(f"FAILED: the base kustomization uses {sorted(extra)}: this test renders plain resources only")
    docs = []
    for r in k["resources"]:
        with open(os.path.join(directory, r)) as f:
            docs += [d for d in yaml.safe_load_all(f) if d]
    return docs


def run(cmd, **kw):
    return subprocess.run(cmd, check=False, text=True, capture_output=True, **kw)


def memory_bytes(q):
    units = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "K": 1000, "M": 10**6, "G": 10**9}
    m = re.fullmatch(r"(\d+)([KMG]i?)?", str(q))
    if not m:
        sys.exit(f"FAILED: memory quantity {q!r} not understood by this test")
    return int(m.group(1)) * units.get(m.group(2) or "", 1)


def cpus(q):
    q = str(q)
    return str(int(q[:-1]) / 1000) if q.endswith("m") else q


def bounding_set():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("CapBnd:"):
                return int(line.split()[1], 16)
    return 0


CAP_BITS = {"CHOWN": 0, "DAC_OVERRIDE": 1, "DAC_READ_SEARCH": 2, "NET_ADMIN": 12, "SYS_PTRACE": 19,
            "SYS_ADMIN": 21, "SYS_RESOURCE": 24, "PERFMON": 38, "BPF": 39}


def podman_command(docs, name, tmp, image):
    """`podman run` arguments equivalent to the DaemonSet's pod, and what the test needs to reach it."""
    ds = next(d for d in docs if d["kind"] == "DaemonSet")
    config_maps = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ConfigMap"}
    pod = ds["spec"]["template"]["spec"]
    if len(pod["containers"]) != 1 or pod.get("initContainers"):
        sys.exit("FAILED: this test runs a pod of exactly one container")
    c = pod["containers"][0]
    sc = c.get("securityContext", {})
    args = ["podman", "--runtime", "runc", "run", "-d", "--name", name,
            # This machine's podman needs explicit ulimits (see ENVIRONMENT.md); the kubelet leaves them alone.
            "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]
    notes = []
    if pod.get("hostPID"):
        args += ["--pid", "host"]
    if pod.get("hostNetwork"):
        args += ["--network", "host"]
    if "runAsUser" in sc:
        args += ["--user", f"{sc['runAsUser']}:{sc.get('runAsGroup', 0)}"]
    if sc.get("readOnlyRootFilesystem"):
        args += ["--read-only"]
    if sc.get("allowPrivilegeEscalation") is False:
        args += ["--security-opt", "no-new-privileges"]
    if sc.get("privileged"):
        args += ["--privileged"]
    caps = sc.get("capabilities", {})
    for cap in caps.get("drop", []):
        args += ["--cap-drop", "ALL" if cap == "ALL" else f"CAP_{cap}"]
    bound = bounding_set()
    for cap in caps.get("add", []):
        bit = CAP_BITS.get(cap)
        if bit is not None and not (bound >> bit) & 1:
            # runc accepts it, but no process here can hold a capability outside the host's bounding set.
            notes.append(f"CAP_{cap} is not in this host's bounding set: the container cannot actually hold it")
        args += ["--cap-add", f"CAP_{cap}"]
    seccomp = sc.get("seccompProfile", {}).get("type", "RuntimeDefault")
    if seccomp == "Unconfined":
        args += ["--security-opt", "seccomp=unconfined"]
    elif seccomp != "RuntimeDefault":
        sys.exit(f"FAILED: seccomp profile {seccomp} not supported by this test")
    limits = c.get("resources", {}).get("limits", {})
    if "memory" in limits:
        args += ["--memory", str(memory_bytes(limits["memory"]))]
    if "cpu" in limits:
        args += ["--cpus", cpus(limits["cpu"])]
    for e in c.get("env", []):
        if "value" in e:
            args += ["-e", f"{e['name']}={e['value']}"]
        elif e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "spec.nodeName":
            args += ["-e", f"{e['name']}={socket.gethostname()}"]
        else:
            sys.exit(f"FAILED: env {e['name']} uses a source this test cannot provide")

    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    host_dirs = {}  # mountPath -> where the test put it on the host
    for m in c.get("volumeMounts", []):
        v = volumes[m["name"]]
        read_only = bool(m.get("readOnly"))
        if "configMap" in v:
            src = os.path.join(tmp, "configmap-" + v["name"])
            os.makedirs(src, exist_ok=True)
            for key, text in config_maps[v["configMap"]["name"]].get("data", {}).items():
                with open(os.path.join(src, key), "w") as f:
                    f.write(text)
            if m.get("subPath"):
                src = os.path.join(src, m["subPath"])
        elif "secret" in v:
            if not v["secret"].get("optional"):
                sys.exit(f"FAILED: volume {v['name']} needs Secret {v['secret']['secretName']}, which this test does not create")
            src = os.path.join(tmp, "secret-" + v["name"])  # an optional Secret not created yet: an empty directory
            os.makedirs(src, exist_ok=True)
            os.chmod(src, 0o700)
        elif "emptyDir" in v:
            src = os.path.join(tmp, "emptydir-" + v["name"])
            os.makedirs(src, exist_ok=True)
        elif "hostPath" in v:
            path, kind = v["hostPath"]["path"], v["hostPath"].get("type", "")
            if not read_only:
                src = os.path.join(tmp, "host" + path)
                os.makedirs(src, exist_ok=True)
                notes.append(f"writable hostPath {path} -> {src}")
            elif os.path.exists(path):
                src = path
            elif kind == "DirectoryOrCreate":
                src = os.path.join(tmp, "host" + path)
                os.makedirs(src, exist_ok=True)
                notes.append(f"hostPath {path} does not exist here -> empty {src}")
            else:
                skip(f"hostPath {path} ({kind or 'no type'}) does not exist on this machine")
        else:
            sys.exit(f"FAILED: volume {v['name']} has a type this test does not handle")
        host_dirs[m["mountPath"]] = src
        opts = [f"type=bind", f"source={src}", f"destination={m['mountPath']}"]
        if read_only:
            opts.append("ro=true")
        propagation = m.get("mountPropagation", "None")
        opts += {"None": [], "HostToContainer": ["bind-propagation=rslave"],
                 "Bidirectional": ["bind-propagation=rshared"]}[propagation]
        args += ["--mount", ",".join(opts)]

    command = c.get("command")
    if command:
        args += ["--entrypoint", json.dumps(command)]
    args.append(image)
    args += c.get("args", [])
    return args, c, host_dirs, notes


def probe_target(c, probe):
    get = c[probe]["httpGet"]
    port = get["port"]
    if isinstance(port, str):
        port = next(p["containerPort"] for p in c["ports"] if p.get("name") == port)
    return get["path"], port


def http_in_netns(pid, port, path):
    """GET from inside the container's network namespace, as the kubelet reaches the pod IP."""
    r = run(["nsenter", "-t", str(pid), "-n", "curl", "-s", "-m", "5", "-w", "\n%{http_code}",
             f"http://127.0.0.1:{port}{path}"])
    if r.returncode != 0:
        return 0, r.stderr.strip()
    body, _, code = r.stdout.rpartition("\n")
    return int(code), body


def main():
    if os.geteuid() != 0:
        skip("needs root (rootful podman, BPF)")
    for tool in ("podman", "runc", "debootstrap", "nsenter", "curl"):
        if not shutil.which(tool):
            skip(f"{tool} is not installed")

    docs = render_base(BASE)
    ds = next(d for d in docs if d["kind"] == "DaemonSet")
    container = ds["spec"]["template"]["spec"]["containers"][0]
    image = container["image"]
    # An image without a registry is what podman keeps under localhost/.
    local_image = image if "/" in image and "." in image.split("/")[0] else "localhost/" + image

    log(f"building {local_image} with deploy/build-image.sh (the Debian base and layers are cached)")
    build_log = os.path.join(tempfile.gettempdir(), "credwatch-e2e-image-build.log")
    with open(build_log, "w") as out:
        rc = subprocess.run([os.path.join(REPO, "deploy/build-image.sh"), "--image", local_image],
                            stdout=out, stderr=subprocess.STDOUT).returncode
    if rc != 0:
        with open(build_log) as f:
            print("".join(f.readlines()[-40:]))
        sys.exit(f"FAILED: the image build failed (full log: {build_log})")
    log("image built")

    def credwatch_in_image(*cli):
        r = run(["podman", "--runtime", "runc", "run", "--rm", "--ulimit", "nofile=1024:1024", "--ulimit",
                 "nproc=1024:1024", "--entrypoint", '["/usr/bin/credwatch"]', local_image, *cli])
        if r.returncode != 0 and "--help" not in cli:
            sys.exit(f"FAILED: credwatch {' '.join(cli)} in the image: {r.stderr.strip()[-500:]}")
        return r.stdout

    metrics_wired = "--metrics-addr" in credwatch_in_image("agent", "--help")
    version = json.loads(credwatch_in_image("version", "--json"))

    name = f"credwatch-e2e-{os.getpid()}"
    tmp = tempfile.mkdtemp(prefix="credwatch-e2e-deploy-", dir="/var/tmp")
    secret_home = tempfile.mkdtemp(prefix="credwatch-e2e-home-")
    failures = []
    try:
        args, c, host_dirs, notes = podman_command(docs, name, tmp, local_image)
        if not metrics_wired:
            # The agent does not have the flag yet: run it without, check everything else, fail at the end.
            i = args.index("--metrics-addr")
            del args[i:i + 2]
            failures.append("`credwatch agent` has no --metrics-addr yet: /healthz, /readyz and /metrics not checked")
        for n in notes:
            log(f"note: {n}")
        log("podman " + " ".join(args[1:]))
        r = run(args)
        if r.returncode != 0:
            sys.exit(f"FAILED: podman run: {r.stderr.strip()}")

        # Started: the agent logs that it records once every family is attached and the store is open.
        deadline = time.time() + 90
        logs = ""
        while time.time() < deadline:
            logs = run(["podman", "logs", name]).stdout + run(["podman", "logs", name]).stderr
            state = run(["podman", "inspect", "-f", "{{.State.Running}}", name]).stdout.strip()
            if "recording to" in logs:
                break
            if state != "true":
                print(logs[-4000:])
                sys.exit("FAILED: the agent container exited during start-up (logs above)")
            time.sleep(1)
        else:
            print(logs[-4000:])
            sys.exit("FAILED: the agent did not start recording within 90 s (logs above)")
        log("agent started: " + next((l for l in logs.splitlines() if "recording to" in l), "").strip()[:200])
        for family in ("process", "files", "net"):
            if f'"probe family {family}: attached' not in logs and f"probe family {family}: attached" not in logs:
                failures.append(f"probe family {family} did not attach in the container")
        pid = int(run(["podman", "inspect", "-f", "{{.State.Pid}}", name]).stdout.strip())

        # A secret read on the host, by a process the container only sees through hostPID.
        secret = os.path.join(secret_home, ".aws", "credentials")
        os.makedirs(os.path.dirname(secret))
        with open(secret, "w") as f:
            f.write("[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n")  # AWS's documentation example, not a key
        time.sleep(1)  # the catalog's name filter is loaded; give the ring buffer reader a moment
        reader = subprocess.Popen(["cat", secret], stdout=subprocess.DEVNULL)
        reader.wait()
        config = yaml.safe_load(open(os.path.join(next(v for k, v in host_dirs.items() if k.endswith("config.yaml")))))
        db_in_container = config["database"]
        found = None
        deadline = time.time() + 30
        while time.time() < deadline and not found:
            time.sleep(1)
            q = run(["podman", "exec", name, "credwatch", "events", "--db", db_in_container, "--kind", "file_open",
                     "--path", "**/.aws/credentials", "--format", "json"])
            if q.returncode == 0 and q.stdout.strip():
                found = next((e for e in json.loads(q.stdout) if e["process"]["pid"] == reader.pid), None)
        if not found:
            failures.append(f"no file_open event for `cat {secret}` (pid {reader.pid}) in {db_in_container}")
        else:
            log(f"recorded: {found['kind']} {found['path']} by {found['process']['comm']} pid {found['process']['pid']}"
                f" catalog={found['catalog']}")
            if found["path"] != secret or found["process"]["comm"] != "cat":
                failures.append(f"the event does not describe the read: {json.dumps(found)}")
        # `credwatch doctor` inside the pod: what an operator runs with `kubectl exec` says the agent can run.
        d = run(["podman", "exec", name, "credwatch", "doctor", "--format", "json"])
        try:
            report = json.loads(d.stdout)
            log("doctor in the container: " + ", ".join(f"{k} {v}" for k, v in report["summary"].items()) +
                "; not ok: " + ", ".join(f"{c['id']}={c['status']}" for c in report["checks"] if c["status"] != "ok"))
            if d.returncode != 0 or not report["agent_can_run"]:
                failures.append(f"credwatch doctor in the container says the agent cannot run: {report['blocking']}")
        except (json.JSONDecodeError, KeyError) as e:
            failures.append(f"credwatch doctor in the container printed no report ({e}): {d.stdout[-500:]} {d.stderr[-500:]}")
        db_dir = os.path.dirname(db_in_container)
        host_db = os.path.join(host_dirs.get(db_dir, "/nonexistent"), os.path.basename(db_in_container))
        if not os.path.isfile(host_db):
            failures.append(f"the database is not on the hostPath volume ({host_db} missing)")

        if metrics_wired:
            live_path, live_port = probe_target(c, "livenessProbe")
            ready_path, ready_port = probe_target(c, "readinessProbe")
            code, body = http_in_netns(pid, live_port, live_path)
            if code != 200:
                failures.append(f"liveness {live_path}: HTTP {code} {body!r}")
            deadline = time.time() + 30
            while True:
                code, body = http_in_netns(pid, ready_port, ready_path)
                if code == 200 or time.time() > deadline:
                    break
                time.sleep(1)
            if code != 200:
                failures.append(f"readiness {ready_path}: HTTP {code} {body!r}")
            else:
                log(f"{ready_path}: 200 {body.strip()}")
            ann = ds["spec"]["template"]["metadata"]["annotations"]
            code, text = http_in_netns(pid, int(ann["prometheus.io/port"]), ann.get("prometheus.io/path", "/metrics"))
            if code != 200:
                failures.append(f"metrics: HTTP {code}")
            else:
                families, error = parse_exposition(text)
                if error:
                    failures.append(f"/metrics is not valid Prometheus text: {error}")
                expected = {"credwatch_build_info": "gauge", "credwatch_events_total": "counter",
                            "credwatch_events_lost_total": "counter", "credwatch_decode_errors_total": "counter",
                            "credwatch_ring_buffer_fill_ratio": "gauge", "credwatch_store_write_duration_seconds": "histogram",
                            "process_resident_memory_bytes": "gauge", "process_start_time_seconds": "gauge"}
                for fam, kind in expected.items():
                    if families.get(fam, {}).get("type") != kind:
                        failures.append(f"/metrics: no {kind} {fam}")
                info = [s for s in families.get("credwatch_build_info", {}).get("samples", [])]
                if not info or info[0][1].get("version") != version["version"] or info[0][2] != 1:
                    failures.append(f"credwatch_build_info does not say version {version['version']}: {info}")
                opens = [s for s in families.get("credwatch_events_total", {}).get("samples", [])
                         if s[1].get("kind") == "file_open"]
                if not opens or opens[0][2] < 1:
                    failures.append(f"credwatch_events_total{{kind=\"file_open\"}} did not count the read: {opens}")
                log(f"/metrics: {len(families)} families, valid exposition")
    finally:
        logs = run(["podman", "logs", name])
        if failures:
            print("---- agent logs (last 60 lines) ----")
            print("\n".join((logs.stdout + logs.stderr).splitlines()[-60:]))
        run(["podman", "rm", "-f", "-t", "10", name])
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(secret_home, ignore_errors=True)

    if failures:
        for f in failures:
            print(f"FAILED: {f}")
        sys.exit(1)
    log("the DaemonSet's container runs, records a host secret read, is ready, and exposes valid metrics")


if __name__ == "__main__":
    main()
