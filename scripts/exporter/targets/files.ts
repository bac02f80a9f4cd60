/**
 * KV keys as files under a folder (`current`, `snapshot/<sha>`, `bundle/<sha>`): what `npm run serve` hands to
 * plain workerd, whose KV binding reads them through a disk service.
 */
import { mkdir, readdir, readFile, rm, writeFile, rename } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { KvEntry, KvTarget } from './kv-target';

const SAFE_KEY = /^(current|pointer\/[a-z0-9-]{1,63}|(snapshot|snapshot-body|bundle)\/[0-9a-f]{64})$/;

export function filesTarget(folder: string): KvTarget {
  const root = resolve(folder);
  const pathOf = (key: string) => {
    if (!SAFE_KEY.test(key)) throw new Error(`refusing to store KV key ${JSON.stringify(key)} as a file`);
    return join(root, key);
  };
  return {
    description: `files ${root}`,
    async get(key) {
      try {
        return await readFile(pathOf(key), 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw e;
      }
    },
    async listKeys(prefix) {
      const dir = prefix.replace(/\/$/, '');
      try {
        return (await readdir(join(root, dir))).filter((f) => !f.endsWith('.tmp')).map((f) => `${dir}/${f}`);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw e;
      }
    },
    async putMany(entries: KvEntry[]) {
      for (const e of entries) {
        const file = pathOf(e.key);
        await mkdir(dirname(file), { recursive: true });
        // Write then rename, so a reader never sees half a value.
        await writeFile(`${file}.tmp`, e.value);
        await rename(`${file}.tmp`, file);
      }
    },
    async deleteMany(keys) {
      for (const key of keys) await rm(pathOf(key), { force: true });
    },
    close: async () => {},
  };
}
