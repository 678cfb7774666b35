// An SVG chart of ccremote beside its baselines and the peer ttyd, all measured in the same run: one group of
// bars per comparison (throughput, CPU on the user's computer, keystroke round trips), each group on its own
// scale, every bar labelled with its value.

import { escapeXml as escape, formatNumber as format } from './report.mjs';

const COLOURS = { baseline: '#8b949e', peer: '#1f6feb', ours: '#db6d28' };

/** A group of bars: `rows` are [label, value, kind]; bars without a value are left out. */
function group(title, unit, rows) {
  const bars = rows.map(([label, value, kind]) => ({ label, value, kind })).filter((bar) => bar.value !== undefined && Number.isFinite(bar.value));
  return { title, unit, bars };
}

/** The groups the results allow: each a title, a unit and bars ({ label, value, kind }). */
export function peerGroups(results) {
  const { M1, M3, M10 } = results;
  const groups = [];
  if (M3) {
    groups.push(
      group('output of `seq`, MiB/s (higher is better)', 'MiB/s', [
        ['PTY read directly', M3.seqPtyMiBps, 'baseline'],
        ['ttyd', M3.seqTtydMiBps, 'peer'],
        ['ccremote, 1 client', M3.seqMiBps, 'ours'],
      ]),
      group('100-character lines, MiB/s (higher is better)', 'MiB/s', [
        ['PTY read directly', M3.ptyMiBps, 'baseline'],
        ['ttyd', M3.ttydMiBps, 'peer'],
        ['ccremote, 1 client', M3.clients1MiBps, 'ours'],
        ['ccremote, 16 clients', M3.clients16MiBps, 'ours'],
      ]),
      group('CPU on the user’s computer per MiB of output, ms (lower is better)', 'ms', [
        ['ttyd (its whole server)', M3.ttydCpuMsPerMiB, 'peer'],
        ['ccremote agent (mirror included)', M3.agentCpuMsPerMiB, 'ours'],
      ]),
    );
  }
  if (M1) {
    const µs = (v) => (v === undefined ? undefined : v * 1000);
    const keystrokes = (title, unit, scale, field) =>
      group(title, unit, [
        ['PTY echo, no network', scale(M1[`ptyEcho${field}`]), 'baseline'],
        ['ttyd (one hop)', scale(M1[`ttyd${field}`]), 'peer'],
        ['ccremote through a relay', scale(M1[field.toLowerCase()]), 'ours'],
        // M10's pairs, each measured taking turns: relay A alone and B forwarding to A; C alone and B sending the client to C.
        ['M10: relay A alone', scale(M10?.[`oneRelay${field}`]), 'ours'],
        ['M10: B forwarding to A', scale(M10?.[`twoRelays${field}`]), 'ours'],
        ['M10: relay C alone', scale(M10?.[`directBase${field}`]), 'ours'],
        ['M10: B sending the client to C', scale(M10?.[`direct${field}`]), 'ours'],
      ]);
    groups.push(
      keystrokes('keystroke round trip p50, µs (lower is better)', 'µs', µs, 'P50'),
      keystrokes('keystroke round trip p99, ms (lower is better)', 'ms', (v) => v, 'P99'),
    );
  }
  return groups.filter((one) => one.bars.length > 1);
}

/** The chart; undefined if the results hold nothing to compare. */
export function renderPeerChart(results) {
  const groups = peerGroups(results);
  if (groups.length === 0) return undefined;
  const width = 760;
  const left = 250;
  const plot = width - left - 90;
  const barHeight = 18;
  const gap = 6;
  const parts = [];
  let y = 64;
  for (const group of groups) {
    parts.push(`<text x="10" y="${y}" font-weight="bold">${escape(group.title)}</text>`);
    y += 10;
    const max = Math.max(...group.bars.map((bar) => bar.value));
    for (const bar of group.bars) {
      const length = Math.max(1, (bar.value / max) * plot);
      parts.push(`<text x="${left - 8}" y="${y + 14}" text-anchor="end">${escape(bar.label)}</text>`);
      parts.push(`<rect x="${left}" y="${y + 1}" width="${length.toFixed(1)}" height="${barHeight}" fill="${COLOURS[bar.kind]}"/>`);
      parts.push(`<text x="${(left + length + 4).toFixed(1)}" y="${y + 14}">${escape(`${format(bar.value)} ${group.unit}`)}</text>`);
      y += barHeight + gap;
    }
    y += 22;
  }
  const height = y + 10;
  const legend = [
    ['baseline (no ccremote)', COLOURS.baseline],
    ['peer: ttyd', COLOURS.peer],
    ['ccremote', COLOURS.ours],
  ]
    .map(([label, colour], i) => `<rect x="${10 + i * 200}" y="26" width="12" height="12" fill="${colour}"/><text x="${28 + i * 200}" y="36">${escape(label)}</text>`)
    .join('\n');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="10" y="16" font-size="13" font-weight="bold">ccremote beside its baselines and the peer ttyd, measured in the same run</text>`,
    legend,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
