import { parse } from 'csv-parse/sync'
import t from 'tap'
import { provisionRecordsCsv } from '../../src/ledger/provision-csv.js'
import { japanTime, listProvisionRecords, retainUntil } from '../../src/ledger/provision-records.js'
import { addContract, addInspection, billing as billingRequest, createContractor, createRecipient, grantConsent, jointUse } from '../fixtures.js'
import { buildTestApp, createClient, daysFrom, type TestApp } from '../helper.js'

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

  const bankConsentInput = {
    recipientCategory: 'financial_institution',
    recipientId: bank.id,
    obtainedAt: daysFrom(-10),
    method: 'paper',
    evidenceRef: 'form-2026-001'
  }
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
  t.equal(
    (
      await post(test, '/v1/transfers', {
        channel: 'entrustment',
        memberId: member,
        purpose: 'delivery',
        serviceCategory: 'joint_purchasing',
        dataItems: ['name', 'address'],
        contractorId: contractor.id
      })
    ).statusCode,
    201,
    'entrustment allowed'
  )
  const statutory = await post(test, '/v1/transfers', {
    channel: 'statutory_exception',
    memberId: member,
    purpose: 'membership_records',
    serviceCategory: 'other_living',
    dataItems: ['name'],
    exception: { basis: 'legal_obligation', reference: 'court order 1', approvedBy: 'manager' }
  })
  t.equal(statutory.statusCode, 201, 'statutory exception allowed')
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
    t.match(record.providedAt, /\+09:00$/, `${label}: providedAt is in Japan time`)
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
    t.equal(record.retainUntil, retainUntil(transfer.json().entry.recordedAt, 3), `${label}: retainUntil is the end of the Japan-time day three years on`)
  }
  t.same(
    records.map((r) => r.entryId),
    [second.json().entry.id, first.json().entry.id],
    'newest first'
  )

  t.test('records a member can read: Japan time, labels, why each is kept', async (t) => {
    const ja = await listProvisionRecords(test.database.db, member)
    const en = await listProvisionRecords(test.database.db, member, { language: 'en' })
    t.same(
      ja.map((r) => r.entryId),
      [second.json().entry.id, first.json().entry.id],
      'the same records, newest first'
    )
    const bankJa = ja.find((r) => r.entryId === first.json().entry.id)!
    const bankEn = en.find((r) => r.entryId === first.json().entry.id)!
    const entry = first.json().entry
    t.equal(bankJa.memberId, member, 'the member’s own identifier')
    t.equal(bankJa.recordedAt, entry.recordedAt, 'the instant exactly as the ledger entry keeps it')
    t.equal(bankJa.providedAt, japanTime(entry.recordedAt), 'providedAt is that instant in Japan time')
    t.match(bankJa.providedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+09:00$/)
    t.equal(new Date(bankJa.providedAt).getTime(), new Date(entry.recordedAt).getTime(), 'one instant, two spellings')
    t.match(bankJa.retainUntil, /T23:59:59\.999\+09:00$/, 'kept to the end of a Japan-time day')
    t.equal(bankJa.recipient?.country, 'JP', 'the recipient’s country')

    t.same(
      {
        category: bankJa.recipient?.categoryLabel,
        purpose: bankJa.purposeLabel,
        service: bankJa.serviceCategoryLabel,
        items: bankJa.dataItemLabels,
        method: bankJa.methodLabel,
        consentMethod: bankJa.consent?.methodLabel
      },
      {
        category: '金融機関',
        purpose: '商品・サービスの代金の請求及び回収のため',
        service: '生協の共同購入(個人宅配を含む)にて取り扱う食品・日用雑貨品などの商品',
        items: ['氏名', '口座情報', '請求金額'],
        method: '電子データの送信',
        consentMethod: '書面'
      },
      'Japanese labels by default'
    )
    t.same(
      {
        category: bankEn.recipient?.categoryLabel,
        purpose: bankEn.purposeLabel,
        items: bankEn.dataItemLabels,
        method: bankEn.methodLabel,
        consentMethod: bankEn.consent?.methodLabel
      },
      {
        category: 'Financial institutions',
        purpose: 'Billing and collecting payment for goods and services',
        items: ['Name', 'Bank account', 'Billing amount'],
        method: 'Transmitting electronic data',
        consentMethod: 'On paper'
      },
      'English labels with language en'
    )
    t.same(bankEn.dataItems, bankJa.dataItems, 'the codes stay beside the labels')
    for (const record of ja) {
      t.equal(record.requiredByLaw, true, 'a consent-based provision: APPI Art. 29 requires its record')
      t.match(record.recordBasis, /第29条/)
      t.equal(record.exception, null)
    }
    t.match(bankEn.recordBasis, /Art\. 29/)

    const all = await listProvisionRecords(test.database.db, member, { include: 'all', language: 'en' })
    t.same(
      all.map((r) => r.channel).sort(),
      ['statutory_exception', 'third_party', 'third_party'],
      'with all: the statutory exception too, never joint use or entrustment'
    )
    const exception = all.find((r) => r.channel === 'statutory_exception')!
    t.equal(exception.entryId, statutory.json().entry.id)
    t.equal(exception.requiredByLaw, false, 'Art. 29 does not require a record of a 27(1) provision')
    t.match(exception.recordBasis, /kept by the co-op by choice/)
    t.equal(exception.recipient, null)
    t.match(exception.exception, { basis: 'legal_obligation', reference: 'court order 1', approvedBy: 'manager', clause: '2(5)a', law: 'APPI Art. 27(1)(i)' })
    t.equal(exception.consent, null)
  })

  t.test('CSV in English', async (t) => {
    const rows = parse(provisionRecordsCsv(await listProvisionRecords(test.database.db, member, { language: 'en' }), 'en'), { bom: true })
    const header = rows[0]!
    const purpose = header.findIndex((h) => h.includes('(purpose)'))
    const items = header.findIndex((h) => h.includes('(items)'))
    const row = rows.find((r) => r.includes(first.json().entry.id))!
    t.equal(row[purpose], 'Billing and collecting payment for goods and services')
    t.equal(row[items], 'Name; Bank account; Billing amount')
  })

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
    const rows = parse(csv.body, { bom: true, relax_column_count: false })
    const expected = await listProvisionRecords(test.database.db, member)
    t.equal(rows.length, 1 + expected.length, 'a header row and one row per record')
    t.equal(expected.length, after.length)
    const header = rows[0]!
    const column = (english: string) => {
      const index = header.findIndex((h) => h.toLowerCase().includes(`(${english})`))
      t.ok(index >= 0, `a column for ${english}`)
      return index
    }
    const cols = {
      memberId: column('member id'),
      providedAt: column('provided at, japan time'),
      recordedAt: column('recorded at, utc'),
      recipient: column('recipient'),
      address: column('recipient address'),
      representative: column('recipient representative'),
      country: column('recipient country'),
      category: column('recipient category'),
      purpose: column('purpose'),
      items: column('items'),
      method: column('method'),
      consentId: column('consent id'),
      consentObtainedAt: column('consent obtained at, japan time'),
      consentMethod: column('consent method'),
      basis: column('record basis'),
      retainUntil: column('retain until, end of this day in japan time'),
      policyVersion: column('policy version'),
      entryId: column('entry id')
    }
    for (const [i, record] of expected.entries()) {
      const row = rows[i + 1]!
      const label = `row ${i + 1}`
      t.equal(row.length, header.length, `${label}: as many cells as headers`)
      t.equal(row[cols.memberId], member, `${label}: the member’s own identifier`)
      t.equal(row[cols.entryId], record.entryId, `${label}: same record, same order`)
      t.equal(row[cols.providedAt], record.providedAt.slice(0, 19).replace('T', ' '), `${label}: provided at, Japan time`)
      t.equal(row[cols.recordedAt], record.recordedAt, `${label}: the instant beside it`)
      t.equal(row[cols.recipient], record.recipient!.name, `${label}: recipient`)
      t.equal(row[cols.address], record.recipient!.address, `${label}: address`)
      t.equal(row[cols.representative], record.recipient!.representative, `${label}: representative`)
      t.equal(row[cols.country], 'JP', `${label}: country`)
      t.equal(row[cols.category], record.recipient!.categoryLabel, `${label}: category in Japanese`)
      t.equal(row[cols.purpose], record.purposeLabel, `${label}: purpose in Japanese`)
      t.equal(row[cols.items], record.dataItemLabels.join('、'), `${label}: items in Japanese`)
      t.equal(row[cols.method], record.methodLabel, `${label}: method in Japanese`)
      t.equal(row[cols.consentId], record.consent!.id, `${label}: consent id`)
      t.equal(row[cols.consentObtainedAt], record.consent!.obtainedAt.slice(0, 19).replace('T', ' '), `${label}: consent obtained at`)
      t.equal(row[cols.consentMethod], record.consent!.methodLabel, `${label}: consent method`)
      t.match(row[cols.basis], /第29条/, `${label}: required by Art. 29`)
      t.equal(row[cols.retainUntil], record.retainUntil.slice(0, 10), `${label}: the last day it is kept`)
      t.equal(row[cols.policyVersion], record.policyVersion, `${label}: policy version`)
    }
    t.ok(
      rows.some((r) => r[cols.purpose] === '商品・サービスの提供を斡旋するため'),
      'the brokerage purpose reads in Japanese'
    )
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
    const emptyRows = parse(empty.body, { bom: true })
    t.equal(emptyRows.length, 1, 'no records: the header row alone')
  })
})

t.test('Japan time and the end of the Japan-time day', async (t) => {
  t.equal(japanTime('2026-11-25T14:59:59.999Z'), '2026-11-25T23:59:59.999+09:00')
  t.equal(japanTime('2026-11-25T15:00:00.000Z'), '2026-11-26T00:00:00.000+09:00', 'the date turns at 15:00 UTC')
  const cases: [string, string, string][] = [
    ['late evening in Japan', '2026-11-25T14:59:59.999Z', '2029-11-25T23:59:59.999+09:00'],
    ['just after midnight in Japan, still the day before in UTC', '2026-11-25T15:00:00.000Z', '2029-11-26T23:59:59.999+09:00'],
    ['29 February: kept through 1 March three years on, never a day short', '2028-02-29T03:00:00.000Z', '2031-03-01T23:59:59.999+09:00'],
    ['New Year’s Eve in UTC is New Year’s Day in Japan', '2026-12-31T20:00:00.000Z', '2030-01-01T23:59:59.999+09:00']
  ]
  for (const [name, instant, expected] of cases) t.equal(retainUntil(instant, 3), expected, name)
})
