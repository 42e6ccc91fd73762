/**
 * Provision records over HTTP as a member and a regulator read them (APPI Art. 29, 33(5)):
 * Japan time with the instant beside it, labels (?lang=en), the member on every row, whether
 * Art. 29 requires each record (?include=all adds the statutory exceptions kept by choice).
 *
 * Needs GET /v1/members/{memberId}/provision-records to take its query and response schemas
 * from src/ledger/provision-records.ts (ProvisionRecordsQuery, ProvisionRecordsResponse).
 */
import { parse } from 'csv-parse/sync'
import t from 'tap'
import { billing, createRecipient, grantConsent, statutoryException } from '../fixtures.js'
import { buildTestApp } from '../helper.js'

const MEMBER = 'M-records-1'

t.test('provision records in Japanese by default, in English on request, with the statutory exceptions on request', async (t) => {
  const test = await buildTestApp(t)
  const bank = await createRecipient(test)
  await grantConsent(test, MEMBER)
  const provided = await test.request({ method: 'POST', url: '/v1/transfers', payload: billing(MEMBER, bank.id) })
  t.equal(provided.statusCode, 201)
  const statutory = await test.request({ method: 'POST', url: '/v1/transfers', payload: statutoryException(MEMBER) })
  t.equal(statutory.statusCode, 201)
  const recordedAt = provided.json().entry.recordedAt as string

  const ja = await test.request({ method: 'GET', url: `/v1/members/${MEMBER}/provision-records` })
  t.equal(ja.statusCode, 200)
  const [record] = ja.json().records
  t.equal(ja.json().records.length, 1, 'by default only the records Art. 29 requires')
  t.match(record, {
    entryId: provided.json().entry.id,
    memberId: MEMBER,
    recordedAt,
    channel: 'third_party',
    recipient: { id: bank.id, categoryLabel: '金融機関', country: 'JP' },
    purpose: 'billing',
    purposeLabel: '商品・サービスの代金の請求及び回収のため',
    dataItemLabels: ['氏名', '口座情報', '請求金額'],
    methodLabel: '電子データの送信',
    consent: { methodLabel: '書面' },
    exception: null,
    requiredByLaw: true
  })
  t.match(record.providedAt, /\+09:00$/, 'Japan time')
  t.equal(new Date(record.providedAt).getTime(), new Date(recordedAt).getTime(), 'the same instant as the ledger’s')
  t.match(record.retainUntil, /T23:59:59\.999\+09:00$/, 'to the end of a Japan-time day')
  t.match(record.recordBasis, /第29条/)

  const en = await test.request({ method: 'GET', url: `/v1/members/${MEMBER}/provision-records?lang=en&include=all` })
  t.equal(en.statusCode, 200)
  const records = en.json().records as Record<string, any>[]
  t.same(
    records.map((r) => r.channel),
    ['statutory_exception', 'third_party'],
    'newest first, the exception included'
  )
  t.match(records[1], { purposeLabel: 'Billing and collecting payment for goods and services', recipient: { categoryLabel: 'Financial institutions' } })
  t.match(records[0], {
    requiredByLaw: false,
    recipient: null,
    consent: null,
    exception: { basis: 'legal_obligation', clause: '2(5)a', law: 'APPI Art. 27(1)(i)' }
  })
  t.match(records[0]?.recordBasis, /by choice/)

  const csv = await test.request({ method: 'GET', url: `/v1/members/${MEMBER}/provision-records?format=csv&lang=en` })
  t.equal(csv.statusCode, 200)
  const rows = parse(csv.body, { bom: true })
  const purpose = rows[0]!.findIndex((h) => h.includes('(purpose)'))
  const member = rows[0]!.findIndex((h) => h.includes('(member id)'))
  t.equal(rows[1]![purpose], 'Billing and collecting payment for goods and services', 'CSV values in English')
  t.equal(rows[1]![member], MEMBER)

  for (const query of ['lang=fr', 'include=joint_use', 'colour=blue']) {
    const bad = await test.request({ method: 'GET', url: `/v1/members/${MEMBER}/provision-records?${query}` })
    t.equal(bad.statusCode, 400, `${query} is refused`)
  }
})
