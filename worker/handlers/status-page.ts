/**
 * `/_gateway/`: the status page a person reads — the snapshot of every cluster, every resource with its state,
 * claims, upstream, health, circuit and problems, a filter, and the route explainer. One small HTML document with
 * its CSS and script inline (no framework); it reads `/_gateway/status` and `/_gateway/explain` with the visitor's
 * own credentials. Authorized as the non-resource request `GET /_gateway/` (platform admins have it).
 */
import type { Handler } from 'hono';
import { authorize } from '../authz/guard';
import type { AppEnv } from '../env';

export const statusPage: Handler<AppEnv> = async (c) => {
  c.get('trace').route = { kind: 'gateway', name: 'status page' };
  const refused = await authorize(c, false);
  if (refused) return refused;
  return new Response(PAGE, {
    headers: {
      'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    },
  });
};

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ks-edge status</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#242e42;background:#eff4f9}
header{background:#242e42;color:#fff;padding:12px 20px;display:flex;gap:24px;align-items:baseline;flex-wrap:wrap}
header h1{font-size:18px;margin:0}header span{opacity:.8}
main{padding:16px 20px;display:grid;gap:16px}
section{background:#fff;border-radius:6px;padding:12px 16px;box-shadow:0 1px 3px rgba(0,0,0,.08)}
h2{font-size:15px;margin:0 0 8px}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #e3e9ef;vertical-align:top}
th{font-weight:600;color:#79879c}code{font-size:12px}
.ok{color:#55bc8a}.bad{color:#ca2621}.warn{color:#f5a623}
input,select,button{font:inherit;padding:4px 8px;border:1px solid #ccd3db;border-radius:4px}
button{background:#242e42;color:#fff;border:0;cursor:pointer}
#explain-out{white-space:pre-wrap;background:#f9fbfd;padding:8px;border-radius:4px;margin:8px 0 0}
.problems{color:#ca2621}.warnings{color:#b7791f}
</style></head><body>
<header><h1>ks-edge</h1><span id="auth"></span><span id="snapshot"></span></header>
<main>
<section><h2>Clusters</h2><table id="clusters"><thead><tr><th>cluster</th><th>snapshot</th><th>age</th><th>counts</th><th>loaded here</th></tr></thead><tbody></tbody></table></section>
<section><h2>Explain a request</h2>
<form id="explain"><select name="method"><option>GET</option><option>POST</option><option>PUT</option><option>PATCH</option><option>DELETE</option><option>HEAD</option></select>
<input name="path" size="48" placeholder="/proxy/… or /kapis/…" required> <input name="user" placeholder="user (empty: anonymous)"> <button>Explain</button></form>
<div id="explain-out"></div></section>
<section><h2>Resources</h2><input id="filter" placeholder="filter: kind, name, state, path, problem…" size="48">
<table id="resources"><thead><tr><th>kind</th><th>name</th><th>state</th><th>claims</th><th>upstream</th><th>health · circuit · cache</th><th>problems · warnings</th></tr></thead><tbody></tbody></table></section>
</main>
<script>
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
const age = (s) => s == null ? '—' : s < 120 ? s + ' s' : s < 7200 ? Math.round(s / 60) + ' min' : Math.round(s / 3600) + ' h';
async function load() {
  const res = await fetch('/_gateway/status', { credentials: 'same-origin' });
  const s = await res.json();
  if (!res.ok) { document.querySelector('main').innerHTML = '<section class="bad">' + esc(s.message || res.status) + '</section>'; return; }
  document.getElementById('auth').textContent = 'auth: ' + s.auth.mode + (s.auth.authorization ? ' · authorization: ' + s.auth.authorization : '') +
    (s.edgeCache ? ' · edge cache: ' + (s.edgeCache.available ? s.edgeCache.hits + ' hits, ' + s.edgeCache.misses + ' misses' : 'unavailable (' + s.edgeCache.why + ')') : '');
  document.getElementById('snapshot').textContent = s.snapshot ? 'snapshot ' + s.snapshot.hash.slice(0, 12) + ' · ' + age(s.snapshot.ageSeconds) + ' old · cluster ' + s.snapshot.cluster : 'no snapshot: ' + (s.lastError || '');
  document.querySelector('#clusters tbody').innerHTML = (s.clusters || []).map((c) =>
    '<tr><td>' + esc(c.name) + (c.host ? ' (host)' : '') + '</td><td><code>' + esc((c.snapshot || '—').slice(0, 12)) + '</code></td><td>' + age(c.ageSeconds) +
    '</td><td>' + esc(Object.entries(c.counts || {}).map(([k, v]) => k + ' ' + v).join(', ')) + '</td><td>' + (c.loadedHere ? 'yes' : 'no') + '</td></tr>').join('');
  document.querySelector('#resources tbody').innerHTML = s.resources.map((r) => {
    const state = r.state === 'Available' ? '<span class="ok">Available</span>' : '<span class="warn">' + esc(r.state) + '</span>';
    const health = [r.health && (r.health === 'ok' ? '<span class="ok">healthy</span>' : '<span class="bad">' + esc(r.health) + '</span>'), r.circuit && ('circuit ' + (r.circuit === 'closed' ? '<span class="ok">closed</span>' : '<span class="bad">' + esc(r.circuit) + '</span>')),
      r.cache && ('cached ' + esc(r.cache.ttlSeconds) + ' s' + (r.cache.key === 'user' ? ' per user' : '') + (s.edgeCache && !s.edgeCache.available ? ' <span class="warn">(no cache here)</span>' : ''))].filter(Boolean).join(' · ');
    return '<tr data-text="' + esc([r.kind, r.name, r.state, ...r.routes, ...r.problems, ...r.warnings, r.upstream].join(' ').toLowerCase()) + '"><td>' + esc(r.kind) + '</td><td>' + esc(r.name) + '</td><td>' + state +
      '</td><td><code>' + r.routes.map(esc).join('<br>') + '</code></td><td><code>' + esc(r.upstream || '') + '</code></td><td>' + health +
      '</td><td><div class="problems">' + r.problems.map(esc).join('<br>') + '</div><div class="warnings">' + r.warnings.map(esc).join('<br>') + '</div></td></tr>';
  }).join('');
  filter();
}
function filter() {
  const q = document.getElementById('filter').value.toLowerCase().trim();
  for (const tr of document.querySelectorAll('#resources tbody tr')) tr.hidden = q !== '' && !q.split(/\\s+/).every((w) => tr.dataset.text.includes(w));
}
document.getElementById('filter').addEventListener('input', filter);
document.getElementById('explain').addEventListener('submit', async (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  const q = new URLSearchParams({ method: f.get('method'), path: f.get('path') });
  if (f.get('user')) q.set('user', f.get('user'));
  const res = await fetch('/_gateway/explain?' + q, { credentials: 'same-origin' });
  const x = await res.json();
  document.getElementById('explain-out').textContent = Object.entries(x).map(([k, v]) => k + ': ' + (typeof v === 'object' && v !== null ? JSON.stringify(v) : v)).join('\\n');
});
load();
</script></body></html>
`;
