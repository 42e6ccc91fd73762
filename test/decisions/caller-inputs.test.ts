import { sql } from 'kysely'
import t from 'tap'
import { chainOf } from '../../src/ledger/hashing.js'
import {
  addContract,
  addInspection,
  assertProblem,
  codes,
  consentBody,
  countEntries,
  createContractor,
  createRecipient,
  grantConsent,
  memberEntries,
  recipientBody
} from '../fixtures.js'
import { buildTestApp } from '../helper.js'

/** What calling systems following the contract send, and what used to break on it. */

t.test('serviceCategory is optional: the contract examples without it work over HTTP', async (t) => {
  const test = await buildTestApp(t)
  const member = 'M-nosvc'
  const contractor = await createContractor(test)
  await addContract(test, contractor.id)
  await addInspection(test, contractor.id)
  const activity = await createRecipient(test, { category: 'member_activity', name: '班長 佐藤' })
  await grantConsent(test, member, { recipientCategory: 'member_activity' })
  const insurer = await createRecipient(test, { category: 'insurer', name: 'Kyosai Insurance' })
  await grantConsent(test, member, { recipientCategory: 'insurer' })

  const allowed = {
    'joint use for governance (I.14)': { channel: 'joint_use', memberId: member, purpose: 'governance', dataItems: ['name', 'address'], jointUser: 'JCCU' },
    entrustment: { channel: 'entrustment', memberId: member, purpose: 'delivery', dataItems: ['name', 'address'], contractorId: contractor.id },
    'statutory exception': {
      channel: 'statutory_exception',
      memberId: member,
      purpose: 'urgent_contact',
      dataItems: ['name', 'phone'],
      exception: { basis: 'legal_obligation', reference: 'Product Safety Act notice 12', approvedBy: 'privacy manager' }
    },
    'member activity (§II.5)': {
      channel: 'third_party',
      memberId: member,
      purpose: 'member_activities',
      dataItems: ['name', 'phone'],
      recipientId: activity.id,
      method: 'document'
    }
  }
  for (const [name, payload] of Object.entries(allowed)) {
    const res = await test.request({ method: 'POST', url: '/v1/transfers', payload })
    t.equal(res.statusCode, 201, `${name}: 201 (${res.body.slice(0, 200)})`)
    const entry = (await test.request({ method: 'GET', url: `/v1/ledger/${res.json().entry.id}` })).json()
    t.notOk('serviceCategory' in entry, `${name}: the entry records no service category`)
  }

  const brokerage = {
    channel: 'third_party',
    memberId: member,
    purpose: 'brokerage',
    dataItems: ['name', 'insurance_application'],
    recipientId: insurer.id,
    method: 'electronic'
  }
  const before = await countEntries(test, member)
  const denied = await test.request({ method: 'POST', url: '/v1/transfers', payload: brokerage })
  t.equal(denied.statusCode, 403, 'an insurer provision without its service category is a deny, not a 400')
  t.same(codes(denied.json()), ['service_category_not_allowed'])
  t.equal(await countEntries(test, member), before + 1, 'and the deny is recorded')

  const given = await test.request({ method: 'POST', url: '/v1/transfers', payload: { ...brokerage, serviceCategory: 'mutual_aid_insurance' } })
  t.equal(given.statusCode, 201, 'with mutual_aid_insurance it is allowed')
  const recorded = (await test.request({ method: 'GET', url: `/v1/ledger/${given.json().entry.id}` })).json()
  t.equal(recorded.serviceCategory, 'mutual_aid_insurance', 'a given service category is recorded')

  const wrong = await test.request({ method: 'POST', url: '/v1/checks', payload: { ...brokerage, serviceCategory: 'groceries' } })
  assertProblem(t, wrong, 400, 'an unknown service category is still a 400')
})

t.test('upper-case ids are handled in lower case and the ledger keeps verifying', async (t) => {
  const test = await buildTestApp(t)
  const member = 'M-upper'
  const bank = await createRecipient(test)
  const upper = bank.id.toUpperCase()
  t.not(upper, bank.id, 'the id has letters to change')
  await grantConsent(test, member, { recipientId: upper })

  const payload = {
    channel: 'third_party',
    memberId: member,
    purpose: 'billing',
    dataItems: ['name', 'bank_account'],
    recipientId: upper,
    method: 'electronic'
  }
  const res = await test.request({ method: 'POST', url: '/v1/transfers', payload })
  t.equal(res.statusCode, 201, 'an upper-case recipientId names the registered recipient')
  const entry = (await test.request({ method: 'GET', url: `/v1/ledger/${res.json().entry.id.toUpperCase()}` })).json()
  t.equal(entry.recipientId, bank.id, 'the entry holds the id in lower case')
  t.equal(entry.consent.recipientId, bank.id, 'so does the consent it rests on')

  t.equal((await test.request({ method: 'GET', url: `/v1/recipients/${upper}` })).statusCode, 200, 'path ids in upper case find the record')
  const filtered = (await test.request({ method: 'GET', url: `/v1/ledger?recipientId=${upper}` })).json()
  t.equal(filtered.entries.length, 2, 'the ledger filter takes upper case too (consent and transfer)')

  const verify = (await test.request({ method: 'GET', url: '/v1/ledger/verify' })).json()
  t.equal(verify.ok, true, 'the ledger verifies after an upper-case request')
  t.equal(verify.entriesChecked, 2)
})

t.test('verify reports every chain, and one broken chain does not hide another', async (t) => {
  const test = await buildTestApp(t)
  // Two members on different chains, each with two entries.
  const members: string[] = []
  for (let i = 0; members.length < 2; i += 1) {
    const candidate = `M-chain-${i}`
    if (!members.some((m) => chainOf(m) === chainOf(candidate))) members.push(candidate)
  }
  for (const member of members) {
    await grantConsent(test, member)
    await grantConsent(test, member, { evidenceRef: 'second' })
  }
  const clean = (await test.request({ method: 'GET', url: '/v1/ledger/verify' })).json()
  t.equal(clean.ok, true)
  t.equal(clean.chains.length, 16, 'every chain is reported')
  t.ok(
    clean.chains.every((c: { ok: boolean }) => c.ok),
    'each chain says ok'
  )

  // Tamper with the second entry of each member's chain behind the triggers.
  const db = test.database.db
  await sql`ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_append_only`.execute(db)
  for (const member of members) {
    await sql`UPDATE ledger_entries SET content = jsonb_set(content, '{consent,evidenceRef}', '"forged"') WHERE member_id = ${member} AND seq = 2`.execute(db)
  }
  await sql`ALTER TABLE ledger_entries ENABLE TRIGGER ledger_entries_append_only`.execute(db)

  const report = (await test.request({ method: 'GET', url: '/v1/ledger/verify' })).json()
  t.equal(report.ok, false)
  const broken = report.chains.filter((c: { ok: boolean }) => !c.ok)
  t.same(
    broken.map((c: { chain: number }) => c.chain).sort((a: number, b: number) => a - b),
    members.map(chainOf).sort((a, b) => a - b),
    'both tampered chains are reported, not only the first'
  )
  for (const chain of broken) {
    t.equal(chain.failure.seq, 2, `chain ${chain.chain}: the failure names the tampered entry`)
    t.match(chain.failure.problem, /hash/, `chain ${chain.chain}: and why`)
    t.equal(chain.length, 1, `chain ${chain.chain}: the entry before it verified`)
  }
  t.equal(report.firstFailure.chain, Math.min(...members.map(chainOf)), 'firstFailure is the first broken chain')
  t.equal(report.chains.filter((c: { ok: boolean }) => c.ok).length, 14, 'the other chains still verify')
})

t.test('bad input is a 400 that changes nothing, never a 500 or a 503', async (t) => {
  const test = await buildTestApp(t)
  const member = 'M-bad-input'

  const deep = `{"x":${'['.repeat(20_000)}${']'.repeat(20_000)}}`
  const nested = await test.request({ method: 'POST', url: '/v1/checks', payload: deep, headers: { 'content-type': 'application/json' } })
  const body = assertProblem(t, nested, 400, 'a body nested 20,000 levels deep')
  t.match(body.detail, /nests deeper/)

  const timestamps: [string, string][] = [
    ['an offset of +20:00', '2020-01-01T00:00:00+20:00'],
    ['year 0000', '0000-01-01T00:00:00Z'],
    ['slashes', '2026/04/01'],
    ['a date without time', '2026-04-01'],
    ['no offset', '2026-04-01T10:00:00'],
    ['an offset of -14:30', '2026-04-01T10:00:00-14:30']
  ]
  for (const [name, obtainedAt] of timestamps) {
    const res = await test.request({ method: 'POST', url: `/v1/members/${member}/consents`, payload: consentBody({ obtainedAt }) })
    const problem = assertProblem(t, res, 400, name)
    const error = problem.errors?.find((e: { path: string }) => e.path.endsWith('obtainedAt'))
    t.ok(error, `${name}: the error names obtainedAt`)
    t.match(error?.message ?? '', /RFC 3339.*2026-04-01T10:00:00\+09:00/, `${name}: and says what is expected, with an example`)
  }
  const edge = await test.request({ method: 'POST', url: `/v1/members/${member}/consents`, payload: consentBody({ obtainedAt: '2026-01-01T00:00:00+14:00' }) })
  t.equal(edge.statusCode, 201, 'an offset of +14:00 (Kiribati) is fine')

  const recipient = await test.request({ method: 'POST', url: '/v1/recipients', payload: recipientBody({ name: 'x'.repeat(10) }) })
  t.equal(recipient.statusCode, 201)
  t.equal(await countEntries(test, member), 1, 'only the valid consent was recorded')
  const entries = await memberEntries(test, member)
  t.equal(entries.length, 1)
})
