import t from 'tap'
import { randomBytes, randomUUID } from 'node:crypto'
import { channel } from 'node:diagnostics_channel'
import type { FastifyInstance, HTTPMethods, RouteOptions } from 'fastify'
import { consentBody, contractBody, inspectionBody, isProblem, recipientBody, statutoryException } from '../fixtures.js'
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
  return (route.options.config as { access?: Access } | undefined)?.access
}

function describeAccess(access: Access | undefined): string {
  if (access === undefined) return 'undefined'
  return access === 'public' ? 'public' : [...access.roles].sort().join('+')
}

/** A valid-looking value for a path parameter, by its name. */
function fillPath(url: string): string {
  return url
    .replace(/:memberId\b/g, 'M-000001')
    .replace(/:([A-Za-z0-9_]+)/g, () => randomUUID())
    .replace(/\*/g, 'index.css')
}

const exceptionRequest = statutoryException('M-000001')

/**
 * Bodies that pass validation for the routes that take one, so that a permitted caller reaches
 * the handler. Checks and transfers use a statutory exception for billing: inside the scope of
 * ops (which may record only statutory exceptions) and of the system client below.
 */
const BODIES: Record<string, unknown> = {
  'POST /v1/clients': { name: 'matrix client', role: 'system', channels: ['joint_use'] },
  'POST /v1/recipients': recipientBody({ name: 'Matrix Bank' }),
  'PATCH /v1/recipients/:id': { active: false },
  'POST /v1/contractors': { name: 'Matrix Logistics', address: '2-2 Minato, Tokyo' },
  'POST /v1/contractors/:id/contracts': contractBody(),
  'POST /v1/contractors/:id/inspections': inspectionBody(),
  'POST /v1/members/:memberId/consents': consentBody(),
  'POST /v1/members/:memberId/consents/:consentId/withdraw': { reason: 'asked' },
  'POST /v1/members/:memberId/suspensions': { reason: 'member asked', requestedAt: daysFrom(-1) },
  'POST /v1/checks': exceptionRequest,
  'POST /v1/transfers': exceptionRequest,
  'POST /v1/transfers/batch': { items: [exceptionRequest] }
}

/** The access the contract ("Clients and roles", "Operations") gives each of its routes. */
const admin = { roles: ['admin'] } as const
const adminOps = { roles: ['admin', 'ops'] } as const
const everyRole = { roles: ['admin', 'ops', 'system'] } as const
const EXPECTED: Record<string, Access> = {
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
  'GET /v1/recipients': adminOps,
  'GET /v1/recipients/:id': adminOps,
  'POST /v1/contractors': admin,
  'POST /v1/contractors/:id/contracts': admin,
  'POST /v1/contractors/:id/inspections': admin,
  'GET /v1/contractors': adminOps,
  'GET /v1/contractors/:id': adminOps,
  'POST /v1/members/:memberId/consents': adminOps,
  'GET /v1/members/:memberId/consents': adminOps,
  'POST /v1/members/:memberId/consents/:consentId/withdraw': adminOps,
  'POST /v1/members/:memberId/suspensions': adminOps,
  'DELETE /v1/members/:memberId/suspensions/:suspensionId': adminOps,
  'GET /v1/members/:memberId/provision-records': adminOps,
  'GET /v1/ledger': adminOps,
  'GET /v1/ledger/verify': adminOps,
  'GET /v1/ledger/:entryId': adminOps
}

/** Routes a system client may call: checks and transfers, and the policy ("any role"). */
const SYSTEM_ROUTES = new Set(['GET /v1/policy', 'HEAD /v1/policy', 'POST /v1/checks', 'POST /v1/transfers', 'POST /v1/transfers/batch'])

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
    t.equal(access.roles.includes('system'), SYSTEM_ROUTES.has(key), `${key}: system only for checks, transfers and the policy`)
  }

  // The OpenAPI document and the router agree: every documented operation exists, and every
  // /v1 route is documented.
  const doc = (await test.request({ method: 'GET', url: '/openapi.json', token: null })).json() as {
    paths: Record<string, Record<string, { security?: unknown[] }>>
  }
  const documented = new Set<string>()
  for (const [path, operations] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      const key = `${method.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ':$1')}`
      documented.add(key)
      const route = byKey.get(key)
      t.ok(route, `documented ${key} is registered`)
      if (route) {
        const isPublic = accessOf(route) === 'public'
        t.equal(Array.isArray(operation.security) && operation.security.length === 0, isPublic, `${key}: the document asks for a token exactly when the route does`)
      }
    }
  }
  for (const route of routes) {
    if (route.url.startsWith('/v1/') && route.method !== 'HEAD') t.ok(documented.has(`${route.method} ${route.url}`), `${route.method} ${route.url} is documented`)
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

  t.ok(routes.length > 0, 'there are routes to test')
  let combinations = 0
  for (const route of routes) {
    const access = accessOf(route)
    const key = `${route.method} ${route.url}`
    const body = BODIES[`${route.method} ${route.url}`] ?? (['POST', 'PATCH', 'PUT'].includes(route.method) ? {} : undefined)
    for (const caller of CALLERS) {
      combinations += 1
      const res = await test.request({
        method: route.method as HTTPMethods,
        url: fillPath(route.url),
        token: tokens[caller],
        ...(body === undefined ? {} : { payload: body as object })
      })
      const label = `${key} as ${caller}: ${res.statusCode}`
      t.ok(res.statusCode < 500, `${label} is not a 5xx`)
      if (access === 'public') {
        t.not(res.statusCode, 401, `${label}: public needs no token`)
        t.not(res.statusCode, 403, `${label}: public is open to all`)
        continue
      }
      if (caller === 'none' || caller === 'wrong') {
        t.equal(res.statusCode, 401, `${label}: without a valid token`)
        if (route.method !== 'HEAD') t.ok(isProblem(res), `${label} is problem+json`)
        continue
      }
      const allowed = access !== undefined && access.roles.includes(caller)
      if (allowed) {
        t.not(res.statusCode, 401, `${label}: the token is valid`)
        // A transfer that is denied on its merits answers 403 with a Decision; a refusal of the
        // caller would be a 403 problem (forbidden or client_scope).
        t.notOk(res.statusCode === 403 && isProblem(res), `${label}: ${caller} may call it (${res.statusCode === 403 ? res.body : ''})`)
      } else {
        t.equal(res.statusCode, 403, `${label}: ${caller} is outside the route's roles`)
        if (route.method !== 'HEAD') {
          t.ok(isProblem(res), `${label} is problem+json`)
          t.equal(res.json().code, 'forbidden', `${label} code`)
        }
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
  for (const [caller, token] of [['admin', ADMIN_TOKEN], ['ops', ops.token], ['system', system.token]] as const) {
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
      const res = await test.request({ method: route.method as HTTPMethods, url, token: null, headers })
      t.equal(res.statusCode, 401, `${route.method} ${route.url} with ${name}`)
    }
  }
})
