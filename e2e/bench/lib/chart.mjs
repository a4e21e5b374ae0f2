// The README chart, drawn by hand: two panels of horizontal bars on log scales (the figures span
// four decades): failover gap p99 after close and after crash, and bus requests/min with every tab
// visible and with every tab hidden (2 notifications/s). Plain SVG, no fonts or scripts to load.
import { CONTENDERS } from './browser.mjs';

const COLORS = { a: '#4c78a8', b: '#f58518' };
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');

/**
 * One panel at (x, y), `width` wide: per contender two bars (a, b) from `values[c] = [a, b]`
 * (null = not applicable), log scale from 1 to the decade above the largest value.
 */
function panel({ x, y, width, title, unit, legend, values }) {
  const labelW = 130;
  const barH = 12;
  const rowH = 2 * barH + 14;
  const plotW = width - labelW - 50;
  const all = Object.values(values)
    .flat()
    .map((e) => (e !== null && typeof e === 'object' ? e.value : e))
    .filter((v) => v !== null && v !== undefined);
  const decades = Math.max(1, Math.ceil(Math.log10(Math.max(10, ...all))));
  const scale = (v) => (Math.log10(Math.max(1, v)) / decades) * plotW;
  const top = y + 44;
  const out = [`<text x="${x}" y="${y + 14}" class="t">${esc(title)}</text>`];
  legend.forEach((name, i) => {
    const lx = x + i * 150;
    out.push(`<rect x="${lx}" y="${y + 22}" width="10" height="10" fill="${i ? COLORS.b : COLORS.a}"/><text x="${lx + 14}" y="${y + 31}" class="s">${esc(name)}</text>`);
  });
  for (let d = 0; d <= decades; d++) {
    const gx = x + labelW + (d / decades) * plotW;
    out.push(`<line x1="${gx}" y1="${top - 4}" x2="${gx}" y2="${top + CONTENDERS.length * rowH}" class="g"/>`);
    out.push(`<text x="${gx}" y="${top + CONTENDERS.length * rowH + 14}" class="s" text-anchor="middle">${10 ** d}${d === decades ? ` ${esc(unit)}` : ''}</text>`);
  }
  CONTENDERS.forEach((c, i) => {
    const ry = top + i * rowH;
    out.push(`<text x="${x + labelW - 8}" y="${ry + barH + 4}" class="${c === 'tabbus' ? 'b' : 's'}" text-anchor="end">${esc(c)}</text>`);
    (values[c] ?? [null, null]).forEach((entry, j) => {
      const by = ry + j * barH;
      // An entry is a number, null (not applicable), or {value, note} (the note follows the figure).
      const { value: v, note = '' } = entry !== null && typeof entry === 'object' ? entry : { value: entry };
      if (v === null || v === undefined) {
        out.push(`<text x="${x + labelW + 4}" y="${by + barH - 2}" class="s">${esc(note || 'n/a')}</text>`);
        return;
      }
      const w = Math.max(1, scale(v));
      out.push(`<rect x="${x + labelW}" y="${by}" width="${w.toFixed(1)}" height="${barH - 2}" fill="${j ? COLORS.b : COLORS.a}"/>`);
      out.push(`<text x="${x + labelW + w + 4}" y="${by + barH - 2}" class="s">${Math.round(v)}${note ? ` ${esc(note)}` : ''}</text>`);
    });
  });
  return out.join('\n');
}

/** @param {ReturnType<import('./report.mjs').derive>} d */
export function svg(d, { title, refTabs }) {
  const width = 960;
  const height = 44 + 44 + CONTENDERS.length * 38 + 56;
  const gap = (s) => ({ value: s?.p99 ?? null, note: s?.failed ? `(+${s.failed} none)` : '' });
  const failover = Object.fromEntries(CONTENDERS.map((c) => [c, c === 'naive' ? [{ value: null, note: 'n/a: every tab polls' }, { value: null, note: ' ' }] : [gap(d[c].close), gap(d[c].crash)]]));
  const load = Object.fromEntries(CONTENDERS.map((c) => [c, [d[c].visible2, d[c].hidden2]]));
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif">
<style>.t{font-size:14px;font-weight:600;fill:#222}.s{font-size:11px;fill:#444}.b{font-size:11px;font-weight:700;fill:#111}.g{stroke:#ddd;stroke-width:1}</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="16" y="22" class="t">${esc(title)}</text>
${panel({ x: 16, y: 34, width: width / 2 - 24, title: 'Failover gap p99 (ms, log scale; lower is better)', unit: 'ms', legend: ['leader closed', 'leader crashed'], values: failover })}
<text x="16" y="${height - 8}" class="s">p99 over the trials in which a new leader polled; "+n none": trials in which no tab took over within 20 s. naive: no leader, every tab polls.</text>
${panel({ x: width / 2 + 8, y: 34, width: width / 2 - 24, title: `Bus requests/min, ${refTabs} tabs, 2 notifications/s (log)`, unit: '/min', legend: ['all tabs visible', 'all tabs hidden'], values: load })}
</svg>
`;
}
