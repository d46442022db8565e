/**
 * From measured runs to what people read: per-pipeline medians, the issue's targets as paired ratios with
 * pass/fail, the Fargate cost model, an SVG bar chart and the markdown tables.
 */
import { median } from './measure.ts';
import type { Engine, PipelineRun } from './pipelines.ts';

export interface CaseResult {
  readonly engine: Engine;
  readonly database: string;
  readonly targetMb: number;
  readonly customers: number;
  readonly events: number;
  /** Size of the raw dump (pg_dump -Fc -Z0, or mysqldump's SQL): what "per GB" means below. */
  readonly rawBytes: number;
  readonly rounds: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly descriptions: Readonly<Record<string, string>>;
  readonly runs: readonly PipelineRun[];
}

export interface SuiteResult {
  readonly mode: string;
  /** The summary's file name: the mode, plus the engines when the run was limited to some (`full-postgres`). */
  readonly name?: string;
  readonly command: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly machine: Readonly<Record<string, string>>;
  readonly cases: readonly CaseResult[];
}

/** Fargate on-demand, Linux/x86, US East (N. Virginia); see docs/BENCHMARKS.md for the source and date. */
export const FARGATE = { vcpuHour: 0.04048, gbHour: 0.004445 } as const;
export const FARGATE_SIZES = [
  { vcpu: 1, memoryGb: 2 },
  { vcpu: 4, memoryGb: 8 },
] as const;

const GB = 1e9;

export interface PipelineSummary {
  readonly id: string;
  readonly label: string;
  readonly wallS: number;
  readonly cpuS: number;
  readonly dumpToolCpuS: number;
  /** CPU of everything but the dump tool (the worker and its helpers, or the compressor). */
  readonly otherCpuS: number;
  readonly toolCpuS: Readonly<Record<string, number>>;
  readonly peakRssMiB?: number;
  readonly outBytes?: number;
  readonly n: number;
  /** Every run of the pipeline failed: why. */
  readonly failed?: string;
}

export function summarize(c: CaseResult): PipelineSummary[] {
  const ids = [...new Set(c.runs.map((r) => r.pipeline))];
  return ids.map((id) => {
    const all = c.runs.filter((r) => r.pipeline === id);
    const runs = all.filter((r) => !r.error);
    const failed = runs.length === 0 ? all.find((r) => r.error)?.error : undefined;
    const tools = [...new Set(runs.flatMap((r) => Object.keys(r.toolCpuS)))];
    const rss = runs.flatMap((r) => (r.peakRssMiB !== undefined ? [r.peakRssMiB] : []));
    const out = runs.flatMap((r) => (r.outBytes !== undefined ? [r.outBytes] : []));
    return {
      id,
      label: c.labels[id] ?? id,
      wallS: median(runs.map((r) => r.wallS)),
      cpuS: median(runs.map((r) => r.cpuS)),
      dumpToolCpuS: median(runs.map((r) => r.dumpToolCpuS)),
      otherCpuS: median(runs.map((r) => r.cpuS - r.dumpToolCpuS)),
      toolCpuS: Object.fromEntries(tools.map((t) => [t, median(runs.map((r) => r.toolCpuS[t] ?? 0))])),
      ...(rss.length ? { peakRssMiB: Math.max(...rss) } : {}),
      ...(out.length ? { outBytes: median(out) } : {}),
      n: runs.length,
      ...(failed !== undefined ? { failed } : {}),
    };
  });
}

/** Median over rounds of a per-round ratio between two pipelines (paired: same round, back to back). */
export function pairedRatio(c: CaseResult, numerator: string, denominator: string): number {
  const ratios: number[] = [];
  for (let round = 0; round < c.rounds; round++) {
    const a = c.runs.find((r) => r.pipeline === numerator && r.round === round);
    const b = c.runs.find((r) => r.pipeline === denominator && r.round === round);
    if (a && b && !a.error && !b.error) ratios.push(a.wallS / b.wallS);
  }
  return median(ratios);
}

export interface TargetCheck {
  readonly target: string;
  readonly measured: string;
  readonly value: number;
  readonly limit: string;
  readonly pass: boolean;
}

export function targets(c: CaseResult): TargetCheck[] {
  const tool = c.engine === 'postgres' ? 'pg_dump -Fc -Z0' : 'mysqldump';
  const checks: TargetCheck[] = [];
  const failure = (id: string) => c.runs.find((r) => r.pipeline === id && r.error)?.error;
  const push = (target: string, measured: string, value: number, limit: string, pass: boolean, contender = 'safekeep') => {
    if (Number.isFinite(value)) checks.push({ target, measured, value, limit, pass });
    else if (failure(contender))
      checks.push({ target, measured: `${contender} failed: ${failure(contender)?.slice(0, 160)}`, value, limit, pass: false });
  };
  const wall = pairedRatio(c, 'safekeep', 'producer');
  push(`dump wall vs \`${tool} > /dev/null\``, 'safekeep wall / producer wall', wall, '<= 1.20x', wall <= 1.2);
  const sk = c.runs.filter((r) => r.pipeline === 'safekeep' && !r.error);
  const workerPerGb = median(sk.map((r) => (r.cpuS - r.dumpToolCpuS) / (c.rawBytes / GB)));
  push('worker CPU per GB of raw dump (dump tool excluded)', 'CPU s / GB', workerPerGb, '<= 4.0 s/GB', workerPerGb <= 4);
  const gzip = pairedRatio(c, 'gzip', 'safekeep');
  push(
    `faster than \`${c.engine === 'postgres' ? 'pg_dump' : 'mysqldump'} | gzip -6\``,
    'gzip wall / safekeep wall',
    gzip,
    '>= 3.00x',
    gzip >= 3,
  );
  if (c.engine === 'postgres') {
    const fc = pairedRatio(c, 'fc-default', 'safekeep');
    push('faster than `pg_dump -Fc` (default compression)', 'pg_dump -Fc wall / safekeep wall', fc, '>= 3.00x', fc >= 3);
  }
  const restore = pairedRatio(c, 'restore-local', 'restore-safekeep');
  push(
    `restore speed vs \`${c.engine === 'postgres' ? 'pg_restore' : 'mysql'}\` from a local file`,
    'local wall / safekeep restore wall',
    restore,
    '>= 0.90x',
    restore >= 0.9,
    'restore-safekeep',
  );
  const parallelRestore = pairedRatio(c, 'restore-local-parallel', 'restore-safekeep-parallel');
  const jobs = /-j (\d+)/.exec(c.labels['restore-local-parallel'] ?? '')?.[1] ?? 'N';
  push(
    `restore speed in ${jobs} streams vs \`pg_restore -j ${jobs}\` from a local file`,
    'local -j wall / safekeep parallel restore wall',
    parallelRestore,
    '>= 0.90x',
    parallelRestore >= 0.9,
    'restore-safekeep-parallel',
  );
  return checks;
}

/** Peak RSS of `safekeep dump` at the largest size over the smallest, per engine (needs two sizes). */
export function memoryFlatness(cases: readonly CaseResult[]): { engine: Engine; small: number; large: number; ratio: number }[] {
  const out: { engine: Engine; small: number; large: number; ratio: number }[] = [];
  for (const engine of ['postgres', 'mysql'] as const) {
    const sized = cases.filter((c) => c.engine === engine).sort((a, b) => a.rawBytes - b.rawBytes);
    const first = sized[0];
    const last = sized[sized.length - 1];
    if (!first || !last || first === last) continue;
    const peak = (c: CaseResult) => summarize(c).find((s) => s.id === 'safekeep')?.peakRssMiB ?? Number.NaN;
    out.push({ engine, small: peak(first), large: peak(last), ratio: peak(last) / peak(first) });
  }
  return out;
}

/**
 * What a run with two sizes of the same engine says once fixed costs (process start, connections, the
 * globals object) are taken out: the slope between the smallest and the largest dump.
 */
export function marginal(
  cases: readonly CaseResult[],
): { engine: Engine; fromMb: number; toMb: number; workerCpuPerGb: number; wallVsProducer: number }[] {
  const out = [];
  for (const engine of ['postgres', 'mysql'] as const) {
    const sized = cases.filter((c) => c.engine === engine).sort((a, b) => a.rawBytes - b.rawBytes);
    const small = sized[0];
    const large = sized[sized.length - 1];
    if (!small || !large || small === large) continue;
    const get = (c: CaseResult, id: string) => summarize(c).find((p) => p.id === id);
    const [ss, ls, sp, lp] = [get(small, 'safekeep'), get(large, 'safekeep'), get(small, 'producer'), get(large, 'producer')];
    if (!ss || !ls || !sp || !lp) continue;
    out.push({
      engine,
      fromMb: small.rawBytes / 1e6,
      toMb: large.rawBytes / 1e6,
      workerCpuPerGb: (ls.otherCpuS - ss.otherCpuS) / ((large.rawBytes - small.rawBytes) / GB),
      wallVsProducer: (ls.wallS - ss.wallS) / (lp.wallS - sp.wallS),
    });
  }
  return out;
}

export interface CostRow {
  readonly pipeline: string;
  readonly vcpu: number;
  readonly memoryGb: number;
  readonly hoursPer100Gb: number;
  readonly dollarsPer100Gb: number;
}

/**
 * Dollars per 100 GB of raw dump on Fargate, from measured CPU: everything in the pipeline but the
 * database server and S3 runs in the task (the dump tool is a client there too). A task with v vCPUs needs
 * at least total CPU / v, and no less than its busiest single process, per GB.
 */
export function costModel(c: CaseResult, pipelines: readonly string[]): CostRow[] {
  const rows: CostRow[] = [];
  const gb = c.rawBytes / GB;
  for (const id of pipelines) {
    const s = summarize(c).find((p) => p.id === id);
    if (!s || s.failed !== undefined) continue;
    const busiest = Math.max(s.cpuS - Object.values(s.toolCpuS).reduce((a, b) => a + b, 0), ...Object.values(s.toolCpuS));
    for (const size of FARGATE_SIZES) {
      const secondsPerGb = Math.max(s.cpuS / size.vcpu, busiest) / gb;
      const hoursPer100Gb = (secondsPerGb * 100) / 3600;
      rows.push({
        pipeline: s.label,
        vcpu: size.vcpu,
        memoryGb: size.memoryGb,
        hoursPer100Gb,
        dollarsPer100Gb: hoursPer100Gb * (size.vcpu * FARGATE.vcpuHour + size.memoryGb * FARGATE.gbHour),
      });
    }
  }
  return rows;
}

// ------------------------------------------------------------------------------------------ SVG

const escapeXml = (s: string) => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

export interface ChartGroup {
  readonly title: string;
  readonly baseline: string;
  readonly bars: readonly { label: string; value: number; highlight: boolean }[];
  readonly targetLine?: { value: number; label: string };
}

/** Horizontal bars of wall time relative to a baseline (1.0 = the baseline's median), one panel per group. */
export function barChart(title: string, groups: readonly ChartGroup[]): string {
  const width = 860;
  const left = 290;
  const right = 70;
  const barHeight = 18;
  const gap = 6;
  const plot = width - left - right;
  const parts: string[] = [];
  let y = 40;
  parts.push(`<text x="${width / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">${escapeXml(title)}</text>`);
  for (const group of groups) {
    // Each panel has its own axis, from 0 to the next whole ratio above its longest bar (at least 2x).
    const finite = group.bars.map((b) => b.value).filter(Number.isFinite);
    const scaleMax = Math.ceil(Math.max(2, ...finite, group.targetLine?.value ?? 0));
    const x = (v: number) => left + (v / scaleMax) * plot;
    parts.push(`<text x="10" y="${y + 14}" font-size="13" font-weight="bold">${escapeXml(group.title)}</text>`);
    parts.push(
      `<text x="${width - 10}" y="${y + 14}" text-anchor="end" font-size="11" fill="#555">1.0 = ${escapeXml(group.baseline)}</text>`,
    );
    y += 24;
    const top = y;
    for (const bar of group.bars) {
      if (!Number.isFinite(bar.value)) {
        parts.push(`<text x="${left - 8}" y="${y + 13}" text-anchor="end" font-size="12">${escapeXml(bar.label)}</text>`);
        parts.push(`<text x="${left + 4}" y="${y + 13}" font-size="12" fill="#d9534f" font-weight="bold">failed</text>`);
        y += barHeight + gap;
        continue;
      }
      const w = Math.max(1, x(bar.value) - left);
      parts.push(`<text x="${left - 8}" y="${y + 13}" text-anchor="end" font-size="12">${escapeXml(bar.label)}</text>`);
      parts.push(
        `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barHeight}" fill="${bar.highlight ? '#d9534f' : '#6c8ebf'}"/>`,
      );
      parts.push(`<text x="${(left + w + 4).toFixed(1)}" y="${y + 13}" font-size="11">${bar.value.toFixed(2)}x</text>`);
      y += barHeight + gap;
    }
    const bottom = y - gap;
    for (let tick = 0; tick <= scaleMax; tick++) {
      parts.push(`<line x1="${x(tick)}" y1="${top - 2}" x2="${x(tick)}" y2="${bottom + 2}" stroke="#ccc" stroke-width="0.5"/>`);
      parts.push(`<text x="${x(tick)}" y="${bottom + 14}" text-anchor="middle" font-size="10" fill="#555">${tick}x</text>`);
    }
    parts.push(`<line x1="${x(1)}" y1="${top - 4}" x2="${x(1)}" y2="${bottom + 4}" stroke="#000" stroke-width="1"/>`);
    if (group.targetLine) {
      const tx = x(group.targetLine.value);
      parts.push(
        `<line x1="${tx}" y1="${top - 4}" x2="${tx}" y2="${bottom + 4}" stroke="#2a7" stroke-width="1.5" stroke-dasharray="5,3"/>`,
      );
      parts.push(`<text x="${tx + 3}" y="${top - 6}" font-size="10" fill="#2a7">${escapeXml(group.targetLine.label)}</text>`);
    }
    y = bottom + 32;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}" font-family="sans-serif">
<rect width="100%" height="100%" fill="#fff"/>
${parts.join('\n')}
</svg>
`;
}

export function chartGroups(c: CaseResult): ChartGroup[] {
  const s = summarize(c);
  const by = (id: string) => s.find((p) => p.id === id);
  const size = `${(c.rawBytes / 1e6).toFixed(0)} MB raw`;
  const producer = by('producer');
  const groups: ChartGroup[] = [];
  if (producer) {
    groups.push({
      title: `${c.engine === 'postgres' ? 'PostgreSQL' : 'MariaDB'} dump, ${size}`,
      baseline: producer.label,
      bars: s
        .filter((p) => p.id !== 'producer-file' && !p.id.startsWith('restore'))
        .map((p) => ({ label: p.label, value: p.wallS / producer.wallS, highlight: p.id.startsWith('safekeep') })),
      targetLine: { value: 1.2, label: 'target 1.2x' },
    });
  }
  const local = by('restore-local');
  if (local) {
    groups.push({
      title: `${c.engine === 'postgres' ? 'PostgreSQL' : 'MariaDB'} restore, ${size}`,
      baseline: local.label,
      bars: s
        .filter((p) => p.id.startsWith('restore'))
        .map((p) => ({ label: p.label, value: p.wallS / local.wallS, highlight: p.id.startsWith('restore-safekeep') })),
      targetLine: { value: 1 / 0.9, label: 'target (0.9x speed)' },
    });
  }
  return groups;
}

// ------------------------------------------------------------------------------------------ markdown

/** A table cell: pipes in labels would split it. */
const cell = (s: string) => s.replaceAll('|', '\\|');
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(bytes < 1e7 ? 1 : 0)} MB`;
const f = (v: number, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');

export function caseTables(c: CaseResult): string {
  const s = summarize(c);
  const producer = s.find((p) => p.id === 'producer');
  const gb = c.rawBytes / GB;
  const lines: string[] = [];
  const engine = c.engine === 'postgres' ? 'PostgreSQL' : 'MariaDB';
  lines.push(
    `### ${engine}, ${mb(c.rawBytes)} raw (\`${c.database}\`: ${c.customers.toLocaleString('en-US')} customers, ${c.events.toLocaleString('en-US')} events; median of ${c.rounds})`,
    '',
    '| pipeline | wall | vs producer | raw MB/s | CPU total | dump tool CPU | other CPU | other CPU per GB | output | ratio | worker peak RSS |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  );
  for (const p of s) {
    const isRestore = p.id.startsWith('restore');
    if (p.failed !== undefined) {
      lines.push(`| ${cell(p.label)} | **failed**: ${cell(p.failed.slice(0, 240).replaceAll('\n', ' '))} |${' |'.repeat(9)}`);
      continue;
    }
    lines.push(
      `| ${cell(p.label)} | ${f(p.wallS, 2)} s | ${producer && !isRestore ? `${f(p.wallS / producer.wallS, 2)}x` : ''} | ${f(c.rawBytes / 1e6 / p.wallS, 0)} | ${f(p.cpuS, 2)} s | ${f(p.dumpToolCpuS, 2)} s | ${f(p.otherCpuS, 2)} s | ${f(p.otherCpuS / gb, 2)} s | ${p.outBytes !== undefined ? mb(p.outBytes) : ''} | ${p.outBytes ? `${f(c.rawBytes / p.outBytes, 2)}x` : ''} | ${p.peakRssMiB !== undefined ? `${f(p.peakRssMiB)} MiB` : ''} |`,
    );
  }
  const sk = s.find((p) => p.id === 'safekeep');
  if (sk) {
    const pgRestore = sk.toolCpuS.pg_restore;
    const split = Object.entries(sk.toolCpuS)
      .map(([tool, cpu]) => `${tool} ${f(cpu, 2)} s`)
      .join(', ');
    lines.push(
      '',
      `CPU inside \`safekeep dump\`: ${split}; the node worker itself ${f(sk.cpuS - Object.values(sk.toolCpuS).reduce((a, b) => a + b, 0), 2)} s` +
        (pgRestore !== undefined ? ' (pg_restore is the completeness check the worker runs on the live stream)' : '') +
        '.',
    );
  }
  lines.push('', '| target | measured | value | limit | result |', '|---|---|---|---|---|');
  for (const t of targets(c)) {
    lines.push(
      `| ${cell(t.target)} | ${t.measured} | ${Number.isFinite(t.value) ? `${f(t.value, 2)}${t.limit.includes('s/GB') ? ' s/GB' : 'x'}` : 'n/a'} | ${t.limit} | ${t.pass ? 'pass' : '**FAIL**'} |`,
    );
  }
  lines.push(...streamsTable(c));
  return lines.join('\n');
}

/** One stream against N side by side (PostgreSQL, when the case ran the parallel variants): walls paired per round. */
function streamsTable(c: CaseResult): string[] {
  const s = summarize(c);
  const by = (id: string) => s.find((p) => p.id === id);
  const parallel = by('safekeep-parallel');
  if (!parallel) return [];
  const jobs = /--parallelism (\d+)/.exec(parallel.label)?.[1] ?? 'N';
  const rows: [string, string, string, 'wall' | 'rss'][] = [
    ['`safekeep dump` wall', 'safekeep', 'safekeep-parallel', 'wall'],
    ['the dump tool alone (`pg_dump -Fc -Z0 > /dev/null`; `-Fd -Z0 -j N > dir`)', 'producer', 'producer-parallel', 'wall'],
    ['`safekeep restore` wall', 'restore-safekeep', 'restore-safekeep-parallel', 'wall'],
    ['`pg_restore` from a local file (`-j N` for N)', 'restore-local', 'restore-local-parallel', 'wall'],
    ['`safekeep dump` peak RSS', 'safekeep', 'safekeep-parallel', 'rss'],
    ['`safekeep restore` peak RSS', 'restore-safekeep', 'restore-safekeep-parallel', 'rss'],
  ];
  const lines = [
    '',
    `One stream against ${jobs} (medians; the last column is the paired per-round ratio of walls, or the ratio of peak RSS):`,
    '',
    `| figure | 1 stream | ${jobs} streams | ${jobs} vs 1 |`,
    '|---|---|---|---|',
  ];
  for (const [label, one, many, kind] of rows) {
    const [a, b] = [by(one), by(many)];
    if (kind === 'wall') {
      lines.push(
        `| ${label} | ${f(a?.wallS ?? Number.NaN, 2)} s | ${f(b?.wallS ?? Number.NaN, 2)} s | ${f(pairedRatio(c, many, one), 2)}x |`,
      );
    } else {
      const [ra, rb] = [a?.peakRssMiB ?? Number.NaN, b?.peakRssMiB ?? Number.NaN];
      lines.push(`| ${label} | ${f(ra)} MiB | ${f(rb)} MiB | ${f(rb / ra, 2)}x |`);
    }
  }
  return lines;
}

export function costTable(cases: readonly CaseResult[]): string {
  const lines = ['| data | pipeline | Fargate task | hours per 100 GB | dollars per 100 GB |', '|---|---|---|---|---|'];
  for (const c of cases) {
    for (const row of costModel(c, ['safekeep', 'gzip', 'producer'])) {
      lines.push(
        `| ${c.engine === 'postgres' ? 'PostgreSQL' : 'MariaDB'} ${mb(c.rawBytes)} | ${cell(row.pipeline)} | ${row.vcpu} vCPU / ${row.memoryGb} GB | ${f(row.hoursPer100Gb, 2)} | $${f(row.dollarsPer100Gb, 3)} |`,
      );
    }
  }
  return lines.join('\n');
}

export function suiteMarkdown(result: SuiteResult, chartPath: string): string {
  const lines = [
    `## ${result.mode} mode${result.name && result.name !== result.mode ? ` (${result.name.slice(result.mode.length + 1)} only)` : ''}, ${result.startedAt.slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `Command: \`${result.command}\` (finished ${result.finishedAt.slice(11, 19)} UTC).`,
    '',
    `Machine: ${Object.entries(result.machine)
      .map(([k, v]) => `${k} ${v}`)
      .join('; ')}.`,
    '',
    `![wall time per pipeline relative to the producer](${chartPath})`,
    '',
  ];
  for (const c of result.cases) lines.push(caseTables(c), '');
  const slopes = marginal(result.cases);
  if (slopes.length) {
    lines.push(
      'Between sizes, with fixed costs taken out (the slope from the smallest to the largest dump of each engine; for information, the targets above use the plain figures):',
      '',
      '| engine | sizes | marginal worker CPU per GB | marginal safekeep wall / producer wall |',
      '|---|---|---|---|',
    );
    for (const m of slopes)
      lines.push(
        `| ${m.engine} | ${f(m.fromMb, 0)} -> ${f(m.toMb, 0)} MB | ${f(m.workerCpuPerGb, 2)} s/GB | ${f(m.wallVsProducer, 2)}x |`,
      );
    lines.push('');
  }
  const flat = memoryFlatness(result.cases);
  if (!flat.length) {
    lines.push(
      'Memory flatness needs two sizes of one engine: see the full mode, or `bench/dump-memory.ts` (results in `bench/results/dump-memory.md`).',
      '',
    );
  }
  if (flat.length) {
    lines.push('Memory flatness of `safekeep dump` (peak RSS at the largest size over the smallest; target within 10%):', '');
    lines.push('| engine | smallest | largest | ratio | result |', '|---|---|---|---|---|');
    for (const m of flat)
      lines.push(
        `| ${m.engine} | ${f(m.small)} MiB | ${f(m.large)} MiB | ${f(m.ratio, 2)}x | ${m.ratio <= 1.1 ? 'pass' : '**FAIL**'} |`,
      );
    lines.push('');
  }
  lines.push('Cost on Fargate (model and prices below):', '', costTable(result.cases), '');
  return lines.join('\n');
}
