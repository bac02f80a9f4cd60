/**
 * The workerd configuration `npm run serve` runs: the production bundle as the `gateway` service, a read-only KV
 * service over the exporter's files, the rate-limit and circuit Durable Objects (SQLite on local disk), and an
 * outbound network that reaches loopback addresses only. `fronts` adds more services running the same bundle on
 * their own ports — separate isolates — bound to the gateway's Durable Objects, so counting across isolates can
 * be tried on one machine.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, relative, resolve } from 'node:path';

export interface ServeConfig {
  bundle: string;
  kvDir: string;
  port: number;
  vars: Record<string, string>;
  compatibilityDate: string;
  compatibilityFlags: string[];
  /** Outbound networks workerd may reach; loopback only by default. */
  allow?: string[];
  /** Where the Durable Objects keep their SQLite files. */
  doDir: string;
  /** More isolates of the same bundle, one port each. */
  fronts?: number[];
  /** Also serve, on this port, a worker that times KV reads through the same binding (scripts/bench/kv-probe.js). */
  kvProbePort?: number;
}

const DO_CLASSES = [['RATE_LIMITER', 'RateLimiter'], ['CIRCUIT_BREAKER', 'CircuitBreaker']] as const;

const str = (s: string) => JSON.stringify(s);
const KV_SERVICE = resolve(import.meta.dirname ?? 'scripts/serve', 'kv-service.js');
const KV_PROBE = resolve(import.meta.dirname ?? 'scripts/serve', '../bench/kv-probe.js');

/** `configDir`: capnp resolves `embed` paths relative to the config file. */
export function workerdConfig(c: ServeConfig, configDir: string): string {
  const embed = (file: string) => str(relative(resolve(configDir), resolve(file)));
  const common = [
    '(name = "KV", kvNamespace = "kv")',
    ...Object.entries(c.vars).map(([k, v]) => `(name = ${str(k)}, text = ${str(v)})`),
  ];
  const own = DO_CLASSES.map(([b, cls]) => `(name = ${str(b)}, durableObjectNamespace = ${str(cls)})`);
  const borrowed = DO_CLASSES.map(([b, cls]) => `(name = ${str(b)}, durableObjectNamespace = (className = ${str(cls)}, serviceName = "gateway"))`);
  const worker = (bindings: string[], extra = '') => `(
  modules = [(name = "index.js", esModule = embed ${embed(c.bundle)})],
  compatibilityDate = ${str(c.compatibilityDate)},
  compatibilityFlags = [${c.compatibilityFlags.map(str).join(', ')}],
  bindings = [${bindings.join(', ')}],
  globalOutbound = "loopback",${extra}
)`;
  const fronts = c.fronts ?? [];
  return `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "gateway", worker = .gateway),
${fronts.map((_, i) => `    (name = "front${i + 1}", worker = .front${i + 1}),
`).join('')}    (name = "kv", worker = .kv),
${c.kvProbePort ? `    (name = "kv-probe", worker = (modules = [(name = "probe.js", esModule = embed ${embed(KV_PROBE)})], compatibilityDate = ${str(c.compatibilityDate)}, bindings = [(name = "KV", kvNamespace = "kv")])),
` : ''}    (name = "kv-files", disk = (path = ${str(resolve(c.kvDir))}, writable = false)),
    (name = "do-disk", disk = (path = ${str(resolve(c.doDir))}, writable = true)),
    (name = "loopback", network = (allow = [${(c.allow ?? ['local']).map(str).join(', ')}])),
  ],
  sockets = [
    (name = "http", address = ${str(`127.0.0.1:${c.port}`)}, http = (), service = "gateway"),
${fronts.map((p, i) => `    (name = "http${i + 1}", address = ${str(`127.0.0.1:${p}`)}, http = (), service = "front${i + 1}"),
`).join('')}${c.kvProbePort ? `    (name = "kv-probe-http", address = ${str(`127.0.0.1:${c.kvProbePort}`)}, http = (), service = "kv-probe"),
` : ''}  ],
);

const gateway :Workerd.Worker = ${worker([...common, ...own], `
  durableObjectNamespaces = [${DO_CLASSES.map(([, cls]) => `(className = ${str(cls)}, uniqueKey = ${str(`ks-edge-${cls}`)}, enableSql = true)`).join(', ')}],
  durableObjectStorage = (localDisk = "do-disk"),`)};
${fronts.map((_, i) => `
const front${i + 1} :Workerd.Worker = ${worker([...common, ...borrowed])};
`).join('')}
const kv :Workerd.Worker = (
  modules = [(name = "kv.js", esModule = embed ${embed(KV_SERVICE)})],
  compatibilityDate = ${str(c.compatibilityDate)},
  bindings = [(name = "DISK", service = "kv-files")],
);
`;
}

export async function writeWorkerdConfig(file: string, c: ServeConfig): Promise<void> {
  await writeFile(file, workerdConfig(c, dirname(file)));
}

/** compatibility_date and _flags from wrangler.toml, so serve, tests and deploy run the same runtime semantics. */
export function compatibility(toml = readFileSync('wrangler.toml', 'utf8')): { compatibilityDate: string; compatibilityFlags: string[] } {
  const date = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml)?.[1];
  if (!date) throw new Error('wrangler.toml has no compatibility_date');
  const flags = /^compatibility_flags\s*=\s*\[([^\]]*)\]/m.exec(toml)?.[1] ?? '';
  return { compatibilityDate: date, compatibilityFlags: [...flags.matchAll(/"([^"]+)"/g)].map((m) => m[1]!) };
}

/** The native workerd binary the `workerd` package ships (not its Node launcher), so its process is the server. */
export function workerdBinary(): string {
  return createRequire(import.meta.url)('workerd').default as string;
}
