/**
 * JSBundle: `/dist/...` (and the console's `/pstatic/dist/...`) served from KV by exact link, with a strong ETag
 * (the content hash), `304` for If-None-Match and HEAD. No match falls through to the ReverseProxy step.
 */
import type { Context } from 'hono';
import type { AppEnv } from '../env';
import type { BundleAsset } from '../model/snapshot';
import type { Step } from './step';
import { reviewGate } from '../auth/review-gate';
import { proxyError } from '../errors';
import { bundleBody } from '../snapshot/bundle-bytes';
import { readOrLoad } from '../snapshot/lazy-part';

export const jsBundle: Step = (c) => {
  if (c.req.method !== 'GET' && c.req.method !== 'HEAD') return undefined;
  const table = c.get('table');
  if (!table) return undefined;
  const asset = readOrLoad(() => table.matchBundle(c.get('url').pathname));
  if (asset instanceof Promise) return asset.then((a) => a && serve(c, a));
  return asset && serve(c, asset);
};

async function serve(c: Context<AppEnv>, asset: BundleAsset): Promise<Response> {
  c.get('trace').route = { kind: 'JSBundle', name: asset.bundle };
  // /dist is public, but a token that ks-apiserver no longer stands behind is a 401 there too, as in KubeSphere.
  const refused = await reviewGate(c);
  if (refused) return refused;
  if (asset.error || !asset.hash) return proxyError(503, `jsBundle ${asset.bundle}: ${asset.error ?? 'no bytes'}`);

  const etag = `"${asset.hash}"`;
  const headers = new Headers({
    'Content-Type': asset.contentType,
    ETag: etag,
    // Links are not content-addressed, so clients revalidate; the 304 costs no KV read.
    'Cache-Control': 'public, max-age=0, must-revalidate',
    'X-Content-Type-Options': 'nosniff',
  });
  if (ifNoneMatch(c.req.header('if-none-match'), etag)) return new Response(null, { status: 304, headers });
  if (asset.size !== undefined) headers.set('Content-Length', String(asset.size));
  if (c.req.method === 'HEAD') return new Response(null, { status: 200, headers });
  const body = await bundleBody(c.env.KV, asset.hash, asset.size);
  if (body === null) return proxyError(503, `jsBundle ${asset.bundle}: bytes ${asset.hash} are missing from KV`);
  return new Response(body, { status: 200, headers });
}

function ifNoneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((t) => {
    const tag = t.trim();
    return tag === '*' || tag === etag || tag === `W/${etag}`;
  });
}
