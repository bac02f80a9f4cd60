/** The bench's figures as an SVG the README shows: throughput per target, and matching time per router and size. */
import type { RoutingResult } from './routing';

interface Load { name: string; rps: number; p50_ms: number; p99_ms: number }

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

export function renderChart(load: Load[], routing: RoutingResult[], machine: string): string {
  const W = 900;
  const rows: string[] = [];
  const max = Math.max(...load.map((l) => l.rps));
  const barW = 380;
  let y = 40;
  rows.push(`<text x="10" y="24" font-size="15" font-weight="bold">Throughput through one route (req/s, higher is better)</text>`);
  for (const l of load) {
    const w = Math.max(2, (l.rps / max) * barW);
    const color = l.name.startsWith('ks-edge') ? '#3385ff' : '#9aa5b1';
    rows.push(`<text x="10" y="${y + 14}" font-size="12">${esc(l.name)}</text>`);
    rows.push(`<rect x="170" y="${y}" width="${w.toFixed(1)}" height="18" fill="${color}"/>`);
    rows.push(`<text x="${(176 + w).toFixed(1)}" y="${y + 14}" font-size="12">${Math.round(l.rps)} · p50 ${l.p50_ms.toFixed(2)} ms · p99 ${l.p99_ms.toFixed(2)} ms</text>`);
    y += 26;
  }
  y += 20;
  rows.push(`<text x="10" y="${y}" font-size="15" font-weight="bold">Route matching, median ns per request (log scale, lower is better)</text>`);
  y += 16;
  const names = [...new Set(routing.map((r) => r.name))];
  const sizes = [...new Set(routing.map((r) => r.size))];
  const logMax = Math.log10(Math.max(...routing.map((r) => r.match_ns)));
  const colors = ['#3385ff', '#f5a623', '#7ed321', '#bd10e0', '#d0021b', '#4a4a4a'];
  for (const size of sizes) {
    rows.push(`<text x="10" y="${y + 12}" font-size="12" font-weight="bold">${size} resources</text>`);
    y += 16;
    names.forEach((name, i) => {
      const r = routing.find((x) => x.name === name && x.size === size)!;
      const w = Math.max(2, (Math.log10(Math.max(r.match_ns, 1)) / logMax) * barW);
      rows.push(`<text x="20" y="${y + 11}" font-size="11">${esc(name)}</text>`);
      rows.push(`<rect x="170" y="${y + 1}" width="${w.toFixed(1)}" height="12" fill="${colors[i % colors.length]}"/>`);
      rows.push(`<text x="${(176 + w).toFixed(1)}" y="${y + 11}" font-size="11">${Math.round(r.match_ns)} ns · build ${r.compile_ms.toFixed(1)} ms</text>`);
      y += 15;
    });
    y += 6;
  }
  rows.push(`<text x="10" y="${y + 12}" font-size="11" fill="#555">ks-edge's build = JSON.parse + valibot validation + the route index of a whole snapshot (layout 1); the others only add routes.</text>`);
  y += 16;
  rows.push(`<text x="10" y="${y + 14}" font-size="11" fill="#555">${esc(machine)}</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y + 24}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${rows.join('\n')}\n</svg>\n`;
}
