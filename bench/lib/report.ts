/** results -> markdown table and an SVG bar chart (drawn here: no chart dependency). */
import type { ResultsFile, ScenarioResult } from './results.ts';
import { summarize } from './stats.ts';

const BASELINE_NAMES: Record<string, string> = { 'node-http': 'node:http', 'node-http2-core': 'http2 core', 'node-http2-compat': 'http2 compat', 'node-http2-core-capped': 'core, capped', 'ws-raw': 'ws' };

export function format(value: number, unit: string): string {
  if (unit === 'B/conn') return `${Math.round(value).toLocaleString('en-US')} B`;
  if (unit === 'MB') return `${value.toFixed(1)} MB`;
  if (value >= 100) return Math.round(value).toLocaleString('en-US');
  return value.toFixed(2);
}

function ratioCell(scenario: ScenarioResult, baseline: string, contender: string): string {
  const ratio = scenario.ratios[baseline]?.[contender];
  if (!ratio) return '';
  if (contender === baseline) return '1.00x';
  const range = ratio.n > 1 ? ` (${ratio.min.toFixed(2)}-${ratio.max.toFixed(2)})` : '';
  return `${ratio.median.toFixed(2)}x${range}`;
}

function sortedContenders(scenario: ScenarioResult): string[] {
  const sign = scenario.metric.better === 'higher' ? -1 : 1;
  return Object.keys(scenario.contenders).sort((a, b) => {
    const x = scenario.contenders[a]!.summary?.median;
    const y = scenario.contenders[b]!.summary?.median;
    if (x === undefined) return 1;
    if (y === undefined) return -1;
    return sign * (x - y);
  });
}

export function markdown(results: ResultsFile): string {
  const lines: string[] = ['# NGI bench results', ''];
  lines.push(`Updated ${results.updated}. Written by \`bench/run.ts\`; method and limits in [bench/README.md](../README.md).`, '');
  lines.push(
    '> **Read these numbers as ratios, not absolutes.** A shared 2-core VM, loopback only: the server is pinned to core 0,',
    '> the load generator to core 1, and other work on the machine (other test suites ran during these runs) lands on the',
    '> same two cores. Ratios are taken per repeat between contenders measured back to back in the same run.',
    '> "server CPU" near 1.00 means the server\'s core was the limit; well below it, the load generator or the machine was.',
    '> "per CPU s" (throughput scenarios) is each sample\'s rate divided by its server CPU, median: the work a server gets done per',
    '> second of its own CPU, which stays comparable when the server was not the limit (it does not see time spent waiting).',
    '',
  );
  for (const scenario of Object.values(results.scenarios)) {
    const run = results.runs[scenario.run];
    const unit = scenario.metric.unit;
    lines.push(`## ${scenario.name}`, '');
    lines.push(`${scenario.description}. Metric: ${scenario.metric.name} (${scenario.metric.better} is better). Run ${scenario.run}: ${scenario.repeats} repeat(s) x ${scenario.duration} s${scenario.quick ? ' (**quick mode**: indicative only)' : ''}${run ? `, Node ${run.versions.node}` : ''}.`, '');
    const baselines = scenario.baselines.filter((b) => scenario.contenders[b]?.summary);
    const perCpu = scenario.metric.better === 'higher';
    const head = ['contender', `median (${unit})`, 'range', 'n', ...baselines.map((b) => `vs ${BASELINE_NAMES[b] ?? b}`), 'errors', 'server CPU', ...(perCpu ? ['per CPU s'] : [])];
    lines.push(`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`);
    for (const name of sortedContenders(scenario)) {
      const c = scenario.contenders[name]!;
      const s = c.summary;
      const cpu = c.samples.map((x) => x.serverCpu).filter((x): x is number => x !== undefined);
      const cpuCell = cpu.length ? (cpu.reduce((a, b) => a + b, 0) / cpu.length).toFixed(2) : '';
      const perCpuSummary = perCpu ? summarize(c.samples.filter((x) => x.serverCpu).map((x) => x.value / x.serverCpu!)) : undefined;
      const perCpuCells = perCpu ? [perCpuSummary ? format(perCpuSummary.median, unit) : ''] : [];
      const label = name.startsWith('ngi') && name !== 'ngi-baseline' ? `**${c.label}**` : c.label;
      const cells = s
        ? [label, format(s.median, unit), s.n > 1 ? `${format(s.min, unit)} - ${format(s.max, unit)}` : '', String(s.n), ...baselines.map((b) => ratioCell(scenario, b, name)), String(c.errors), cpuCell, ...perCpuCells]
        : [label, 'failed', '', '0', ...baselines.map(() => ''), String(c.errors), '', ...perCpuCells];
      lines.push(`| ${cells.join(' | ')} |`);
    }
    const failed = Object.entries(scenario.contenders).filter(([, c]) => c.failures.length);
    for (const [name, c] of failed) lines.push('', `- ${name} failed ${c.failures.length} sample(s): ${c.failures[0]!.split('\n')[0]}`);
    for (const [name, reason] of Object.entries(scenario.unavailable)) lines.push('', `- ${name}: unavailable (${reason})`);
    if (scenario.metric.better === 'lower') lines.push('', '_Ratios for a lower-is-better metric are baseline / contender: above 1.00x the contender uses less._');
    lines.push('');
  }
  lines.push('## Runs', '');
  for (const run of Object.values(results.runs)) {
    lines.push(`### ${run.id}`, '');
    lines.push(`- command: \`${run.command}\``);
    lines.push(`- options: ${run.options.repeats} repeat(s), ${run.options.duration} s measured after ${run.options.warmup} s warm-up${run.options.quick ? ', quick mode' : ''}`);
    lines.push(`- machine: ${run.machine.nproc} cores (${run.machine.cpuModel}), ${(run.machine.memoryBytes / 2 ** 30).toFixed(1)} GiB, Linux ${run.machine.kernel}; load average at start ${run.machine.loadavgStart.map((x) => x.toFixed(2)).join(' ')}, at end ${run.machine.loadavgEnd.map((x) => x.toFixed(2)).join(' ')}`);
    lines.push(`- pinning: ${run.machine.pinning}`);
    lines.push(`- git: ${run.git}`);
    lines.push(`- versions: ${Object.entries(run.versions).map(([k, v]) => `${k} ${v}`).join('; ')}`);
    for (const [name, reason] of Object.entries(run.unavailable)) lines.push(`- unavailable: ${name} (${reason})`);
    for (const note of run.notes) lines.push(`- note: ${note}`);
    lines.push('');
  }
  lines.push('Exact server and load commands for every sample are in the JSON next to this file.', '');
  return lines.join('\n');
}

const escapeXml = (s: string): string => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** One panel per scenario: a horizontal bar per contender (median), a whisker for the range. */
export function svg(results: ResultsFile): string {
  const width = 920;
  const labelWidth = 270;
  const valueWidth = 200;
  const barArea = width - labelWidth - valueWidth - 20;
  const rowHeight = 20;
  const parts: string[] = [];
  let y = 52;
  parts.push(`<text x="10" y="22" font-size="16" font-weight="bold">NGI bench, ${escapeXml(results.updated.slice(0, 16).replace('T', ' '))} UTC</text>`);
  parts.push(`<text x="10" y="42" font-size="12" fill="#444">bars: medians; whiskers: range over repeats; ratio: vs the raw baseline in the same run (shared, noisy 2-core VM: see latest.md)</text>`);
  for (const scenario of Object.values(results.scenarios)) {
    const names = sortedContenders(scenario).filter((n) => scenario.contenders[n]!.summary);
    if (names.length === 0) continue;
    const max = Math.max(...names.map((n) => scenario.contenders[n]!.summary!.max));
    const unit = scenario.metric.unit;
    y += 8;
    parts.push(`<text x="10" y="${y + 14}" font-size="13" font-weight="bold">${escapeXml(`${scenario.name}: ${scenario.metric.name} (${scenario.metric.better} is better)${scenario.quick ? ' [quick]' : ''}`)}</text>`);
    y += 22;
    const baseline = scenario.baselines.find((b) => scenario.contenders[b]?.summary);
    for (const name of names) {
      const c = scenario.contenders[name]!;
      const s = c.summary!;
      const scale = (v: number): number => (max > 0 ? (v / max) * barArea : 0);
      const color = name === 'ngi' ? '#d6336c' : name === 'ngi-node-h2' ? '#ae3ec9' : name === 'ngi-node-h1' ? '#f76707' : name === 'ngi-ws-framing' ? '#e8590c' : scenario.baselines.includes(name) ? '#495057' : c.runtime === 'node' ? '#74c0fc' : '#ffa94d';
      const ratio = baseline && name !== baseline ? scenario.ratios[baseline]?.[name] : undefined;
      const ratioText = ratio ? `  ${ratio.median.toFixed(2)}x ${BASELINE_NAMES[baseline!] ?? baseline}` : '';
      parts.push(`<text x="${labelWidth - 6}" y="${y + 14}" font-size="12" text-anchor="end">${escapeXml(c.label)}</text>`);
      parts.push(`<rect x="${labelWidth}" y="${y + 3}" width="${scale(s.median).toFixed(1)}" height="${rowHeight - 6}" fill="${color}"/>`);
      if (s.n > 1) {
        const x1 = labelWidth + scale(s.min);
        const x2 = labelWidth + scale(s.max);
        parts.push(`<line x1="${x1.toFixed(1)}" x2="${x2.toFixed(1)}" y1="${y + 10}" y2="${y + 10}" stroke="#000" stroke-width="1.5"/>`);
      }
      parts.push(`<text x="${labelWidth + barArea + 8}" y="${y + 14}" font-size="12">${escapeXml(format(s.median, unit) + (unit === 'MB' || unit === 'B/conn' ? '' : ` ${unit}`) + ratioText)}</text>`);
      y += rowHeight;
    }
  }
  y += 16;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}" font-family="system-ui, sans-serif">\n<rect width="100%" height="100%" fill="#fff"/>\n${parts.join('\n')}\n</svg>\n`;
}
