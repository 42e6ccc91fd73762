import t from 'tap'
import { randomBytes, randomUUID } from 'node:crypto'
import { channel } from 'node:diagnostics_channel'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse, RouteOptions } from 'fastify'
import {
  billing,
  consentBody,
  contractBody,
  createContractor,
  createRecipient,
  grantConsent,
  inspectionBody,
  isProblem,
  recipientBody,
  statutoryException,
  type Tap
} from '../fixtures.js'
import { ADMIN_TOKEN, buildTestApp, createClient, daysFrom, type TestApp, type TestAppOptions } from '../helper.js'

/**
 * A role-by-route matrix generated from the routes the app really registers.
 *
 * Fastify 5's `findRoute` exposes only the handler and params, not the route's config, so the
 * routes are collected as they are added: Fastify publishes every new instance on the
 * `fastify.initialization` diagnostics channel, where an `onRoute` hook can still be added. The
 * hook keeps each route's options object; its `config` is read after the app is ready, so later
 * `onRoute` hooks that set `access` (the docs plugin does) are seen too.
 */

type Role = 'admin' | 'ops' | 'system'
type Access = 'public' | { readonly roles: readonly Role[] }
type Caller = 'none' | 'wrong' | Role

interface CollectedRoute {
  readonly method: string
  readonly url: string
  readonly options: RouteOptions
}

const ROLES: readonly Role[] = ['admin', 'ops', 'system']
const CALLERS: readonly Caller[] = ['none', 'wrong', ...ROLES]

async function buildCollectingApp(test: Parameters<typeof buildTestApp>[0], options: TestAppOptions = {}) {
  const collected: RouteOptions[] = []
  const init = channel('fastify.initialization')
  const subscriber = (message: unknown) => {
    const { fastify } = message as { fastify: FastifyInstance }
    fastify.addHook('onRoute', (route) => {
      collected.push(route)
    })
  }
  init.subscribe(subscriber)
  let app: TestApp
  try {
    app = await buildTestApp(test, options)
  } finally {
    init.unsubscribe(subscriber)
  }
  const routes: CollectedRoute[] = []
  for (const options of collected) {
    const methods = Array.isArray(options.method) ? options.method : [options.method]
    for (const method of methods) routes.push({ method: String(method).toUpperCase(), url: options.url, options })
  }
  return { test: app, routes }
}

function accessOf(route: CollectedRoute): Access | undefined {
  return route.options.config?.access
}

function describeAccess(access: Access | undefined): string {
  if (access === undefined) return 'undefined'
  return access === 'public' ? 'public' : [...access.roles].sort().join('+')
}

/** A valid-looking value for a path parameter, by its name: for refusals that never reach a handler. */
function fillPath(url: string): string {
  return url
    .replace(/:memberId\b/g, 'M-000001')
    .replace(/:([A-Za-z0-9_]+)/g, () => randomUUID())
    .replace(/\*/g, 'index.css')
}

const MEMBER = 'M-000001'
const exceptionRequest = statutoryException(MEMBER)
const HEX64 = /^[0-9a-f]{64}$/

/** Real objects registered before the matrix runs, so that permitted calls name things that exist. */
interface World {
  readonly test: TestApp
  readonly recipientId: string
  readonly contractorId: string
  readonly consentId: string
  readonly entryId: string
}

/**
 * One valid request for a route and what a permitted caller must get for it. `check` looks at
 * the body; a HEAD answer has none and is held to the status only.
 */
interface Call {
  readonly url: string
  readonly payload?: object
  readonly status: number
  readonly check?: (t: Tap, res: LightMyRequestResponse, label: string) => void
}

const ok = (url: string, check?: Call['check']): Call => ({ url, status: 200, ...(check ? { check } : {}) })

/** The body is an object whose `member` lists `id` among others. */
const lists =
  (member: string, id: string): Call['check'] =>
  (t, res, label) =>
    t.ok(
      ((res.json()[member] ?? []) as { id: string }[]).some((x) => x.id === id),
      `${label}: ${member} lists the one registered in setup`
    )

const has =
  (fields: Record<string, unknown>): Call['check'] =>
  (t, res, label) =>
    t.match(res.json(), fields, `${label}: the body is what the route promises`)

const isHtml: Call['check'] = (t, res, label) => t.match(res.body, /<html/i, `${label}: an HTML page`)

/**
 * A valid request for every route, keyed like the router ("METHOD url"). Requests that use up
 * what they name (a withdrawal, a lift, a revocation) register a fresh object per call, so that
 * admin and ops each succeed on their own. Checks and transfers use a statutory exception for
 * billing: inside the scope of ops (which may record only statutory exceptions) and of the
 * system client below. A HEAD route without an entry of its own reuses its GET's request and
 * status. A registered route missing here fails the matrix: add its request with the route.
 */
const CALLS: Record<string, (w: World) => Call | Promise<Call>> = {
  'GET /': () => ({
    url: '/',
    status: 302,
    check: (t, res, label) => t.equal(res.headers.location, '/docs', `${label}: redirected to the reference page`)
  }),
  'GET /healthz': () => ok('/healthz', has({ status: 'ok' })),
  'GET /readyz': () => ok('/readyz', has({ status: 'ready' })),
  'GET /metrics': () => ok('/metrics', (t, res, label) => t.match(res.body, /^# (HELP|TYPE) /m, `${label}: Prometheus text`)),
  'GET /openapi.json': () => ok('/openapi.json', has({ openapi: '3.1.0', paths: Object })),
  'HEAD /docs': () => ok('/docs'),
  'GET /docs/': () => ok('/docs/', isHtml),
  // swagger-ui serves its page at /docs/ and sends the static copy there.
  'GET /docs/static/index.html': () => ({
    url: '/docs/static/index.html',
    status: 302,
    check: (t, res, label) => t.equal(res.headers.location, '/docs/', `${label}: redirected to the page`)
  }),
  'GET /docs/static/swagger-initializer.js': () => ok('/docs/static/swagger-initializer.js'),
  'GET /docs/json': () => ok('/docs/json', has({ openapi: '3.1.0' })),
  'GET /docs/yaml': () => ok('/docs/yaml', (t, res, label) => t.match(res.body, /^openapi: /m, `${label}: YAML`)),
  'GET /docs/static/*': () => ok('/docs/static/swagger-ui.css'),
  'GET /v1/policy': () => ok('/v1/policy', has({ version: String, clauses: Array, purposes: Array, dataItems: Array })),
  'POST /v1/checks': () => ({
    url: '/v1/checks',
    payload: exceptionRequest,
    status: 200,
    check: (t, res, label) => {
      t.equal(res.json().decision, 'allow', `${label}: the check is decided: allow`)
      t.notOk(res.json().entry, `${label}: a check records nothing`)
    }
  }),
  'POST /v1/transfers': () => ({
    url: '/v1/transfers',
    payload: exceptionRequest,
    status: 201,
    check: has({ decision: 'allow', entry: { id: String, hash: HEX64 } })
  }),
  'POST /v1/transfers/batch': () => ({
    url: '/v1/transfers/batch',
    payload: { items: [exceptionRequest, exceptionRequest] },
    status: 200,
    check: (t, res, label) => {
      const results = (res.json().results ?? []) as { decision: string; entry?: { hash: string } }[]
      t.same(
        results.map((r) => r.decision),
        ['allow', 'allow'],
        `${label}: each item decided: allow`
      )
      t.ok(
        results.every((r) => HEX64.test(r.entry?.hash ?? '')),
        `${label}: each item recorded`
      )
    }
  }),
  'POST /v1/clients': () => ({
    url: '/v1/clients',
    payload: { name: 'matrix client', role: 'system', channels: ['joint_use'] },
    status: 201,
    check: has({ id: String, role: 'system', token: String })
  }),
  'GET /v1/clients': () => ok('/v1/clients', has({ clients: Array })),
  'DELETE /v1/clients/:id': async ({ test }) => {
    const victim = await createClient(test, { name: 'matrix victim', role: 'system' })
    return ok(`/v1/clients/${victim.id}`, has({ id: victim.id, revokedAt: String }))
  },
  'POST /v1/recipients': () => ({
    url: '/v1/recipients',
    payload: recipientBody({ name: 'Matrix Bank' }),
    status: 201,
    check: has({ id: String, name: 'Matrix Bank' })
  }),
  'GET /v1/recipients': (w) => ok('/v1/recipients', lists('recipients', w.recipientId)),
  'GET /v1/recipients/:id': (w) => ok(`/v1/recipients/${w.recipientId}`, has({ id: w.recipientId })),
  'PATCH /v1/recipients/:id': (w) => ({
    url: `/v1/recipients/${w.recipientId}`,
    payload: { active: true },
    status: 200,
    check: has({ id: w.recipientId, active: true })
  }),
  'GET /v1/entities': () => ok('/v1/entities', lists('entities', 'shizenha')),
  'GET /v1/entities/:id': () => ok('/v1/entities/JCCU', has({ id: 'JCCU', kind: 'jccu', source: 'policy' })),
  'POST /v1/entities': () => ({
    url: '/v1/entities',
    payload: { kind: 'member_coop', name: { ja: '生活協同組合コープ自然派マトリクス', en: 'Co-op Shizenha Matrix' } },
    status: 201,
    check: has({ id: String, kind: 'member_coop', active: true })
  }),
  'PATCH /v1/entities/:id': async ({ test }) => {
    const coop = await test.request({ method: 'POST', url: '/v1/entities', payload: { kind: 'member_coop', name: { ja: '会員生協(試験)', en: 'Test co-op' } } })
    const id = coop.json<{ id: string }>().id
    return { url: `/v1/entities/${id}`, payload: { active: false }, status: 200, check: has({ id, active: false }) }
  },
  'PATCH /v1/contractors/:id': (w) => ({
    url: `/v1/contractors/${w.contractorId}`,
    payload: { country: 'JP' },
    status: 200,
    check: has({ id: w.contractorId, country: 'JP' })
  }),
  'POST /v1/contractors': () => ({
    url: '/v1/contractors',
    payload: { name: 'Matrix Logistics', address: '2-2 Minato, Tokyo' },
    status: 201,
    check: has({ id: String, name: 'Matrix Logistics' })
  }),
  'GET /v1/contractors': (w) => ok('/v1/contractors', lists('contractors', w.contractorId)),
  'GET /v1/contractors/:id': (w) => ok(`/v1/contractors/${w.contractorId}`, has({ id: w.contractorId })),
  'POST /v1/contractors/:id/contracts': (w) => ({
    url: `/v1/contractors/${w.contractorId}/contracts`,
    payload: contractBody(),
    status: 201,
    check: has({ id: String })
  }),
  'POST /v1/contractors/:id/inspections': (w) => ({
    url: `/v1/contractors/${w.contractorId}/inspections`,
    payload: inspectionBody(),
    status: 201,
    check: has({ id: String })
  }),
  'POST /v1/members/:memberId/consents': () => ({
    url: `/v1/members/${MEMBER}/consents`,
    payload: consentBody(),
    status: 201,
    check: has({ id: String, memberId: MEMBER, status: 'active', entry: { hash: HEX64 } })
  }),
  'GET /v1/members/:memberId/consents': (w) => ok(`/v1/members/${MEMBER}/consents`, lists('consents', w.consentId)),
  'GET /v1/members/:memberId/consents/:consentId/receipt': (w) =>
    ok(`/v1/members/${MEMBER}/consents/${w.consentId}/receipt`, has({ consentId: w.consentId, memberId: MEMBER, ledgerEntry: { hash: HEX64 } })),
  'POST /v1/members/:memberId/consents/:consentId/withdraw': async ({ test }) => {
    const consent = await grantConsent(test, MEMBER)
    return {
      url: `/v1/members/${MEMBER}/consents/${consent.id}/withdraw`,
      payload: { reason: 'asked' },
      status: 200,
      check: has({ id: consent.id, status: 'withdrawn', entry: { hash: HEX64 } })
    }
  },
  // Suspensions go to another member, so that MEMBER's transfers stay allowed throughout.
  'POST /v1/members/:memberId/suspensions': () => ({
    url: `/v1/members/${MEMBER}-s/suspensions`,
    payload: { reason: 'member asked', requestedAt: daysFrom(-1) },
    status: 201,
    check: has({ id: String, liftedAt: null, entry: { hash: HEX64 } })
  }),
  'GET /v1/members/:memberId/suspensions': () => ok(`/v1/members/${MEMBER}-s/suspensions`, has({ suspensions: Array })),
  'DELETE /v1/members/:memberId/suspensions/:suspensionId': async ({ test }) => {
    const res = await test.request({ method: 'POST', url: `/v1/members/${MEMBER}-s/suspensions`, payload: { reason: 'to lift', requestedAt: daysFrom(-1) } })
    if (res.statusCode !== 201) throw new Error(`suspension failed: ${res.statusCode} ${res.body}`)
    const id = res.json().id as string
    return ok(`/v1/members/${MEMBER}-s/suspensions/${id}`, has({ id, liftedAt: String, entry: { hash: HEX64 } }))
  },
  'GET /v1/members/:memberId/provision-records': () =>
    ok(`/v1/members/${MEMBER}/provision-records`, (t, res, label) =>
      t.ok((res.json().records ?? []).length >= 1, `${label}: the provision made in setup is listed`)
    ),
  'GET /v1/ledger': (w) =>
    ok(`/v1/ledger?memberId=${MEMBER}&limit=500`, (t, res, label) =>
      t.ok(
        (res.json().entries ?? []).some((e: { id: string }) => e.id === w.entryId),
        `${label}: lists the entry recorded in setup`
      )
    ),
  'GET /v1/ledger/verify': () => ok('/v1/ledger/verify', has({ ok: true, entriesChecked: Number })),
  'GET /v1/ledger/export': (w) =>
    ok('/v1/ledger/export', (t, res, label) => t.match(res.body, w.entryId, `${label}: the export holds the entry recorded in setup`)),
  'POST /v1/ledger/checkpoints': () => ({ url: '/v1/ledger/checkpoints', status: 201, check: has({ note: String, chains: Array }) }),
  'GET /v1/ledger/checkpoints': () => ok('/v1/ledger/checkpoints?limit=5', has({ checkpoints: Array, key: { verifierKey: String } })),
  'GET /v1/ledger/checkpoints/latest': async ({ test }) => {
    await test.request({ method: 'POST', url: '/v1/ledger/checkpoints' })
    return ok('/v1/ledger/checkpoints/latest', has({ note: String }))
  },
  'GET /v1/ledger/:entryId': (w) => ok(`/v1/ledger/${w.entryId}`, has({ id: w.entryId, memberId: MEMBER }))
}

/** The request for a route, a HEAD borrowing its GET's; undefined when none is known. */
async function callFor(world: World, method: string, url: string): Promise<Call | undefined> {
  const own = CALLS[`${method} ${url}`]
  if (own) return own(world)
  const get = method === 'HEAD' ? CALLS[`GET ${url}`] : undefined
  if (!get) return undefined
  const { check: _body, ...call } = await get(world)
  return call
}

/** The access the contract ("Clients and roles", "Operations") gives each of its routes. */
const admin = { roles: ['admin'] } as const
const adminOps = { roles: ['admin', 'ops'] } as const
const everyRole = { roles: ['admin', 'ops', 'system'] } as const
const EXPECTED: Record<string, Access> = {
  'GET /': 'public',
  'GET /healthz': 'public',
  'GET /readyz': 'public',
  'GET /metrics': 'public',
  'GET /openapi.json': 'public',
  'GET /docs': 'public',
  'GET /v1/policy': everyRole,
  'POST /v1/checks': everyRole,
  'POST /v1/transfers': everyRole,
  'POST /v1/transfers/batch': everyRole,
  'POST /v1/clients': admin,
  'GET /v1/clients': admin,
  'DELETE /v1/clients/:id': admin,
  'POST /v1/recipients': admin,
  'PATCH /v1/recipients/:id': admin,
  'GET /v1/recipients': everyRole,
  'GET /v1/recipients/:id': adminOps,
  'POST /v1/contractors': admin,
  'POST /v1/contractors/:id/contracts': admin,
  'POST /v1/contractors/:id/inspections': admin,
  'GET /v1/contractors': adminOps,
  'GET /v1/contractors/:id': adminOps,
  'POST /v1/members/:memberId/consents': adminOps,
  'GET /v1/members/:memberId/consents': adminOps,
  'GET /v1/members/:memberId/consents/:consentId/receipt': adminOps,
  'POST /v1/members/:memberId/consents/:consentId/withdraw': adminOps,
  'POST /v1/members/:memberId/suspensions': adminOps,
  'DELETE /v1/members/:memberId/suspensions/:suspensionId': adminOps,
  'GET /v1/members/:memberId/provision-records': adminOps,
  'GET /v1/ledger': adminOps,
  'GET /v1/ledger/verify': adminOps,
  'GET /v1/ledger/checkpoints': adminOps,
  'GET /v1/ledger/checkpoints/latest': adminOps,
  'POST /v1/ledger/checkpoints': adminOps,
  'GET /v1/ledger/:entryId': adminOps
}

/** Routes a system client may call: checks and transfers, and the policy ("any role"). */
// A system client also reads the legal persons: it names them as jointUser and providerId.
const SYSTEM_ROUTES = new Set([
  'GET /v1/policy',
  'HEAD /v1/policy',
  'POST /v1/checks',
  'POST /v1/transfers',
  'POST /v1/transfers/batch',
  'GET /v1/entities',
  'HEAD /v1/entities',
  'GET /v1/recipients',
  'HEAD /v1/recipients',
  'GET /v1/entities/:id',
  'HEAD /v1/entities/:id'
])

t.test('every registered route declares its access, and the declaration matches the contract', async (t) => {
  const { test, routes } = await buildCollectingApp(t)
  t.ok(routes.length >= 30, `collected ${routes.length} routes from the app`)

  // A new route without a rule breaks the suite here (auth refuses it to everybody, but say so).
  for (const route of routes) {
    const access = accessOf(route)
    t.ok(access !== undefined, `${route.method} ${route.url} declares config.access`)
    if (access !== undefined && access !== 'public') {
      t.ok(Array.isArray(access.roles) && access.roles.length > 0, `${route.method} ${route.url} names at least one role`)
      for (const role of access.roles) t.ok(ROLES.includes(role), `${route.method} ${route.url}: ${role} is a known role`)
    }
  }

  const byKey = new Map(routes.map((r) => [`${r.method} ${r.url}`, r]))
  for (const [key, expected] of Object.entries(EXPECTED)) {
    // A prefix route such as /docs is registered as /docs/ and answers both.
    const route = byKey.get(key) ?? byKey.get(`${key}/`)
    t.ok(route, `${key} is registered`)
    if (route) t.equal(describeAccess(accessOf(route)), describeAccess(expected), `${key} access`)
  }

  // Rules of the contract that hold for every route, not just the listed ones.
  for (const route of routes) {
    const key = `${route.method} ${route.url}`
    const access = accessOf(route)
    if (access === undefined) continue
    if (!route.url.startsWith('/v1/')) {
      t.equal(access, 'public', `${key}: operational routes need no token`)
      continue
    }
    t.not(access, 'public', `${key}: every /v1 call needs a token`)
    if (access === 'public') continue
    t.ok(access.roles.includes('admin'), `${key}: admin may do everything`)
    if ((route.method === 'GET' || route.method === 'HEAD') && !route.url.startsWith('/v1/clients')) {
      t.ok(access.roles.includes('ops'), `${key}: ops may read everything`)
    }
    t.equal(
      access.roles.includes('system'),
      SYSTEM_ROUTES.has(key),
      `${key}: system only for checks, transfers, the policy, the legal persons and active recipients`
    )
  }

  // The OpenAPI document and the router agree: every documented operation exists, and every
  // /v1 route is documented.
  const doc = (await test.request({ method: 'GET', url: '/openapi.json', token: null })).json<{
    paths: Record<string, Record<string, { security?: unknown[] }>>
  }>()
  const documented = new Set<string>()
  for (const [path, operations] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      const key = `${method.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ':$1')}`
      documented.add(key)
      const route = byKey.get(key)
      t.ok(route, `documented ${key} is registered`)
      if (route) {
        const isPublic = accessOf(route) === 'public'
        t.equal(
          Array.isArray(operation.security) && operation.security.length === 0,
          isPublic,
          `${key}: the document asks for a token exactly when the route does`
        )
      }
    }
  }
  for (const route of routes) {
    if (route.url.startsWith('/v1/') && route.method !== 'HEAD')
      t.ok(documented.has(`${route.method} ${route.url}`), `${route.method} ${route.url} is documented`)
  }
})

t.test('role-by-route matrix: each caller on each route gets what its access says', async (t) => {
  const { test, routes } = await buildCollectingApp(t)
  const ops = await createClient(test, { name: 'matrix ops', role: 'ops' })
  const system = await createClient(test, { name: 'matrix system', role: 'system', channels: ['statutory_exception', 'third_party'], purposes: ['billing'] })
  const tokens: Record<Caller, string | null> = {
    none: null,
    wrong: `shz_${randomBytes(32).toString('base64url')}`,
    admin: ADMIN_TOKEN,
    ops: ops.token,
    system: system.token
  }

  // Real objects for the permitted calls to name: a recipient, a contractor, a consent, and an
  // allowed provision to that recipient (a ledger entry and a provision record).
  const recipientId = (await createRecipient(test, { name: 'Matrix Setup Bank' })).id
  const contractorId = (await createContractor(test, 'Matrix Setup Logistics')).id
  const consentId = (await grantConsent(test, MEMBER)).id
  const provision = await test.request({ method: 'POST', url: '/v1/transfers', payload: billing(MEMBER, recipientId) })
  t.equal(provision.statusCode, 201, 'setup: the provision is allowed')
  const world: World = { test, recipientId, contractorId, consentId, entryId: provision.json().entry.id }

  t.ok(routes.length > 0, 'there are routes to test')
  let combinations = 0
  for (const route of routes) {
    const access = accessOf(route)
    const key = `${route.method} ${route.url}`
    // A route without a rule is refused to everybody by auth; the matrix refuses it too.
    t.ok(access !== undefined, `${key} declares config.access`)
    for (const caller of CALLERS) {
      combinations += 1
      const call = await callFor(world, route.method, route.url)
      const permitted = access === 'public' || (access !== undefined && caller !== 'none' && caller !== 'wrong' && access.roles.includes(caller))
      if (permitted && call === undefined) {
        t.fail(`${key}: no valid request is known for this route; add one to CALLS so that its permitted callers are tested`)
        continue
      }
      const body = call ? call.payload : ['POST', 'PATCH', 'PUT'].includes(route.method) ? {} : undefined
      const res = await test.request({
        method: route.method as InjectOptions['method'],
        url: call ? call.url : fillPath(route.url),
        token: tokens[caller],
        ...(body === undefined ? {} : { payload: body })
      })
      const label = `${key} as ${caller}: ${res.statusCode}`
      t.ok(res.statusCode < 500, `${label} is not a 5xx`)
      if (permitted && call !== undefined) {
        // The permitted call succeeds: the status the route documents for it, and its body.
        t.equal(res.statusCode, call.status, `${label}: ${caller} gets ${call.status}${res.statusCode === call.status ? '' : ` (${res.body.slice(0, 300)})`}`)
        if (route.method !== 'HEAD' && res.statusCode === call.status) call.check?.(t, res, label)
        continue
      }
      if (caller === 'none' || caller === 'wrong') {
        t.equal(res.statusCode, 401, `${label}: without a valid token`)
        if (route.method !== 'HEAD') t.ok(isProblem(res), `${label} is problem+json`)
        continue
      }
      t.equal(res.statusCode, 403, `${label}: ${caller} is outside the route's roles`)
      if (route.method !== 'HEAD') {
        t.ok(isProblem(res), `${label} is problem+json`)
        t.equal(res.json().code, 'forbidden', `${label} code`)
      }
    }
  }
  t.ok(combinations >= routes.length * CALLERS.length, `${combinations} combinations tried`)

  // The operational routes, by the exact URLs the contract names, answer without a token.
  for (const url of ['/healthz', '/readyz', '/metrics', '/openapi.json', '/docs']) {
    const res = await test.request({ method: 'GET', url, token: null })
    t.equal(res.statusCode, 200, `GET ${url} without a token`)
  }

  // The in-scope bodies really were inside the scope: they were decided, not refused.
  for (const [caller, token] of [
    ['admin', ADMIN_TOKEN],
    ['ops', ops.token],
    ['system', system.token]
  ] as const) {
    const res = await test.request({ method: 'POST', url: '/v1/transfers', token, payload: exceptionRequest })
    t.equal(res.statusCode, 201, `${caller} records the statutory exception`)
  }
})

t.test('with CORS configured, every route still declares its access', async (t) => {
  // CORS_ORIGIN is a production setting; the routes it brings (the preflight answer) are routes too.
  const { test, routes } = await buildCollectingApp(t, { config: { corsOrigin: 'https://ops.example' } })
  for (const route of routes) t.ok(accessOf(route) !== undefined, `${route.method} ${route.url} declares config.access`)
  const preflight = await test.app.inject({
    method: 'OPTIONS',
    url: '/v1/checks',
    headers: { origin: 'https://ops.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' }
  })
  t.ok(preflight.statusCode < 300, `the preflight needs no token (${preflight.statusCode})`)
  const get = await test.request({ method: 'GET', url: '/v1/ledger', token: null, headers: { origin: 'https://ops.example' } })
  t.equal(get.statusCode, 401, 'CORS opens no /v1 route')
})

t.test('a revoked or malformed token is refused on every non-public route', async (t) => {
  const { test, routes } = await buildCollectingApp(t)
  const revoked = await createClient(test, { name: 'soon revoked', role: 'admin' })
  const del = await test.request({ method: 'DELETE', url: `/v1/clients/${revoked.id}` })
  t.equal(del.statusCode, 200, 'revoked')
  const variants: [string, Record<string, string>][] = [
    ['revoked token', { authorization: `Bearer ${revoked.token}` }],
    ['basic scheme', { authorization: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}` }],
    ['bare token', { authorization: ADMIN_TOKEN }],
    ['empty bearer', { authorization: 'Bearer ' }],
    ['token with a suffix', { authorization: `Bearer ${ADMIN_TOKEN}x` }],
    ['token in a query', {}]
  ]
  for (const route of routes) {
    if (accessOf(route) === 'public') continue
    for (const [name, headers] of variants) {
      const url = fillPath(route.url) + (name === 'token in a query' ? `?access_token=${ADMIN_TOKEN}` : '')
      const res = await test.request({ method: route.method as InjectOptions['method'], url, token: null, headers })
      t.equal(res.statusCode, 401, `${route.method} ${route.url} with ${name}`)
    }
  }
})
