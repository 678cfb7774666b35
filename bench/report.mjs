// Turns benchmark results into figures (value, baseline, target, verdict), a text table and an SVG chart.

const ms = (v) => (v === undefined || Number.isNaN(v) ? '—' : v < 1 ? `${(v * 1000).toFixed(0)} µs` : `${v.toFixed(2)} ms`);
const num = (v, unit, digits = 1) => (v === undefined || Number.isNaN(v) ? '—' : `${v.toFixed(digits)} ${unit}`);

/** One row per figure of the issue's table. */
export function figures(results) {
  const rows = [];
  const { M1, M2, M3, M5, M6, M7, M8, M9, M10 } = results;
  if (M1) {
    rows.push({ id: 'M1', figure: 'keystroke round trip p50', value: ms(M1.p50), baseline: `WS echo ${ms(M1.wsEchoP50)}, PTY echo ${ms(M1.ptyEchoP50)}`, target: 'relay adds ≤ 100 µs', pass: M1.relayAddsP50 <= 0.1, detail: `relay adds ${ms(M1.relayAddsP50)}`, chart: { label: 'M1 relay adds at p50 (µs)', value: M1.relayAddsP50 * 1000, target: 100 } });
    if (M1.ttydP50 !== undefined) {
      rows.push({ id: 'M1', figure: 'keystroke round trip beside the peer ttyd (no relay, no encryption), p50 / p99', value: `${ms(M1.p50)} / ${ms(M1.p99)}`, baseline: `ttyd ${M1.ttyd}: ${ms(M1.ttydP50)} / ${ms(M1.ttydP99)}`, target: 'p50 ≤ 1.5×, p99 ≤ 2× ttyd', pass: M1.p50 <= 1.5 * M1.ttydP50 && M1.p99 <= 2 * M1.ttydP99, detail: `${(M1.p50 / M1.ttydP50).toFixed(2)}× / ${(M1.p99 / M1.ttydP99).toFixed(2)}×`, chart: { label: 'M1 p50, × ttyd', value: M1.p50 / M1.ttydP50, target: 1.5 } });
    } else if (M1.ttyd) {
      rows.push({ id: 'M1', figure: 'keystroke round trip beside the peer ttyd', value: '—', baseline: M1.ttyd, target: 'p50 ≤ 1.5×, p99 ≤ 2× ttyd', pass: false });
    }
    if (M1.freshP99 !== undefined) rows.push({ id: 'M1', figure: `the same, a fresh agent and relay: their first ${M1.warmUpKeys.toLocaleString('en')} keys (the warm-up), p50 / p99`, value: `${ms(M1.freshP50)} / ${ms(M1.freshP99)}`, baseline: `after them ${ms(M1.p50)} / ${ms(M1.p99)}`, target: '(shown, no target)' });
    rows.push({ id: 'M1', figure: 'keystroke round trip p99 / p99.9', value: `${ms(M1.p99)} / ${ms(M1.p999)}`, baseline: `p99: WS echo ${ms(M1.wsEchoP99)}, PTY echo ${ms(M1.ptyEchoP99)}`, target: 'p99 ≤ 2 ms', pass: M1.p99 <= 2, chart: { label: 'M1 p99 (ms)', value: M1.p99, target: 2 } });
  }
  if (M2) {
    rows.push({ id: 'M2', figure: `keystroke under flood (+${M2.others} sessions streaming ${M2.otherMiBps ?? '?'} MiB/s each) p50 / p99`, value: `${ms(M2.p50)} / ${ms(M2.p99)}`, baseline: M1 ? `M1 p99 ${ms(M1.p99)}` : '', target: 'p99 ≤ 50 ms', pass: M2.p99 <= 50, chart: { label: 'M2 p99 under flood (ms)', value: M2.p99, target: 50 } });
    if (M2.slowP50 !== undefined) rows.push({ id: 'M2', figure: `the same, the client processing output at ${M2.slowMiBps} MiB/s (a slow phone or link), p50 / p99`, value: `${ms(M2.slowP50)} / ${ms(M2.slowP99)}`, baseline: `at full speed ${ms(M2.p50)} / ${ms(M2.p99)}`, target: '(shown, no target)' });
    rows.push({ id: 'M2', figure: 'Ctrl-C under `yes` until the prompt, median / max', value: `${ms(M2.ctrlCMedian)} / ${ms(M2.ctrlCMax)}`, baseline: '', target: '≤ 250 ms', pass: M2.ctrlCMax <= 250, chart: { label: 'M2 Ctrl-C max (ms)', value: M2.ctrlCMax, target: 250 } });
  }
  if (M3) {
    rows.push({ id: 'M3', figure: 'throughput to 1 / 4 / 16 clients (hash-checked)', value: `${num(M3.clients1MiBps, 'MiB/s', 0)} / ${num(M3.clients4MiBps, 'MiB/s', 0)} / ${num(M3.clients16MiBps, 'MiB/s', 0)}`, baseline: `PTY read directly ${num(M3.ptyMiBps, 'MiB/s', 0)}; PTY piped over a bare WebSocket ${num(M3.pipeMiBps, 'MiB/s', 0)}`, target: '1 client ≥ 75% of PTY', pass: M3.ratio1 >= 0.75, detail: `${(M3.ratio1 * 100).toFixed(0)}% of PTY, ${(M3.ratioToPipe * 100).toFixed(0)}% of the bare pipe`, chart: { label: 'M3 1 client, % of raw PTY', value: M3.ratio1 * 100, target: 75, higherIsBetter: true } });
    if (M3.seqRatio !== undefined) {
      const peer = (ratio) => (ratio === undefined ? `ttyd: ${M3.ttyd}` : `ttyd ${M3.ttyd} ${ratio.toFixed(2)}×`);
      const goal = (ratio) => Math.max(0.98, ratio ?? 0);
      rows.push({ id: 'M3', figure: '`seq` output to 1 client, × raw PTY in the same round (hash-checked)', value: `${M3.seqRatio.toFixed(2)}× (${num(M3.seqMiBps, 'MiB/s', 0)})`, baseline: `${peer(M3.seqTtydRatio)}; raw PTY ${num(M3.seqPtyMiBps, 'MiB/s', 0)}`, target: '≥ ttyd’s ratio (≥ 0.98×)', pass: M3.seqRatio >= goal(M3.seqTtydRatio), chart: { label: 'M3 seq, % of raw PTY', value: M3.seqRatio * 100, target: goal(M3.seqTtydRatio) * 100, higherIsBetter: true } });
      const sixteenCpu = M3.readersCpuMsPerMiB16 === undefined ? '' : `; with 16 clients the relay's CPU holds the 16 readers (${num(M3.readersCpuMsPerMiB16, 'ms', 0)}) and the relay (${num(M3.relayCpuMsPerMiBOfStream16, 'ms', 0)}) per MiB of the stream`;
      rows.push({ id: 'M3', figure: '100-character lines to 1 / 16 clients, × raw PTY in the same round', value: `${M3.ratio1.toFixed(2)}× / ${M3.ratio16.toFixed(2)}×`, baseline: `${peer(M3.ttydRatio)}${sixteenCpu}`, target: '1: ≥ ttyd’s ratio (≥ 0.98×); 16: ≥ 0.9×', pass: M3.ratio1 >= goal(M3.ttydRatio) && M3.ratio16 >= 0.9, chart: { label: 'M3 lines, % of raw PTY', value: M3.ratio1 * 100, target: goal(M3.ttydRatio) * 100, higherIsBetter: true } });
      rows.push({ id: 'M4', figure: 'agent CPU per MiB of output, screen mirror included', value: num(M3.agentCpuMsPerMiB, 'ms', 1), baseline: [M3.ttydCpuMsPerMiB === undefined ? `ttyd: ${M3.ttyd}` : `ttyd’s whole server ${num(M3.ttydCpuMsPerMiB, 'ms', 1)}`, M3.ptyReadCpuMsPerMiB === undefined ? undefined : `node-pty reading the PTY, nothing else ${num(M3.ptyReadCpuMsPerMiB, 'ms', 1)}`].filter(Boolean).join('; '), target: '≤ ttyd’s (≤ 12 ms)', pass: M3.agentCpuMsPerMiB <= Math.max(12, M3.ttydCpuMsPerMiB ?? 0), chart: { label: 'M4 agent CPU (ms/MiB)', value: M3.agentCpuMsPerMiB, target: Math.max(12, M3.ttydCpuMsPerMiB ?? 0) } });
    }
    rows.push({ id: 'M4', figure: 'relay CPU per MiB forwarded (1 client; 16 clients per MiB delivered)', value: `${num(M3.relayCpuMsPerMiB, 'ms', 2)}; ${num(M3.relayCpuMsPerMiB16, 'ms', 2)}`, baseline: '', target: '≤ 10 ms/MiB', pass: M3.relayCpuMsPerMiB <= 10, chart: { label: 'M4 relay CPU (ms/MiB)', value: M3.relayCpuMsPerMiB, target: 10 } });
  }
  if (M5) {
    const steps = (M5.idleSteps ?? []).slice(0, -1).map((step) => `at ${step.sessions}: ${num(step.perSessionKiB, 'KiB')}`);
    const marginal = M5.marginalPerIdleSessionKiB !== undefined ? [`each session beyond ${M5.idleSteps[0].sessions}: ${num(M5.marginalPerIdleSessionKiB, 'KiB')}`] : [];
    const short = M5.limitedBy ? [`${M5.wantedSessions} not reached: ${M5.limitedBy}`] : [];
    rows.push({ id: 'M5', figure: `relay memory per idle session (${M5.sessions} sessions)`, value: num(M5.perIdleSessionKiB, 'KiB'), baseline: [`idle relay ${num(M5.idleRelayMiB, 'MiB')}`, ...steps, ...marginal, ...short].join('; '), target: '≤ 32 KiB', pass: M5.perIdleSessionKiB <= 32, chart: { label: 'M5 KiB per idle session', value: M5.perIdleSessionKiB, target: 32 } });
    rows.push({ id: 'M5', figure: `peak RSS during ${M5.mib} MiB of output with a stalled client: relay / agent`, value: `${num(M5.stalledRelayPeakMiB, 'MiB')} / ${num(M5.stalledAgentPeakMiB, 'MiB')}`, baseline: `same flood, no stalled client: ${num(M5.floodRelayPeakMiB, 'MiB')} / ${num(M5.floodAgentPeakMiB, 'MiB')}; idle ${num(M5.idleRelayMiB, 'MiB')} / ${num(M5.idleAgentMiB, 'MiB')}`, target: 'stalled client adds ≤ 8 MiB to each', pass: M5.stalledRelayExtraMiB <= 8 && M5.stalledAgentExtraMiB <= 8, detail: `adds ${num(M5.stalledRelayExtraMiB, 'MiB')} / ${num(M5.stalledAgentExtraMiB, 'MiB')}`, chart: { label: 'M5 stalled client adds (MiB)', value: Math.max(0.01, M5.stalledRelayExtraMiB, M5.stalledAgentExtraMiB), target: 8 } });
  }
  if (M6) {
    const last = M6.steps.at(-1);
    // The output each session's browser received, as measured (results from before it was measured say what was meant).
    const output = last?.outputKiBps !== undefined ? `${last.outputKiBps.toFixed(2)} KiB/s received` : '1 KB/s';
    rows.push({ id: 'M6', figure: `sessions carried (1 key/s + ${output} each) with p99 ≤ 10 ms`, value: String(M6.sessions), baseline: last ? `at ${last.sessions}: p99 ${ms(last.p99)}` : '', target: '≥ 2,000', pass: M6.sessions >= 2000, chart: { label: 'M6 sessions carried', value: M6.sessions, target: 2000, higherIsBetter: true } });
    if (M6.asAdvised) {
      const advised = M6.asAdvised;
      const lastAdvised = advised.steps.at(-1);
      rows.push({ id: 'M6', figure: 'the same, the relay started as it advises on fewer than four CPUs (NODE_OPTIONS=--v8-pool-size=0)', value: String(advised.sessions), baseline: `Node's default ${M6.sessions}${lastAdvised ? `; at ${lastAdvised.sessions}: p99 ${ms(lastAdvised.p99)}` : ''}`, target: '≥ 2,000', pass: advised.sessions >= 2000, chart: { label: 'M6 relay as advised', value: advised.sessions, target: 2000, higherIsBetter: true } });
    }
    if (M6.twoRelays) {
      const two = M6.twoRelays;
      const lastTwo = two.steps.at(-1);
      rows.push({ id: 'M6', figure: 'the same through two relays (agents on A, clients on B; both on the one relay CPU)', value: String(two.sessions), baseline: `one relay ${M6.sessions}${lastTwo ? `; at ${lastTwo.sessions}: p99 ${ms(lastTwo.p99)}` : ''}`, target: '≥ half of one relay', pass: M6.sessions > 0 && two.sessions >= M6.sessions / 2, chart: { label: 'M6 two relays, % of one', value: (two.sessions / Math.max(1, M6.sessions)) * 100, target: 50, higherIsBetter: true } });
    }
  }
  if (M7) {
    rows.push({ id: 'M7', figure: `attach to a session with a full buffer (${M7.mib} MiB printed): screen complete, median / p90`, value: `${ms(M7.completeMedian)} / ${ms(M7.completeP90)}`, baseline: `bytes received ${ms(M7.receivedMedian)}`, target: '≤ 100 ms', pass: M7.completeMedian <= 100, chart: { label: 'M7 attach (ms)', value: M7.completeMedian, target: 100 } });
  }
  if (M8) {
    rows.push({ id: 'M8', figure: `channel handshake, the browser's share (CPU ${M8.throttle}× slower than this machine), median / p90`, value: `${ms(M8.linkMedian)} / ${ms(M8.linkP90)}`, baseline: `${M8.atHandshakeMedian === undefined ? '' : `key made during the handshake ${ms(M8.atHandshakeMedian)} / ${ms(M8.atHandshakeP90)}; `}plain-HTTP page (no WebCrypto) ${ms(M8.pureJsMedian)} / ${ms(M8.pureJsP90)}; pairing with a PIN ${ms(M8.pinMedian)} / ${ms(M8.pinP90)}; the agent's share ${ms(M8.agentMedian)}`, target: '≤ 10 ms', pass: M8.linkP90 <= 10, chart: { label: 'M8 handshake in the browser, p90 (ms)', value: M8.linkP90, target: 10 } });
  }
  if (M9) {
    rows.push({ id: 'M9', figure: `agent memory with ${M9.sessions} sessions printing, per session beyond the first`, value: num(M9.perSessionMiB, 'MiB'), baseline: `one session ${num(M9.oneSessionMiB, 'MiB')}; ${M9.sessions} sessions ${num(M9.manySessionsMiB, 'MiB')}`, target: `≤ 2 MiB per session; ${M9.sessions} sessions < 150 MiB`, pass: M9.perSessionMiB <= 2 && M9.manySessionsMiB < 150, chart: { label: 'M9 MiB per printing session', value: M9.perSessionMiB, target: 2 } });
    if (M9.idlePerSessionMiB !== undefined) {
      rows.push({ id: 'M9', figure: `agent memory with ${M9.sessions} idle sessions, per session beyond the first`, value: num(M9.idlePerSessionMiB, 'MiB'), baseline: `one session ${num(M9.idleOneSessionMiB, 'MiB')}; ${M9.sessions} sessions ${num(M9.idleManySessionsMiB, 'MiB')}`, target: `≤ 2 MiB per session; ${M9.sessions} sessions < 150 MiB`, pass: M9.idlePerSessionMiB <= 2 && M9.idleManySessionsMiB < 150, chart: { label: 'M9 MiB per idle session', value: M9.idlePerSessionMiB, target: 2 } });
    }
  }
  if (M10) {
    rows.push({ id: 'M10', figure: 'keystroke round trip through two relays (browser on B, agent on A), p50 / p99', value: `${ms(M10.twoRelaysP50)} / ${ms(M10.twoRelaysP99)}`, baseline: `one relay ${ms(M10.oneRelayP50)} / ${ms(M10.oneRelayP99)}`, target: 'the second hop adds ≤ what the first adds (M1)', pass: M1 ? M10.hopAddsP50 <= Math.max(M1.relayAddsP50, 0.1) : M10.hopAddsP50 <= 0.2, detail: `second hop adds ${ms(M10.hopAddsP50)}`, chart: { label: 'M10 second hop adds at p50 (µs)', value: M10.hopAddsP50 * 1000, target: 100 } });
    if (M10.directP50 !== undefined) {
      const within = (value, base) => `${((value / base - 1) * 100).toFixed(0)} %`;
      // Its own baseline: the same agent through its relay alone, before and after (older results: A's).
      const baseP50 = M10.directBaseP50 ?? M10.oneRelayP50;
      const baseP99 = M10.directBaseP99 ?? M10.oneRelayP99;
      rows.push({ id: 'M10', figure: 'keystroke round trip, browser reaching B sent to the relay of its agent (--direct-url), p50 / p99', value: `${ms(M10.directP50)} / ${ms(M10.directP99)}`, baseline: `the same agent through its relay alone ${ms(baseP50)} / ${ms(baseP99)}`, target: 'p50 within 10 % of one relay', pass: M10.directP50 <= 1.1 * baseP50, detail: `p50 ${within(M10.directP50, baseP50)}; forwarded ${within(M10.twoRelaysP50, M10.oneRelayP50)}`, chart: { label: 'M10 sent to its relay, p50 % of one relay', value: (M10.directP50 / baseP50) * 100, target: 110 } });
      // Runs since the paths take turns at throughput compare with the same relay alone (C); older ones with A.
      const baseMiBps = M10.directBaseMiBps ?? M10.oneRelayMiBps;
      const baseName = M10.directBaseMiBps === undefined ? 'one relay' : 'the same relay alone';
      rows.push({ id: 'M10', figure: `throughput, browser reaching B sent to the relay of its agent (--direct-url) (${M10.mib} MiB, hash-checked)`, value: num(M10.directMiBps, 'MiB/s', 0), baseline: `${baseName} ${num(baseMiBps, 'MiB/s', 0)}`, target: 'within 10 % of one relay', pass: M10.directMiBps >= 0.9 * baseMiBps, detail: `${((M10.directMiBps / baseMiBps) * 100).toFixed(0)}% of ${baseName}`, chart: { label: 'M10 sent to its relay, % of one', value: (M10.directMiBps / baseMiBps) * 100, target: 90, higherIsBetter: true } });
    }
    rows.push({ id: 'M10', figure: `throughput to one client through two relays (${M10.mib} MiB, hash-checked)`, value: num(M10.twoRelaysMiBps, 'MiB/s', 0), baseline: `one relay ${num(M10.oneRelayMiBps, 'MiB/s', 0)}`, target: '≥ 75% of one relay', pass: M10.twoRelaysMiBps >= 0.75 * M10.oneRelayMiBps, detail: `${((M10.twoRelaysMiBps / M10.oneRelayMiBps) * 100).toFixed(0)}% of one relay`, chart: { label: 'M10 two relays, % of one', value: (M10.twoRelaysMiBps / M10.oneRelayMiBps) * 100, target: 75, higherIsBetter: true } });
  }
  return rows;
}

/** A plain-text table. */
export function renderTable(rows) {
  const head = ['id', 'figure', 'value', 'baseline (same run)', 'target', ''];
  const body = rows.map((r) => [r.id, r.figure, r.detail ? `${r.value} (${r.detail})` : r.value, r.baseline, r.target, r.pass === undefined ? '' : r.pass ? 'ok' : 'MISS']);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

/** A Markdown table. */
export function renderMarkdown(rows) {
  const body = rows.map((r) => `| ${r.id} | ${r.figure} | ${r.detail ? `${r.value} (${r.detail})` : r.value} | ${r.baseline} | ${r.target} | ${r.pass === undefined ? '–' : r.pass ? 'met' : '**missed**'} |`);
  return ['| id | figure | value | baseline in the same run | target | |', '|---|---|---|---|---|---|', ...body].join('\n');
}

/** An SVG bar chart: each figure as a percentage of its target (100% = the target line). */
export function renderChart(rows) {
  const items = rows.filter((r) => r.chart);
  const width = 760;
  const rowHeight = 34;
  const left = 280;
  const plot = width - left - 60;
  const height = items.length * rowHeight + 70;
  const scaleMax = 2; // bars up to 200% of the target
  // A figure below zero (a hop that added nothing) is drawn at zero.
  const x = (ratio) => left + Math.max(0, Math.min(ratio, scaleMax)) / scaleMax * plot;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="10" y="20" font-size="13" font-weight="bold">Each figure against its target (dashed line); shorter is better unless marked ↑; green: met.</text>`,
  ];
  items.forEach((r, i) => {
    const y = 40 + i * rowHeight;
    const { value, target, higherIsBetter } = r.chart;
    const ratio = value / target;
    // The table's verdict when the row has one (it may weigh more than the charted figure), else the bar's own.
    const good = r.pass ?? (higherIsBetter ? ratio >= 1 : ratio <= 1);
    parts.push(`<text x="${left - 8}" y="${y + 15}" text-anchor="end">${escapeXml(r.chart.label)}${higherIsBetter ? ' ↑' : ''}</text>`);
    parts.push(`<rect x="${left}" y="${y + 3}" width="${Math.max(1, x(ratio) - left)}" height="18" fill="${good ? '#3fb950' : '#f85149'}"/>`);
    parts.push(`<text x="${x(ratio) + 4}" y="${y + 16}">${escapeXml(formatNumber(value))}</text>`);
  });
  parts.push(`<line x1="${x(1)}" y1="30" x2="${x(1)}" y2="${height - 25}" stroke="#333" stroke-dasharray="4 3"/>`);
  parts.push(`<text x="${x(1)}" y="${height - 10}" text-anchor="middle">target</text>`);
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

/** A number with three significant digits or so, for charts. */
export function formatNumber(v) {
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

/** Text made safe inside SVG. */
export function escapeXml(text) {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;');
}
