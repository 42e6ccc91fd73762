import { sql } from 'kysely'
import t from 'tap'
import { buildTestApp, createClient, NEEDS_POSTGRES_FOR_TWO_PROCESSES, twoAppsOnOneDatabase, until, type TestApp } from '../helper.js'

/** Tokens are cached per process; a revocation anywhere must still hold at once or within a second. */
// A revocation by SQL and the cache's TTL: test/auth/revocation.test.ts.

const status = async (test: TestApp, token: string) => (await test.request({ method: 'GET', url: '/v1/policy', token })).statusCode

t.test('a revoked token fails at once on the process that revoked it', async (t) => {
  const test = await buildTestApp(t)
  const client = await createClient(test, { role: 'ops' })
  t.equal(await status(test, client.token), 200)
  t.equal(await status(test, client.token), 200, 'served again, from the cache')
  t.equal((await test.request({ method: 'DELETE', url: `/v1/clients/${client.id}` })).statusCode, 200)
  t.equal(await status(test, client.token), 401, 'the very next request is refused')
})

t.test('two processes on one database', { skip: NEEDS_POSTGRES_FOR_TWO_PROCESSES }, async (t) => {
  const [a, b] = await twoAppsOnOneDatabase(t)
  const client = await createClient(a, { role: 'ops' })

  t.test('a revocation on one reaches the other within a second', async (t) => {
    t.equal(await status(b, client.token), 200, 'the other process has the token cached')
    t.equal((await a.request({ method: 'DELETE', url: `/v1/clients/${client.id}` })).statusCode, 200)
    t.equal(await status(a, client.token), 401, 'refused at once where it was revoked')
    const after = await until(async () => (await status(b, client.token)) === 401, 1000)
    t.not(after, null, `refused by the other process within a second (after ${after} ms)`)
  })

  t.test('the cache is only trusted while the change feed is live', async (t) => {
    const other = await createClient(a, { role: 'ops' })
    t.equal(await status(b, other.token), 200)
    // A change with the triggers off (as replication applies it) announces nothing: a live cache
    // keeps serving it until its TTL (test/auth/revocation.test.ts) runs out.
    await a.database.transaction(async (tx) => {
      await sql`SET LOCAL session_replication_role = replica`.execute(tx)
      await sql`UPDATE clients SET revoked_at = now() WHERE id = ${other.id}`.execute(tx)
    })
    t.equal(await status(b, other.token), 200, 'served from the cache, so the cache is real')
    // Cut every listening connection: the caches can no longer vouch, so they are bypassed.
    await sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%' AND datname = current_database()`.execute(a.database.db)
    const refused = await until(async () => (await status(b, other.token)) === 401, 2000)
    t.not(refused, null, 'with the feed down, the database is asked and the revocation is seen')
    // The feed comes back by itself and the cache is used again, starting empty.
    const third = await createClient(a, { role: 'ops' })
    const back = await until(async () => b.app.changes.live, 5000)
    t.not(back, null, 'the feed reconnects')
    t.equal(await status(b, third.token), 200)
    t.equal((await a.request({ method: 'DELETE', url: `/v1/clients/${third.id}` })).statusCode, 200)
    t.not(await until(async () => (await status(b, third.token)) === 401, 1000), null, 'and revocations reach it again')
  })
})
