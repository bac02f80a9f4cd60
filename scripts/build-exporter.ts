/**
 * `npm run build:exporter`: the exporter as one gzipped ES module (dist/exporter.mjs.gz), small enough for a
 * ConfigMap, so the CronJob runs it on the public node:20-alpine image without building an image of its own.
 */
import { build } from 'esbuild';
import { readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

await build({
  entryPoints: ['scripts/export.ts'],
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  minify: true,
  external: ['miniflare'],
  outfile: 'dist/exporter.mjs',
  banner: { js: "import{createRequire as __cr}from'module';const require=__cr(import.meta.url);" },
  logLevel: 'warning',
});
const gz = gzipSync(readFileSync('dist/exporter.mjs'), { level: 9 });
writeFileSync('dist/exporter.mjs.gz', gz);
console.log(`dist/exporter.mjs.gz: ${(gz.length / 1024).toFixed(0)} KiB (a ConfigMap holds at most 1 MiB)`);
