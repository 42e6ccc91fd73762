import t from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { sql } from 'kysely'
import { ConfigError, loadConfig } from '../../src/config.js'
import { isProblem, jointUse, type Tap } from '../fixtures.js'
import { ADMIN_TOKEN, buildTestApp, createClient, openTestDatabase, type TestApp } from '../helper.js'

/** The service's own defaults (an empty environment), not the test helper's relaxed limit. */
const DEFAULTS = { ...loadConfig({}), logLevel: 'silent' as const }
const PUBLIC_URLS = ['/healthz', '/readyz', '/metrics', '/openapi.json', '/docs']
const WRONG = 'shz_not-a-real-token-at-all'

function assertThrottled(t: Tap, res: LightMyRequestResponse, label: string, maxSeconds = 60): void {
  t.equal(res.statusCode, 429, `${label}: 429`)
  t.ok(isProblem(res), `${label}: problem+json`)
  t.equal(res.json().status, 429, `${label}: status member`)
  t.equal(res.json().code, 'rate_limited', `${label}: code rate_limited`)
  const retryAfter = Number(res.headers['retry-after'])
  t.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= maxSeconds, `${label}: Retry-After in seconds (${String(res.headers['retry-after'])})`)
}

async function statuses(test: TestApp, count: number, options: Parameters<TestApp['request']>[0]): Promise<number[]> {
  const seen: number[] = []
  for (let i = 0; i < count; i += 1) seen.push((await test.request(options)).statusCode)
  return seen
}

function tally(seen: number[]): string {
  const counts = new Map<number, number>()
  for (const status of seen) counts.set(status, (counts.get(status) ?? 0) + 1)
  return [...counts].map(([status, n]) => `${n}×${status}`).join(', ')
}

t.test('the defaults: AUTH_FAILURE_LIMIT 30 per AUTH_FAILURE_WINDOW_MS 60000; the old RATE_LIMIT_* are gone', async (t) => {
  const defaults = loadConfig({})
  t.equal(defaults.authFailureLimit, 30)
  t.equal(defaults.authFailureWindowMs, 60_000)
  t.notOk('rateLimitMax' in defaults || 'rateLimitWindowMs' in defaults, 'no global request limit any more')
  const set = loadConfig({ AUTH_FAILURE_LIMIT: '12', AUTH_FAILURE_WINDOW_MS: '5000' })
  t.equal(set.authFailureLimit, 12)
  t.equal(set.authFailureWindowMs, 5000)
  t.throws(() => loadConfig({ AUTH_FAILURE_LIMIT: '0' }), ConfigError)
  t.throws(() => loadConfig({ AUTH_FAILURE_LIMIT: 'many' }), ConfigError)
  t.throws(() => loadConfig({ AUTH_FAILURE_WINDOW_MS: '999' }), ConfigError)
  try {
    loadConfig({ AUTH_FAILURE_WINDOW_MS: '10' })
  } catch (err) {
    t.match((err as Error).message, /AUTH_FAILURE_WINDOW_MS/, 'the error names the variable')
  }
})

t.test('with the defaults, a billing run is never throttled: 700 requests of one system in under a minute', async (t) => {
  const test = await buildTestApp(t, { config: DEFAULTS })
  const billing = await createClient(test, { name: 'billing run', role: 'system' })
  const seen: number[] = []
  for (let i = 0; i < 700; i += 1) {
    const res = await test.request({ method: 'POST', url: '/v1/checks', token: billing.token, payload: jointUse(`M-${String(i).padStart(6, '0')}`, 'billing') })
    seen.push(res.statusCode)
  }
  t.equal(seen.filter((s) => s === 200).length, 700, `every check is answered (${tally(seen)})`)
  const listed = (await test.request({ method: 'GET', url: '/v1/clients' })).json().clients as { id: string; rateLimit: number | null }[]
  t.equal(listed.find((c) => c.id === billing.id)?.rateLimit, null, 'GET /v1/clients shows rateLimit null: not throttled')
})

t.test('with the defaults, a token guesser is throttled after 30 failures, on unknown paths too', async (t) => {
  const test = await buildTestApp(t, { config: DEFAULTS })
  const seen = await statuses(test, 700, { method: 'GET', url: '/v1/nope', token: WRONG })
  t.same(seen.slice(0, 30), Array(30).fill(401), 'the first 30 failures are 401')
  t.ok(
    seen.slice(30).every((s) => s === 429),
    `then 429 (${tally(seen)})`
  )
  assertThrottled(t, await test.request({ method: 'GET', url: '/v1/nope', token: WRONG }), 'an unknown /v1 path with a wrong token')
  assertThrottled(t, await test.request({ method: 'GET', url: '/v1/policy', token: `${WRONG}-2` }), 'a route with another wrong token')
  assertThrottled(t, await test.request({ method: 'POST', url: '/v1/checks', token: null, payload: jointUse('M-1') }), 'a route without a token')
  // The address is refused before any token is looked up, so a valid token from it waits too.
  assertThrottled(t, await test.request({ method: 'GET', url: '/v1/policy' }), 'a valid token from the same address')
  for (const url of PUBLIC_URLS) {
    const res = await test.request({ method: 'GET', url, token: WRONG })
    t.ok(res.statusCode < 400, `${url} still answers the throttled address (${res.statusCode})`)
  }
  const elsewhere = await test.request({ method: 'GET', url: '/v1/policy', remoteAddress: '192.0.2.7' })
  t.equal(elsewhere.statusCode, 200, 'another address is unaffected')
  const outside = await test.request({ method: 'GET', url: '/nope', token: WRONG })
  t.equal(outside.statusCode, 404, 'an unknown path outside /v1 needs no token and is a plain 404')
})

t.test('failed authentications: counted per address, never for a valid token, over after the window', async (t) => {
  const test = await buildTestApp(t, { config: { authFailureLimit: 5, authFailureWindowMs: 1000 } })
  const system = await createClient(test, { role: 'system' })
  const revoked = await createClient(test, { name: 'revoked system', role: 'system' })
  t.equal((await test.request({ method: 'DELETE', url: `/v1/clients/${revoked.id}` })).statusCode, 200)
  const address = '198.51.100.1'

  const valid = await statuses(test, 40, { method: 'GET', url: '/v1/policy', token: system.token, remoteAddress: address })
  t.ok(
    valid.every((s) => s === 200),
    `40 valid requests are answered and not counted (${tally(valid)})`
  )
  const failures = [
    await test.request({ method: 'GET', url: '/v1/policy', token: null, remoteAddress: address }),
    await test.request({ method: 'GET', url: '/v1/policy', token: WRONG, remoteAddress: address }),
    await test.request({ method: 'POST', url: '/v1/checks', token: revoked.token, payload: jointUse('M-1'), remoteAddress: address }),
    await test.request({ method: 'GET', url: '/v1/policy', token: null, headers: { authorization: 'Basic dXNlcjpwYXNz' }, remoteAddress: address }),
    await test.request({ method: 'GET', url: '/v1/no-such-route', token: WRONG, remoteAddress: address })
  ]
  t.same(
    failures.map((r) => r.statusCode),
    [401, 401, 401, 401, 401],
    'five failures of every kind are 401'
  )
  t.equal(failures[4]?.headers['retry-after'], undefined, 'a 401 carries no Retry-After')
  assertThrottled(t, await test.request({ method: 'GET', url: '/v1/policy', token: WRONG, remoteAddress: address }), 'the sixth', 1)
  assertThrottled(t, await test.request({ method: 'GET', url: '/v1/nope', token: null, remoteAddress: address }), 'an unknown path after it', 1)
  t.equal((await test.request({ method: 'GET', url: '/v1/policy', token: WRONG })).statusCode, 401, 'another address has its own count')

  // IPv6 callers are counted by their /64, so a guesser cannot simply walk its own subnet.
  const v6 = await statuses(test, 5, { method: 'GET', url: '/v1/policy', token: WRONG, remoteAddress: '2001:db8:0:7::1' })
  t.same(v6, [401, 401, 401, 401, 401])
  t.equal(
    (await test.request({ method: 'GET', url: '/v1/policy', token: WRONG, remoteAddress: '2001:db8:0:7::2' })).statusCode,
    429,
    'the same /64 shares the count'
  )
  t.equal((await test.request({ method: 'GET', url: '/v1/policy', token: WRONG, remoteAddress: '2001:db8:0:8::1' })).statusCode, 401, 'another /64 does not')

  await new Promise((resolve) => setTimeout(resolve, 1100))
  t.equal(
    (await test.request({ method: 'GET', url: '/v1/policy', token: system.token, remoteAddress: address })).statusCode,
    200,
    'after the window a valid token is answered'
  )
  t.equal((await test.request({ method: 'GET', url: '/v1/policy', token: WRONG, remoteAddress: address })).statusCode, 401, 'and a wrong one is a 401 again')
})

t.test('a client whose record sets rateLimit is held to it; no other client is', async (t) => {
  const test = await buildTestApp(t)
  const created = await test.request({ method: 'POST', url: '/v1/clients', payload: { name: 'held back', role: 'system', rateLimit: 5 } })
  t.equal(created.statusCode, 201, 'rateLimit is accepted')
  const held = created.json<{ id: string; token: string; rateLimit: number }>()
  t.equal(held.rateLimit, 5, 'and answered')
  const other = await createClient(test, { name: 'free system', role: 'system' })
  const listed = (await test.request({ method: 'GET', url: '/v1/clients' })).json().clients as { id: string; rateLimit: number | null }[]
  t.equal(listed.find((c) => c.id === held.id)?.rateLimit, 5, 'GET /v1/clients shows the limit')
  t.equal(listed.find((c) => c.id === other.id)?.rateLimit, null, 'and null for a client without one')

  const first = await statuses(test, 5, { method: 'GET', url: '/v1/policy', token: held.token })
  t.same(first, [200, 200, 200, 200, 200], 'five requests within the minute pass')
  assertThrottled(t, await test.request({ method: 'GET', url: '/v1/policy', token: held.token }), 'the sixth')
  assertThrottled(t, await test.request({ method: 'POST', url: '/v1/checks', token: held.token, payload: jointUse('M-1') }), 'another route')
  assertThrottled(t, await test.request({ method: 'GET', url: '/v1/nope', token: held.token }), 'an unknown /v1 path')

  const free = await statuses(test, 20, { method: 'GET', url: '/v1/policy', token: other.token })
  t.ok(
    free.every((s) => s === 200),
    `another client is unaffected (${tally(free)})`
  )
  t.equal((await test.request({ method: 'GET', url: '/v1/policy' })).statusCode, 200, 'the admin is unaffected')
  for (let i = 1; i <= 12; i += 1) {
    for (const token of [held.token, null]) {
      const res = await test.request({ method: 'GET', url: '/healthz', token })
      t.equal(res.statusCode, 200, `/healthz ${i} ${token ? 'with the throttled token' : 'without a token'} is never limited`)
    }
  }
  for (const url of PUBLIC_URLS) {
    const res = await test.request({ method: 'GET', url, token: held.token })
    t.ok(res.statusCode < 400, `${url} is not limited (${res.statusCode})`)
  }

  for (const rateLimit of [0, -1, 1.5, '5', null, 1_000_001]) {
    const res = await test.request({ method: 'POST', url: '/v1/clients', payload: { name: 'bad limit', role: 'system', rateLimit } })
    t.equal(res.statusCode, 400, `rateLimit ${JSON.stringify(rateLimit)} is 400`)
    t.ok(isProblem(res), 'as problem+json')
  }
})

t.test('public routes never cost a token lookup; every other request costs exactly one', async (t) => {
  const test = await buildTestApp(t)
  const system = (await test.request({ method: 'POST', url: '/v1/clients', payload: { name: 'limited', role: 'system', rateLimit: 100 } })).json<{
    token: string
  }>()
  const db = test.database.db as unknown as { selectFrom: (table: string) => unknown }
  const original = db.selectFrom.bind(db)
  let lookups = 0
  db.selectFrom = (table: string) => {
    if (table === 'clients') lookups += 1
    return original(table)
  }
  t.teardown(() => {
    db.selectFrom = original
  })
  const count = async (options: Parameters<TestApp['request']>[0]) => {
    const before = lookups
    const res = await test.request(options)
    return { status: res.statusCode, lookups: lookups - before }
  }
  for (const url of PUBLIC_URLS) {
    for (const token of [ADMIN_TOKEN, WRONG]) {
      const seen = await count({ method: 'GET', url, token })
      t.equal(seen.lookups, 0, `${url} with a bearer token looks nothing up (${seen.status})`)
    }
  }
  const cases: [string, Parameters<TestApp['request']>[0], number][] = [
    ['a valid token', { method: 'GET', url: '/v1/policy' }, 200],
    ['a throttled client (counted)', { method: 'GET', url: '/v1/policy', token: system.token }, 200],
    ['a wrong token', { method: 'GET', url: '/v1/policy', token: WRONG }, 401],
    ['a valid token on an unknown path', { method: 'GET', url: '/v1/nope' }, 404],
    ['a wrong token on an unknown path', { method: 'GET', url: '/v1/nope', token: WRONG }, 401],
    ['a role refused', { method: 'GET', url: '/v1/clients', token: system.token }, 403]
  ]
  for (const [what, options, status] of cases) {
    const seen = await count(options)
    t.equal(seen.status, status, `${what}: ${status}`)
    // A valid token is cached per process after its first lookup (clients/token-cache.ts); a wrong one never is.
    if (options.token === WRONG) t.equal(seen.lookups, 1, `${what}: one lookup`)
    else t.ok(seen.lookups <= 1, `${what}: at most one lookup (${seen.lookups})`)
  }
  const none = await count({ method: 'GET', url: '/v1/policy', token: null })
  t.equal(none.lookups, 0, 'no token: nothing to look up')
})

t.test('the OpenAPI document: 429 on every authenticated operation, rateLimit on clients', async (t) => {
  const test = await buildTestApp(t)
  const document = (await test.request({ method: 'GET', url: '/openapi.json', token: null })).json<{
    paths: Record<string, Record<string, { security?: unknown[]; responses: Record<string, unknown>; description?: string; requestBody?: any }>>
  }>()
  for (const [path, operations] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      if (Array.isArray(operation.security) && operation.security.length === 0) continue
      t.ok(operation.responses['429'], `${method.toUpperCase()} ${path} documents 429`)
    }
  }
  const create = document.paths['/v1/clients']?.post
  t.ok(create?.requestBody?.content?.['application/json']?.schema?.properties?.rateLimit, 'createClient takes rateLimit')
  t.match(create?.description ?? '', /rateLimit/, 'and its description says what it does')
})

t.test('the rate_limit migration goes down and up again', async (t) => {
  const { database } = await openTestDatabase(t)
  t.teardown(() => database.close())
  await database.migrateToLatestOrThrow()
  const columns = async () =>
    (
      await sql<{ column_name: string }>`
        SELECT column_name FROM information_schema.columns
        WHERE table_schema = current_schema() AND table_name = 'clients'`.execute(database.db)
    ).rows.map((r) => r.column_name)
  t.ok((await columns()).includes('rate_limit'), 'clients.rate_limit exists')
  const row = { name: 'n', role: 'system', created_at: new Date() }
  await database.db
    .insertInto('clients')
    .values({ ...row, id: 'limited', token_hash: 'a'.repeat(64), rate_limit: 10 })
    .execute()
  await t.rejects(
    database.db
      .insertInto('clients')
      .values({ ...row, id: 'zero', token_hash: 'b'.repeat(64), rate_limit: 0 })
      .execute(),
    'a limit below 1 is refused by the database'
  )
  // Later migrations go down first; the step that removes the column is this migration's.
  for (let step = 0; step < 20 && (await columns()).includes('rate_limit'); step += 1) await database.migrateDownOrThrow()
  t.notOk((await columns()).includes('rate_limit'), 'down drops the column')
  t.equal((await database.db.selectFrom('clients').select('id').execute()).length, 1, 'and keeps the clients')
  await database.migrateToLatestOrThrow()
  t.ok((await columns()).includes('rate_limit'), 'up adds it again')
  const back = await database.db.selectFrom('clients').select(['id', 'rate_limit']).executeTakeFirstOrThrow()
  t.same(back, { id: 'limited', rate_limit: null }, 'existing clients come back unthrottled')
})
