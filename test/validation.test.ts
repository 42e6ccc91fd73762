import t from 'tap'
import { assertProblem, consentBody, UNKNOWN_ID } from './fixtures.js'
import { buildTestApp, type TestApp } from './helper.js'

type Asserts = Pick<typeof t, 'equal' | 'match' | 'type' | 'ok' | 'notOk' | 'same'>
type Response = Awaited<ReturnType<TestApp['request']>>

const LEAKS = ['stack', 'SELECT', 'INSERT', 'at /']

const BASE = { memberId: 'M-000123', purpose: 'billing', serviceCategory: 'joint_purchasing', dataItems: ['name', 'billing_amount'] }

/** A valid request of each channel; the cases below break one thing each. */
const VALID = {
  third_party: { channel: 'third_party', ...BASE, recipientId: UNKNOWN_ID, method: 'electronic' },
  entrustment: { channel: 'entrustment', ...BASE, contractorId: UNKNOWN_ID },
  joint_use: { channel: 'joint_use', ...BASE, jointUser: 'JCCU' },
  statutory_exception: {
    channel: 'statutory_exception',
    ...BASE,
    exception: { basis: 'legal_obligation', reference: 'Tax office request 2024-17', approvedBy: 'Privacy manager' }
  }
} as const

function without<T extends object>(value: T, ...keys: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([key]) => !keys.includes(key)))
}

/** [name, body, field the errors array must name] */
const DECISION_CASES: [string, Record<string, unknown>, string][] = [
  ['wrong channel', { ...VALID.joint_use, channel: 'email' }, 'channel'],
  ['wrong purpose', { ...VALID.joint_use, purpose: 'marketing' }, 'purpose'],
  ['wrong serviceCategory', { ...VALID.joint_use, serviceCategory: 'groceries' }, 'serviceCategory'],
  ['wrong method', { ...VALID.third_party, method: 'fax' }, 'method'],
  ['wrong exception basis', { ...VALID.statutory_exception, exception: { ...VALID.statutory_exception.exception, basis: 'curiosity' } }, 'basis'],
  ['empty dataItems', { ...VALID.joint_use, dataItems: [] }, 'dataItems'],
  ['unknown data item', { ...VALID.joint_use, dataItems: ['name', 'shoe_size'] }, 'dataItems'],
  ['memberId with a space', { ...VALID.joint_use, memberId: 'M 1' }, 'memberId'],
  ['memberId of 65 characters', { ...VALID.joint_use, memberId: 'M'.repeat(65) }, 'memberId'],
  ['empty memberId', { ...VALID.joint_use, memberId: '' }, 'memberId'],
  ['malformed recipientId', { ...VALID.third_party, recipientId: 'not-a-uuid' }, 'recipientId'],
  ['contractorId on third_party', { ...VALID.third_party, contractorId: UNKNOWN_ID }, 'contractorId'],
  ['jointUser on entrustment', { ...VALID.entrustment, jointUser: 'JCCU' }, 'jointUser'],
  ['recipientId on joint_use', { ...VALID.joint_use, recipientId: UNKNOWN_ID }, 'recipientId'],
  ['exception on third_party', { ...VALID.third_party, exception: VALID.statutory_exception.exception }, 'exception'],
  ['third_party without recipientId', without(VALID.third_party, 'recipientId'), 'recipientId'],
  ['third_party without method', without(VALID.third_party, 'method'), 'method'],
  ['entrustment without contractorId', without(VALID.entrustment, 'contractorId'), 'contractorId'],
  ['joint_use without jointUser', without(VALID.joint_use, 'jointUser'), 'jointUser'],
  ['statutory_exception without exception', without(VALID.statutory_exception, 'exception'), 'exception'],
  [
    'statutory_exception without exception.reference',
    { ...VALID.statutory_exception, exception: without(VALID.statutory_exception.exception, 'reference') },
    'reference'
  ],
  [
    'statutory_exception without exception.approvedBy',
    { ...VALID.statutory_exception, exception: without(VALID.statutory_exception.exception, 'approvedBy') },
    'approvedBy'
  ],
  ['statutory_exception without exception.basis', { ...VALID.statutory_exception, exception: without(VALID.statutory_exception.exception, 'basis') }, 'basis'],
  ['missing purpose', without(VALID.joint_use, 'purpose'), 'purpose'],
  ['unknown extra property', { ...VALID.joint_use, priority: 'high' }, 'priority'],
  ['dataItems not an array', { ...VALID.joint_use, dataItems: 'name' }, 'dataItems']
]

function assertValidationProblem(t: Asserts, res: Response, field: string, label: string) {
  const body = assertProblem(t, res, 400, label)
  t.ok(Array.isArray(body.errors) && body.errors.length > 0, `${label}: errors array`)
  const paths: string[] = Array.isArray(body.errors) ? body.errors.map((e: { path: string }) => e.path) : []
  t.ok(
    paths.some((p) => p.split('/').includes(field)),
    `${label}: errors name ${field} (got ${paths.join(', ')})`
  )
  return body
}

function assertNoLeaks(t: Asserts, responses: Response[]) {
  for (const res of responses) {
    for (const leak of LEAKS) t.notOk(res.body.includes(leak), `${res.statusCode} response does not contain ${JSON.stringify(leak)}`)
  }
}

async function assertNothingWritten(t: Asserts, test: TestApp) {
  const ledger = await test.request({ method: 'GET', url: '/v1/ledger' })
  t.equal(ledger.statusCode, 200)
  t.same(ledger.json().entries, [], 'the ledger has no entries')
  const recipients = await test.request({ method: 'GET', url: '/v1/recipients' })
  t.equal(recipients.statusCode, 200)
  t.same(recipients.json().recipients, [], 'no recipient was created')
}

for (const url of ['/v1/checks', '/v1/transfers']) {
  t.test(`bad input on POST ${url}`, async (t) => {
    const test = await buildTestApp(t)
    const responses: Response[] = []

    // The base requests themselves are valid: anything below fails for the one thing it breaks.
    for (const [channel, body] of Object.entries(VALID)) {
      const res = await test.request({ method: 'POST', url: '/v1/checks', payload: body })
      t.equal(res.statusCode, 200, `the valid ${channel} request passes validation`)
    }

    for (const [name, body, field] of DECISION_CASES) {
      const res = await test.request({ method: 'POST', url, payload: body })
      responses.push(res)
      assertValidationProblem(t, res, field, name)
    }

    const malformed = await test.request({ method: 'POST', url, payload: '{"channel":', headers: { 'content-type': 'application/json' } })
    responses.push(malformed)
    assertProblem(t, malformed, 400, 'malformed JSON')

    const emptyJson = await test.request({ method: 'POST', url, payload: '', headers: { 'content-type': 'application/json' } })
    responses.push(emptyJson)
    assertProblem(t, emptyJson, 400, 'empty JSON body')

    const arrayBody = await test.request({ method: 'POST', url, payload: '[]', headers: { 'content-type': 'application/json' } })
    responses.push(arrayBody)
    assertProblem(t, arrayBody, 400, 'a JSON array body')

    const textPlain = await test.request({ method: 'POST', url, payload: JSON.stringify(VALID.joint_use), headers: { 'content-type': 'text/plain' } })
    responses.push(textPlain)
    assertProblem(t, textPlain, 415, 'text/plain')

    const form = await test.request({ method: 'POST', url, payload: 'channel=joint_use', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
    responses.push(form)
    assertProblem(t, form, 415, 'form-urlencoded')

    assertNoLeaks(t, responses)
    await assertNothingWritten(t, test)
  })
}

t.test('bad input on POST /v1/transfers/batch writes nothing', async (t) => {
  const test = await buildTestApp(t)
  const responses: Response[] = []
  const cases: [string, unknown, string][] = [
    ['no items', { items: [] }, 'items'],
    ['one bad item among good ones', { items: [VALID.joint_use, { ...VALID.joint_use, dataItems: [] }] }, 'dataItems'],
    ['unknown extra property', { items: [VALID.joint_use], dryRun: true }, 'dryRun']
  ]
  for (const [name, body, field] of cases) {
    const res = await test.request({ method: 'POST', url: '/v1/transfers/batch', payload: body as Record<string, unknown> })
    responses.push(res)
    assertValidationProblem(t, res, field, name)
  }
  assertNoLeaks(t, responses)
  await assertNothingWritten(t, test)
})

t.test('a JSON body labelled with a charset other than UTF-8 is 415 and changes nothing; UTF-8 in any spelling passes', async (t) => {
  const test = await buildTestApp(t)
  const responses: Response[] = []
  const transfer = JSON.stringify({ ...VALID.joint_use, memberId: 'M-charset' })
  const recipient = { category: 'insurer', name: 'Café Mutual', address: 'Osaka', representative: 'Director' }
  // Each body is encoded as its label says: UTF-8 decoding would misread it (é) or see NULs (UTF-16).
  const labelled: [string, BufferEncoding][] = [
    ['utf-16', 'utf16le'],
    ['UTF-16LE', 'utf16le'],
    ['"utf-16"', 'utf16le'],
    ['iso-8859-1', 'latin1'],
    ['Shift_JIS', 'latin1']
  ]
  for (const [charset, encoding] of labelled) {
    const headers = { 'content-type': `application/json; charset=${charset}` }
    const cases = [
      ['/v1/transfers', transfer],
      ['/v1/transfers/batch', JSON.stringify({ items: [JSON.parse(transfer)] })],
      ['/v1/checks', transfer],
      ['/v1/recipients', JSON.stringify(recipient)]
    ] as const
    for (const [url, json] of cases) {
      const res = await test.request({ method: 'POST', url, payload: Buffer.from(json, encoding), headers })
      responses.push(res)
      const body = assertProblem(t, res, 415, `${url} with charset=${charset}`)
      t.match(body, { type: /\/unsupported_media_type$/, code: 'unsupported_media_type', detail: /UTF-8/ }, `${url} with charset=${charset}: says why`)
    }
  }
  assertNoLeaks(t, responses)
  await assertNothingWritten(t, test)

  for (const contentType of ['application/json', 'application/json; charset=utf-8', 'application/json;charset=UTF-8', 'application/json; charset="utf8"']) {
    const res = await test.request({ method: 'POST', url: '/v1/checks', payload: transfer, headers: { 'content-type': contentType } })
    t.equal(res.statusCode, 200, `${contentType}: accepted`)
  }
})

t.test('bad input on POST /v1/recipients', async (t) => {
  const test = await buildTestApp(t)
  const valid = { category: 'insurer', name: 'Kyosai Insurance', address: '7-8-9 Otemachi, Tokyo', representative: 'Jiro Hoken' }
  const responses: Response[] = []
  const cases: [string, Record<string, unknown>, string][] = [
    ['wrong category', { ...valid, category: 'bank' }, 'category'],
    ['missing name', without(valid, 'name'), 'name'],
    ['empty name', { ...valid, name: '' }, 'name'],
    ['missing representative', without(valid, 'representative'), 'representative'],
    ['name not a string', { ...valid, name: 42 }, 'name'],
    ['unknown extra property', { ...valid, active: false }, 'active'],
    ['client-chosen id', { ...valid, id: UNKNOWN_ID }, 'id']
  ]
  for (const [name, body, field] of cases) {
    const res = await test.request({ method: 'POST', url: '/v1/recipients', payload: body })
    responses.push(res)
    assertValidationProblem(t, res, field, name)
  }

  const malformed = await test.request({ method: 'POST', url: '/v1/recipients', payload: '{"category":', headers: { 'content-type': 'application/json' } })
  responses.push(malformed)
  assertProblem(t, malformed, 400, 'malformed JSON')

  const textPlain = await test.request({ method: 'POST', url: '/v1/recipients', payload: JSON.stringify(valid), headers: { 'content-type': 'text/plain' } })
  responses.push(textPlain)
  assertProblem(t, textPlain, 415, 'text/plain')

  assertNoLeaks(t, responses)
  await assertNothingWritten(t, test)
})

t.test('bad input on POST /v1/members/{memberId}/consents', async (t) => {
  const test = await buildTestApp(t)
  const valid = consentBody()
  const responses: Response[] = []
  const cases: [string, string, Record<string, unknown>, string][] = [
    ['wrong recipientCategory', 'M-000123', { ...valid, recipientCategory: 'pharmacy' }, 'recipientCategory'],
    ['wrong consent method', 'M-000123', { ...valid, method: 'fax' }, 'method'],
    ['empty dataItems', 'M-000123', { ...valid, dataItems: [] }, 'dataItems'],
    ['unknown data item', 'M-000123', { ...valid, dataItems: ['name', 'shoe_size'] }, 'dataItems'],
    ['obtainedAt not a timestamp', 'M-000123', { ...valid, obtainedAt: 'yesterday' }, 'obtainedAt'],
    ['missing evidenceRef', 'M-000123', without(valid, 'evidenceRef'), 'evidenceRef'],
    ['malformed recipientId', 'M-000123', { ...valid, recipientId: 'bank-1' }, 'recipientId'],
    ['unknown extra property', 'M-000123', { ...valid, scope: 'all' }, 'scope'],
    ['memberId with a space', 'M%201', valid, 'memberId'],
    ['memberId of 65 characters', 'M'.repeat(65), valid, 'memberId']
  ]
  for (const [name, memberId, body, field] of cases) {
    const res = await test.request({ method: 'POST', url: `/v1/members/${memberId}/consents`, payload: body })
    responses.push(res)
    assertValidationProblem(t, res, field, name)
  }

  const malformed = await test.request({
    method: 'POST',
    url: '/v1/members/M-000123/consents',
    payload: '{"recipientCategory":',
    headers: { 'content-type': 'application/json' }
  })
  responses.push(malformed)
  assertProblem(t, malformed, 400, 'malformed JSON')

  const textPlain = await test.request({
    method: 'POST',
    url: '/v1/members/M-000123/consents',
    payload: JSON.stringify(valid),
    headers: { 'content-type': 'text/plain' }
  })
  responses.push(textPlain)
  assertProblem(t, textPlain, 415, 'text/plain')

  assertNoLeaks(t, responses)
  const consents = await test.request({ method: 'GET', url: '/v1/members/M-000123/consents' })
  t.equal(consents.statusCode, 200)
  t.same(consents.json().consents, [], 'no consent was stored')
  await assertNothingWritten(t, test)
})

t.test('authentication and unknown routes', async (t) => {
  const test = await buildTestApp(t)
  const responses: Response[] = []

  const noToken = await test.request({ method: 'POST', url: '/v1/checks', payload: VALID.joint_use, token: null })
  responses.push(noToken)
  assertProblem(t, noToken, 401, 'no token')

  const wrongToken = await test.request({ method: 'POST', url: '/v1/checks', payload: VALID.joint_use, token: 'not-the-admin-token-0123456789' })
  responses.push(wrongToken)
  assertProblem(t, wrongToken, 401, 'wrong token')

  const notBearer = await test.request({ method: 'GET', url: '/v1/recipients', token: null, headers: { authorization: 'Basic YWRtaW46YWRtaW4=' } })
  responses.push(notBearer)
  assertProblem(t, notBearer, 401, 'basic auth')

  const noTokenWrite = await test.request({
    method: 'POST',
    url: '/v1/recipients',
    token: null,
    payload: { category: 'insurer', name: 'X', address: 'Y', representative: 'Z' }
  })
  responses.push(noTokenWrite)
  assertProblem(t, noTokenWrite, 401, 'no token on a write')

  // Without a token, even an invalid body is refused as unauthenticated, not validated.
  const noTokenBadBody = await test.request({ method: 'POST', url: '/v1/checks', payload: { channel: 'email' }, token: null })
  responses.push(noTokenBadBody)
  assertProblem(t, noTokenBadBody, 401, 'no token, bad body')

  const unknownRoute = await test.request({ method: 'GET', url: '/v1/nothing-here' })
  responses.push(unknownRoute)
  assertProblem(t, unknownRoute, 404, 'unknown route')

  const unknownRouteNoToken = await test.request({ method: 'POST', url: '/v2/checks', payload: VALID.joint_use, token: null })
  responses.push(unknownRouteNoToken)
  assertProblem(t, unknownRouteNoToken, 404, 'unknown route without a token')

  assertNoLeaks(t, responses)
  await assertNothingWritten(t, test)
})

t.test('a well-formed but unregistered party is a deny, not a 4xx', async (t) => {
  const test = await buildTestApp(t)

  const recipient = await test.request({ method: 'POST', url: '/v1/checks', payload: VALID.third_party })
  t.equal(recipient.statusCode, 200)
  t.match(String(recipient.headers['content-type']), /^application\/json/)
  t.equal(recipient.json().decision, 'deny')
  t.ok(
    recipient.json().reasons.some((r: { code: string; clause: string }) => r.code === 'recipient_unknown' && r.clause === 'II'),
    'recipient_unknown on clause II'
  )

  const contractor = await test.request({ method: 'POST', url: '/v1/checks', payload: VALID.entrustment })
  t.equal(contractor.statusCode, 200)
  t.equal(contractor.json().decision, 'deny')
  t.ok(
    contractor.json().reasons.some((r: { code: string; clause: string }) => r.code === 'contractor_unknown' && r.clause === '2(3)'),
    'contractor_unknown on clause 2(3)'
  )

  const ledgerAfterChecks = await test.request({ method: 'GET', url: '/v1/ledger' })
  t.same(ledgerAfterChecks.json().entries, [], 'checks write nothing')

  // Through /v1/transfers the same request is a recorded denial (403 Decision), not a problem.
  const transfer = await test.request({ method: 'POST', url: '/v1/transfers', payload: VALID.third_party })
  t.equal(transfer.statusCode, 403)
  t.match(String(transfer.headers['content-type']), /^application\/json/)
  t.equal(transfer.json().decision, 'deny')
  t.ok(transfer.json().reasons.some((r: { code: string }) => r.code === 'recipient_unknown'))
  t.match(transfer.json().entry?.hash, /^[0-9a-f]{64}$/)
  const ledger = await test.request({ method: 'GET', url: '/v1/ledger' })
  t.equal(ledger.json().entries.length, 1, 'the denial is recorded')
  t.match(ledger.json().entries[0], { id: transfer.json().entry.id, decision: 'deny', channel: 'third_party' })

  assertNoLeaks(t, [recipient, contractor, transfer])
})
