import path from 'node:path'
import { parseArgs } from 'node:util'

/** What one `npm run bench` run measures, and against what. */
export interface BenchOptions {
  /** Seconds of load per figure. */
  readonly duration: number
  /** Seconds of discarded load before each figure, so the JIT and the pools are warm. */
  readonly warmup: number
  readonly pglite: boolean
  /** The tree whose `src/server.ts` is measured; the bench itself always runs from this tree. */
  readonly serviceDir: string
  /** A PostgreSQL URL with the right to CREATE DATABASE; the bench database is made beside it. */
  readonly pgAdminUrl: string
  readonly poolSize: number
  /** Members the "spread" transfers and the batches rotate over (each gets a consent first). */
  readonly members: number
  readonly copyRows: number
  /** Entries the fill adds before verify and the per-member reads are measured; 0 skips the fill. */
  readonly ledgerSize: number
  /** Entries per member in the fill, so one member's history has a realistic length. */
  readonly entriesPerMember: number
  /** Figure groups to run. */
  readonly only: ReadonlySet<Group>
  readonly keepDatabase: boolean
  readonly outDir: string
  readonly label: string
  /** Before each figure, wait until other processes use at most this many cores … */
  readonly quietCores: number
  /** … for at most this many seconds. */
  readonly quietWaitSeconds: number
}

export const GROUPS = ['baselines', 'service', 'fill', 'diagnose'] as const
export type Group = (typeof GROUPS)[number]

const USAGE = `npm run bench -- [options]
  --duration S          seconds per figure (10)
  --warmup S            discarded seconds before each figure (2)
  --pglite              run the service and baselines on PGlite instead of PostgreSQL
  --service-dir DIR     measure the server of another tree, e.g. a worktree of an older commit (this tree)
  --pg-url URL          PostgreSQL server to create the bench database on (BENCH_PG_URL, else DATABASE_URL,
                        else postgres://postgres@127.0.0.1:5432/postgres); the database named there is left alone
  --pool-size N         DATABASE_POOL_SIZE of the service and of the naive INSERT server (10)
  --members N           members for spread transfers and batches (1000)
  --copy-rows N         rows for the COPY baseline (200000)
  --ledger-size N       entries the fill adds before verify is measured; 0 skips (100000)
  --entries-per-member N  fill entries per member (100)
  --only LIST           comma list of ${GROUPS.join(', ')} (baselines,service,fill)
  --diagnose            also: pg_test_fsync and CPU profiles of the service under checks, one-member transfers, batches
  --keep-db             keep the bench database (its name is printed)
  --out DIR             where the JSON result goes (bench-results)
  --label TEXT          a name for this run in the results (the service tree's git commit)
  --quiet-cores N       before each figure wait until other processes use at most N cores (0.3) …
  --quiet-wait S        … for at most S seconds (60); the cores they used are reported per figure`

function positiveNumber(name: string, raw: string | undefined, fallback: number, min = 1): number {
  if (raw === undefined) return fallback
  const value = Number(raw)
  if (!Number.isFinite(value) || value < min) throw new Error(`--${name} must be a number ≥ ${min}\n\n${USAGE}`)
  return value
}

export function parseOptions(argv: readonly string[], repoRoot: string): BenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      duration: { type: 'string' },
      warmup: { type: 'string' },
      pglite: { type: 'boolean', default: false },
      'service-dir': { type: 'string' },
      'pg-url': { type: 'string' },
      'pool-size': { type: 'string' },
      members: { type: 'string' },
      'copy-rows': { type: 'string' },
      'ledger-size': { type: 'string' },
      'entries-per-member': { type: 'string' },
      only: { type: 'string' },
      diagnose: { type: 'boolean', default: false },
      'keep-db': { type: 'boolean', default: false },
      out: { type: 'string' },
      label: { type: 'string' },
      'quiet-cores': { type: 'string' },
      'quiet-wait': { type: 'string' },
      help: { type: 'boolean', default: false }
    },
    strict: true
  })
  if (values.help) {
    process.stdout.write(`${USAGE}\n`)
    process.exit(0)
  }
  const only = new Set<Group>()
  for (const name of (values.only ?? 'baselines,service,fill')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    if (!(GROUPS as readonly string[]).includes(name)) throw new Error(`--only: unknown group ${name}\n\n${USAGE}`)
    only.add(name as Group)
  }
  if (values.diagnose) only.add('diagnose')
  const ledgerSize = positiveNumber('ledger-size', values['ledger-size'], 100_000, 0)
  if (ledgerSize === 0) only.delete('fill')
  return Object.freeze({
    duration: positiveNumber('duration', values.duration, 10),
    warmup: positiveNumber('warmup', values.warmup, 2, 0),
    pglite: values.pglite,
    serviceDir: path.resolve(values['service-dir'] ?? repoRoot),
    // DATABASE_URL only names the server: the bench always makes a database of its own on it.
    pgAdminUrl: values['pg-url'] ?? process.env.BENCH_PG_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    poolSize: positiveNumber('pool-size', values['pool-size'], 10),
    members: positiveNumber('members', values.members, 1000),
    copyRows: positiveNumber('copy-rows', values['copy-rows'], 200_000),
    ledgerSize,
    entriesPerMember: positiveNumber('entries-per-member', values['entries-per-member'], 100),
    only,
    keepDatabase: values['keep-db'],
    outDir: path.resolve(repoRoot, values.out ?? 'bench-results'),
    label: values.label ?? '',
    quietCores: positiveNumber('quiet-cores', values['quiet-cores'], 0.3, 0),
    quietWaitSeconds: positiveNumber('quiet-wait', values['quiet-wait'], 60, 0)
  })
}
