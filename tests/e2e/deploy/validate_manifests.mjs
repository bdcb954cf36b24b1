// Validates deploy/kubernetes offline: renders each kustomization (without kustomize, and compares with
// `kubectl kustomize` when that exists), checks every document against the Kubernetes OpenAPI schemas of the npm
// package kubernetes-models (types, required fields, formats), rejects unknown fields with the package's TypeScript
// types (what `kubectl apply --validate=strict` would), and checks the cross-references the API server or the
// kubelet would refuse (selector vs labels, volume and port names, privileged vs allowPrivilegeEscalation...).
//
//   node validate_manifests.mjs <repo> <npm-dir>      (npm-dir holds node_modules with the pinned packages)
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";
import util from "node:util";

const [repo, npmDir] = process.argv.slice(2);
if (!repo || !npmDir) {
  console.error("usage: node validate_manifests.mjs <repo> <npm-dir>");
  process.exit(2);
}
const require = createRequire(path.join(npmDir, "package.json"));
const YAML = require("yaml");

const errors = [];
const fail = (where, what) => errors.push(`${where}: ${what}`);

// --- Rendering: the subset of kustomize the manifests use (resources, JSON 6902 patches). Anything else is an
// error here, so the offline rendering can never silently differ from kustomize's.
function parseYamlFile(file) {
  const text = fs.readFileSync(file, "utf8");
  // YAML 1.1, as Kubernetes' own parser reads it (0400 is octal, yes/no are booleans).
  const docs = YAML.parseAllDocuments(text, { version: "1.1", uniqueKeys: true });
  const out = [];
  for (const d of docs) {
    for (const e of d.errors) fail(file, `YAML: ${e.message}`);
    for (const w of d.warnings) fail(file, `YAML: ${w.message}`);
    const value = d.toJS();
    if (value !== null && value !== undefined) out.push({ source: file, doc: value });
  }
  return out;
}

function applyJsonPatch(doc, ops, where) {
  for (const op of ops) {
    const parts = op.path.split("/").slice(1).map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
    let parent = doc;
    for (const p of parts.slice(0, -1)) {
      if (parent === undefined || parent === null || !(p in parent)) {
        fail(where, `patch path ${op.path} does not exist`);
        return;
      }
      parent = parent[p];
    }
    const last = parts[parts.length - 1];
    if (op.op === "replace" || op.op === "add") {
      if (op.op === "replace" && !(last in parent)) fail(where, `patch replaces ${op.path}, which does not exist`);
      if (Array.isArray(parent) && op.op === "add") parent.splice(last === "-" ? parent.length : Number(last), 0, op.value);
      else parent[last] = op.value;
    } else if (op.op === "remove") {
      if (!(last in parent)) fail(where, `patch removes ${op.path}, which does not exist`);
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete parent[last];
    } else {
      fail(where, `patch op '${op.op}' is not supported by the offline renderer`);
    }
  }
}

function render(dir) {
  const file = path.join(dir, "kustomization.yaml");
  const [k] = parseYamlFile(file).map((d) => d.doc);
  for (const key of Object.keys(k))
    if (!["apiVersion", "kind", "resources", "patches"].includes(key))
      fail(file, `'${key}' is not supported by the offline renderer (keep the base plain, see its header)`);
  let docs = [];
  for (const r of k.resources ?? []) {
    const p = path.join(dir, r);
    docs = docs.concat(fs.statSync(p).isDirectory() ? render(p) : parseYamlFile(p));
  }
  for (const patch of k.patches ?? []) {
    const t = patch.target ?? {};
    const ops = YAML.parse(patch.patch ?? fs.readFileSync(path.join(dir, patch.path), "utf8"), { version: "1.1" });
    if (!Array.isArray(ops)) {
      fail(file, "only JSON 6902 patches (a list of operations) are supported by the offline renderer");
      continue;
    }
    const targets = docs.filter((d) => (!t.kind || d.doc.kind === t.kind) && (!t.name || d.doc.metadata?.name === t.name));
    if (targets.length === 0) fail(file, `patch target ${JSON.stringify(t)} matches nothing`);
    for (const d of targets) applyJsonPatch(d.doc, ops, file);
  }
  return docs;
}

// --- Schema validation with kubernetes-models.
function modelFor(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  const dir = group ? path.join(group, version) : version;
  const mod = require(path.join("kubernetes-models", dir, kind));
  return { cls: mod[kind], typeImport: `kubernetes-models/${dir}/${kind}`, typeName: `I${kind}` };
}

// --- Checks the schemas cannot express.
const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
function crossChecks(docs, where) {
  const byKind = (kind) => docs.filter((d) => d.doc.kind === kind).map((d) => d.doc);
  const namespaces = new Set(byKind("Namespace").map((n) => n.metadata.name));
  for (const { doc, source } of docs) {
    const id = `${source} ${doc.kind}/${doc.metadata?.name}`;
    if (!doc.metadata?.name || !dnsLabel.test(doc.metadata.name)) fail(id, "metadata.name must be a DNS label");
    if (doc.kind !== "Namespace") {
      if (!doc.metadata?.namespace) fail(id, "no metadata.namespace (it would land in whatever namespace kubectl uses)");
      else if (!namespaces.has(doc.metadata.namespace)) fail(id, `namespace ${doc.metadata.namespace} is not defined`);
    }
    if (doc.kind === "ConfigMap")
      for (const key of Object.keys(doc.data ?? {}))
        if (!/^[-._a-zA-Z0-9]+$/.test(key)) fail(id, `ConfigMap key '${key}' is not a valid file name key`);
  }
  const configMaps = new Set(byKind("ConfigMap").map((c) => c.metadata.name));
  const accounts = new Set(byKind("ServiceAccount").map((s) => s.metadata.name));
  for (const ds of byKind("DaemonSet")) {
    const id = `${where} DaemonSet/${ds.metadata.name}`;
    const pod = ds.spec.template;
    for (const [k, v] of Object.entries(ds.spec.selector.matchLabels ?? {}))
      if (pod.metadata?.labels?.[k] !== v) fail(id, `selector ${k}=${v} does not match the pod template's labels`);
    const spec = pod.spec;
    if (spec.serviceAccountName && !accounts.has(spec.serviceAccountName))
      fail(id, `service account ${spec.serviceAccountName} is not defined`);
    const volumes = new Map((spec.volumes ?? []).map((v) => [v.name, v]));
    if (volumes.size !== (spec.volumes ?? []).length) fail(id, "two volumes share a name");
    for (const v of spec.volumes ?? []) {
      if (v.configMap && !configMaps.has(v.configMap.name) && !v.configMap.optional)
        fail(id, `volume ${v.name}: ConfigMap ${v.configMap.name} is not defined`);
      const mode = v.secret?.defaultMode ?? v.configMap?.defaultMode;
      if (mode !== undefined && (mode < 0 || mode > 0o777)) fail(id, `volume ${v.name}: defaultMode ${mode} is not 0..0777`);
      if (v.hostPath && !v.hostPath.path.startsWith("/")) fail(id, `volume ${v.name}: hostPath must be absolute`);
    }
    for (const c of spec.containers) {
      const cid = `${id} container ${c.name}`;
      const mounted = new Set();
      for (const m of c.volumeMounts ?? []) {
        if (!volumes.has(m.name)) fail(cid, `volumeMount ${m.name} has no volume`);
        if (mounted.has(m.mountPath)) fail(cid, `two mounts at ${m.mountPath}`);
        mounted.add(m.mountPath);
        if (m.mountPropagation === "Bidirectional" && !c.securityContext?.privileged)
          fail(cid, `${m.name}: Bidirectional propagation needs a privileged container`);
        const v = volumes.get(m.name);
        if (m.subPath && v?.configMap && !(m.subPath in (docs.find((d) => d.doc.kind === "ConfigMap" && d.doc.metadata.name === v.configMap.name)?.doc.data ?? {})))
          fail(cid, `${m.name}: subPath ${m.subPath} is not a key of ConfigMap ${v.configMap.name}`);
      }
      const ports = new Set((c.ports ?? []).map((p) => p.name));
      for (const probe of ["livenessProbe", "readinessProbe", "startupProbe"]) {
        const port = c[probe]?.httpGet?.port;
        if (typeof port === "string" && !ports.has(port)) fail(cid, `${probe} uses port '${port}', which is not declared`);
      }
      const sc = c.securityContext ?? {};
      if (sc.privileged && sc.allowPrivilegeEscalation === false)
        fail(cid, "allowPrivilegeEscalation: false with privileged: true is refused by the API server");
      for (const cap of sc.capabilities?.add ?? [])
        if (!/^[A-Z_]+$/.test(cap) || cap.startsWith("CAP_")) fail(cid, `capability '${cap}' must be written like SYS_ADMIN`);
      for (const e of c.env ?? []) if (!/^[-._a-zA-Z][-._a-zA-Z0-9]*$/.test(e.name)) fail(cid, `env name '${e.name}'`);
    }
    const annotations = pod.metadata?.annotations ?? {};
    if (annotations["prometheus.io/scrape"] === "true") {
      const port = Number(annotations["prometheus.io/port"]);
      if (!spec.containers.some((c) => (c.ports ?? []).some((p) => p.containerPort === port)))
        fail(id, `prometheus.io/port ${port} is not a container port`);
    }
  }
}

// --- Unknown fields: the TypeScript types generated from the same OpenAPI document, with excess property checks.
function strictFieldCheck(all) {
  const work = fs.mkdtempSync(path.join(npmDir, "strict-"));
  try {
    const files = [];
    all.forEach(({ doc, source, where }, i) => {
      const m = modelFor(doc.apiVersion, doc.kind);
      const f = path.join(work, `doc${i}.ts`);
      fs.writeFileSync(f, `// ${where}: ${source} ${doc.kind}/${doc.metadata?.name}\n` +
        `import type { ${m.typeName} } from "${m.typeImport}";\n` +
        `export const doc: ${m.typeName} = ${JSON.stringify(doc, null, 2)};\n`);
      files.push(f);
    });
    fs.writeFileSync(path.join(work, "tsconfig.json"), JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, module: "commonjs", moduleResolution: "node", skipLibCheck: true,
                         target: "es2020", types: [] },
      files: files.map((f) => path.basename(f)),
    }));
    try {
      execFileSync(process.execPath, [path.join(npmDir, "node_modules/typescript/bin/tsc"), "-p", work], { encoding: "utf8" });
    } catch (e) {
      // tsc prints "docN.ts(line,col): error TS2353: Object literal may only specify known properties..."
      for (const line of (e.stdout || String(e)).split("\n").filter((l) => l.includes("error"))) {
        const n = Number(/doc(\d+)\.ts/.exec(line)?.[1]);
        const { doc, source, where } = all[n] ?? {};
        fail(all[n] ? `${where}: ${source} ${doc.kind}/${doc.metadata?.name}` : "tsc", line.replace(/^.*error /, "error "));
      }
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

const bases = [path.join(repo, "deploy/kubernetes/base"), path.join(repo, "deploy/kubernetes/overlays/privileged")];
let kubectl = null;
try {
  execFileSync("kubectl", ["kustomize", "--help"], { stdio: "ignore" });
  kubectl = "kubectl";
} catch {
  console.log("note: kubectl is not installed: the offline rendering is not compared with kustomize's");
}

const all = [];
for (const base of bases) {
  const where = path.relative(repo, base);
  const docs = render(base);
  if (docs.length === 0) fail(where, "renders no documents");
  if (kubectl) {
    let out = "";
    try {
      out = execFileSync(kubectl, ["kustomize", base], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    } catch (e) {
      fail(where, `kubectl kustomize failed: ${(e.stderr || String(e)).trim()}`);
    }
    const theirs = YAML.parseAllDocuments(out, { version: "1.1" }).map((d) => d.toJS());
    const key = (d) => `${d.kind}/${d.metadata?.namespace ?? ""}/${d.metadata?.name}`;
    const mine = new Map(docs.map((d) => [key(d.doc), d.doc]));
    if (theirs.length !== docs.length) fail(where, `kustomize renders ${theirs.length} documents, the offline renderer ${docs.length}`);
    for (const t of theirs)
      if (!util.isDeepStrictEqual(mine.get(key(t)), t)) fail(where, `${key(t)} differs between kustomize and the offline rendering`);
  }
  for (const { doc, source } of docs) {
    const id = `${where}: ${path.relative(repo, source)} ${doc.kind}/${doc.metadata?.name}`;
    let model;
    try {
      model = modelFor(doc.apiVersion, doc.kind);
    } catch {
      fail(id, `no schema for ${doc.apiVersion} ${doc.kind}`);
      continue;
    }
    try {
      new model.cls(doc).validate();
      console.log(`ok     ${id}`);
    } catch (e) {
      fail(id, `schema: ${e.message}`);
    }
    all.push({ doc, source: path.relative(repo, source), where });
  }
  crossChecks(docs, where);
}
strictFieldCheck(all);

if (errors.length) {
  for (const e of errors) console.log(`FAILED ${e}`);
  process.exit(1);
}
console.log(`all ${all.length} documents valid`);
