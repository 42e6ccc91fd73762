import t from 'tap'
import { purgeIdempotencyKeys } from '../src/recording/idempotency.js'
import { jointUse } from './fixtures.js'
import { buildTestApp, openTestDatabase } from './helper.js'

t.test('health, readiness and metrics need no token', async (t) => {
  const test = await buildTestApp(t)
  const health = await test.request({ method: 'GET', url: '/healthz', token: null })
  t.equal(health.statusCode, 200)
  t.same(health.json(), { status: 'ok' })
  const ready = await test.request({ method: 'GET', url: '/readyz', token: null })
  t.equal(ready.statusCode, 200)
  t.equal(ready.json().status, 'ready')

  const transfer = await test.request({ method: 'POST', url: '/v1/transfers', payload: { ...jointUse('M-METRICS'), dataItems: ['name'] } })
  t.equal(transfer.statusCode, 201)
  const metrics = await test.request({ method: 'GET', url: '/metrics', token: null })
  t.equal(metrics.statusCode, 200)
  t.match(metrics.headers['content-type'], /text\/plain/)
  t.match(metrics.body, /shizenha_decisions_total\{channel="joint_use",decision="allow",action="transfer"\} [1-9]/)
  t.match(metrics.body, /shizenha_http_responses_total\{route="\/v1\/transfers",status="201"\}/)
  t.notMatch(metrics.body, /M-METRICS/, 'no member id in metrics')
})

t.test('readiness fails with 503 problem+json when the database is gone', async (t) => {
  const test = await buildTestApp(t)
  await test.database.close()
  const ready = await test.request({ method: 'GET', url: '/readyz', token: null })
  t.equal(ready.statusCode, 503)
  t.match(ready.headers['content-type'], /application\/problem\+json/)
  t.equal(ready.json().code, 'not_ready')
  t.equal((await test.request({ method: 'GET', url: '/healthz', token: null })).statusCode, 200, 'the process itself is still up')
})

t.test('idempotency keys are kept for the configured hours and then purged', async (t) => {
  const { database } = await openTestDatabase(t)
  t.teardown(() => database.close())
  await database.migrateToLatestOrThrow()
  const now = new Date('2026-11-25T12:00:00Z')
  const hoursAgo = (h: number) => new Date(now.getTime() - h * 3_600_000)
  await database.db
    .insertInto('idempotency_keys')
    .values([
      { client_id: 'c', key: 'fresh', request_hash: 'h', status_code: 201, response: '{}', created_at: hoursAgo(1) },
      { client_id: 'c', key: 'day-old', request_hash: 'h', status_code: 201, response: '{}', created_at: hoursAgo(23.9) },
      { client_id: 'c', key: 'stale', request_hash: 'h', status_code: 201, response: '{}', created_at: hoursAgo(25) }
    ])
    .execute()
  t.equal(await purgeIdempotencyKeys(database.db, now, 24), 1)
  const left = await database.db.selectFrom('idempotency_keys').select('key').orderBy('key').execute()
  t.same(
    left.map((r) => r.key),
    ['day-old', 'fresh']
  )
})
