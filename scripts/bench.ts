// `npm run bench`: throughput and latency of the service over HTTP, each beside a baseline that
// shows what the hardware and the framework allow, on a fresh database made for this run.
//
// Every measured thing is its own child process on a free loopback port (the service is started
// from source, `node --import tsx src/server.ts`, of --service-dir), and the load comes from
// autocannon in this process. Nothing here reaches into the service's internals except the
// ledger's hashing and table, for the fill; so it keeps measuring whatever the internals become.
//
//   npm run bench                                 PostgreSQL on 127.0.0.1:5432, 10 s per figure
//   npm run bench -- --pglite                     the embedded database instead
//   npm run bench -- --ledger-size 10000000       verify and per-member reads on a 10 M ledger
//   npm run bench -- --service-dir /tmp/bench-before --label "before (cf93e44)"
//   npm run bench -- --help
import { execFileSync } from 'node:child_process'
import { cpus, freemem, loadavg, totalmem } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { backendPids, createBenchDatabase, showSettings, type BenchDatabase } from './bench/database.js'
import { hashCeiling, profileDir, pgTestFsync } from './bench/diagnose.js'
import { fillLedger, loadHashing } from './bench/fill.js'
import { closeAgent, expectStatus } from './bench/http.js'
import { measure, printFigure, say, type Figure, type LoadSpec, type MeasureOptions } from './bench/load.js'
import { parseOptions, type BenchOptions } from './bench/options.js'
import { groupCommitProbe, walProbe } from './bench/probes.js'
import { Child, freePort, metered, stopAll, waitForQuiet } from './bench/proc.js'
import { formatSummary } from './bench/profile.js'
import { computeRatios, FIGURE, formatTable, writeResults, type BenchResults } from './bench/report.js'
import {
  AUTH,
  createFixtures,
  readCheckAnswer,
  readTemplates,
  startService,
  timedGet,
  transferBody,
  type CheckAnswer,
  type Fixtures,
  type Templates
} from './bench/service.js'

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const TARGETS = path.join(repoRoot, 'scripts', 'bench', 'targets')
const LOAD_CONNECTIONS = 64
const BATCH_ITEMS = 1000
const BATCH_IN_FLIGHT = 4
const MAX_BATCH_SECONDS = 120

/** `stats` is a connection to the bench database (PostgreSQL only), for its backends' CPU time. */
function measureOptions(options: BenchOptions, stats: pg.Client | undefined): MeasureOptions {
  return {
    duration: options.duration,
    warmup: options.warmup,
    quietCores: options.quietCores,
    quietWaitSeconds: options.quietWaitSeconds,
    databasePids: stats ? () => backendPids(stats) : undefined
  }
}

function gitDescribe(dir: string): string {
  try {
    const commit = execFileSync('git', ['-C', dir, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim()
    const dirty = execFileSync('git', ['-C', dir, 'status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).trim() !== ''
    return dirty ? `${commit}+uncommitted changes` : commit
  } catch {
    return 'unknown'
  }
}

function machine(): Record<string, unknown> {
  return {
    nproc: cpus().length,
    cpuModel: cpus()[0]?.model,
    memoryGiB: +(totalmem() / 2 ** 30).toFixed(1),
    freeMemoryGiB: +(freemem() / 2 ** 30).toFixed(1),
    loadavg: loadavg(),
    node: process.version,
    autocannon: 'in this process, one thread, sharing the cores with the target'
  }
}

/** Starts a baseline target as its own process and waits for its health route. */
async function startTarget(name: string, script: string, env: Record<string, string>): Promise<{ child: Child; base: string }> {
  const port = await freePort()
  const child = Child.start(name, path.join(TARGETS, script), { cwd: repoRoot, env: { ...process.env, ...env, PORT: String(port) } })
  const base = `http://127.0.0.1:${port}`
  await child.ready(`${base}/healthz`)
  return { child, base }
}

/** The database settings a baseline child needs, the same database the service uses. */
function databaseEnv(database: BenchDatabase, options: BenchOptions, pgliteDir: string): Record<string, string> {
  return database.kind === 'postgres' ? { DATABASE_URL: database.url!, DATABASE_POOL_SIZE: String(options.poolSize) } : { DATA_DIR: pgliteDir }
}

/** The service once, to migrate and make the members, consents and template entries, then stopped. */
async function setUp(options: BenchOptions, database: BenchDatabase): Promise<{ fixtures: Fixtures; templates: Templates; checkAnswer: CheckAnswer }> {
  say(`setting up: service of ${options.serviceDir}, ${options.members} members with consents`)
  const service = await startService({ serviceDir: options.serviceDir, database, poolSize: options.poolSize })
  try {
    const fixtures = await createFixtures(service.base, options.members)
    const templates = await readTemplates(service.base, fixtures.templateMember)
    const checkAnswer = await readCheckAnswer(service.base, fixtures)
    return { fixtures, templates, checkAnswer }
  } catch (err) {
    // The service's own log (LOG_LEVEL=warn) says why it answered as it did.
    throw new Error(`setting up failed: ${err instanceof Error ? err.message : String(err)}\nservice log:\n${service.child.log}`, { cause: err })
  } finally {
    await service.child.stop()
  }
}

async function baselines(
  options: BenchOptions,
  database: BenchDatabase,
  stats: pg.Client | undefined,
  templates: Templates,
  fixtures: Fixtures,
  checkAnswer: CheckAnswer
): Promise<Figure[]> {
  const figures: Figure[] = []
  const run = measureOptions(options, stats)
  const body = JSON.stringify(transferBody(fixtures, fixtures.members[0]!))
  say('baselines')

  // (a), then (a′): the same route sending one real check answer's headers and body.
  for (const [name, env] of [
    [FIGURE.bare, {}],
    [FIGURE.bareAnswer, { BARE_ANSWER: JSON.stringify(checkAnswer) }]
  ] as const) {
    const bare = await startTarget(name, 'bare-fastify.ts', env)
    try {
      figures.push(
        await measure({ name, url: `${bare.base}/v1/checks`, method: 'POST', connections: LOAD_CONNECTIONS, bodies: [body], ok: [200] }, bare.child.pid, run)
      )
    } finally {
      await bare.child.stop()
    }
  }

  const naive = await startTarget(
    'naive INSERT',
    'naive-insert.ts',
    databaseEnv(database, options, database.kind === 'pglite' ? database.scratchDir('naive') : '')
  )
  try {
    figures.push(
      await measure(
        { name: FIGURE.naive, url: `${naive.base}/v1/transfers`, method: 'POST', connections: LOAD_CONNECTIONS, bodies: [body], ok: [200, 201] },
        naive.child.pid,
        run
      )
    )
  } finally {
    await naive.child.stop()
  }

  // COPY into a table LIKE ledger_entries, so on PGlite it needs the service's own (stopped) directory.
  const backgroundCores = await waitForQuiet(options.quietCores, options.quietWaitSeconds * 1000)
  const copy = Child.start('COPY', path.join(TARGETS, 'copy-rows.ts'), {
    cwd: repoRoot,
    env: {
      ...process.env,
      ...databaseEnv(database, options, database.dataDir ?? ''),
      COPY_ROWS: String(options.copyRows),
      TEMPLATE: JSON.stringify(templates.allow)
    }
  })
  const code = await copy.wait()
  const line = copy.log.trim().split('\n').at(-1) ?? ''
  if (code !== 0 || !line.startsWith('{')) throw new Error(`the COPY baseline failed (${code}):\n${copy.log}`)
  const result = JSON.parse(line) as { rows: number; seconds: number; peakRssMiB: number; cpu: Figure['cpu']; bytes: number }
  const figure: Figure = {
    name: FIGURE.copy,
    connections: 1,
    seconds: result.seconds,
    requests: 1,
    rps: Number.NaN,
    entriesPerSecond: result.rows / result.seconds,
    p50Ms: Number.NaN,
    p99Ms: Number.NaN,
    maxMs: Number.NaN,
    okCount: result.rows,
    errors: {},
    statuses: {},
    peakRssMiB: result.peakRssMiB,
    cpu: result.cpu,
    backgroundCores,
    notes: {
      rows: result.rows,
      megabytes: +(result.bytes / 2 ** 20).toFixed(1),
      measured: 'COPY and COMMIT only; the rows were made before the clock started; RSS and CPU are of the COPY client'
    }
  }
  printFigure(figure)
  figures.push(figure)
  return figures
}

/** Seconds one POST of `body` takes on an otherwise idle service. */
async function timedPost(url: string, body: string): Promise<number> {
  const t0 = performance.now()
  await expectStatus(200, 'POST', url, { headers: AUTH, body: JSON.parse(body), timeoutMs: 0 })
  return (performance.now() - t0) / 1000
}

/** Enough distinct members that no check of the cold figure repeats one (about 30 s of checks at 4,000/s). */
const COLD_CHECK_MEMBERS = 120_000

/** A handful of different batches, each spread over the members (so over every chain). */
function batchBodies(fixtures: Fixtures): string[] {
  return Array.from({ length: 4 }, (_, b) =>
    JSON.stringify({
      items: Array.from({ length: BATCH_ITEMS }, (_, i) => transferBody(fixtures, fixtures.members[(b * BATCH_ITEMS + i) % fixtures.members.length]!))
    })
  )
}

async function serviceFigures(options: BenchOptions, database: BenchDatabase, stats: pg.Client | undefined, fixtures: Fixtures): Promise<Figure[]> {
  const figures: Figure[] = []
  const run = measureOptions(options, stats)
  const oneMember = [JSON.stringify(transferBody(fixtures, fixtures.members[0]!))]
  const spread = fixtures.members.map((m) => JSON.stringify(transferBody(fixtures, m)))
  const batches = batchBodies(fixtures)
  say(`service (${options.serviceDir})`)
  const service = await startService({ serviceDir: options.serviceDir, database, poolSize: options.poolSize })
  try {
    const post = (name: string, url: string, bodies: readonly string[], connections: number, ok: number[], extra: Partial<LoadSpec> = {}): LoadSpec => ({
      name,
      url: `${service.base}${url}`,
      method: 'POST',
      connections,
      headers: AUTH,
      bodies,
      ok,
      ...extra
    })
    const pid = service.child.pid
    const wal = stats ? [walProbe(stats)] : []
    const checked: MeasureOptions = { ...run, probes: wal }
    const recorded: MeasureOptions = { ...run, probes: [...wal, groupCommitProbe(`${service.base}/metrics`)] }
    figures.push(await measure(post(FIGURE.checks, '/v1/checks', spread, LOAD_CONNECTIONS, [200]), pid, checked))
    // More members than the figure can ask about, each asked once: every check misses the
    // service's facts cache and reads the database, as a run over all members would.
    const coldMembers = Array.from({ length: COLD_CHECK_MEMBERS }, (_, i) => JSON.stringify(transferBody(fixtures, `BenchCold${i}`)))
    figures.push(await measure(post(FIGURE.checksCold, '/v1/checks', coldMembers, LOAD_CONNECTIONS, [200]), pid, checked))
    // 201 allow and 403 deny are both the service doing its job; 429 and 5xx are failures.
    for (const [name, bodies, connections] of [
      [FIGURE.oneMember64, oneMember, 64],
      [FIGURE.spread64, spread, 64],
      [FIGURE.oneMember256, oneMember, 256],
      [FIGURE.spread256, spread, 256]
    ] as const) {
      figures.push(await measure(post(name, '/v1/transfers', bodies, connections, [201, 403]), pid, recorded))
    }
    // A batch can take seconds: a figure cut off after one or two would count the work still in
    // flight at the end as nothing. Time one alone and run long enough for a dozen per connection.
    const probe = await timedPost(`${service.base}/v1/transfers/batch`, batches[0]!)
    const batchRun = { ...recorded, duration: Math.min(MAX_BATCH_SECONDS, Math.max(run.duration, Math.ceil(12 * probe))) }
    figures.push(
      await measure(
        post(FIGURE.batch, '/v1/transfers/batch', batches, BATCH_IN_FLIGHT, [200], { entriesPerRequest: BATCH_ITEMS, timeoutSeconds: 120 }),
        pid,
        batchRun
      )
    )
  } finally {
    await service.child.stop()
  }
  return figures
}

/** The fsync rate of this disk and where the service spends its CPU under checks, transfers to one member and batches. */
async function diagnose(
  options: BenchOptions,
  database: BenchDatabase,
  stats: pg.Client | undefined,
  fixtures: Fixtures,
  templates: Templates,
  settings: Record<string, string>
): Promise<Record<string, unknown>> {
  say('diagnose: pg_test_fsync -s 2, entryHash alone, CPU profiles of the service under checks, transfers to one member and batches')
  const fsync = await pgTestFsync(settings.wal_sync_method ?? 'fdatasync')
  if ('walSyncMethodRate' in fsync) say(`  pg_test_fsync: ${settings.wal_sync_method} ${fsync.walSyncMethodRate} flushes/s (one 8 kB write)`)
  const ceiling = hashCeiling((await loadHashing(options.serviceDir)).entryHash, templates.allow)
  say(`  entryHash alone, one thread: ${ceiling.entriesPerCpuSecond.toFixed(0)} entries per CPU second (${ceiling.contentBytes}-byte entries)`)
  const prof = await profileDir(options.outDir)
  const service = await startService({
    serviceDir: options.serviceDir,
    database,
    poolSize: options.poolSize,
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${prof.dir}`]
  })
  const loads: LoadSpec[] = [
    {
      name: `${FIGURE.checks} (profiled)`,
      url: `${service.base}/v1/checks`,
      method: 'POST',
      connections: LOAD_CONNECTIONS,
      headers: AUTH,
      bodies: fixtures.members.map((m) => JSON.stringify(transferBody(fixtures, m))),
      ok: [200]
    },
    {
      name: `${FIGURE.oneMember64} (profiled)`,
      url: `${service.base}/v1/transfers`,
      method: 'POST',
      connections: LOAD_CONNECTIONS,
      headers: AUTH,
      bodies: [JSON.stringify(transferBody(fixtures, fixtures.members[0]!))],
      ok: [201, 403]
    },
    {
      name: `${FIGURE.batch} (profiled)`,
      url: `${service.base}/v1/transfers/batch`,
      method: 'POST',
      connections: BATCH_IN_FLIGHT,
      headers: AUTH,
      bodies: batchBodies(fixtures),
      ok: [200],
      entriesPerRequest: BATCH_ITEMS,
      timeoutSeconds: 120
    }
  ]
  const figures: Figure[] = []
  try {
    for (const load of loads) figures.push(await measure(load, service.child.pid, measureOptions(options, stats)))
  } finally {
    await service.child.stop()
  }
  const profiles = []
  for (const figure of figures) {
    const summary = await prof.summarise(figure.window)
    say(`  ${figure.name}:`)
    say(formatSummary(summary))
    profiles.push({ figure, ...summary })
  }
  return { pgTestFsync: fsync, hashCeiling: ceiling, profiles }
}

async function fillAndRead(
  options: BenchOptions,
  database: BenchDatabase,
  stats: pg.Client | undefined,
  fixtures: Fixtures,
  templates: Templates
): Promise<{ figures: Figure[]; fill: Record<string, unknown> }> {
  say(`fill: ${options.ledgerSize} entries, ${options.entriesPerMember} per member, hashed with ${options.serviceDir}/src/ledger/hashing.ts`)
  const fill = await fillLedger({
    target: { url: database.url, dataDir: database.dataDir },
    hashing: await loadHashing(options.serviceDir),
    templates,
    templateMember: fixtures.templateMember,
    templateConsentId: fixtures.templateConsentId,
    size: options.ledgerSize,
    entriesPerMember: options.entriesPerMember
  })
  say(
    `  filled ${fill.entries} entries over ${fill.members} members in ${fill.seconds.toFixed(1)} s (${fill.entriesPerSecond.toFixed(0)}/s); VACUUM ANALYZE ${fill.vacuumSeconds.toFixed(1)} s; CPU cores bench ${fill.cpu.bench.toFixed(2)}, database ${fill.cpu.database?.toFixed(2) ?? '-'}, machine ${fill.cpu.machine.toFixed(2)}`
  )
  const service = await startService({ serviceDir: options.serviceDir, database, poolSize: options.poolSize })
  const figures: Figure[] = []
  try {
    const backgroundCores = await waitForQuiet(options.quietCores, options.quietWaitSeconds * 1000)
    const verify = await metered(service.child.pid, () => timedGet(`${service.base}/v1/ledger/verify`), stats && (() => backendPids(stats)))
    const body = verify.value.body as { ok?: boolean; entriesChecked?: number; firstFailure?: unknown }
    const ok = verify.value.status === 200 && body.ok === true
    const entries = body.entriesChecked ?? 0
    const figure: Figure = {
      name: FIGURE.verify,
      connections: 1,
      seconds: verify.seconds,
      requests: 1,
      rps: Number.NaN,
      entriesPerSecond: entries / verify.value.seconds,
      p50Ms: verify.value.seconds * 1000,
      p99Ms: verify.value.seconds * 1000,
      maxMs: verify.value.seconds * 1000,
      okCount: ok ? entries : 0,
      errors: ok ? {} : { [verify.value.status === 200 ? 'ok:false' : String(verify.value.status)]: 1 },
      statuses: { [verify.value.status]: 1 },
      peakRssMiB: verify.peakRssMiB,
      cpu: verify.cpu,
      backgroundCores,
      notes: { entriesChecked: entries, ...(ok ? {} : { answer: body }) }
    }
    printFigure(figure)
    if (!ok) say(`  VERIFY FAILED: ${JSON.stringify(body).slice(0, 1000)}`)
    figures.push(figure)
    // One caller at a time: the latency of the query at this ledger size, without queueing behind others.
    const member = fill.sampleMember
    const run = measureOptions(options, stats)
    for (const [name, url] of [
      [FIGURE.ledgerRead, `/v1/ledger?memberId=${member}`],
      [FIGURE.provisionRead, `/v1/members/${member}/provision-records`]
    ] as const) {
      figures.push(await measure({ name, url: `${service.base}${url}`, method: 'GET', connections: 1, headers: AUTH, ok: [200] }, service.child.pid, run))
    }
  } finally {
    await service.child.stop()
  }
  return { figures, fill: { ...fill, ledgerEntriesAfterFill: figures[0]?.notes?.entriesChecked } }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2), repoRoot)
  const startedAt = new Date().toISOString()
  const serviceCommit = gitDescribe(options.serviceDir)
  const database = await createBenchDatabase({ pglite: options.pglite, adminUrl: options.pgAdminUrl, keep: options.keepDatabase })
  let cleaned = false
  // A connection to the bench database for statistics and backend pids (PostgreSQL only).
  let stats: pg.Client | undefined
  const cleanUp = async () => {
    if (cleaned) return
    cleaned = true
    await stopAll()
    await stats?.end().catch(() => {})
    await database.drop()
    closeAgent()
  }
  process.once('SIGINT', () => void cleanUp().finally(() => process.exit(130)))
  say(`bench ${options.label || serviceCommit}: ${database.kind} (${database.name}), ${options.duration} s per figure, ${cpus().length} cores`)
  try {
    const settings = database.url ? await showSettings(database.url) : {}
    if (database.url) {
      stats = new pg.Client({ connectionString: database.url })
      await stats.connect()
    }
    const { fixtures, templates, checkAnswer } = await setUp(options, database)
    const figures: Figure[] = []
    if (options.only.has('baselines')) figures.push(...(await baselines(options, database, stats, templates, fixtures, checkAnswer)))
    if (options.only.has('service')) figures.push(...(await serviceFigures(options, database, stats, fixtures)))
    const diagnosis = options.only.has('diagnose') ? await diagnose(options, database, stats, fixtures, templates, settings) : undefined
    const filled = options.only.has('fill') ? await fillAndRead(options, database, stats, fixtures, templates) : undefined
    if (filled) figures.push(...filled.figures)
    const results: BenchResults = {
      startedAt,
      label: options.label || serviceCommit,
      serviceDir: options.serviceDir,
      serviceCommit,
      options: { ...options, only: [...options.only] },
      machine: machine(),
      database: { kind: database.kind, settings },
      figures,
      ...(filled ? { fill: filled.fill } : {}),
      ...(diagnosis ? { diagnose: diagnosis } : {}),
      ...computeRatios(figures)
    }
    say(`\n${results.label} — ${database.kind}, ${options.duration} s per figure\n`)
    say(formatTable(results))
    say(`\nresults: ${await writeResults(options.outDir, results)}`)
    if (options.keepDatabase) say(`database kept: ${database.name}`)
  } finally {
    await cleanUp()
  }
}

await main()
