import { BENCH_CLIENT } from './cpu.js';
import type { FloorResult } from './floor/index.js';
import type { GmailResult } from './gmail.js';
import { MAILBOX_GOALS, type ManyMailboxesResult, type WorkerMemory } from './mailboxes.js';
import type { OpenLoopResult } from './openloop.js';
import type { LatencySummary, ThroughputResult } from './stats.js';
import type { SystemResult } from './system.js';

export interface ScaleResult {
  activeWorkflows: number;
  ingest: LatencySummary;
}

export interface RssSample {
  runs: number;
  rssMiB: number;
}

/** The same open-loop generator against the system and, with `--peer`, against the peer. */
export interface OpenLoopComparison {
  rates: number[];
  seconds: number;
  drainSeconds: number;
  system: OpenLoopResult[];
  /** Temporal alone under the same generator (bench/src/floor/open-loop.ts): what any run on it pays. */
  floor?: OpenLoopResult[];
  /**
   * The same floor with the worker's own process starting each workflow eagerly: the server answers the
   * start with the first workflow task, with no dispatch through matching. `eagerlyStarted` counts the
   * starts it handed back so (the rest went through matching, for want of a free slot).
   */
  floorEager?: { results: OpenLoopResult[]; eagerlyStarted: number };
  peer?: { name: string; version: string; settings: Record<string, string>; results: OpenLoopResult[] };
}

/** The highest rate achieved at any offered rate: the saturation throughput when the search overran it. */
export const saturation = (results: readonly OpenLoopResult[]) =>
  Math.max(0, ...results.map((result) => result.achievedPerSecond));

export function openLoopMarkdown(comparison: OpenLoopComparison): string[] {
  const { peer } = comparison;
  const cell = (result: OpenLoopResult | undefined) =>
    result
      ? `${ms(result.latency.p50)} / ${ms(result.latency.p99)} ms, ${result.achievedPerSecond.toFixed(1)}/s${result.achievedPerSecondToLastArrival < 0.98 * result.achievedPerSecond ? ` (${result.achievedPerSecondToLastArrival.toFixed(1)}/s to the last arrival)` : ''}${result.lost ? `, ${result.lost} lost` : ''}${result.refused ? `, ${result.refused} refused` : ''}`
      : '–';
  const cpu = (result: OpenLoopResult | undefined) => {
    const shares = Object.entries(result?.cpuMsPerEvent ?? {}).filter(([name]) => name !== BENCH_CLIENT);
    if (shares.length === 0) return '–';
    const total = shares.reduce((sum, [, value]) => sum + value, 0);
    return `${total.toFixed(1)} (${shares.map(([name, value]) => `${name} ${value.toFixed(1)}`).join(', ')})`;
  };
  const offered = [
    ...new Set([...comparison.system, ...(peer?.results ?? [])].map((result) => result.offeredPerSecond)),
  ].sort((a, b) => a - b);
  const lines = [
    `Open loop, webhook → sink, measured from each event's scheduled send (${comparison.seconds} s per rate):`,
    '',
    `| offered rate | system p50 / p99, achieved | system CPU ms per event |${peer ? ` ${peer.name} ${peer.version} p50 / p99, achieved | ${peer.name} CPU ms per event |` : ''}`,
    `|---|---|---|${peer ? '---|---|' : ''}`,
  ];
  for (const rate of offered) {
    const at = (results: readonly OpenLoopResult[]) =>
      results.find((result) => result.offeredPerSecond === rate);
    const ours = at(comparison.system);
    const theirs = peer ? at(peer.results) : undefined;
    lines.push(
      `| ${rate}/s | ${cell(ours)} | ${cpu(ours)} |${peer ? ` ${cell(theirs)} | ${cpu(theirs)} |` : ''}`,
    );
  }
  lines.push(
    '',
    'Achieved: arrivals per second from the first scheduled send until 99% of them had arrived; in brackets, when lower, until the very last arrival. CPU: ms per arrived event from the first send until the last event settled, by process (Postgres: the whole cluster).',
    '',
  );
  const split = comparison.system
    .filter((result) => result.stages)
    .sort((a, b) => a.offeredPerSecond - b.offeredPerSecond);
  if (split.length > 0) {
    lines.push(
      "Where the system's time went, from its own records (Temporal's start time and the worker's clock as the action began): the median of each stage, and the mean of the slowest 1% of events (at least 3) by total time. Scheduled send → accepted holds the webhook's request and Temporal's start up to its event time; accepted → action holds the start's commit, the dispatch of the workflow task and the worker's activation:",
      '',
      '| offered rate | send → accepted | accepted → action | action → sink | slowest: send → accepted | accepted → action | action → sink |',
      '|---|---|---|---|---|---|---|',
    );
    for (const { offeredPerSecond, stages } of split) {
      if (!stages) continue;
      const { median, slowest } = stages;
      lines.push(
        `| ${offeredPerSecond}/s | ${ms(median.toAccepted)} | ${ms(median.acceptedToAction)} | ${ms(median.actionToSink)} | ${ms(slowest.toAccepted)} | ${ms(slowest.acceptedToAction)} | ${ms(slowest.actionToSink)} (${stages.slowestCount} events) |`,
      );
    }
    lines.push('');
  }
  if (comparison.floor?.length) {
    const eager = comparison.floorEager;
    lines.push(
      "The floor under the same open loop, on the same server with the apps stopped: a bare client starts a workflow whose one local activity posts the event to the sink, run by a bare worker in its own process (no webhook, records or codec; the answer is the start's return):",
      '',
      `| offered rate | floor p50 / p99, achieved | floor CPU ms per event | system p50 / p99 vs floor |${peer ? ` ${peer.name} p50 / p99 vs floor |` : ''}${eager ? ' eager-start floor p50 / p99, achieved | eager-start floor vs floor |' : ''}`,
      `|---|---|---|---|${peer ? '---|' : ''}${eager ? '---|---|' : ''}`,
    );
    const versus = (result: OpenLoopResult | undefined, floor: OpenLoopResult) =>
      result
        ? `${ratio(result.latency.p50, floor.latency.p50)} / ${ratio(result.latency.p99, floor.latency.p99)}`
        : '–';
    for (const floor of comparison.floor) {
      const at = (results: readonly OpenLoopResult[]) =>
        results.find((result) => result.offeredPerSecond === floor.offeredPerSecond);
      const eagerAtRate = eager ? at(eager.results) : undefined;
      lines.push(
        `| ${floor.offeredPerSecond}/s | ${cell(floor)} | ${cpu(floor)} | ${versus(at(comparison.system), floor)} |${peer ? ` ${versus(at(peer.results), floor)} |` : ''}${eager ? ` ${cell(eagerAtRate)} | ${versus(eagerAtRate, floor)} |` : ''}`,
      );
    }
    lines.push('');
    if (eager) {
      const sent = eager.results.reduce((sum, result) => sum + result.sent, 0);
      lines.push(
        `Eager-start floor: the same workflow and worker, but the worker's own process starts each workflow with eager workflow start, so the server answers the start with the first workflow task instead of dispatching it through matching (the SDK allows it only to a client on the worker's connection). ${eager.eagerlyStarted} of ${sent} starts were handed back eagerly.`,
        '',
      );
    }
  }
  if (peer) {
    const ours = saturation(comparison.system);
    const theirs = saturation(peer.results);
    lines.push(
      `Saturation (highest achieved rate): system ${ours.toFixed(1)}/s, ${peer.name} ${theirs.toFixed(1)}/s, ${ratio(ours, theirs)}.`,
      '',
    );
  }
  return lines;
}

/** The many-mailboxes phase: mailbox #1 alone, with the others idle, many at once; the worker's memory. */
export function mailboxesMarkdown(result: ManyMailboxesResult): string[] {
  const { alone, othersIdle, concurrent, worker } = result;
  const others = result.mailboxes - 1;
  const verdict = (met: boolean) => (met ? 'met' : '**missed**');
  const peak = Math.max(...Object.values(worker).map((memory) => memory.peakRssMiB));
  const count = (value: number) => (Number.isFinite(value) ? String(value) : '–');
  const memory = (name: string, at: WorkerMemory) =>
    `| ${name} | ${at.rssMiB.toFixed(0)} | ${count(at.cachedWorkflows)} | ${count(at.forcedEvictions)} | ${count(at.mailboxCacheHits)} / ${count(at.cacheMisses)} |`;
  return [
    `Many mailboxes: ${result.mailboxes} connected, each its own tenant with an active receive-email → HTTP workflow and its own mailbox workflow; setting up #2..#${result.mailboxes} took ${result.setupSeconds.toFixed(1)} s.`,
    '',
    '| mailboxes receiving | push → recorded p50 ms | p90 ms | p99 ms | push → 204 p50 ms | runs | runs/s |',
    '|---|---|---|---|---|---|---|',
    `| #1 alone, before the others exist (sequential) | ${ms(alone.recorded.p50)} | ${ms(alone.recorded.p90)} | ${ms(alone.recorded.p99)} | ${ms(alone.accepted.p50)} | ${alone.recorded.count} | |`,
    `| #1 with ${others} others idle (sequential) | ${ms(othersIdle.recorded.p50)} | ${ms(othersIdle.recorded.p90)} | ${ms(othersIdle.recorded.p99)} | ${ms(othersIdle.accepted.p50)} | ${othersIdle.recorded.count} | |`,
    `| ${concurrent.mailboxes} at once, one loop each (${concurrent.seconds.toFixed(1)} s to the last recorded; ${concurrent.redeliveries} pushes redelivered after a 5xx) | ${ms(concurrent.recorded.p50)} | ${ms(concurrent.recorded.p90)} | ${ms(concurrent.recorded.p99)} | ${ms(concurrent.accepted.p50)} | ${concurrent.recorded.count} | ${concurrent.perSecond.toFixed(1)} |`,
    '',
    `CPU ms per run with ${concurrent.mailboxes} at once, by process: ${Object.entries(concurrent.cpuMsPerRun)
      .map(([name, value]) => `${name} ${value.toFixed(1)}`)
      .join(', ')}.`,
    '',
    '| worker, after | RSS MiB | workflows in the SDK cache | forced evictions | mailbox tasks cached / replayed (cache misses) |',
    '|---|---|---|---|---|',
    memory("#1's runs alone", worker.alone),
    memory(`setting up all ${result.mailboxes}`, worker.afterSetup),
    memory("#1's runs with the others idle", worker.afterIdleRuns),
    memory(`${concurrent.mailboxes} at once`, worker.afterConcurrent),
    '',
    `Goals: #1's push → recorded p50 with the others idle ${ratio(othersIdle.recorded.p50, alone.recorded.p50)} its p50 alone (goal ≤ ${MAILBOX_GOALS.idleP50Ratio}×: ${verdict(result.idleP50Ratio <= MAILBOX_GOALS.idleP50Ratio)}); worker RSS at most ${Math.max(...Object.values(worker).map((at) => at.rssMiB)).toFixed(0)} MiB, peak (VmHWM) ${peak.toFixed(0)} MiB (goal < ${MAILBOX_GOALS.workerRssMiB} MiB: ${verdict(peak < MAILBOX_GOALS.workerRssMiB)})${result.mailboxes < 1000 ? '; the goals are set for 1,000 mailboxes' : ''}.`,
    '',
  ];
}

export interface BackendReport {
  backend: string;
  settings: Record<string, unknown>;
  floor: FloorResult[];
  system: SystemResult;
  gmail?: GmailResult;
  mailboxes?: ManyMailboxesResult;
  scale?: ScaleResult[];
  workerRss?: RssSample[];
  openLoop?: OpenLoopComparison;
  /** The Temporal server's highest resident set size over the whole run (its GOGC trades memory for CPU). */
  temporalPeakRssMiB?: number;
}

const ms = (value: number) => (Number.isFinite(value) ? value.toFixed(1) : '–');
const ratio = (value: number, base: number) =>
  base > 0 && Number.isFinite(value) ? `${(value / base).toFixed(2)}×` : '–';
const rate = (results: readonly ThroughputResult[], concurrency: number) =>
  results.find((result) => result.concurrency === concurrency)?.perSecond ?? Number.NaN;

export function markdownReport(reports: readonly BackendReport[], concurrencies: readonly number[]): string {
  const lines: string[] = [];
  for (const report of reports) {
    const floor = report.floor.find((result) => result.kind === 'activity');
    if (!floor) continue;
    const base = floor.sequential;
    lines.push(`### ${report.backend}`, '');
    lines.push(
      `| path | p50 ms | p90 ms | p99 ms | p50 vs floor | p99 vs floor | ${concurrencies.map((c) => `c=${c} runs/s`).join(' | ')} | c=${concurrencies.at(-1)} vs floor |`,
    );
    lines.push(`|---|---|---|---|---|---|${concurrencies.map(() => '---').join('|')}|---|`);
    const row = (
      name: string,
      latency: LatencySummary,
      throughput: readonly ThroughputResult[] | undefined,
    ) => {
      const top = concurrencies.at(-1) ?? 1;
      const rates = concurrencies.map((c) => (throughput ? rate(throughput, c).toFixed(1) : ''));
      lines.push(
        `| ${name} | ${ms(latency.p50)} | ${ms(latency.p90)} | ${ms(latency.p99)} | ${ratio(latency.p50, base.p50)} | ${ratio(latency.p99, base.p99)} | ${rates.join(' | ')} | ${throughput ? ratio(rate(throughput, top), rate(floor.throughput, top)) : ''} |`,
      );
    };
    row('floor: one activity', base, floor.throughput);
    const local = report.floor.find((result) => result.kind === 'localActivity');
    if (local) row('floor: one local activity', local.sequential, local.throughput);
    row('system: webhook → sink', report.system.sequential.sink, undefined);
    row('system: webhook → recorded', report.system.sequential.recorded, report.system.throughput);
    row('system: webhook → 202', report.system.sequential.accepted, undefined);
    if (report.gmail) {
      row('gmail: push → sink', report.gmail.sink, undefined);
      row('gmail: push → recorded', report.gmail.recorded, undefined);
      row('gmail: push → 204', report.gmail.accepted, undefined);
    }
    lines.push('');
    if (report.gmail) {
      lines.push(
        `Gmail: ${report.gmail.quotaUnitsPerMail.toFixed(1)} quota units per mail (history.list + messages.get); push → recorded p50 ${ratio(report.gmail.recorded.p50, report.system.sequential.recorded.p50)} the webhook's.`,
        '',
      );
    }
    const top = concurrencies.at(-1) ?? 1;
    const cpuRows: [string, Record<string, number> | undefined][] = [
      ['floor: one activity', floor.throughput.find((result) => result.concurrency === top)?.cpuMsPerRun],
      [
        'floor: one local activity',
        local?.throughput.find((result) => result.concurrency === top)?.cpuMsPerRun,
      ],
      ['system', report.system.throughput.find((result) => result.concurrency === top)?.cpuMsPerRun],
    ];
    const processes = [...new Set(cpuRows.flatMap(([, cpu]) => Object.keys(cpu ?? {})))];
    lines.push(`CPU ms per run at c=${top}, by process:`, '');
    lines.push(
      `| path | ${processes.join(' | ')} | total |`,
      `|---|${processes.map(() => '---').join('|')}|---|`,
    );
    for (const [name, cpu] of cpuRows) {
      if (!cpu) continue;
      const total = Object.values(cpu).reduce((sum, value) => sum + value, 0);
      lines.push(
        `| ${name} | ${processes.map((process) => (cpu[process] ?? 0).toFixed(2)).join(' | ')} | ${total.toFixed(2)} |`,
      );
    }
    lines.push('');
    if (report.temporalPeakRssMiB !== undefined)
      lines.push(`Temporal server peak RSS over the run: ${report.temporalPeakRssMiB.toFixed(0)} MiB.`, '');
    if (report.scale?.length) {
      const [small, large] = report.scale;
      lines.push('| active workflows | ingest p50 ms | p99 ms |', '|---|---|---|');
      for (const scale of report.scale)
        lines.push(`| ${scale.activeWorkflows} | ${ms(scale.ingest.p50)} | ${ms(scale.ingest.p99)} |`);
      if (small && large)
        lines.push(
          '',
          `Ingest p50 at ${large.activeWorkflows} vs ${small.activeWorkflows}: ${ratio(large.ingest.p50, small.ingest.p50)}`,
        );
      lines.push('');
    }
    if (report.mailboxes) lines.push(...mailboxesMarkdown(report.mailboxes));
    if (report.openLoop) lines.push(...openLoopMarkdown(report.openLoop));
    if (report.workerRss?.length) {
      lines.push(
        `Worker RSS (MiB) by runs: ${report.workerRss.map((sample) => `${sample.runs}: ${sample.rssMiB.toFixed(0)}`).join(', ')}`,
        '',
      );
    }
  }
  return lines.join('\n');
}

/** A small grouped bar chart (p50 and c=50 throughput per path and backend) as SVG. */
export function svgChart(reports: readonly BackendReport[], topConcurrency: number): string {
  const bars: { group: string; label: string; p50: number; rate: number }[] = [];
  for (const report of reports) {
    const group = report.backend;
    for (const floor of report.floor) {
      bars.push({
        group,
        label: floor.kind === 'activity' ? 'floor' : 'floor (local)',
        p50: floor.sequential.p50,
        rate: rate(floor.throughput, topConcurrency),
      });
    }
    bars.push({
      group,
      label: 'system',
      p50: report.system.sequential.recorded.p50,
      rate: rate(report.system.throughput, topConcurrency),
    });
  }
  const width = 960;
  const rowHeight = 26;
  const height = 80 + bars.length * rowHeight;
  const maxP50 = Math.max(...bars.map((bar) => bar.p50), 1);
  const maxRate = Math.max(...bars.map((bar) => bar.rate || 0), 1);
  const barWidth = 220;
  const rows = bars
    .map((bar, index) => {
      const y = 60 + index * rowHeight;
      const p50Width = (bar.p50 / maxP50) * barWidth;
      const rateWidth = ((bar.rate || 0) / maxRate) * barWidth;
      return `
  <text x="10" y="${y + 15}" font-size="12">${bar.group.replace(/&/g, '&amp;')} · ${bar.label}</text>
  <rect x="340" y="${y}" width="${p50Width.toFixed(1)}" height="18" fill="#4e79a7"/>
  <text x="${345 + p50Width}" y="${y + 14}" font-size="11">${bar.p50.toFixed(1)} ms</text>
  <rect x="660" y="${y}" width="${rateWidth.toFixed(1)}" height="18" fill="#f28e2b"/>
  <text x="${665 + rateWidth}" y="${y + 14}" font-size="11">${(bar.rate || 0).toFixed(1)}/s</text>`;
    })
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">
  <title>autoflow bench: p50 latency and throughput by backend and path</title>
  <rect width="100%" height="100%" fill="white"/>
  <text x="10" y="24" font-size="16" font-weight="bold">autoflow bench: p50 latency (to recorded completion) and throughput at c=${topConcurrency}</text>
  <text x="340" y="48" font-size="12" fill="#4e79a7">p50 latency, lower is better</text>
  <text x="660" y="48" font-size="12" fill="#f28e2b">runs/s at c=${topConcurrency}, higher is better</text>${rows}
</svg>
`;
}
