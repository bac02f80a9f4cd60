/**
 * Reads Kubernetes manifests from a folder: every .yaml/.yml/.json file below it, multi-document files and `List`
 * kinds included. A file that does not parse is reported with its name and the parser's reason.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';

export interface RawObject {
  doc: Record<string, unknown>;
  /** `file.yaml#2`: where the object came from, for messages. */
  origin: string;
}

export interface ManifestSet { objects: RawObject[]; errors: string[] }

export async function readManifestFolder(folder: string): Promise<ManifestSet> {
  const files = (await walk(folder)).filter((f) => /\.(ya?ml|json)$/i.test(f)).sort();
  const out: ManifestSet = { objects: [], errors: [] };
  for (const file of files) {
    const name = relative(folder, file) || file;
    const text = await readFile(file, 'utf8');
    const docs = parseAllDocuments(text);
    const list = Array.isArray(docs) ? docs : [docs];
    list.forEach((doc, i) => {
      const where = `${name}#${i + 1}`;
      if (doc.errors.length) {
        out.errors.push(`${where}: ${doc.errors[0]!.message.split('\n')[0]}`);
        return;
      }
      collect(doc.toJS({ maxAliasCount: 100 }), where, out);
    });
  }
  return out;
}

function collect(value: unknown, where: string, out: ManifestSet): void {
  if (value === null || value === undefined) return;
  if (typeof value !== 'object' || Array.isArray(value)) {
    out.errors.push(`${where}: not a Kubernetes object`);
    return;
  }
  const obj = value as Record<string, unknown>;
  if (typeof obj.kind === 'string' && obj.kind.endsWith('List') && Array.isArray(obj.items)) {
    obj.items.forEach((item, i) => collect(item, `${where}.items[${i}]`, out));
    return;
  }
  out.objects.push({ doc: obj, origin: where });
}

async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((e) => (e.isDirectory() ? walk(join(dir, e.name)) : Promise.resolve(e.isFile() ? [join(dir, e.name)] : []))),
  );
  return nested.flat();
}
