import t from 'tap'
import { randomBytes } from 'node:crypto'
import { isProblem } from '../fixtures.js'
import { buildTestApp, createClient } from '../helper.js'

/**
 * Issue 27, item 6: a 401 says why the token was refused (missing, malformed, unknown, revoked,
 * expired) in its body and in an RFC 6750 WWW-Authenticate challenge, so that a caller can tell
 * a typo in its configuration from a token an admin took back.
 */

const REALM = 'Bearer realm="shizenha"'

t.test('every kind of refused token: its tokenStatus, detail and challenge', async (t) => {
  let now = new Date('2026-12-07T00:00:00Z')
  const test = await buildTestApp(t, { now: () => now })
  const revoked = await createClient(test, { role: 'ops' })
  const deleted = await test.request({ method: 'DELETE', url: `/v1/clients/${revoked.id}` })
  t.equal(deleted.statusCode, 200, 'the admin revokes a client')
  const expiring = await test.request({
    method: 'POST',
    url: '/v1/clients',
    payload: { name: 'temporary', role: 'ops', expiresAt: '2026-12-07T10:00:00Z' }
  })
  t.equal(expiring.statusCode, 201)
  const expiringToken = expiring.json<{ token: string }>().token
  t.equal((await test.request({ method: 'GET', url: '/v1/policy', token: expiringToken })).statusCode, 200, 'valid before its expiry')
  now = new Date('2026-12-07T10:00:00Z')
  const neverIssued = randomBytes(32).toString('base64url')

  const cases: { name: string; authorization: string | undefined; status: string; challenge: RegExp }[] = [
    { name: 'no Authorization header', authorization: undefined, status: 'missing', challenge: /^Bearer realm="shizenha"$/ },
    { name: 'an empty header', authorization: '', status: 'missing', challenge: /^Bearer realm="shizenha"$/ },
    { name: 'another scheme', authorization: `Basic ${Buffer.from('a:b').toString('base64')}`, status: 'malformed', challenge: /error="invalid_request"/ },
    { name: 'two tokens', authorization: 'Bearer abc def', status: 'malformed', challenge: /error="invalid_request"/ },
    { name: 'a character no token has', authorization: 'Bearer abc"def', status: 'malformed', challenge: /error="invalid_request"/ },
    { name: 'a token never issued', authorization: `Bearer ${neverIssued}`, status: 'unknown', challenge: /error="invalid_token"/ },
    {
      name: 'a revoked token',
      authorization: `Bearer ${revoked.token}`,
      status: 'revoked',
      challenge: /error="invalid_token", error_description="[^"]*revoked/
    },
    {
      name: 'an expired token',
      authorization: `Bearer ${expiringToken}`,
      status: 'expired',
      challenge: /error="invalid_token", error_description="[^"]*expired/
    }
  ]
  for (const c of cases) {
    for (const url of ['/v1/policy', '/v1/no-such-route']) {
      const res = await test.request({ method: 'GET', url, token: null, headers: c.authorization === undefined ? {} : { authorization: c.authorization } })
      t.equal(res.statusCode, 401, `${c.name} on ${url}: 401`)
      t.ok(isProblem(res), 'a problem+json body')
      const body = res.json<{ code: string; tokenStatus: string; detail: string }>()
      t.equal(body.code, 'unauthorized')
      t.equal(body.tokenStatus, c.status, `${c.name}: tokenStatus ${c.status}`)
      const challenge = res.headers['www-authenticate']
      t.type(challenge, 'string', 'a WWW-Authenticate challenge')
      t.ok(String(challenge).startsWith(REALM), 'for the service’s bearer realm')
      t.match(String(challenge), c.challenge)
      if (c.status === 'missing') t.notMatch(String(challenge), /error=/, 'no error code without credentials (RFC 6750 §3.1)')
      t.notMatch(res.body + String(challenge), /Bearer [A-Za-z0-9._~+/=-]{16,}/, 'the token is never echoed back')
      if (c.authorization?.startsWith('Bearer ') && c.status !== 'malformed') {
        t.notOk(res.body.includes(c.authorization.slice(7)), 'nor is any part of it')
      }
    }
  }
  const details = new Set(cases.map((c) => c.status))
  t.equal(details.size, 5, 'the table reaches all five statuses')
})

t.test('a valid token is not slowed or changed: no challenge on its answers', async (t) => {
  const test = await buildTestApp(t)
  const ops = await createClient(test, { role: 'ops' })
  const res = await test.request({ method: 'GET', url: '/v1/policy', token: ops.token })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['www-authenticate'], undefined)
  const forbidden = await test.request({ method: 'GET', url: '/v1/clients', token: ops.token })
  t.equal(forbidden.statusCode, 403, 'a role refusal is a 403, not a challenge')
  t.equal(forbidden.headers['www-authenticate'], undefined)
})
