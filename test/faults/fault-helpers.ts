import pg from 'pg'
import type { Test } from 'tap'
import { sleep, type Reply } from '../support/history.js'
import { postgresBinDir, type PgCluster } from '../support/pg-cluster.js'
import type { ServerProcess } from '../support/server-process.js'

/** Every test here is bounded: a fault that hangs the service fails the test instead of the suite. */
export const TEST_TIMEOUT_MS = 180_000

/** The reason to skip a test that needs a throwaway cluster, or false when the binaries are there. */
export const NO_CLUSTER = postgresBinDir() === undefined ? 'no PostgreSQL server binaries (apt-get install postgresql-15)' : false

/** The problem type's last segment: `ledger_unavailable`, `shutting_down`, … */
export function problemType(reply: Pick<Reply, 'body'>): string {
  return String(reply.body?.type ?? '').replace(/^.*\//, '')
}

/** A retryable refusal, as every 503 must be: problem+json, Retry-After, the given type, nothing internal. */
export function assertUnavailable(t: Test, reply: Reply, code: string | RegExp, what: string): void {
  t.equal(reply.status, 503, `${what}: 503`)
  t.match(reply.headers.get('content-type') ?? '', /^application\/problem\+json/, `${what}: problem+json`)
  t.match(reply.headers.get('retry-after') ?? '', /^\d+$/, `${what}: Retry-After`)
  t.match(problemType(reply), typeof code === 'string' ? new RegExp(`^${code}$`) : code, `${what}: ${String(code)}`)
  t.notMatch(
    reply.text,
    /\bselect\b|\binsert\b|ledger_heads|\n\s+at |\.ts:\d+|timeout exceeded|ECONN|ETIMEDOUT|postgres:\/\//i,
    `${what}: no SQL, stack or driver text`
  )
}

/** Backends of `db` waiting for a lock: a group commit queued behind held chain heads. */
export async function lockWaiters(cluster: PgCluster, db: string): Promise<number> {
  const [row] = await cluster.sql<{ n: number }>(
    "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'",
    'postgres',
    [db]
  )
  return row?.n ?? 0
}

/** A session of the test's own that holds every ledger head FOR UPDATE until `release()`. */
export async function holdChainHeads(t: Test, cluster: PgCluster, db: string): Promise<{ release: () => Promise<void> }> {
  const locker = new pg.Client({ connectionString: cluster.url(db) })
  locker.on('error', () => {})
  await locker.connect()
  t.teardown(() => locker.end().catch(() => {}))
  await locker.query('BEGIN')
  await locker.query('SELECT chain FROM ledger_heads FOR UPDATE')
  return {
    release: async () => {
      await locker.query('COMMIT')
      await locker.end()
    }
  }
}

/** The member ids of every ledger entry, read straight from PostgreSQL. */
export async function storedMembers(cluster: PgCluster, db: string): Promise<string[]> {
  return (await cluster.sql<{ member_id: string }>('SELECT member_id FROM ledger_entries ORDER BY position', db)).map((r) => r.member_id)
}

/** Settles with the exit code, or rejects (with the server's last output) when it has not exited within `ms`. */
export function exitWithin(server: ServerProcess, ms: number): Promise<number | null> {
  return Promise.race([
    server.exited,
    sleep(ms).then(() => {
      throw new Error(`the server had not exited after ${ms} ms:\n${server.output().slice(-3000)}`)
    })
  ])
}
