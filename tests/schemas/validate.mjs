#!/usr/bin/env node
// Validate Kubernetes manifests against the real CRD / API schemas.
//
// Usage:
//   node tests/schemas/validate.mjs [--substitute KEY=VALUE]... [--allow-unknown-fields]
//                                   [FILE|-]...
//
// Reads multi-document YAML from the given files (or stdin when no file or
// "-" is given) and prints one JSON line per object:
//   {"index", "source", "apiVersion", "kind", "name", "status", "errors"}
// status is "ok", "invalid" or "unknown-kind". A `kind: ResourceList`
// document is unwrapped: each of its `items` is validated instead.
// Exit status: 0 when nothing is invalid (unknown kinds are reported, not
// failures), 1 when at least one object is invalid, 2 on usage/I/O errors.
//
// Validators:
//   * externaldns.k8s.io/v1alpha1 DNSEndpoint: ./dnsendpoint.schema.json (ajv)
//   * everything else: the model classes of kubernetes-models (core/apps/...),
//     @kubernetes-models/cert-manager, @kubernetes-models/gateway-api and
//     @kubernetes-models/flux-cd, looked up by apiVersion+kind in the
//     packages' own "exports" maps and imported lazily (fast startup).
//     Their generated schemas never forbid unknown keys, so by default an
//     unknown field inside a schema-defined object is reported as an error
//     too (see ReadTracker); --allow-unknown-fields turns that off.
//   * any other apiVersion/kind: status "unknown-kind".
//
// Flux post-build placeholders such as ${SECRET_DOMAIN} are plain strings to
// YAML; fields with a pattern (Gateway API hostnames) reject them. Pass
// --substitute KEY=VALUE to replace ${KEY} in the input text before parsing,
// which is what Flux does before applying.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { argv, exit, stdout, stderr } from "node:process";

import { parseAllDocuments } from "yaml";

const require = createRequire(import.meta.url);

/** Packages holding model classes, searched in this order. */
const MODEL_PACKAGES = [
  "kubernetes-models",
  "@kubernetes-models/cert-manager",
  "@kubernetes-models/gateway-api",
  "@kubernetes-models/flux-cd",
];

const API_VERSION_RE = /^(?:[a-z0-9]([-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?v[0-9]+(?:(?:alpha|beta)[0-9]+)?$/;
const KIND_RE = /^[A-Z][A-Za-z0-9]*$/;
const SUBSTITUTION_KEY_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

const USAGE = `usage: node validate.mjs [--substitute KEY=VALUE]... [--allow-unknown-fields] [FILE|-]...
Validates multi-document Kubernetes YAML (stdin when no FILE is given) and
prints one JSON line per object. Exit 0: all ok/unknown-kind, 1: invalid found.
  --substitute KEY=VALUE   replace \${KEY} in the input before parsing (repeatable)
  --allow-unknown-fields   do not report fields missing from the schema`;

// ---------------------------------------------------------------------------
// Validators

/** Hand-written JSON schemas (validated with ajv), keyed by "apiVersion kind". */
const LOCAL_SCHEMAS = new Map([["externaldns.k8s.io/v1alpha1 DNSEndpoint", "./dnsendpoint.schema.json"]]);

let ajv = null;

/** Compiles a hand-written schema; ajv is only imported when one is needed. */
async function localValidator(schemaFile) {
  if (ajv === null) {
    const [{ default: Ajv }, { default: addFormats }] = await Promise.all([import("ajv"), import("ajv-formats")]);
    ajv = new Ajv({ allErrors: true, strict: true });
    addFormats(ajv);
  }
  const validate = ajv.compile(JSON.parse(readFileSync(new URL(schemaFile, import.meta.url), "utf8")));
  return (obj) => (validate(obj) ? [] : validate.errors.map(formatAjvError));
}

let exportMaps = null;
const validatorCache = new Map();

/** Map of model package -> set of its exported "group/version" subpaths. */
function packageExports() {
  if (exportMaps === null) {
    exportMaps = MODEL_PACKAGES.map((name) => {
      const pkg = require(`${name}/package.json`);
      const versions = new Set();
      for (const key of Object.keys(pkg.exports ?? {})) {
        if (key.endsWith("/*") && !key.startsWith("./_")) {
          versions.add(key.slice(2, -2));
        }
      }
      return [name, versions];
    });
  }
  return exportMaps;
}

/**
 * Returns a function obj -> string[] (errors) for apiVersion+kind, or null
 * when no schema is known for it.
 */
async function findValidator(apiVersion, kind) {
  const key = `${apiVersion} ${kind}`;
  if (validatorCache.has(key)) return validatorCache.get(key);

  let validator = null;
  if (LOCAL_SCHEMAS.has(key)) {
    validator = await localValidator(LOCAL_SCHEMAS.get(key));
  } else if (API_VERSION_RE.test(apiVersion) && KIND_RE.test(kind)) {
    for (const [pkgName, versions] of packageExports()) {
      if (!versions.has(apiVersion)) continue;
      const Model = await importModel(`${pkgName}/${apiVersion}/${kind}`, kind);
      if (Model && Model.apiVersion === apiVersion && Model.kind === kind) {
        validator = (obj, opts) => validateWithModel(Model, obj, opts);
        break;
      }
    }
  }
  validatorCache.set(key, validator);
  return validator;
}

async function importModel(specifier, kind) {
  try {
    const mod = await import(specifier);
    return typeof mod[kind] === "function" ? mod[kind] : null;
  } catch (err) {
    if (err?.code === "ERR_MODULE_NOT_FOUND" || err?.code === "ERR_PACKAGE_PATH_NOT_EXPORTED") {
      return null;
    }
    throw err;
  }
}

/**
 * Runs the model's compiled validator (kubernetes-models call it through
 * Model#validate). With strictFields, the object is wrapped in proxies that
 * record which keys the validator looks up; see unknownFieldErrors.
 */
function validateWithModel(Model, obj, { strictFields }) {
  const tracker = strictFields ? new ReadTracker() : null;
  const data = tracker ? tracker.wrap(obj, "") : obj;
  let errors = [];
  try {
    // Not `new Model(obj)`: the constructor deep-copies the data, which would
    // both hide it from the tracker and read every key.
    Model.prototype.validate.call(data);
  } catch (err) {
    if (!Array.isArray(err?.errors)) return [`validator error: ${err?.message ?? String(err)}`];
    errors = err.errors.map(formatAjvError);
  }
  return tracker ? [...errors, ...tracker.unknownFieldErrors()] : errors;
}

/**
 * The generated validators carry no `additionalProperties: false` (a CRD's
 * structural schema prunes unknown fields silently instead), so a typo such
 * as `spec.dnsNamez` would pass. The compiled ajv code reads every property
 * its schema declares (`void 0 !== data.name`) and iterates every key of a
 * map (`for (k in data) check(data[k])`). So in an object where the validator
 * read at least one key, a key it never read is not in the schema. Objects
 * where it read nothing are free-form (e.g. HelmRelease spec.values) and are
 * not judged.
 */
class ReadTracker {
  constructor() {
    this.proxies = new WeakMap();
    this.objects = []; // [target, path, Set of keys read]
  }

  wrap(value, path) {
    if (value === null || typeof value !== "object") return value;
    const cached = this.proxies.get(value);
    if (cached !== undefined) return cached;
    const isArray = Array.isArray(value);
    const read = new Set();
    if (!isArray) this.objects.push([value, path, read]);
    const proxy = new Proxy(value, {
      get: (target, key, receiver) => {
        const child = Reflect.get(target, key, receiver);
        if (typeof key !== "string") return child;
        if (!isArray) read.add(key);
        else if (!/^[0-9]+$/.test(key)) return child;
        return Object.hasOwn(target, key) ? this.wrap(child, `${path}/${escapePointer(key)}`) : child;
      },
      has: (target, key) => {
        if (!isArray && typeof key === "string") read.add(key);
        return Reflect.has(target, key);
      },
    });
    this.proxies.set(value, proxy);
    return proxy;
  }

  unknownFieldErrors() {
    const errors = [];
    for (const [target, path, read] of this.objects) {
      if (read.size === 0) continue;
      for (const key of Object.keys(target)) {
        if (!read.has(key)) errors.push(`${path || "/"}: unknown field ${JSON.stringify(key)}`);
      }
    }
    return errors;
  }
}

function escapePointer(key) {
  return key.replaceAll("~", "~0").replaceAll("/", "~1");
}

function formatAjvError(err) {
  const path = err.instancePath || "/";
  let message = err.message ?? err.keyword;
  const params = err.params ?? {};
  if (err.keyword === "additionalProperties") {
    message += `: ${JSON.stringify(params.additionalProperty)}`;
  } else if (err.keyword === "enum") {
    message += `: ${JSON.stringify(params.allowedValues)}`;
  } else if (err.keyword === "const") {
    message += `: ${JSON.stringify(params.allowedValue)}`;
  }
  return `${path}: ${message}`;
}

/** Checks every API object gets from the API server, whatever its schema. */
function metadataErrors(obj) {
  const meta = obj.metadata;
  if (meta === undefined || meta === null) return ["/metadata: required"];
  if (typeof meta !== "object" || Array.isArray(meta)) return ["/metadata: must be object"];
  if (meta.name === undefined && meta.generateName === undefined) {
    return ["/metadata: must have required property 'name'"];
  }
  if (meta.name !== undefined && (typeof meta.name !== "string" || meta.name === "")) {
    return ["/metadata/name: must be a non-empty string"];
  }
  return [];
}

// ---------------------------------------------------------------------------
// Input handling

function parseArgs(args) {
  const substitutions = new Map();
  const files = [];
  const options = { strictFields: true };
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i];
    if (arg === "-h" || arg === "--help") {
      stdout.write(`${USAGE}\n`);
      exit(0);
    } else if (arg === "--allow-unknown-fields") {
      options.strictFields = false;
    } else if (arg === "--substitute" || arg.startsWith("--substitute=")) {
      const spec = arg === "--substitute" ? args[(i += 1)] : arg.slice("--substitute=".length);
      const eq = spec === undefined ? -1 : spec.indexOf("=");
      const name = eq > 0 ? spec.slice(0, eq) : "";
      if (!SUBSTITUTION_KEY_RE.test(name)) {
        usageError(`--substitute expects KEY=VALUE with KEY matching ${SUBSTITUTION_KEY_RE}, got ${JSON.stringify(spec)}`);
      }
      substitutions.set(name, spec.slice(eq + 1));
    } else if (arg.startsWith("-") && arg !== "-") {
      usageError(`unknown option ${arg}`);
    } else {
      files.push(arg);
    }
  }
  return { substitutions, options, files: files.length > 0 ? files : ["-"] };
}

function usageError(message) {
  stderr.write(`validate.mjs: ${message}\n${USAGE}\n`);
  exit(2);
}

function readSource(file) {
  try {
    return readFileSync(file === "-" ? 0 : file, "utf8");
  } catch (err) {
    stderr.write(`validate.mjs: cannot read ${file === "-" ? "stdin" : file}: ${err.message}\n`);
    exit(2);
  }
}

function substitute(text, substitutions) {
  let result = text;
  for (const [name, value] of substitutions) {
    result = result.split(`\${${name}}`).join(value);
  }
  return result;
}

/** Yields {obj} or {parseErrors} for every object in a YAML text. */
function* objectsIn(text) {
  for (const doc of parseAllDocuments(text, { prettyErrors: true })) {
    if (doc.errors.length > 0) {
      yield { parseErrors: doc.errors.map((e) => `YAML: ${e.message}`) };
      continue;
    }
    const value = doc.toJS({ maxAliasCount: 1000 });
    if (value === null || value === undefined) continue; // empty document, e.g. trailing '---'
    if (value !== null && typeof value === "object" && !Array.isArray(value) && value.kind === "ResourceList") {
      if (!Array.isArray(value.items)) {
        yield { obj: value, ownErrors: ["/items: ResourceList must have an items array"] };
        continue;
      }
      for (const item of value.items) yield { obj: item };
      continue;
    }
    yield { obj: value };
  }
}

function str(value) {
  return typeof value === "string" ? value : null;
}

async function check(entry, options) {
  if (entry.parseErrors) {
    return { apiVersion: null, kind: null, name: null, status: "invalid", errors: entry.parseErrors };
  }
  const { obj } = entry;
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) {
    return { apiVersion: null, kind: null, name: null, status: "invalid", errors: ["/: document must be a mapping"] };
  }
  const apiVersion = str(obj.apiVersion);
  const kind = str(obj.kind);
  const name = str(obj.metadata?.name);
  const head = { apiVersion, kind, name };
  if (entry.ownErrors) return { ...head, status: "invalid", errors: entry.ownErrors };
  const missing = [];
  if (!apiVersion) missing.push("/apiVersion: required non-empty string");
  if (!kind) missing.push("/kind: required non-empty string");
  if (missing.length > 0) return { ...head, status: "invalid", errors: missing };

  const validator = await findValidator(apiVersion, kind);
  if (validator === null) return { ...head, status: "unknown-kind", errors: [] };
  const errors = [...metadataErrors(obj), ...validator(obj, options)];
  return { ...head, status: errors.length > 0 ? "invalid" : "ok", errors: [...new Set(errors)] };
}

async function main() {
  const { substitutions, files, options } = parseArgs(argv.slice(2));
  let index = 0;
  let invalid = false;
  const lines = [];
  for (const file of files) {
    const text = substitute(readSource(file), substitutions);
    for (const entry of objectsIn(text)) {
      const result = await check(entry, options);
      invalid ||= result.status === "invalid";
      lines.push(JSON.stringify({ index, source: file, ...result }));
      index += 1;
    }
  }
  stdout.write(lines.length > 0 ? `${lines.join("\n")}\n` : "");
  process.exitCode = invalid ? 1 : 0;
}

await main();
