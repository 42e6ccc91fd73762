import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { sql } from 'kysely'
import t from 'tap'
import type { Client } from '../../src/clients/repository.js'
import { TokenCache } from '../../src/clients/token-cache.js'
import { ConfigError, loadConfig } from '../../src/config.js'
import type { ChangeFeed } from '../../src/db/change-feed.js'
import type { Database } from '../../src/db/database.js'
import { consentBody } from '../fixtures.js'
import { buildTestApp, createClient, NEEDS_POSTGRES_FOR_TWO_PROCESSES, openTestDatabase, TEST_CHECKPOINT_KEY, until, type TestApp } from '../helper.js'
import { startServer } from '../support/server-process.js'

// Issue 23: a token revoked in the database (an operator's psql during an incident) must stop
// working in every process; the cache's TTL bounds even a change nobody announced; and a token
// may carry an expiry, after which it is refused.

const run = promisify(execFile)
/** Long enough for a notification on a loaded machine, short against the minutes of the incident. */
const BOUND_MS = 5000

const status = async (test: TestApp, token: string) => (await test.request({ method: 'GET', url: '/v1/ledger', token })).statusCode

/** An UPDATE run by psql, a process of its own, as the DBA ran it. */
async function psql(database: Database, statement: string): Promise<void> {
  await run('psql', [database.url!, '-v', 'ON_ERROR_STOP=1', '-q', '-c', statement])
}

/** Revokes behind the service's back with every trigger off, so that no notification is sent. */
async function revokeUnannounced(database: Database, id: string): Promise<void> {
  const revoke = `UPDATE clients SET revoked_at = now() WHERE id = '${id}'`
  if (database.url !== undefined) return psql(database, `SET session_replication_role = replica; ${revoke}`)
  await database.transaction(async (tx) => {
    await sql`SET LOCAL session_replication_role = replica`.execute(tx)
    await sql.raw(revoke).execute(tx)
  })
}

t.test('TokenCache: the TTL, the wildcard, and 0 for no caching', async (t) => {
  const feed = { live: true, subscribe: () => {} } as unknown as ChangeFeed
  let clock = 0
  const client = { id: 'c1' } as Client
  const cached = (ttl: number) => {
    const cache = new TokenCache(feed, ttl, () => clock)
    cache.remember('h', client, cache.begin())
    return cache
  }

  clock = 0
  let cache = cached(1000)
  clock = 999
  t.equal(cache.get('h'), client, 'served until the TTL has passed since the lookup began')
  clock = 1000
  t.equal(cache.get('h'), undefined, 'then the database is asked again')

  clock = 0
  cache = cached(1000)
  cache.changed('*')
  t.equal(cache.get('h'), undefined, 'a TRUNCATE (`*`) drops every client')

  clock = 0
  t.equal(cached(0).get('h'), undefined, 'TTL 0: nothing is cached')
})

t.test('TOKEN_CACHE_TTL_MS is validated like the other settings', async (t) => {
  t.equal(loadConfig({}).tokenCacheTtlMs, 30_000, 'thirty seconds by default')
  t.equal(loadConfig({ TOKEN_CACHE_TTL_MS: '0' }).tokenCacheTtlMs, 0)
  t.throws(() => loadConfig({ TOKEN_CACHE_TTL_MS: 'soon' }), ConfigError)
  t.throws(() => loadConfig({ TOKEN_CACHE_TTL_MS: '300001' }), /TOKEN_CACHE_TTL_MS/, 'bounded: at most five minutes')
})

t.test('a revocation made with SQL, not through the service, reaches its cache', async (t) => {
  const test = await buildTestApp(t)
  const client = await createClient(test, { role: 'ops' })
  t.equal(await status(test, client.token), 200)
  t.equal(await status(test, client.token), 200, 'now cached')
  await sql`UPDATE clients SET revoked_at = now() WHERE id = ${client.id}`.execute(test.database.db)
  t.not(await until(async () => (await status(test, client.token)) === 401, BOUND_MS), null, 'the trigger announced it: refused')
})

t.test('a revocation by psql is refused by every process on the database', { skip: NEEDS_POSTGRES_FOR_TWO_PROCESSES }, async (t) => {
  const { database } = await openTestDatabase(t)
  const inProcess = await buildTestApp(t, { database })
  t.teardown(() => database.close())
  const client = await createClient(inProcess, { role: 'ops' })
  // A real service process beside the test's own app, as a second replica would be.
  const server = await startServer(t, { DATABASE_URL: database.url!, CHECKPOINT_SIGNING_KEY: TEST_CHECKPOINT_KEY })
  const fromServer = async (method: 'GET' | 'POST', url: string, body?: unknown) =>
    (
      await fetch(`${server.url}${url}`, {
        method,
        headers: { authorization: `Bearer ${client.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) })
      })
    ).status
  const consent = (n: number) => fromServer('POST', `/v1/members/M-REV-${n}/consents`, consentBody())

  t.equal(await status(inProcess, client.token), 200, 'the ledger is read in the test process')
  t.equal(await fromServer('GET', '/v1/ledger'), 200, 'and in the service process')
  t.equal(await consent(1), 201, 'a consent is recorded')

  await psql(database, `UPDATE clients SET revoked_at = now() WHERE id = '${client.id}'`)

  const refused = await until(async () => (await status(inProcess, client.token)) === 401 && (await fromServer('GET', '/v1/ledger')) === 401, BOUND_MS)
  t.not(refused, null, 'both processes refuse the token')
  t.equal(await consent(2), 401, 'and it records nothing more')
})

t.test('a revocation nobody announces still holds once the TTL has passed', async (t) => {
  const { database, reopen } = await openTestDatabase(t)
  const usual = await buildTestApp(t, { database })
  // On PostgreSQL a second pool, as another process would have; PGlite has the one database.
  const second = await reopen()
  const brief = await buildTestApp(t, { database: second, config: { tokenCacheTtlMs: 200 } })
  t.teardown(async () => {
    if (second !== database) await second.close()
    await database.close()
  })
  const client = await createClient(usual, { role: 'ops' })
  t.equal(await status(usual, client.token), 200, 'cached where the TTL is thirty seconds')
  t.equal(await status(brief, client.token), 200, 'cached where it is 200 ms')

  await revokeUnannounced(database, client.id)

  t.not(await until(async () => (await status(brief, client.token)) === 401, BOUND_MS), null, 'refused once the short TTL ran out')
  t.equal(await status(usual, client.token), 200, 'while the usual TTL still serves it: no notification came, the TTL did it')
})

t.test('expiresAt: accepted in the future, listed, and refused (401) from then on', async (t) => {
  let now = new Date('2026-12-07T00:00:00Z')
  const test = await buildTestApp(t, { now: () => now })
  const create = (body: Record<string, unknown>) => test.request({ method: 'POST', url: '/v1/clients', payload: { name: 'temporary', role: 'ops', ...body } })

  const past = await create({ expiresAt: '2026-12-06T23:59:59Z' })
  t.equal(past.statusCode, 400, 'an expiry in the past is refused')
  t.match(past.json(), { code: 'validation_failed', errors: [{ path: 'body/expiresAt' }] })
  t.equal((await create({ expiresAt: '2026-12-31' })).statusCode, 400, 'a date without a time and offset is not RFC 3339')

  const created = await create({ expiresAt: '2026-12-07T10:00:00+09:00' })
  t.equal(created.statusCode, 201)
  const { id, token, expiresAt } = created.json<{ id: string; token: string; expiresAt: string }>()
  t.equal(expiresAt, '2026-12-07T01:00:00.000Z', 'answered in UTC')
  const listed = (await test.request({ method: 'GET', url: '/v1/clients' })).json<{ clients: { id: string; expiresAt: string | null }[] }>().clients
  t.equal(listed.find((c) => c.id === id)?.expiresAt, expiresAt, 'GET /v1/clients shows it')
  t.ok(
    listed.filter((c) => c.id !== id).every((c) => c.expiresAt === null),
    'a client without one never expires'
  )

  t.equal(await status(test, token), 200, 'valid before its expiry')
  t.equal(await status(test, token), 200, 'and cached')
  now = new Date('2026-12-07T01:00:00Z')
  t.equal(await status(test, token), 401, 'refused at its expiry, cached or not')
  t.equal((await test.request({ method: 'GET', url: '/v1/policy', token })).statusCode, 401, 'on every route')
})
