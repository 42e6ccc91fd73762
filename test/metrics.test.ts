import { randomBytes } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import { sql } from 'kysely'
import pino from 'pino'
import t from 'tap'
import type { Tx } from '../src/db/database.js'
import { GroupCommitter, LedgerBusyError } from '../src/ledger/group-commit.js'
import { LedgerWriter } from '../src/ledger/writer.js'
import { ServiceMetrics, type LedgerState, type PoolUsage } from '../src/metrics.js'
import { jointUse } from './fixtures.js'
import { DATABASE_KIND, buildTestApp, openTestDatabase, type TestApp } from './helper.js'
import { parseExposition, valueOf, type Sample } from './ops/exposition.js'

async function scrape(test: TestApp): Promise<Sample[]> {
  const res = await test.request({ method: 'GET', url: '/metrics', token: null })
  if (res.statusCode !== 200) throw new Error(`/metrics answered ${res.statusCode}`)
  return parseExposition(res.body)
}

async function transfer(test: TestApp, memberId: string): Promise<void> {
  const res = await test.request({ method: 'POST', url: '/v1/transfers', payload: jointUse(memberId) })
  if (res.statusCode !== 201) throw new Error(`transfer answered ${res.statusCode} ${res.body}`)
}

const TRANSFERRED = { channel: 'joint_use', decision: 'allow', action: 'transfer' }
const REASONS = ['queue_full', 'database_unavailable', 'commit_failed']

t.test('two apps in one process keep their own metrics', async (t) => {
  const a = await buildTestApp(t)
  const b = await buildTestApp(t)
  await transfer(a, 'M-APP-A1')
  await transfer(a, 'M-APP-A2')
  await transfer(b, 'M-APP-B1')
  const [fromA, fromB] = [await scrape(a), await scrape(b)]
  t.equal(valueOf(fromA, 'shizenha_decisions_total', TRANSFERRED), 2)
  t.equal(valueOf(fromB, 'shizenha_decisions_total', TRANSFERRED), 1)
  t.equal(valueOf(fromA, 'shizenha_http_responses_total', { route: '/v1/transfers', status: '201' }), 2)
  t.equal(valueOf(fromB, 'shizenha_http_responses_total', { route: '/v1/transfers', status: '201' }), 1)
  t.equal(valueOf(fromA, 'shizenha_ledger_group_entries_count'), 2)
  t.equal(valueOf(fromB, 'shizenha_ledger_group_entries_count'), 1)
  t.ok(
    valueOf(fromA, 'process_cpu_user_seconds_total') !== undefined && valueOf(fromB, 'process_cpu_user_seconds_total') !== undefined,
    'each registry has the default metrics'
  )

  await a.app.close()
  const after = await scrape(b)
  t.equal(valueOf(after, 'shizenha_decisions_total', TRANSFERRED), 1, 'the other app still counts, and alone')
})

t.test('what /metrics shows an operator after traffic, a checkpoint and a verify', async (t) => {
  const test = await buildTestApp(t, {
    config: {
      checkpointSigningKey: randomBytes(32).toString('base64'),
      checkpointEveryEntries: 0,
      checkpointIntervalSeconds: 0,
      ledgerMaxQueuedEntries: 500
    }
  })
  let metrics = await scrape(test)
  t.equal(valueOf(metrics, 'shizenha_ledger_last_verify_ok'), undefined, 'before the first verify its result is absent, not 0')
  t.equal(valueOf(metrics, 'shizenha_ledger_last_verify_timestamp_seconds'), undefined)
  t.equal(valueOf(metrics, 'shizenha_ledger_last_checkpoint_timestamp_seconds'), undefined, 'no checkpoint yet')
  t.equal(valueOf(metrics, 'shizenha_ledger_last_checkpoint_entries'), undefined)
  t.equal(valueOf(metrics, 'shizenha_ledger_entries'), 0)
  t.equal(valueOf(metrics, 'shizenha_ledger_queue_entries'), 0)
  t.equal(valueOf(metrics, 'shizenha_ledger_queue_max_entries'), 500, 'the bound of the queue')
  for (const reason of REASONS) t.equal(valueOf(metrics, 'shizenha_ledger_append_failures_total', { reason }), 0, `${reason} shows from the start`)

  for (const member of ['M-OPS-1', 'M-OPS-2', 'M-OPS-3']) await transfer(test, member)
  const check = await test.request({ method: 'POST', url: '/v1/checks', payload: jointUse('M-OPS-4') })
  t.equal(check.statusCode, 200)
  const checkpoint = await test.request({ method: 'POST', url: '/v1/ledger/checkpoints' })
  t.equal(checkpoint.statusCode, 201)
  const before = Date.now() / 1000
  const verify = await test.request({ method: 'GET', url: '/v1/ledger/verify' })
  t.equal(verify.statusCode, 200)
  t.equal(verify.json().ok, true)
  const after = Date.now() / 1000
  await transfer(test, 'M-OPS-5')

  metrics = await scrape(test)
  t.equal(valueOf(metrics, 'shizenha_decisions_total', TRANSFERRED), 4)
  t.equal(valueOf(metrics, 'shizenha_decisions_total', { channel: 'joint_use', decision: 'allow', action: 'check' }), 1)
  t.equal(
    valueOf(metrics, 'shizenha_http_request_duration_seconds_count', { route: '/v1/transfers', method: 'POST' }),
    4,
    'latency by route pattern and method'
  )
  t.equal(valueOf(metrics, 'shizenha_http_request_duration_seconds_count', { route: '/v1/checks', method: 'POST' }), 1)
  t.equal(valueOf(metrics, 'shizenha_http_request_duration_seconds_count', { route: '/v1/ledger/verify', method: 'GET' }), 1)
  t.ok(valueOf(metrics, 'shizenha_http_request_duration_seconds_sum', { route: '/v1/transfers', method: 'POST' })! > 0)
  t.equal(valueOf(metrics, 'shizenha_ledger_group_entries_count'), 4, 'one group per transfer, one after the other')
  t.equal(valueOf(metrics, 'shizenha_ledger_group_entries_sum'), 4)
  t.equal(valueOf(metrics, 'shizenha_ledger_group_commit_duration_seconds_count'), 4)
  t.equal(valueOf(metrics, 'shizenha_ledger_group_heads_wait_seconds_count'), 4, 'and how long each waited for its heads')
  t.ok(
    valueOf(metrics, 'shizenha_ledger_group_heads_wait_seconds_sum')! <= valueOf(metrics, 'shizenha_ledger_group_commit_duration_seconds_sum')!,
    'the wait is part of the transaction'
  )
  t.equal(valueOf(metrics, 'shizenha_ledger_queue_entries'), 0)

  t.equal(valueOf(metrics, 'shizenha_ledger_last_verify_ok'), 1, 'the verify found the ledger intact')
  const verifiedAt = valueOf(metrics, 'shizenha_ledger_last_verify_timestamp_seconds')!
  t.ok(verifiedAt >= before && verifiedAt <= after, 'and says when')
  t.equal(valueOf(metrics, 'shizenha_ledger_entries'), 4)
  t.equal(valueOf(metrics, 'shizenha_ledger_last_checkpoint_entries'), checkpoint.json().treeSize)
  t.equal(checkpoint.json().treeSize, 3)
  t.equal(valueOf(metrics, 'shizenha_ledger_last_checkpoint_timestamp_seconds'), Date.parse(checkpoint.json().time) / 1000)

  const pool = ['total_connections', 'idle_connections', 'waiting_clients', 'max_connections'].map((name) => valueOf(metrics, `shizenha_db_pool_${name}`))
  t.ok(
    pool.every((value) => value !== undefined),
    'the pool gauges are there'
  )
  if (DATABASE_KIND === 'pglite') t.same(pool, [0, 0, 0, 0], 'and 0 on the embedded database')
  else t.ok(pool[0]! > 0 && pool[3]! > 0, `and read from the live pool on PostgreSQL (${pool.join(', ')})`)
  t.notMatch(JSON.stringify(metrics), /M-OPS/, 'no member id in metrics')

  // Tampering: the next verify fails, and the gauge says so.
  await sql`ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_append_only`.execute(test.database.db)
  await sql`UPDATE ledger_entries SET content = content || '{"tampered": true}'::jsonb WHERE member_id = 'M-OPS-2'`.execute(test.database.db)
  const failed = await test.request({ method: 'GET', url: '/v1/ledger/verify?full=true' })
  t.equal(failed.statusCode, 200)
  t.equal(failed.json().ok, false)
  t.equal(valueOf(await scrape(test), 'shizenha_ledger_last_verify_ok'), 0, 'a verify that finds a broken chain sets it to 0')
})

t.test('the group committer reports commits and failures by reason', async (t) => {
  const { database } = await openTestDatabase(t)
  t.teardown(() => database.close())
  await database.migrateToLatestOrThrow()
  const log = pino({ level: 'silent' }) as unknown as FastifyBaseLogger
  const metrics = new ServiceMetrics()
  const lost = Object.assign(new Error('the connection was lost'), { code: '08006' })
  const committer = new GroupCommitter<string, string>(
    database,
    () => new Date(),
    log,
    async (tx: Tx, ledger, now, jobs) => {
      for (const job of jobs) {
        if (job === 'bug') throw new TypeError('a bug of ours')
        if (job === 'lost') throw lost
        if (job === 'refused') await sql`SELECT 1 / 0`.execute(tx)
        ledger.append({ kind: 'decision', memberId: `M-${job}`, clientId: 'test', providerId: 'shizenha', body: { job } }, now)
      }
      return jobs.map((job) => ({ ok: true as const, value: job }))
    },
    { maxGroupEntries: 10, maxQueuedEntries: 1, observe: metrics.groupCommit }
  )
  const failures = async () => {
    const samples = parseExposition(await metrics.render())
    return Object.fromEntries(REASONS.map((reason) => [reason, valueOf(samples, 'shizenha_ledger_append_failures_total', { reason })]))
  }

  // The first starts a group at once; the second waits for the next; the third finds the queue full.
  const results = await Promise.allSettled([committer.submit('a', ['M-a'], 1), committer.submit('b', ['M-b'], 1), committer.submit('c', ['M-c'], 1)])
  t.same(
    results.map((r) => r.status),
    ['fulfilled', 'fulfilled', 'rejected']
  )
  t.ok(results[2].status === 'rejected' && results[2].reason instanceof LedgerBusyError)
  t.same(await failures(), { queue_full: 1, database_unavailable: 0, commit_failed: 0 })
  let samples = parseExposition(await metrics.render())
  t.equal(valueOf(samples, 'shizenha_ledger_group_entries_count'), 2, 'two groups committed')
  t.equal(valueOf(samples, 'shizenha_ledger_group_commit_duration_seconds_count'), 2)

  await t.rejects(committer.submit('lost', ['M-lost'], 1))
  t.same(await failures(), { queue_full: 1, database_unavailable: 1, commit_failed: 0 }, 'the database could not be reached')
  await t.rejects(committer.submit('bug', ['M-bug'], 1))
  t.same(await failures(), { queue_full: 1, database_unavailable: 1, commit_failed: 1 }, 'anything else that failed the commit')
  await t.rejects(committer.submit('refused', ['M-refused'], 1))
  t.same(
    await failures(),
    { queue_full: 1, database_unavailable: 1, commit_failed: 1 },
    "a value the database refuses is the caller's 400, not a ledger failure"
  )
  samples = parseExposition(await metrics.render())
  t.equal(valueOf(samples, 'shizenha_ledger_group_entries_count'), 2, 'failed groups are not counted as committed')
})

t.test(
  'a group that waits for heads another transaction holds reports the wait',
  { skip: DATABASE_KIND === 'pglite' && 'the embedded database runs one transaction at a time' },
  async (t) => {
    const { database } = await openTestDatabase(t)
    t.teardown(() => database.close())
    await database.migrateToLatestOrThrow()
    const metrics = new ServiceMetrics()
    const committer = new GroupCommitter<string, string>(
      database,
      () => new Date(),
      pino({ level: 'silent' }),
      async (_tx, ledger, now, jobs) => {
        for (const job of jobs) ledger.append({ kind: 'decision', memberId: job, clientId: 'test', providerId: 'shizenha', body: { job } }, now)
        return jobs.map((job) => ({ ok: true as const, value: job }))
      },
      { maxGroupEntries: 10, maxQueuedEntries: 10, observe: metrics.groupCommit }
    )
    const HELD_MS = 400
    let submitted!: Promise<string>
    // Another transaction (another service process, say) holds the member's chain head for a while.
    await database.transaction(async (tx) => {
      await LedgerWriter.lock(tx, ['M-held'])
      submitted = committer.submit('M-held', ['M-held'], 1)
      await new Promise((resolve) => setTimeout(resolve, HELD_MS))
    })
    t.equal(await submitted, 'M-held')
    const samples = parseExposition(await metrics.render())
    const wait = valueOf(samples, 'shizenha_ledger_group_heads_wait_seconds_sum')!
    const transaction = valueOf(samples, 'shizenha_ledger_group_commit_duration_seconds_sum')!
    t.equal(valueOf(samples, 'shizenha_ledger_group_heads_wait_seconds_count'), 1)
    t.ok(wait >= (HELD_MS - 50) / 1000, `it waited while the head was held (${wait} s)`)
    t.ok(wait <= transaction, `within its transaction (${transaction} s)`)
  }
)

t.test('scrape-time sources: the pool, the ledger and the verify result', async (t) => {
  const metrics = new ServiceMetrics()
  let usage: PoolUsage | undefined = { total: 4, idle: 1, waiting: 2 }
  metrics.watchPool(() => usage, 10)
  let read: () => Promise<LedgerState> = async () => ({ entries: 7, checkpoint: { signedAt: new Date('2026-12-01T00:00:00Z'), entries: 5 } })
  const errors: unknown[] = []
  metrics.watchLedger(
    () => read(),
    (err) => errors.push(err)
  )
  let depth = 3
  metrics.watchLedgerQueue(() => depth, 20)
  const values = async (...names: string[]) => {
    const samples = parseExposition(await metrics.render())
    return names.map((name) => valueOf(samples, name))
  }
  const POOL = [
    'shizenha_db_pool_total_connections',
    'shizenha_db_pool_idle_connections',
    'shizenha_db_pool_waiting_clients',
    'shizenha_db_pool_max_connections'
  ]
  const LEDGER = ['shizenha_ledger_entries', 'shizenha_ledger_last_checkpoint_timestamp_seconds', 'shizenha_ledger_last_checkpoint_entries']

  t.same(await values(...POOL), [4, 1, 2, 10], 'the pool as it is at the scrape')
  usage = { total: 10, idle: 0, waiting: 6 }
  t.same(await values(...POOL), [10, 0, 6, 10])
  usage = undefined
  t.same(await values(...POOL), [0, 0, 0, 0], 'no pool (the embedded database): 0')

  t.same(await values(...LEDGER), [7, Date.parse('2026-12-01T00:00:00Z') / 1000, 5])
  read = async () => {
    throw new Error('the database is away')
  }
  t.same(await values(...LEDGER), [7, Date.parse('2026-12-01T00:00:00Z') / 1000, 5], 'a failed read keeps the values last read')
  t.equal(errors.length, 1, 'and is reported')
  read = () => new Promise(() => {})
  const started = Date.now()
  t.same(await values(...LEDGER), [7, Date.parse('2026-12-01T00:00:00Z') / 1000, 5], 'so does a read that does not answer')
  t.ok(Date.now() - started < 3000, 'which the scrape waits for only about a second')
  read = async () => ({ entries: 0, checkpoint: undefined })
  t.same(await values(...LEDGER), [0, undefined, undefined], 'no checkpoint: absent')

  t.same(await values('shizenha_ledger_queue_entries', 'shizenha_ledger_queue_max_entries'), [3, 20])
  depth = 0
  t.same(await values('shizenha_ledger_queue_entries'), [0])

  metrics.verified({ ok: false }, new Date('2026-12-02T00:00:00Z'))
  t.same(await values('shizenha_ledger_last_verify_ok', 'shizenha_ledger_last_verify_timestamp_seconds'), [0, Date.parse('2026-12-02T00:00:00Z') / 1000])
  metrics.verified({ ok: true }, new Date('2026-12-03T00:00:00Z'))
  t.same(await values('shizenha_ledger_last_verify_ok', 'shizenha_ledger_last_verify_timestamp_seconds'), [1, Date.parse('2026-12-03T00:00:00Z') / 1000])
})
