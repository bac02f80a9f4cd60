/**
 * The workerd configuration `npm run serve` runs: the production bundle as the `gateway` service, a read-only KV
 * service over the exporter's files, and an outbound network that reaches loopback addresses only.
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
}

const str = (s: string) => JSON.stringify(s);
const KV_SERVICE = resolve(import.meta.dirname ?? 'scripts/serve', 'kv-service.js');

/** `configDir`: capnp resolves `embed` paths relative to the config file. */
export function workerdConfig(c: ServeConfig, configDir: string): string {
  const embed = (file: string) => str(relative(resolve(configDir), resolve(file)));
  const bindings = [
    '(name = "KV", kvNamespace = "kv")',
    ...Object.entries(c.vars).map(([k, v]) => `(name = ${str(k)}, text = ${str(v)})`),
  ];
  return `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "gateway", worker = .gateway),
    (name = "kv", worker = .kv),
    (name = "kv-files", disk = (path = ${str(resolve(c.kvDir))}, writable = false)),
    (name = "loopback", network = (allow = [${(c.allow ?? ['local']).map(str).join(', ')}])),
  ],
  sockets = [(name = "http", address = ${str(`127.0.0.1:${c.port}`)}, http = (), service = "gateway")],
);

const gateway :Workerd.Worker = (
  modules = [(name = "index.js", esModule = embed ${embed(c.bundle)})],
  compatibilityDate = ${str(c.compatibilityDate)},
  compatibilityFlags = [${c.compatibilityFlags.map(str).join(', ')}],
  bindings = [${bindings.join(', ')}],
  globalOutbound = "loopback",
);

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
