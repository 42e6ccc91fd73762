import t from 'tap'
import { createHash, randomUUID } from 'node:crypto'
import { BOOTSTRAP_ADMIN_ID } from '../../src/clients/repository.js'
import { billing, createRecipient, grantConsent, isProblem, jointUse, memberEntries, statutoryException } from '../fixtures.js'
import { ADMIN_TOKEN, buildTestApp, createClient } from '../helper.js'

interface LedgerEntry {
  id: string
  kind: string
  memberId: string
  clientId: string
  decision?: string
  action?: string
  channel?: string
  reasons?: { code: string }[]
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex')
}

t.test('a client token is shown once, stored only hashed, and revoked at once', async (t) => {
  const test = await buildTestApp(t)

  const res = await test.request({
    method: 'POST',
    url: '/v1/clients',
    payload: { name: 'billing system', role: 'system', channels: ['third_party'], purposes: ['billing'] }
  })
  t.equal(res.statusCode, 201, 'registered')
  const created = res.json<{ id: string; name: string; role: string; token: string; channels: string[]; purposes: string[] }>()
  t.match(created, { name: 'billing system', role: 'system', channels: ['third_party'], purposes: ['billing'] }, 'the client as registered')
  t.type(created.id, 'string')
  t.type(created.token, 'string')
  t.match(String(res.headers['cache-control']), /no-store/, 'the response with the token is not cached')

  // At least 43 characters of base64url (256 bits) after any short recognisable prefix.
  const random = created.token.replace(/^[a-z]{1,8}_/, '')
  t.ok(random.length >= 43, `token has ${random.length} random characters`)
  t.match(random, /^[A-Za-z0-9_-]+$/, 'token is base64url')
  t.ok(Buffer.from(random, 'base64url').length >= 32, 'at least 32 bytes of randomness')

  const second = await createClient(test, { name: 'another system', role: 'system' })
  t.not(second.token, created.token, 'every client gets its own token')
  t.not(second.token.replace(/^[a-z]{1,8}_/, '').slice(0, 16), random.slice(0, 16), 'tokens do not share a random prefix')

  // The list never shows a token or its hash.
  const list = await test.request({ method: 'GET', url: '/v1/clients' })
  t.equal(list.statusCode, 200)
  const clients = list.json<{ clients: Record<string, unknown>[] }>().clients
  t.ok(
    clients.some((c) => c.id === created.id),
    'the new client is listed'
  )
  t.ok(
    clients.some((c) => c.id === second.id),
    'the other client is listed'
  )
  for (const client of clients) {
    for (const key of Object.keys(client)) t.notMatch(key, /token|hash|secret/i, `client ${String(client.id)} shows no ${key}`)
  }
  for (const secret of [created.token, second.token, ADMIN_TOKEN]) {
    t.notOk(list.body.includes(secret), 'the list does not contain a token')
    t.notOk(list.body.includes(sha256(secret)), 'the list does not contain a token hash')
  }

  // The new token works, within its role.
  const policy = await test.request({ method: 'GET', url: '/v1/policy', token: created.token })
  t.equal(policy.statusCode, 200, 'the new token authenticates')
  const forbidden = await test.request({ method: 'GET', url: '/v1/clients', token: created.token })
  t.equal(forbidden.statusCode, 403, 'a system client cannot list clients')
  t.ok(isProblem(forbidden), '403 is problem+json')

  // An admin registered through the API can itself register clients.
  const admin2 = await createClient(test, { name: 'second admin', role: 'admin' })
  const byAdmin2 = await test.request({ method: 'POST', url: '/v1/clients', token: admin2.token, payload: { name: 'ops desk', role: 'ops' } })
  t.equal(byAdmin2.statusCode, 201, 'a registered admin registers clients')

  // Tokens are stored only hashed: no column of any client row holds or contains a token.
  const tokens = [created.token, second.token, admin2.token, byAdmin2.json<{ token: string }>().token, ADMIN_TOKEN]
  const rows = await test.database.db.selectFrom('clients').selectAll().execute()
  t.ok(rows.length >= 5, `${rows.length} client rows`)
  for (const row of rows) {
    for (const [column, value] of Object.entries(row)) {
      const text = value instanceof Date ? value.toISOString() : typeof value === 'string' ? value : JSON.stringify(value)
      for (const token of tokens) {
        t.not(text, token, `clients.${column} of ${row.id} is not a token`)
        t.notOk(text?.includes(token), `clients.${column} of ${row.id} does not contain a token`)
      }
    }
  }
  const newRow = rows.find((r) => r.id === created.id)
  t.ok(newRow, 'the new client has a row')
  t.equal(newRow?.token_hash, sha256(created.token), 'the row holds the hash of the token')
  // Nor does any other table keep a token.
  for (const table of ['ledger_entries', 'idempotency_keys', 'recipients'] as const) {
    const dump = JSON.stringify(await test.database.db.selectFrom(table).selectAll().execute())
    for (const token of tokens) t.notOk(dump.includes(token), `${table} holds no token`)
  }

  // Revocation takes effect on the very next request.
  const revoke = await test.request({ method: 'DELETE', url: `/v1/clients/${created.id}` })
  t.equal(revoke.statusCode, 200, 'revoked')
  t.type(revoke.json().revokedAt, 'string', 'revokedAt is set')
  t.notOk(revoke.body.includes(created.token), 'the revocation does not echo the token')
  const after = await test.request({ method: 'GET', url: '/v1/policy', token: created.token })
  t.equal(after.statusCode, 401, 'the very next request with the revoked token is 401')
  t.ok(isProblem(after), '401 is problem+json')
  const transfer = await test.request({ method: 'POST', url: '/v1/checks', token: created.token, payload: jointUse('M-000001', 'billing') })
  t.equal(transfer.statusCode, 401, 'and so is a check')
  const again = await test.request({ method: 'DELETE', url: `/v1/clients/${created.id}` })
  t.equal(again.statusCode, 200, 'revoking twice is harmless')
  t.equal(again.json().revokedAt, revoke.json().revokedAt, 'and keeps the first revocation time')
  const stillRevoked = await test.request({ method: 'GET', url: '/v1/policy', token: created.token })
  t.equal(stillRevoked.statusCode, 401, 'a second revocation does not revive the token')
  const listed = (await test.request({ method: 'GET', url: '/v1/clients' })).json<{ clients: { id: string; revokedAt: string | null }[] }>().clients
  t.type(listed.find((c) => c.id === created.id)?.revokedAt, 'string', 'the list shows the revocation')

  const unknown = await test.request({ method: 'DELETE', url: `/v1/clients/${randomUUID()}` })
  t.equal(unknown.statusCode, 404, 'revoking an unknown client is 404')
  t.ok(isProblem(unknown), '404 is problem+json')

  // Revoking a registered admin leaves the others alone; the bootstrap admin keeps working.
  t.equal((await test.request({ method: 'DELETE', url: `/v1/clients/${admin2.id}` })).statusCode, 200)
  t.equal((await test.request({ method: 'GET', url: '/v1/clients', token: admin2.token })).statusCode, 401, 'the revoked admin is out')
  t.equal((await test.request({ method: 'GET', url: '/v1/clients', token: ADMIN_TOKEN })).statusCode, 200, 'BOOTSTRAP_ADMIN_TOKEN keeps working')
  t.equal((await test.request({ method: 'GET', url: '/v1/policy', token: second.token })).statusCode, 200, 'the other system client keeps working')
})

t.test('a system client is limited to its channels and purposes, and every attempt is recorded', async (t) => {
  const test = await buildTestApp(t)
  const member = 'M-200001'
  const recipientId = (await createRecipient(test)).id
  const consentEntry = (await grantConsent(test, member, { recipientId })).entry.id
  const system = await createClient(test, { name: 'billing system', role: 'system', channels: ['third_party'], purposes: ['billing'] })
  const expectedClient = new Map<string, string>([[consentEntry, BOOTSTRAP_ADMIN_ID]])

  const before = (await memberEntries<LedgerEntry>(test, member)).length
  const check = await test.request({ method: 'POST', url: '/v1/checks', token: system.token, payload: billing(member, recipientId) })
  t.equal(check.statusCode, 200, 'an in-scope check is 200')
  t.equal(check.json().decision, 'allow', 'and is decided on its merits (consent on record)')
  t.equal((await memberEntries<LedgerEntry>(test, member)).length, before, 'an in-scope check writes nothing')

  const transfer = await test.request({ method: 'POST', url: '/v1/transfers', token: system.token, payload: billing(member, recipientId) })
  t.equal(transfer.statusCode, 201, 'an in-scope transfer is allowed and recorded')
  expectedClient.set(transfer.json().entry.id, system.id)

  const outside = [
    ['channel joint_use', jointUse(member, 'billing')],
    ['purpose ordering', { ...billing(member, recipientId), purpose: 'ordering' }],
    ['channel statutory_exception', statutoryException(member)]
  ] as const
  const attempts: { url: string; what: string; entryId: string | undefined }[] = []
  for (const url of ['/v1/checks', '/v1/transfers']) {
    for (const [what, body] of outside) {
      const res = await test.request({ method: 'POST', url, token: system.token, payload: body })
      const label = `${url} with ${what}`
      t.equal(res.statusCode, 403, `${label} is 403`)
      t.ok(isProblem(res), `${label} is problem+json`)
      const problem = res.json<{ code?: string; status?: number; type?: string; entry?: { id?: string; seq?: number; hash?: string } }>()
      t.equal(problem.code, 'client_scope', `${label} code`)
      t.equal(problem.status, 403, `${label} status member`)
      t.type(problem.type, 'string', `${label} type member`)
      t.type(problem.entry?.id, 'string', `${label} names the recorded entry (entry.id)`)
      if (problem.entry?.id) {
        expectedClient.set(problem.entry.id, system.id)
        const one = await test.request({ method: 'GET', url: `/v1/ledger/${problem.entry.id}` })
        t.equal(one.statusCode, 200, `${label}: the entry it names exists`)
        t.match(one.json(), { decision: 'deny', clientId: system.id, reasons: [{ code: 'client_scope' }] }, `${label}: the named entry`)
      }
      attempts.push({ url, what, entryId: problem.entry?.id })
    }
  }

  // Every attempt is a ledger row: deny, client_scope first, by this client.
  const entries = await memberEntries<LedgerEntry>(test, member)
  const scopeRows = entries.filter((e) => e.kind === 'decision' && e.reasons?.[0]?.code === 'client_scope')
  t.equal(scopeRows.length, attempts.length, 'one ledger row per out-of-scope attempt')
  for (const row of scopeRows) {
    t.equal(row.decision, 'deny', 'the row is a deny')
    t.equal(row.clientId, system.id, 'the row names the calling client')
  }
  t.equal(scopeRows.filter((r) => r.action === 'check').length, outside.length, 'checks outside the scope are recorded as checks')
  t.equal(scopeRows.filter((r) => r.action === 'transfer').length, outside.length, 'transfers outside the scope are recorded as transfers')
  t.equal(entries.length, before + 1 + attempts.length, 'nothing else was written')

  // Every ledger entry of the member carries the client that caused it.
  for (const entry of entries) {
    const expected = expectedClient.get(entry.id) ?? (entry.kind === 'decision' ? system.id : BOOTSTRAP_ADMIN_ID)
    t.equal(entry.clientId, expected, `entry ${entry.id} (${entry.kind}) carries the calling clientId`)
  }
})

t.test('in a batch, items outside the scope are denied with client_scope and the rest decided normally', async (t) => {
  const test = await buildTestApp(t)
  const member = 'M-300001'
  const recipientId = (await createRecipient(test)).id
  await grantConsent(test, member, { recipientId })
  const system = await createClient(test, { name: 'billing system', role: 'system', channels: ['third_party'], purposes: ['billing'] })

  const res = await test.request({
    method: 'POST',
    url: '/v1/transfers/batch',
    token: system.token,
    payload: {
      items: [
        billing(member, recipientId),
        jointUse(member, 'billing'),
        { ...billing(member, recipientId), purpose: 'ordering' },
        billing('M-300002', recipientId)
      ]
    }
  })
  t.equal(res.statusCode, 200, 'the batch is answered')
  const results = res.json<{ results: { decision: string; reasons: { code: string }[]; entry?: { id: string } }[] }>().results
  t.equal(results.length, 4, 'one result per item, in order')
  t.equal(results[0]?.decision, 'allow', 'the in-scope item with consent is allowed')
  t.equal(results[0]?.reasons[0]?.code, 'consent_on_record', 'on the consent')
  t.equal(results[1]?.decision, 'deny', 'the joint_use item is denied')
  t.equal(results[1]?.reasons[0]?.code, 'client_scope', 'with client_scope')
  t.equal(results[2]?.decision, 'deny', 'the ordering item is denied')
  t.equal(results[2]?.reasons[0]?.code, 'client_scope', 'with client_scope')
  t.equal(results[3]?.decision, 'deny', 'the in-scope item without consent is denied')
  t.equal(
    results[3]?.reasons.some((r) => r.code === 'consent_missing'),
    true,
    'on its merits (no consent)'
  )
  t.notOk(
    results[3]?.reasons.some((r) => r.code === 'client_scope'),
    'and not for scope'
  )
  for (const [i, result] of results.entries()) t.type(result.entry?.id, 'string', `item ${i} is recorded`)

  const entries = [...(await memberEntries<LedgerEntry>(test, member)), ...(await memberEntries<LedgerEntry>(test, 'M-300002'))]
  for (const result of results) {
    const entry = entries.find((e) => e.id === result.entry?.id)
    t.ok(entry, `entry ${result.entry?.id} is in the ledger`)
    t.equal(entry?.clientId, system.id, 'and carries the calling client')
    t.equal(entry?.decision, result.decision, 'and its decision')
  }
})

t.test('ops may record statutory exceptions only; checks are unrestricted', async (t) => {
  const test = await buildTestApp(t)
  const member = 'M-400001'
  const recipientId = (await createRecipient(test)).id
  const ops = await createClient(test, { name: 'ops desk', role: 'ops' })

  const statutory = await test.request({ method: 'POST', url: '/v1/transfers', token: ops.token, payload: statutoryException(member) })
  t.equal(statutory.statusCode, 201, 'ops records a statutory exception')
  t.equal(statutory.json().decision, 'allow')
  const statutoryId = statutory.json().entry?.id as string

  const thirdParty = await test.request({ method: 'POST', url: '/v1/transfers', token: ops.token, payload: billing(member, recipientId) })
  t.equal(thirdParty.statusCode, 403, 'a third_party transfer by ops is refused')
  t.ok(isProblem(thirdParty), 'as problem+json')
  t.equal(thirdParty.json().code, 'client_scope', 'with code client_scope')
  t.type(thirdParty.json().entry?.id, 'string', 'naming the recorded entry')

  const joint = await test.request({ method: 'POST', url: '/v1/transfers', token: ops.token, payload: jointUse(member, 'billing') })
  t.equal(joint.statusCode, 403, 'a joint_use transfer by ops is refused')
  t.equal(joint.json().code, 'client_scope')

  const batch = await test.request({
    method: 'POST',
    url: '/v1/transfers/batch',
    token: ops.token,
    payload: { items: [statutoryException(member), jointUse(member, 'billing')] }
  })
  t.equal(batch.statusCode, 200)
  const results = batch.json().results as { decision: string; reasons: { code: string }[] }[]
  t.equal(results[0]?.decision, 'allow', 'the statutory item is allowed')
  t.equal(results[1]?.reasons[0]?.code, 'client_scope', 'the joint_use item is out of scope')

  const check = await test.request({ method: 'POST', url: '/v1/checks', token: ops.token, payload: billing(member, recipientId) })
  t.equal(check.statusCode, 200, 'ops may check anything')
  t.equal(check.json().decision, 'deny', 'and the check is decided on its merits')
  t.equal(
    check.json().reasons.some((r: { code: string }) => r.code === 'client_scope'),
    false,
    'not for scope'
  )

  const entries = await memberEntries<LedgerEntry>(test, member)
  t.equal(entries.length, 5, 'statutory, two refused transfers and two batch items are recorded; the check is not')
  for (const entry of entries) t.equal(entry.clientId, ops.id, `entry ${entry.id} carries the ops clientId`)
  t.ok(
    entries.some((e) => e.id === statutoryId),
    'the statutory entry is listed'
  )
  const scope = entries.filter((e) => e.reasons?.[0]?.code === 'client_scope')
  t.equal(scope.length, 3, 'three client_scope rows')
  for (const row of scope) t.equal(row.decision, 'deny')

  // Ops reads the ledger, too.
  const asOps = await test.request({ method: 'GET', url: `/v1/ledger?memberId=${member}`, token: ops.token })
  t.equal(asOps.statusCode, 200, 'ops reads the ledger')
})
