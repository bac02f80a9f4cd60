/** Where a snapshot is published: Cloudflare KV over REST, the local state `wrangler dev` reads, or a dry run. */
export interface KvEntry { key: string; value: string | Uint8Array }

export interface KvTarget {
  readonly description: string;
  get(key: string): Promise<string | null>;
  listKeys(prefix: string): Promise<string[]>;
  putMany(entries: KvEntry[]): Promise<void>;
  deleteMany(keys: string[]): Promise<void>;
  close(): Promise<void>;
}
