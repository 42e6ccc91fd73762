import t from 'tap'
import { randomUUID } from 'node:crypto'
import type { InjectOptions, LightMyRequestResponse } from 'fastify'
import { billing, consentBody, countEntries, isProblem, jointUse, recipientBody } from '../fixtures.js'
import { ADMIN_TOKEN, buildTestApp, daysFrom, type TestApp } from '../helper.js'

const validCheck = jointUse('M-000001')

async function post(test: TestApp, url: string, contentType: string, payload: string | Buffer, token: string | null = ADMIN_TOKEN) {
  return test.request({ method: 'POST', url, token, headers: { 'content-type': contentType }, payload })
}

t.test('hostile bodies are refused with problem+json and leave nothing behind', async (t) => {
  const test = await buildTestApp(t)

  // Sanity: the valid body passes, so each refusal below is about what was changed.
  const ok = await post(test, '/v1/checks', 'application/json', JSON.stringify(validCheck))
  t.equal(ok.statusCode, 200, 'the valid check passes')

  // Over 1 MiB.
  const huge = JSON.stringify({ ...validCheck, padding: 'x'.repeat(1024 * 1024) })
  for (const url of ['/v1/checks', '/v1/transfers', '/v1/recipients']) {
    const res = await post(test, url, 'application/json', huge)
    t.equal(res.statusCode, 413, `${url}: a body over 1 MiB is 413`)
    t.ok(isProblem(res), `${url}: 413 is problem+json`)
    t.equal(res.json().status, 413, `${url}: status member`)
  }
  const justUnder = await post(test, '/v1/checks', 'application/json', JSON.stringify({ ...validCheck, padding: 'x'.repeat(1000 * 1000) }))
  t.equal(justUnder.statusCode, 400, 'a body under the limit is read (and refused for its unknown field)')

  // Unknown properties, at the top and nested.
  const unknowns: [string, string, unknown][] = [
    ['/v1/checks', 'top-level', { ...validCheck, extra: 1 }],
    ['/v1/transfers', 'top-level', { ...validCheck, isAdmin: true }],
    [
      '/v1/checks',
      'nested in exception',
      {
        ...validCheck,
        channel: 'statutory_exception',
        jointUser: undefined,
        exception: { basis: 'legal_obligation', reference: 'r', approvedBy: 'a', extra: 'x' }
      }
    ],
    ['/v1/transfers/batch', 'in a batch', { items: [validCheck], extra: true }],
    ['/v1/transfers/batch', 'in a batch item', { items: [{ ...validCheck, extra: true }] }],
    ['/v1/recipients', 'top-level', { category: 'insurer', name: 'n', address: 'a', representative: 'r', active: false, id: randomUUID() }],
    ['/v1/clients', 'top-level', { name: 'x', role: 'admin', token: 'chosen-by-me-0123456789' }],
    [
      '/v1/members/M-000001/consents',
      'top-level',
      { recipientCategory: 'insurer', obtainedAt: daysFrom(-1), method: 'paper', evidenceRef: 'e', withdrawnAt: daysFrom(-1) }
    ]
  ]
  for (const [url, where, body] of unknowns) {
    const res = await post(test, url, 'application/json', JSON.stringify(body))
    t.equal(res.statusCode, 400, `${url}: an unknown property (${where}) is 400`)
    t.ok(isProblem(res), `${url}: problem+json`)
    t.ok(Array.isArray(res.json().errors), `${url}: names the errors`)
  }

  // Prototype pollution attempts.
  const pollutions: [string, string][] = [
    ['__proto__ at the top', `{"__proto__": {"polluted": true}, ${JSON.stringify(validCheck).slice(1)}`],
    ['__proto__ nested', `{"exception": {"__proto__": {"polluted": true}}, ${JSON.stringify(validCheck).slice(1)}`],
    ['__proto__ in an array item', `{"items": [{"__proto__": {"polluted": true}, ${JSON.stringify(validCheck).slice(1)}]}`],
    ['constructor.prototype at the top', `{"constructor": {"prototype": {"polluted": true}}, ${JSON.stringify(validCheck).slice(1)}`],
    [
      'constructor.prototype nested',
      `{"dataItems": ["name"], "exception": {"constructor": {"prototype": {"polluted": true}}}, "channel": "statutory_exception", "memberId": "M-1", "purpose": "billing", "serviceCategory": "housing"}`
    ]
  ]
  for (const url of ['/v1/checks', '/v1/transfers', '/v1/transfers/batch', '/v1/recipients']) {
    for (const [what, payload] of pollutions) {
      const res = await post(test, url, 'application/json', payload)
      t.ok(res.statusCode === 400 || res.statusCode === 200 || res.statusCode === 201, `${url} ${what}: refused or harmless (${res.statusCode})`)
      if (res.statusCode === 400) t.ok(isProblem(res), `${url} ${what}: 400 is problem+json`)
      t.equal(({} as Record<string, unknown>).polluted, undefined, `${url} ${what}: Object.prototype is untouched`)
      t.notOk(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'), `${url} ${what}: no polluted own property`)
    }
  }

  // Malformed JSON.
  const malformed = ['{"channel": ', '{channel: "joint_use"}', "{'a': 1}", '[1, 2', '{"a": 1}}', 'nul', '\u0000', '{"a": "\\x"}']
  for (const payload of malformed) {
    const res = await post(test, '/v1/checks', 'application/json', payload)
    t.equal(res.statusCode, 400, `malformed JSON ${JSON.stringify(payload)} is 400`)
    t.ok(isProblem(res), 'as problem+json')
    if (payload.length > 3) t.notOk(res.body.includes(payload), 'the problem does not echo the body')
  }
  const empty = await post(test, '/v1/checks', 'application/json', '')
  t.equal(empty.statusCode, 400, 'an empty JSON body is 400')
  t.ok(isProblem(empty))

  // Not JSON at all.
  for (const contentType of [
    'text/plain',
    'text/plain; charset=utf-8',
    'application/x-www-form-urlencoded',
    'application/xml',
    'multipart/form-data; boundary=x'
  ]) {
    for (const url of ['/v1/checks', '/v1/transfers', '/v1/recipients']) {
      const res = await post(test, url, contentType, JSON.stringify(validCheck))
      t.equal(res.statusCode, 415, `${url} with ${contentType} is 415`)
      t.ok(isProblem(res), `${url} with ${contentType}: problem+json`)
    }
  }

  // None of this reached the ledger or the registries.
  t.equal(await countEntries(test), 0, 'no ledger entry was written')
  const recipients = await test.database.db
    .selectFrom('recipients')
    .select((eb) => eb.fn.countAll<string | number>().as('n'))
    .executeTakeFirstOrThrow()
  t.equal(Number(recipients.n), 0, 'no recipient was registered')
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype is untouched at the end')
})

t.test('X-Request-Id: a safe id is echoed, an unsafe one replaced', async (t) => {
  const test = await buildTestApp(t)
  const safe = ['abc-123', 'req_9.Z:1', 'a'.repeat(128), randomUUID()]
  for (const id of safe) {
    for (const options of [
      { method: 'GET', url: '/healthz', token: null },
      { method: 'GET', url: '/v1/policy', token: null },
      { method: 'POST', url: '/v1/checks', payload: { bad: true } }
    ] as (InjectOptions & { token?: string | null })[]) {
      const res = await test.request({ ...options, headers: { 'x-request-id': id } })
      t.equal(res.headers['x-request-id'], id, `${JSON.stringify(options.url)} (${res.statusCode}) echoes ${id.slice(0, 20)}`)
      if (isProblem(res)) t.equal(res.json().instance, id, 'the problem names the same request')
    }
  }
  const unsafe = ['has spaces', 'a'.repeat(300), 'a'.repeat(129), '<script>alert(1)</script>', 'id;rm -rf', '../../etc/passwd', 'ok\tid', 'é-unicode', '']
  const seen = new Set<string>()
  for (const id of unsafe) {
    const res = await test.request({ method: 'GET', url: '/healthz', token: null, headers: { 'x-request-id': id } })
    const echoed = String(res.headers['x-request-id'] ?? '')
    t.not(echoed, id, `${JSON.stringify(id.slice(0, 30))} is not echoed`)
    t.match(echoed, /^[A-Za-z0-9._:-]{1,128}$/, 'a safe id is generated instead')
    t.notOk(seen.has(echoed), 'each generated id is new')
    seen.add(echoed)
  }
  const none = await test.request({ method: 'GET', url: '/healthz', token: null })
  t.match(String(none.headers['x-request-id']), /^[A-Za-z0-9._:-]{8,128}$/, 'a request without an id gets one')
})

t.test('security headers on every kind of response', async (t) => {
  const test = await buildTestApp(t)
  const responses: [string, LightMyRequestResponse][] = [
    ['200 probe', await test.request({ method: 'GET', url: '/healthz', token: null })],
    ['200 api', await test.request({ method: 'GET', url: '/v1/policy' })],
    ['401', await test.request({ method: 'GET', url: '/v1/policy', token: null })],
    ['400', await test.request({ method: 'POST', url: '/v1/checks', payload: {} })],
    ['404 unmatched', await test.request({ method: 'GET', url: '/nope', token: null })],
    ['metrics', await test.request({ method: 'GET', url: '/metrics', token: null })]
  ]
  for (const [what, res] of responses) {
    t.equal(res.headers['x-content-type-options'], 'nosniff', `${what}: nosniff`)
    t.type(res.headers['content-security-policy'], 'string', `${what}: a content security policy`)
    t.match(String(res.headers['content-security-policy']), /default-src 'none'/, `${what}: default-src 'none'`)
    t.equal(res.headers['x-powered-by'], undefined, `${what}: no x-powered-by`)
    t.equal(res.headers['access-control-allow-origin'], undefined, `${what}: no CORS by default`)
  }
  t.match(String(responses[1]![1].headers['cache-control']), /no-store/, 'API answers are not cached')
})

t.test('CORS: off by default, on for the configured origin only', async (t) => {
  const preflight = (origin: string): InjectOptions => ({
    method: 'OPTIONS',
    url: '/v1/checks',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' }
  })

  const closed = await buildTestApp(t)
  const pre = await closed.app.inject(preflight('https://ops.example'))
  t.equal(pre.headers['access-control-allow-origin'], undefined, 'no preflight is allowed by default')
  t.ok(pre.statusCode >= 400 && pre.statusCode < 500, `the preflight is refused (${pre.statusCode})`)
  t.ok(isProblem(pre), 'as problem+json')
  const get = await closed.request({ method: 'GET', url: '/v1/policy', headers: { origin: 'https://ops.example' } })
  t.equal(get.statusCode, 200)
  t.equal(get.headers['access-control-allow-origin'], undefined, 'no access-control-allow-origin by default')

  const open = await buildTestApp(t, { config: { corsOrigin: 'https://ops.example' } })
  const allowed = await open.app.inject(preflight('https://ops.example'))
  t.ok(allowed.statusCode === 204 || allowed.statusCode === 200, `the preflight from the configured origin is answered (${allowed.statusCode})`)
  t.equal(allowed.headers['access-control-allow-origin'], 'https://ops.example', 'and allowed')
  t.match(String(allowed.headers['access-control-allow-methods']), /POST/, 'POST is allowed')
  t.match(String(allowed.headers['access-control-allow-headers'] ?? 'authorization'), /authorization/i, 'the Authorization header is allowed')
  const actual = await open.request({ method: 'GET', url: '/v1/policy', headers: { origin: 'https://ops.example' } })
  t.equal(actual.headers['access-control-allow-origin'], 'https://ops.example', 'the actual request is allowed')
  const foreign = await open.app.inject(preflight('https://evil.example'))
  t.not(foreign.headers['access-control-allow-origin'], 'https://evil.example', 'another origin is not allowed')
  t.not(foreign.headers['access-control-allow-origin'], '*', 'nor any origin')
  const foreignGet = await open.request({ method: 'GET', url: '/v1/policy', headers: { origin: 'https://evil.example' } })
  t.equal(foreignGet.headers['access-control-allow-origin'], undefined, 'no CORS header for another origin')
  const unauth = await open.request({ method: 'GET', url: '/v1/policy', token: null, headers: { origin: 'https://ops.example' } })
  t.equal(unauth.statusCode, 401, 'CORS does not bypass authentication')
  // An OPTIONS request that is not a preflight is an error like any other: problem+json.
  const bare = await open.app.inject({ method: 'OPTIONS', url: '/v1/checks' })
  t.ok(bare.statusCode < 500, `a bare OPTIONS is not a 5xx (${bare.statusCode})`)
  if (bare.statusCode >= 400) t.ok(isProblem(bare), `a bare OPTIONS error is problem+json (got ${String(bare.headers['content-type'])}: ${bare.body})`)
})

t.test('the log carries no token and no member id, and one line per request by route pattern', async (t) => {
  const lines: string[] = []
  const logStream = { write: (line: string) => void lines.push(line) }
  const test = await buildTestApp(t, { logStream })
  const members = Array.from({ length: 14 }, (_, i) => `MLOGX${String(i + 1).padStart(4, '0')}Q`)
  const m = (i: number) => members[i]!
  const requestIds: string[] = []
  const send = async (options: InjectOptions & { token?: string | null }) => {
    const res = await test.request(options)
    requestIds.push(String(res.headers['x-request-id']))
    return res
  }

  const system = (await send({ method: 'POST', url: '/v1/clients', payload: { name: 'log system', role: 'system' } })).json<{ id: string; token: string }>()
  const scoped = (await send({ method: 'POST', url: '/v1/clients', payload: { name: 'log scoped', role: 'system', channels: ['third_party'] } })).json<{
    token: string
  }>()
  const recipient = (await send({ method: 'POST', url: '/v1/recipients', payload: recipientBody({ name: 'Log Bank' }) })).json<{ id: string }>()
  const consent = await send({
    method: 'POST',
    url: `/v1/members/${m(0)}/consents`,
    payload: consentBody({ recipientId: recipient.id, method: 'web', evidenceRef: `form for ${m(0)}` })
  })
  t.equal(consent.statusCode, 201, 'consent recorded')
  const transfer = (memberId: string) => ({ ...billing(memberId, recipient.id), dataItems: ['name', 'bank_account'] })
  const expectations: [string, InjectOptions & { token?: string | null }, number][] = [
    ['list consents', { method: 'GET', url: `/v1/members/${m(0)}/consents` }, 200],
    [
      'allowed transfer',
      { method: 'POST', url: '/v1/transfers', token: system.token, payload: transfer(m(0)), headers: { 'idempotency-key': `key-${m(0)}` } },
      201
    ],
    ['denied transfer', { method: 'POST', url: '/v1/transfers', token: system.token, payload: transfer(m(1)) }, 403],
    ['invalid transfer', { method: 'POST', url: '/v1/transfers', token: system.token, payload: { ...transfer(m(2)), extra: m(2) } }, 400],
    ['provision records', { method: 'GET', url: `/v1/members/${m(0)}/provision-records` }, 200],
    ['provision records csv', { method: 'GET', url: `/v1/members/${m(0)}/provision-records?format=csv` }, 200],
    ['ledger query', { method: 'GET', url: `/v1/ledger?memberId=${m(3)}` }, 200],
    ['malformed json', { method: 'POST', url: '/v1/checks', headers: { 'content-type': 'application/json' }, payload: `{"memberId": "${m(4)}", ` }, 400],
    ['unmatched url', { method: 'GET', url: `/v1/members/${m(5)}/nothing-here` }, 404],
    [
      'wrong token',
      {
        method: 'POST',
        url: `/v1/members/${m(6)}/suspensions`,
        token: 'shz_wrong-token-for-the-log-test',
        payload: { reason: 'r', requestedAt: daysFrom(-1) }
      },
      401
    ],
    ['role refused', { method: 'GET', url: `/v1/members/${m(7)}/consents`, token: system.token }, 403],
    ['unknown consent', { method: 'POST', url: `/v1/members/${m(8)}/consents/${randomUUID()}/withdraw`, payload: {} }, 404],
    ['bad member id', { method: 'GET', url: `/v1/members/${m(9)}!/consents` }, 400],
    ['out of scope', { method: 'POST', url: '/v1/checks', token: scoped.token, payload: { ...validCheck, memberId: m(10) } }, 403],
    ['batch', { method: 'POST', url: '/v1/transfers/batch', token: system.token, payload: { items: [transfer(m(11)), transfer(m(0))] } }, 200],
    ['suspension', { method: 'POST', url: `/v1/members/${m(12)}/suspensions`, payload: { reason: `asked by ${m(12)}`, requestedAt: daysFrom(-1) } }, 201],
    ['token in the query string', { method: 'GET', url: `/v1/policy?access_token=${ADMIN_TOKEN}&memberId=${m(13)}` }, 200],
    ['check in query and body', { method: 'POST', url: `/v1/checks?memberId=${m(13)}`, payload: { ...validCheck, memberId: m(13) } }, 200]
  ]
  for (const [what, options, status] of expectations) {
    const res = await send(options)
    t.equal(res.statusCode, status, `${what}: ${res.statusCode}`)
  }
  await new Promise((resolve) => setImmediate(resolve))

  const secrets = [ADMIN_TOKEN, system.token, scoped.token, 'shz_wrong-token-for-the-log-test', ...members]
  t.ok(lines.length > 0, `${lines.length} log lines captured`)
  for (const line of lines) {
    for (const secret of secrets) {
      if (line.includes(secret)) t.fail(`a log line contains ${secret.startsWith('MLOG') ? `member id ${secret}` : 'a token'}: ${line.slice(0, 300)}`)
    }
  }
  t.pass('checked every line for every secret')

  const parsed = lines.map((line) => JSON.parse(line) as { msg?: string; route?: unknown; reqId?: string; level: number; statusCode?: number })
  t.equal(parsed.filter((l) => l.level >= 50).length, 0, 'no error was logged (nothing here is a 5xx)')
  const completed = parsed.filter((l) => l.msg === 'request completed')
  t.equal(completed.length, requestIds.length, `one 'request completed' line per request (${requestIds.length})`)
  for (const id of requestIds) {
    const forRequest = completed.filter((l) => l.reqId === id)
    t.equal(forRequest.length, 1, `request ${id} has exactly one completion line`)
    const route = forRequest[0]?.route
    t.type(route, 'string', 'with a route')
    t.ok(route === 'unmatched' || (typeof route === 'string' && route.startsWith('/') && !route.includes('MLOG')), `route ${String(route)} is a pattern`)
  }
  const routes = new Set(completed.map((l) => l.route))
  for (const pattern of ['/v1/members/:memberId/consents', '/v1/members/:memberId/provision-records', '/v1/transfers', '/v1/ledger', 'unmatched']) {
    t.ok(routes.has(pattern), `a line names the route pattern ${pattern}`)
  }
})
