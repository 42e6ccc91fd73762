import t from 'tap'
import fc from 'fast-check'
import type { LightMyRequestResponse } from 'fastify'
import {
  CHANNELS,
  CONSENT_METHODS,
  DATA_ITEMS,
  EXCEPTION_BASES,
  METHODS,
  PURPOSES,
  RECIPIENT_CATEGORIES,
  SERVICE_CATEGORIES
} from '../../src/policy/vocabulary.js'
import { addContract, addInspection, countEntries, createContractor, createRecipient, grantConsent } from '../fixtures.js'
import { ADMIN_TOKEN, buildTestApp, createClient, daysFrom, type TestApp } from '../helper.js'

/**
 * Property-based: random and mutated bodies, headers and query strings never produce a 5xx;
 * every 4xx is problem+json without internals; and a refused request never adds a ledger row
 * (the ledger grows exactly by what the contract says each answer records).
 *
 * Reproduce a failure with FUZZ_SEED=<seed printed below>; fast-check's error also names the
 * seed and the path of the shrunk counterexample.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261125)
/** FUZZ_SCALE multiplies every run count, for a longer hunt than CI's 250 runs. */
const SCALE = Math.max(0.1, Number(process.env.FUZZ_SCALE ?? 1))
const RUNS = Object.fromEntries(
  Object.entries({ checks: 50, transfers: 50, batch: 30, recipients: 30, consents: 40, ledger: 50 }).map(([k, n]) => [k, Math.ceil(n * SCALE)])
) as Record<'checks' | 'transfers' | 'batch' | 'recipients' | 'consents' | 'ledger', number>

type Body = Record<string, unknown>

interface Fixture {
  readonly test: TestApp
  readonly tokens: readonly string[]
  readonly recipientId: string
  readonly contractorId: string
}

async function fixture(t: Parameters<typeof buildTestApp>[0]): Promise<Fixture> {
  const test = await buildTestApp(t)
  // Unrestricted callers only: an out-of-scope 403 is recorded by design and is tested elsewhere.
  const system = await createClient(test, { name: 'fuzz system', role: 'system', channels: ['joint_use', 'entrustment', 'third_party', 'statutory_exception'] })
  const recipientId = (await createRecipient(test, { name: 'Fuzz Bank' })).id
  const contractorId = (await createContractor(test, 'Fuzz Delivery')).id
  await addContract(test, contractorId)
  await addInspection(test, contractorId)
  await grantConsent(test, 'M-000001', { recipientId })
  return { test, tokens: [ADMIN_TOKEN, system.token], recipientId, contractorId }
}

// ---------------------------------------------------------------------------------------------
// Arbitraries

const memberId = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('M-000001', 'M-000002', 'M-fuzz_3') },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/) }
)
const dataItems = fc.uniqueArray(fc.constantFrom(...DATA_ITEMS), { minLength: 1, maxLength: 6 })
const text = fc.string({ minLength: 1, maxLength: 40 })

function validDecisionRequest(f: Fixture): fc.Arbitrary<Body> {
  const common = { memberId, purpose: fc.constantFrom(...PURPOSES), serviceCategory: fc.constantFrom(...SERVICE_CATEGORIES), dataItems }
  return fc.oneof(
    fc.record({ channel: fc.constant('joint_use'), ...common, jointUser: fc.constantFrom('JCCU', 'JCCU', 'Other_Coop') }),
    fc.record({ channel: fc.constant('entrustment'), ...common, contractorId: fc.oneof(fc.constant(f.contractorId), fc.uuid()) }),
    fc.record({
      channel: fc.constant('third_party'),
      ...common,
      recipientId: fc.oneof(fc.constant(f.recipientId), fc.uuid()),
      method: fc.constantFrom(...METHODS)
    }),
    fc.record({
      channel: fc.constant('statutory_exception'),
      ...common,
      exception: fc.record({ basis: fc.constantFrom(...EXCEPTION_BASES), reference: text, approvedBy: text })
    })
  )
}

const hugeString = fc.constantFrom(1_000, 70_000, 1_100_000).chain((n) => fc.constantFrom('x', 'é', '漢', '\u{1F600}').map((c) => c.repeat(n)))
const unicodeString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.string({ unit: 'grapheme', maxLength: 80 }),
  fc.constantFrom('\u0000', '\uD800', '\u202E', 'ｍ－０００１', '𝓜-1')
)
const wrongValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(''),
  unicodeString,
  hugeString,
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 5 }),
  fc.object({ maxDepth: 3, values: [fc.jsonValue({ maxDepth: 1 })] }),
  fc.letrec((tie) => ({ deep: fc.oneof({ depthSize: 'small' }, fc.constant({}), fc.record({ a: tie('deep') })) })).deep
)
const addedKey = fc.oneof(
  fc.constantFrom('recipientId', 'contractorId', 'jointUser', 'method', 'exception', 'items', 'role', '__proto__', 'constructor', 'prototype', 'toString', ''),
  fc.string({ maxLength: 20 })
)

type Mutation =
  { op: 'drop'; index: number } | { op: 'add'; key: string; value: unknown } | { op: 'set'; index: number; value: unknown } | { op: 'replace'; value: unknown }

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('drop' as const), index: fc.nat() }),
  fc.record({ op: fc.constant('add' as const), key: addedKey, value: fc.oneof(wrongValue, fc.uuid(), fc.constantFrom(...CHANNELS, ...METHODS)) }),
  fc.record({ op: fc.constant('set' as const), index: fc.nat(), value: wrongValue }),
  fc.record({ op: fc.constant('replace' as const), value: fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.array(fc.object(), { maxLength: 3 })) })
)

/** Own, enumerable: a `__proto__` key is sent as a JSON member, not turned into a prototype. */
function defineKey(target: Body, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
}

function mutate(body: unknown, mutations: readonly Mutation[]): unknown {
  let current = body
  for (const m of mutations) {
    if (m.op === 'replace') {
      current = m.value
      continue
    }
    if (current === null || typeof current !== 'object' || Array.isArray(current)) continue
    const copy: Body = {}
    for (const [k, v] of Object.entries(current as Body)) defineKey(copy, k, v)
    const keys = Object.keys(copy)
    if (m.op === 'add') defineKey(copy, m.key, m.value)
    else if (keys.length > 0) {
      const key = keys[m.index % keys.length]!
      if (m.op === 'drop') delete copy[key]
      else defineKey(copy, key, m.value)
    }
    current = copy
  }
  return current
}

function mutated(valid: fc.Arbitrary<Body>): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 2, arbitrary: valid },
    { weight: 3, arbitrary: fc.tuple(valid, fc.array(mutation, { minLength: 1, maxLength: 3 })).map(([b, ms]) => mutate(b, ms)) }
  )
}

/** How the body goes on the wire: mostly JSON, sometimes broken or empty. */
function encoded(body: fc.Arbitrary<unknown>): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 8, arbitrary: body.map((b) => JSON.stringify(b) ?? 'null') },
    {
      weight: 1,
      arbitrary: fc.tuple(body, fc.nat()).map(([b, n]) => {
        const s = JSON.stringify(b) ?? ''
        return s.slice(0, n % (s.length + 1))
      })
    },
    { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 60 }), fc.constantFrom('', 'null', '[]', '{}', '"x"', '{"a":1}{', '\uFEFF{}')) }
  )
}

const headerText = fc.string({ unit: fc.constantFrom(...'abcXYZ019-_.:/;=,* é'.split('')), maxLength: 40 })
const headers = fc.record(
  {
    'content-type': fc.oneof(
      { weight: 6, arbitrary: fc.constant('application/json') },
      {
        weight: 3,
        arbitrary: fc.constantFrom(
          'application/json; charset=utf-8',
          'APPLICATION/JSON',
          'application/problem+json',
          'text/plain',
          'application/x-www-form-urlencoded',
          'application/xml',
          'multipart/form-data; boundary=x',
          'application/json; charset=latin1'
        )
      },
      { weight: 1, arbitrary: headerText }
    ),
    'accept-language': fc.oneof(fc.constantFrom('ja', 'en', 'fr', 'ja-JP,ja;q=0.9,en;q=0.8', '*', 'en;q=0'), headerText),
    // Mostly a fresh key, as callers send; some reused across bodies (422), some malformed (400).
    'idempotency-key': fc.oneof(
      { weight: 6, arbitrary: fc.uuid() },
      { weight: 1, arbitrary: fc.constantFrom('k-1', 'k-2', 'k-3') },
      { weight: 1, arbitrary: headerText },
      { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 200, maxLength: 300 }) }
    ),
    'x-request-id': headerText
  },
  { requiredKeys: ['content-type'] }
)

const queryString = fc.oneof(
  fc.constant(''),
  fc.dictionary(fc.string({ maxLength: 12 }), fc.oneof(fc.string({ maxLength: 30 }), unicodeString)).map((d) => `?${new URLSearchParams(d).toString()}`),
  fc.constantFrom('?', '?%', '?%%41', '?a[b]=c', '?a=1&a=2', '?__proto__[x]=1', '?constructor[prototype][x]=1', '?;;;', `?${'q'.repeat(5000)}=1`)
)

// ---------------------------------------------------------------------------------------------
// The invariants

const INTERNALS = /(\n\s+at\s)|(\.(ts|js|mjs|cjs):\d+)|node_modules|"stack"|\b(SELECT|INSERT INTO|UPDATE|DELETE FROM)\b.+\b(FROM|VALUES|SET|WHERE)\b/

interface Sent {
  readonly route: 'checks' | 'transfers' | 'batch' | 'recipients' | 'consents' | 'ledger'
  readonly res: LightMyRequestResponse
  readonly added: number
  readonly items?: number
}

function fail(sent: Sent, why: string): never {
  throw new Error(
    `${sent.route}: ${why} (status ${sent.res.statusCode}, ledger +${sent.added}, content-type ${String(sent.res.headers['content-type'])}): ${sent.res.body.slice(0, 400)}`
  )
}

function expectedLedgerGrowth(sent: Sent): number {
  const { res, route } = sent
  const replayed = res.headers['idempotent-replayed'] === 'true'
  if (route === 'transfers') return (res.statusCode === 201 || res.statusCode === 403) && !replayed ? 1 : 0
  if (route === 'batch') return res.statusCode === 200 ? (sent.items ?? 0) : 0
  if (route === 'consents') return res.statusCode === 201 ? 1 : 0
  return 0
}

function checkInvariants(sent: Sent): void {
  const { res, route } = sent
  const type = String(res.headers['content-type'] ?? '')
  if (res.statusCode >= 500) fail(sent, 'a 5xx')
  if (res.body.includes(ADMIN_TOKEN)) fail(sent, 'the response carries the admin token')
  if (INTERNALS.test(res.body)) fail(sent, 'the response shows a stack trace or SQL')
  if (res.statusCode >= 400) {
    const decisionDenial = route === 'transfers' && res.statusCode === 403 && type.startsWith('application/json')
    if (decisionDenial) {
      const body = res.json<{ decision?: string; entry?: { id?: string } }>()
      if (body.decision !== 'deny' || typeof body.entry?.id !== 'string') fail(sent, 'a 403 transfer that is not a recorded denial')
    } else {
      if (!type.startsWith('application/problem+json')) fail(sent, 'a 4xx that is not problem+json')
      let problem: { type?: unknown; title?: unknown; status?: unknown }
      try {
        problem = res.json()
      } catch {
        fail(sent, 'a problem body that is not JSON')
      }
      if (typeof problem.type !== 'string' || typeof problem.title !== 'string' || problem.status !== res.statusCode) fail(sent, 'an incomplete problem')
    }
  }
  if (sent.added !== expectedLedgerGrowth(sent)) fail(sent, `the ledger grew by ${sent.added}, expected ${expectedLedgerGrowth(sent)}`)
}

async function send(
  f: Fixture,
  route: Sent['route'],
  options: { method: 'GET' | 'POST'; url: string; token: string; headers?: Record<string, string>; payload?: string; items?: number }
): Promise<Sent> {
  const before = await countEntries(f.test)
  const res = await f.test.request({
    method: options.method,
    url: options.url,
    token: options.token,
    headers: options.headers ?? {},
    ...(options.payload === undefined ? {} : { payload: options.payload })
  })
  const added = (await countEntries(f.test)) - before
  const sent: Sent = { route, res, added, ...(options.items === undefined ? {} : { items: options.items }) }
  checkInvariants(sent)
  return sent
}

/** Like encodeURIComponent, but total: a lone surrogate goes out as U+FFFD instead of throwing. */
function percentEncode(value: string): string {
  return [...Buffer.from(value, 'utf8')]
    .map((b) => (/[A-Za-z0-9_.~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`))
    .join('')
}

function runOptions(numRuns: number) {
  return { seed: SEED, numRuns, endOnFailure: true }
}

function tally(statuses: number[]): string {
  const counts = new Map<number, number>()
  for (const s of statuses) counts.set(s, (counts.get(s) ?? 0) + 1)
  return [...counts.entries()]
    .sort(([a], [b]) => a - b)
    .map(([s, n]) => `${s}×${n}`)
    .join(' ')
}

// ---------------------------------------------------------------------------------------------

t.comment(`fast-check seed ${SEED} (set FUZZ_SEED to change or reproduce), ${Object.values(RUNS).reduce((a, b) => a + b, 0)} runs`)

t.test('POST /v1/checks and /v1/transfers with mutated DecisionRequests', async (t) => {
  const f = await fixture(t)
  for (const route of ['checks', 'transfers'] as const) {
    const statuses: number[] = []
    await fc.assert(
      fc.asyncProperty(encoded(mutated(validDecisionRequest(f))), headers, queryString, fc.constantFrom(...f.tokens), async (payload, hdrs, query, token) => {
        const sent = await send(f, route, { method: 'POST', url: `/v1/${route}${query}`, token, headers: hdrs, payload })
        statuses.push(sent.res.statusCode)
      }),
      runOptions(RUNS[route])
    )
    t.comment(`${route}: ${tally(statuses)}`)
    t.ok(
      statuses.some((s) => s < 300),
      `${route}: some requests were accepted`
    )
    t.ok(
      statuses.some((s) => s === 400),
      `${route}: some requests were refused`
    )
  }
})

t.test('POST /v1/transfers/batch with mutated items', async (t) => {
  const f = await fixture(t)
  const statuses: number[] = []
  const batch = fc.oneof(
    // Mostly valid items with an occasional mutated one, so that some batches get decided.
    {
      weight: 4,
      arbitrary: fc
        .array(fc.oneof({ weight: 4, arbitrary: validDecisionRequest(f) }, { weight: 1, arbitrary: mutated(validDecisionRequest(f)) }), {
          minLength: 1,
          maxLength: 5
        })
        .map((items) => ({ items }))
    },
    { weight: 1, arbitrary: mutated(fc.array(validDecisionRequest(f), { minLength: 1, maxLength: 3 }).map((items) => ({ items }))) },
    { weight: 1, arbitrary: fc.constantFrom({ items: [] }, {}, { items: {} }, { items: null }) }
  )
  await fc.assert(
    fc.asyncProperty(batch, fc.boolean(), headers, fc.constantFrom(...f.tokens), async (body, broken, hdrs, token) => {
      const text = JSON.stringify(body) ?? 'null'
      const list = body !== null && typeof body === 'object' ? (body as { items?: unknown }).items : undefined
      const items = Array.isArray(list) ? list.length : 0
      const sent = await send(f, 'batch', {
        method: 'POST',
        url: '/v1/transfers/batch',
        token,
        headers: hdrs,
        payload: broken ? text.slice(0, -1) : text,
        items
      })
      statuses.push(sent.res.statusCode)
      if (sent.res.statusCode === 200) {
        const results = sent.res.json<{ results: unknown[] }>().results
        if (results.length !== items) throw new Error(`batch: ${items} items, ${results.length} results`)
      }
    }),
    runOptions(RUNS.batch)
  )
  t.comment(`batch: ${tally(statuses)}`)
  t.ok(
    statuses.some((s) => s === 200),
    'some batches were decided'
  )
  t.ok(
    statuses.some((s) => s === 400),
    'some batches were refused'
  )
})

t.test('POST /v1/recipients and /v1/members/{id}/consents with mutated bodies', async (t) => {
  const f = await fixture(t)
  const recipient = fc.record({ category: fc.constantFrom(...RECIPIENT_CATEGORIES), name: text, address: text, representative: text })
  const recipientStatuses: number[] = []
  await fc.assert(
    fc.asyncProperty(encoded(mutated(recipient)), headers, queryString, async (payload, hdrs, query) => {
      const sent = await send(f, 'recipients', { method: 'POST', url: `/v1/recipients${query}`, token: ADMIN_TOKEN, headers: hdrs, payload })
      recipientStatuses.push(sent.res.statusCode)
    }),
    runOptions(RUNS.recipients)
  )
  t.comment(`recipients: ${tally(recipientStatuses)}`)
  t.ok(
    recipientStatuses.some((s) => s === 201),
    'some recipients were registered'
  )
  t.ok(
    recipientStatuses.some((s) => s === 400),
    'some recipients were refused'
  )

  // The necessary items of each §II category (policy v1): a consent for other items is refused.
  const NECESSARY: Record<string, readonly string[]> = {
    insurer: ['name', 'name_kana', 'address', 'phone', 'date_of_birth', 'member_number', 'insurance_application'],
    travel_provider: ['name', 'name_kana', 'address', 'phone', 'date_of_birth', 'travel_booking'],
    financial_institution: ['name', 'name_kana', 'member_number', 'bank_account', 'billing_amount'],
    credit_company: ['name', 'name_kana', 'address', 'phone', 'date_of_birth', 'credit_card', 'billing_amount'],
    member_activity: ['name', 'address', 'phone', 'activity_participation']
  }
  const consent = fc.constantFrom(...RECIPIENT_CATEGORIES).chain((category) =>
    fc.record(
      {
        recipientCategory: fc.constant(category),
        // Registered for its category, else absent; an unknown id (a 400) comes from the mutations.
        recipientId: category === 'financial_institution' ? fc.constant(f.recipientId) : fc.constant(undefined),
        dataItems: fc.uniqueArray(fc.constantFrom(...(NECESSARY[category] ?? DATA_ITEMS)), { minLength: 1 }),
        obtainedAt: fc.oneof(
          { weight: 3, arbitrary: fc.constant(daysFrom(-2)) },
          { weight: 1, arbitrary: fc.date({ min: new Date('1990-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString()) }
        ),
        method: fc.constantFrom(...CONSENT_METHODS),
        evidenceRef: text
      },
      { requiredKeys: ['recipientCategory', 'obtainedAt', 'method', 'evidenceRef'] }
    )
  )
  const pathMember = fc.oneof(
    { weight: 4, arbitrary: memberId },
    { weight: 1, arbitrary: fc.oneof(unicodeString, fc.string({ minLength: 60, maxLength: 260 }), fc.constantFrom('..', '%2e%2e', 'a/b', ' ', 'M 1')) }
  )
  const consentStatuses: number[] = []
  await fc.assert(
    fc.asyncProperty(
      pathMember,
      encoded(mutated(consent)),
      headers,
      fc.constantFrom(ADMIN_TOKEN, ADMIN_TOKEN, ...f.tokens),
      async (member, payload, hdrs, token) => {
        const url = `/v1/members/${percentEncode(member)}/consents`
        const sent = await send(f, 'consents', { method: 'POST', url, token, headers: hdrs, payload })
        consentStatuses.push(sent.res.statusCode)
      }
    ),
    runOptions(RUNS.consents)
  )
  t.comment(`consents: ${tally(consentStatuses)}`)
  t.ok(
    consentStatuses.some((s) => s === 201),
    'some consents were recorded'
  )
  t.ok(
    consentStatuses.some((s) => s === 400),
    'some consents were refused'
  )
  t.ok(
    consentStatuses.some((s) => s === 403),
    'the system client was refused (role)'
  )
})

t.test('GET /v1/ledger with random query strings', async (t) => {
  const f = await fixture(t)
  const known = fc.record(
    {
      memberId: fc.oneof(memberId, unicodeString),
      channel: fc.oneof(fc.constantFrom(...CHANNELS), text),
      decision: fc.constantFrom('allow', 'deny', 'maybe', ''),
      kind: fc.constantFrom('decision', 'consent_granted', 'suspension_lifted', 'other'),
      recipientId: fc.oneof(fc.uuid(), text),
      contractorId: fc.oneof(fc.uuid(), text),
      from: fc.oneof(
        fc.date({ noInvalidDate: true, min: new Date('0001-01-01'), max: new Date('9999-12-31') }).map((d) => d.toISOString()),
        fc.constantFrom('2026-02-30T00:00:00Z', '2026-01-01', 'yesterday', '2026-01-01T25:00:00Z', '+275760-09-13T00:00:00.000Z')
      ),
      to: fc.oneof(
        fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
        text
      ),
      limit: fc.oneof(fc.integer({ min: -5, max: 600 }).map(String), fc.constantFrom('1e3', '0x10', '1.5', 'NaN', '', '9'.repeat(30))),
      cursor: fc.oneof(
        fc.base64String({ maxLength: 40 }),
        fc.integer().map((n) => Buffer.from(`p:${n}`).toString('base64url')),
        fc.constantFrom(Buffer.from('p:99999999999999999999').toString('base64url'), Buffer.from('p:1e308').toString('base64url'), 'AAAA', '-_-_')
      ),
      extra: text
    },
    { requiredKeys: [] }
  )
  const query = fc.oneof(
    { weight: 4, arbitrary: known.map((q) => `?${new URLSearchParams(q as Record<string, string>).toString()}`) },
    { weight: 1, arbitrary: queryString }
  )
  const statuses: number[] = []
  await fc.assert(
    fc.asyncProperty(query, fc.constantFrom(ADMIN_TOKEN, ADMIN_TOKEN, ...f.tokens), headers, async (q, token, hdrs) => {
      const { 'content-type': _ignored, ...rest } = hdrs
      const sent = await send(f, 'ledger', { method: 'GET', url: `/v1/ledger${q}`, token, headers: rest })
      statuses.push(sent.res.statusCode)
      if (token !== ADMIN_TOKEN && sent.res.statusCode !== 403) throw new Error(`ledger: a system client read the ledger (${sent.res.statusCode})`)
      if (sent.res.statusCode === 200) {
        const body = sent.res.json<{ entries?: unknown; nextCursor?: unknown }>()
        if (!Array.isArray(body.entries)) throw new Error('ledger: 200 without entries')
      }
    }),
    runOptions(RUNS.ledger)
  )
  t.comment(`ledger: ${tally(statuses)}`)
  t.ok(
    statuses.some((s) => s === 200),
    'some queries were answered'
  )
  t.ok(
    statuses.some((s) => s === 400),
    'some queries were refused'
  )
})
