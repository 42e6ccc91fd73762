import t from 'tap'
import { BOOTSTRAP_ADMIN_ID } from '../../src/clients/repository.js'
import { isProblem, jointUse, statutoryException } from '../fixtures.js'
import { ADMIN_TOKEN, buildTestApp, createClient, openTestDatabase, type TestApp } from '../helper.js'

interface ListedClient {
  id: string
  name: string
  role: string
  revokedAt: string | null
}

async function listClients(test: TestApp, token: string): Promise<ListedClient[]> {
  const res = await test.request({ method: 'GET', url: '/v1/clients', token })
  if (res.statusCode !== 200) throw new Error(`listing clients failed: ${res.statusCode} ${res.body}`)
  return res.json<{ clients: ListedClient[] }>().clients
}

function capture(): { lines: string[]; logStream: { write: (line: string) => void } } {
  const lines: string[] = []
  return { lines, logStream: { write: (line: string) => void lines.push(line) } }
}

t.test('a revoked bootstrap admin stays revoked; only a new BOOTSTRAP_ADMIN_TOKEN makes a new admin', async (t) => {
  const { database } = await openTestDatabase(t)
  t.teardown(() => database.close())
  const secondToken = 'second-bootstrap-token-0123456789'
  const thirdToken = 'third-bootstrap-token-0123456789a'

  const first = await buildTestApp(t, { database })
  const keeper = await createClient(first, { name: 'keeper admin', role: 'admin' })
  const revoked = await first.request({ method: 'DELETE', url: `/v1/clients/${BOOTSTRAP_ADMIN_ID}` })
  t.equal(revoked.statusCode, 200, 'the bootstrap admin is revoked')
  const revokedAt = revoked.json().revokedAt as string
  t.equal((await first.request({ method: 'GET', url: '/v1/policy' })).statusCode, 401, 'its token is refused at once')

  // A restart with the same environment.
  const sameLog = capture()
  const same = await buildTestApp(t, { database, logStream: sameLog.logStream })
  t.equal((await same.request({ method: 'GET', url: '/v1/policy' })).statusCode, 401, 'after a restart with the same token it is still refused')
  let listed = await listClients(same, keeper.token)
  const original = listed.find((c) => c.id === BOOTSTRAP_ADMIN_ID)
  t.equal(original?.revokedAt, revokedAt, 'the record stays revoked, with its revocation time, and is listed')
  t.equal(listed.filter((c) => c.name === 'bootstrap admin').length, 1, 'no new admin was made from the revoked token')
  const warnings = sameLog.lines.map((line) => JSON.parse(line) as { level: number; msg: string; clientId?: string }).filter((l) => l.level === 40)
  t.ok(
    warnings.some((l) => l.msg.includes('BOOTSTRAP_ADMIN_TOKEN') && l.msg.includes('revoked') && l.clientId === BOOTSTRAP_ADMIN_ID),
    `a warning says the configured token is revoked (${JSON.stringify(warnings)})`
  )
  t.notOk(
    sameLog.lines.some((line) => line.includes(ADMIN_TOKEN)),
    'the log does not carry the token'
  )

  // A start with another token makes a new admin; the revoked record stays as it was.
  const rotated = await buildTestApp(t, { database, config: { bootstrapAdminToken: secondToken } })
  t.equal((await rotated.request({ method: 'GET', url: '/v1/clients', token: secondToken })).statusCode, 200, 'the new token is an admin')
  t.equal((await rotated.request({ method: 'GET', url: '/v1/policy', token: ADMIN_TOKEN })).statusCode, 401, 'the revoked token stays refused')
  listed = await listClients(rotated, secondToken)
  t.equal(listed.find((c) => c.id === BOOTSTRAP_ADMIN_ID)?.revokedAt, revokedAt, 'the revoked record is unchanged')
  const second = listed.find((c) => c.name === 'bootstrap admin' && c.revokedAt === null)
  t.ok(second, 'a new bootstrap admin is listed')
  t.not(second?.id, BOOTSTRAP_ADMIN_ID, 'under a new id')
  t.equal(second?.role, 'admin')

  // The same new token again: the same admin, nothing new.
  const again = await buildTestApp(t, { database, config: { bootstrapAdminToken: secondToken } })
  t.equal((await again.request({ method: 'GET', url: '/v1/policy', token: secondToken })).statusCode, 200, 'a restart keeps it working')
  t.same(
    (await listClients(again, secondToken)).map((c) => [c.id, c.revokedAt]),
    listed.map((c) => [c.id, c.revokedAt]),
    'and changes no client record'
  )

  // Rotating while the bootstrap admin is active: the old token stops working, and stays listed.
  const third = await buildTestApp(t, { database, config: { bootstrapAdminToken: thirdToken } })
  t.equal((await third.request({ method: 'GET', url: '/v1/policy', token: thirdToken })).statusCode, 200, 'the third token works')
  t.equal((await third.request({ method: 'GET', url: '/v1/policy', token: secondToken })).statusCode, 401, 'the token it replaced does not')
  listed = await listClients(third, thirdToken)
  t.type(listed.find((c) => c.id === second?.id)?.revokedAt, 'string', 'the replaced admin is listed as revoked')
  t.equal(listed.filter((c) => c.name === 'bootstrap admin' && c.revokedAt === null).length, 1, 'one bootstrap admin is active')
  t.equal((await third.request({ method: 'GET', url: '/v1/policy', token: keeper.token })).statusCode, 200, 'other admins are untouched')

  // Going back to a replaced token does not revive it, and leaves the current one alone.
  const backLog = capture()
  const back = await buildTestApp(t, { database, config: { bootstrapAdminToken: secondToken }, logStream: backLog.logStream })
  t.equal((await back.request({ method: 'GET', url: '/v1/policy', token: secondToken })).statusCode, 401, 'a replaced token stays revoked')
  t.equal((await back.request({ method: 'GET', url: '/v1/policy', token: thirdToken })).statusCode, 200, 'the current admin keeps working')
  t.ok(
    backLog.lines.some((line) => (JSON.parse(line) as { level: number }).level === 40 && line.includes('revoked')),
    'with a warning'
  )

  // A start without the variable leaves everything as it was.
  const without = await buildTestApp(t, { database, config: { bootstrapAdminToken: undefined } })
  t.equal((await without.request({ method: 'GET', url: '/v1/policy', token: thirdToken })).statusCode, 200, 'a start without a token changes nothing')
})

t.test('a system client may use statutory_exception only when its channels name it', async (t) => {
  const test = await buildTestApp(t)
  const unscoped = await createClient(test, { name: 'no channels', role: 'system' })
  const named = await createClient(test, { name: 'statutory desk system', role: 'system', channels: ['statutory_exception'] })
  const other = await createClient(test, { name: 'joint use system', role: 'system', channels: ['joint_use', 'third_party'] })

  for (const url of ['/v1/transfers', '/v1/checks']) {
    const res = await test.request({ method: 'POST', url, token: unscoped.token, payload: statutoryException('M-500001') })
    t.equal(res.statusCode, 403, `${url}: a system client without channels may not use statutory_exception`)
    t.ok(isProblem(res), `${url}: problem+json`)
    t.equal(res.json().code, 'client_scope', `${url}: client_scope`)
    t.type(res.json().entry?.id, 'string', `${url}: the attempt is recorded`)
  }
  const batch = await test.request({
    method: 'POST',
    url: '/v1/transfers/batch',
    token: unscoped.token,
    payload: { items: [statutoryException('M-500001'), jointUse('M-500001')] }
  })
  t.equal(batch.statusCode, 200)
  const results = batch.json().results as { decision: string; reasons: { code: string }[] }[]
  t.equal(results[0]?.reasons[0]?.code, 'client_scope', 'in a batch the statutory item is out of scope')
  t.equal(results[1]?.decision, 'allow', 'and the other channels stay open to it')

  const refused = await test.request({ method: 'POST', url: '/v1/transfers', token: other.token, payload: statutoryException('M-500002') })
  t.equal(refused.statusCode, 403, 'channels that do not name it do not allow it')

  const allowed = await test.request({ method: 'POST', url: '/v1/transfers', token: named.token, payload: statutoryException('M-500003') })
  t.equal(allowed.statusCode, 201, 'a system client whose channels name statutory_exception records it')
  t.equal(allowed.json().decision, 'allow')
  const byAdmin = await test.request({ method: 'POST', url: '/v1/transfers', payload: statutoryException('M-500004') })
  t.equal(byAdmin.statusCode, 201, 'admins are not limited')
})

t.test('channels and purposes on an admin or ops client are a 400, not stored and ignored', async (t) => {
  const test = await buildTestApp(t)
  const before = (await listClients(test, ADMIN_TOKEN)).length
  const bodies: [string, Record<string, unknown>, string[]][] = [
    ['admin with channels', { role: 'admin', channels: ['joint_use'] }, ['body/channels']],
    ['admin with purposes', { role: 'admin', purposes: ['billing'] }, ['body/purposes']],
    ['ops with channels', { role: 'ops', channels: ['statutory_exception'] }, ['body/channels']],
    ['ops with both', { role: 'ops', channels: ['third_party'], purposes: ['billing'] }, ['body/channels', 'body/purposes']]
  ]
  for (const [what, body, paths] of bodies) {
    const res = await test.request({ method: 'POST', url: '/v1/clients', payload: { name: what, ...body } })
    t.equal(res.statusCode, 400, `${what}: 400`)
    t.ok(isProblem(res), `${what}: problem+json`)
    const problem = res.json<{ code: string; errors?: { path: string; message: string }[] }>()
    t.equal(problem.code, 'validation_failed', `${what}: a validation problem`)
    t.same(
      problem.errors?.map((e) => e.path),
      paths,
      `${what}: names ${paths.join(', ')}`
    )
    t.notOk(res.body.includes('"token"'), `${what}: no token was issued`)
  }
  t.equal((await listClients(test, ADMIN_TOKEN)).length, before, 'nothing was stored')
  const system = await test.request({
    method: 'POST',
    url: '/v1/clients',
    payload: { name: 's', role: 'system', channels: ['joint_use'], purposes: ['billing'] }
  })
  t.equal(system.statusCode, 201, 'a system client takes both')
  const ops = await test.request({ method: 'POST', url: '/v1/clients', payload: { name: 'o', role: 'ops', rateLimit: 100 } })
  t.equal(ops.statusCode, 201, 'an ops client may have a rateLimit')
  t.match(ops.json(), { role: 'ops', channels: null, purposes: null, rateLimit: 100 })
})
