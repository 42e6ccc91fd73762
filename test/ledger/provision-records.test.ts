import { parse } from 'csv-parse/sync'
import t from 'tap'
import { addContract, addInspection, billing as billingRequest, createContractor, createRecipient, grantConsent, jointUse } from '../fixtures.js'
import { buildTestApp, createClient, daysFrom, type TestApp } from '../helper.js'

const YEAR3_MS = 3 * 365.25 * 86_400_000
const DAY_MS = 86_400_000

function post(test: TestApp, url: string, payload: Record<string, unknown>, token?: string) {
  return test.request({ method: 'POST', url, payload, ...(token ? { token } : {}) })
}

t.test('provision records list only the member’s allowed third-party transfers, as they were', async (t) => {
  const test = await buildTestApp(t)
  const member = 'M-000123'
  const other = 'M-000999'

  const bankInput = { category: 'financial_institution', name: '静岡自然派信用金庫', address: '静岡県静岡市葵区1-2-3', representative: '山田 花子' }
  const bank = await createRecipient(test, bankInput)
  const insurerInput = { category: 'insurer', name: 'Kyosai Mutual, Inc.', address: '4-5-6 Shiba, "Minato", Tokyo', representative: 'Ichiro Suzuki' }
  const insurer = await createRecipient(test, insurerInput)

  const bankConsentInput = { recipientCategory: 'financial_institution', recipientId: bank.id, obtainedAt: daysFrom(-10), method: 'paper', evidenceRef: 'form-2026-001' }
  const bankConsent = await grantConsent(test, member, bankConsentInput)
  const insurerConsentInput = { recipientCategory: 'insurer', obtainedAt: daysFrom(-3), method: 'web', evidenceRef: 'web-session-42' }
  const insurerConsent = await grantConsent(test, member, insurerConsentInput)
  await grantConsent(test, other, { ...bankConsentInput, evidenceRef: 'other' })

  const contractor = await createContractor(test)
  await addContract(test, contractor.id)
  await addInspection(test, contractor.id)

  const billing = billingRequest(member, bank.id)
  const brokerage = {
    channel: 'third_party',
    memberId: member,
    purpose: 'brokerage',
    serviceCategory: 'mutual_aid_insurance',
    dataItems: ['name', 'date_of_birth', 'insurance_application'],
    recipientId: insurer.id,
    method: 'document'
  }

  // The two that belong in the record.
  const first = await post(test, '/v1/transfers', billing)
  t.equal(first.statusCode, 201, 'billing to the bank is allowed')
  const second = await post(test, '/v1/transfers', brokerage)
  t.equal(second.statusCode, 201, 'brokerage to the insurer is allowed')

  // Everything else that must stay out.
  t.equal((await post(test, '/v1/transfers', { ...jointUse(member), dataItems: ['name'] })).statusCode, 201, 'joint use allowed')
  t.equal((await post(test, '/v1/transfers', { channel: 'entrustment', memberId: member, purpose: 'delivery', serviceCategory: 'joint_purchasing', dataItems: ['name', 'address'], contractorId: contractor.id })).statusCode, 201, 'entrustment allowed')
  t.equal((await post(test, '/v1/transfers', { channel: 'statutory_exception', memberId: member, purpose: 'membership_records', serviceCategory: 'other_living', dataItems: ['name'], exception: { basis: 'legal_obligation', reference: 'court order 1', approvedBy: 'manager' } })).statusCode, 201, 'statutory exception allowed')
  t.equal((await post(test, '/v1/transfers', { ...billing, dataItems: ['name', 'health_care'] })).statusCode, 403, 'a denied third-party transfer')
  t.equal((await post(test, '/v1/transfers', { ...billing, purpose: 'survey' })).statusCode, 403, 'another denied third-party transfer')
  const check = await post(test, '/v1/checks', billing)
  t.equal(check.statusCode, 200)
  t.equal(check.json().decision, 'allow', 'a check that would allow')
  const system = await createClient(test, { role: 'system', channels: ['joint_use'] })
  t.equal((await post(test, '/v1/checks', billing, system.token)).statusCode, 403, 'a check outside the client scope (recorded, but a check)')
  t.equal((await post(test, '/v1/transfers', { ...billing, memberId: other })).statusCode, 201, 'another member’s transfer')

  // The bank is renamed and moves after the transfer.
  const renamed = await test.request({
    method: 'PATCH',
    url: `/v1/recipients/${bank.id}`,
    payload: { name: 'Renamed Bank', address: 'Elsewhere', representative: 'New Boss' }
  })
  t.equal(renamed.statusCode, 200)
  t.equal(renamed.json().name, 'Renamed Bank')

  const res = await test.request({ method: 'GET', url: `/v1/members/${member}/provision-records` })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^application\/json/)
  const body = res.json()
  t.equal(body.memberId, member)
  const records = body.records as Record<string, any>[]
  t.same(
    records.map((r) => r.entryId).sort(),
    [first.json().entry.id, second.json().entry.id].sort(),
    'exactly the two allowed third-party transfers of the member'
  )

  const expectations = [
    { transfer: first, input: billing, recipient: bankInput, recipientId: bank.id, consent: bankConsent, consentInput: bankConsentInput },
    { transfer: second, input: brokerage, recipient: insurerInput, recipientId: insurer.id, consent: insurerConsent, consentInput: insurerConsentInput }
  ]
  for (const { transfer, input, recipient, recipientId, consent, consentInput } of expectations) {
    const record = records.find((r) => r.entryId === transfer.json().entry.id)
    if (!record) {
      t.fail(`no record of ${input.purpose}`)
      continue
    }
    const label = input.purpose
    t.equal(new Date(record.providedAt).getTime(), new Date(transfer.json().entry.recordedAt).getTime(), `${label}: providedAt is when it was recorded`)
    t.equal(record.recipient.id, recipientId, `${label}: recipient id`)
    t.equal(record.recipient.name, recipient.name, `${label}: recipient name as it was`)
    t.equal(record.recipient.address, recipient.address, `${label}: recipient address as it was`)
    t.equal(record.recipient.representative, recipient.representative, `${label}: representative as it was`)
    t.equal(record.recipient.category, recipient.category, `${label}: category`)
    t.equal(record.purpose, input.purpose, `${label}: purpose`)
    t.equal(record.serviceCategory, input.serviceCategory, `${label}: service category`)
    t.same(record.dataItems, input.dataItems, `${label}: items`)
    t.equal(record.method, input.method, `${label}: method`)
    t.equal(record.consent?.id, consent.id, `${label}: consent id`)
    t.equal(new Date(record.consent?.obtainedAt).getTime(), new Date(consentInput.obtainedAt).getTime(), `${label}: consent obtainedAt`)
    t.equal(record.consent?.method, consentInput.method, `${label}: consent method`)
    t.equal(record.consent?.evidenceRef, consentInput.evidenceRef, `${label}: consent evidence`)
    const retention = new Date(record.retainUntil).getTime() - new Date(record.providedAt).getTime()
    t.ok(Math.abs(retention - YEAR3_MS) <= DAY_MS, `${label}: retainUntil is providedAt + 3 years`)
    t.ok(new Date(record.retainUntil).getTime() >= new Date(record.providedAt).getTime() + 3 * 365 * DAY_MS, `${label}: and not less`)
  }
  t.same(
    records.map((r) => r.entryId),
    [second.json().entry.id, first.json().entry.id],
    'newest first'
  )

  const otherRecords = (await test.request({ method: 'GET', url: `/v1/members/${other}/provision-records` })).json().records
  t.equal(otherRecords.length, 1, 'the other member has only their own record')
  t.equal(otherRecords[0]?.recipient.name, bankInput.name)
  const nobody = await test.request({ method: 'GET', url: '/v1/members/M-nobody/provision-records' })
  t.equal(nobody.statusCode, 200)
  t.same(nobody.json().records, [], 'no transfers, no records')

  // A later transfer to the renamed bank shows the new name, the old one keeps the old.
  const later = await post(test, '/v1/transfers', billing)
  t.equal(later.statusCode, 201)
  const after = (await test.request({ method: 'GET', url: `/v1/members/${member}/provision-records` })).json().records as Record<string, any>[]
  t.equal(after.length, 3)
  t.equal(after.find((r) => r.entryId === later.json().entry.id)?.recipient.name, 'Renamed Bank', 'the new transfer has the new name')
  t.equal(after.find((r) => r.entryId === first.json().entry.id)?.recipient.name, bankInput.name, 'the old one keeps the old name')

  t.test('CSV', async (t) => {
    const csv = await test.request({ method: 'GET', url: `/v1/members/${member}/provision-records?format=csv` })
    t.equal(csv.statusCode, 200)
    t.match(csv.headers['content-type'], /^text\/csv/, 'text/csv')
    t.same([...csv.rawPayload.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'the bytes start with the UTF-8 BOM')
    t.ok(csv.body.startsWith('\uFEFF'), 'the text starts with \\uFEFF')
    const rows = parse(csv.body, { bom: true, relax_column_count: false }) as string[][]
    t.equal(rows.length, 1 + after.length, 'a header row and one row per record')
    const header = rows[0]!
    t.ok(header.length >= 12, 'a header row')
    const column = (english: string) => {
      const index = header.findIndex((h) => h.toLowerCase().includes(`(${english})`))
      t.ok(index >= 0, `a column for ${english}`)
      return index
    }
    const cols = {
      providedAt: column('provided at'),
      recipient: column('recipient'),
      address: column('recipient address'),
      representative: column('recipient representative'),
      category: column('recipient category'),
      purpose: column('purpose'),
      items: column('items'),
      method: column('method'),
      consentId: column('consent id'),
      consentObtainedAt: column('consent obtained at'),
      consentMethod: column('consent method'),
      retainUntil: column('retain until'),
      entryId: column('entry id')
    }
    for (const [i, record] of after.entries()) {
      const row = rows[i + 1]!
      const label = `row ${i + 1}`
      t.equal(row.length, header.length, `${label}: as many cells as headers`)
      t.equal(row[cols.entryId], record.entryId, `${label}: same record, same order`)
      t.equal(new Date(row[cols.providedAt]!).getTime(), new Date(record.providedAt).getTime(), `${label}: provided at`)
      t.equal(row[cols.recipient], record.recipient.name, `${label}: recipient`)
      t.equal(row[cols.address], record.recipient.address, `${label}: address`)
      t.equal(row[cols.representative], record.recipient.representative, `${label}: representative`)
      t.equal(row[cols.category], record.recipient.category, `${label}: category`)
      t.equal(row[cols.purpose], record.purpose, `${label}: purpose`)
      t.same(row[cols.items]!.split(/[ ;,|]+/).filter(Boolean), record.dataItems, `${label}: items`)
      t.equal(row[cols.method], record.method, `${label}: method`)
      t.equal(row[cols.consentId], record.consent.id, `${label}: consent id`)
      t.equal(new Date(row[cols.consentObtainedAt]!).getTime(), new Date(record.consent.obtainedAt).getTime(), `${label}: consent obtained at`)
      t.equal(row[cols.consentMethod], record.consent.method, `${label}: consent method`)
      t.equal(new Date(row[cols.retainUntil]!).getTime(), new Date(record.retainUntil).getTime(), `${label}: retain until`)
    }
    t.ok(
      rows.some((r) => r[cols.address] === insurerInput.address),
      'a value with quotes and commas survives the round trip'
    )
    t.ok(
      rows.some((r) => r[cols.recipient] === bankInput.name),
      'Japanese text survives the round trip'
    )

    const empty = await test.request({ method: 'GET', url: '/v1/members/M-nobody/provision-records?format=csv' })
    t.equal(empty.statusCode, 200)
    const emptyRows = parse(empty.body, { bom: true }) as string[][]
    t.equal(emptyRows.length, 1, 'no records: the header row alone')
  })
})
