import t from 'tap'
import {
  addContract,
  addInspection,
  assertDenied,
  assertProblem,
  billing,
  codes,
  consentBody,
  contractBody,
  createContractor,
  createRecipient,
  inspectionBody,
  UNKNOWN_ID
} from './fixtures.js'
import { buildTestApp, createClient, daysFrom } from './helper.js'

function entrustmentCheck(contractorId: string, overrides: Record<string, unknown> = {}) {
  return {
    channel: 'entrustment',
    memberId: 'M-000123',
    purpose: 'delivery',
    serviceCategory: 'joint_purchasing',
    dataItems: ['name', 'address', 'phone'],
    contractorId,
    ...overrides
  }
}

t.test('recipients', async (t) => {
  t.test('create answers 201 with a Location header and the stored recipient', async (t) => {
    const test = await buildTestApp(t)
    const res = await test.request({
      method: 'POST',
      url: '/v1/recipients',
      payload: { category: 'insurer', name: 'Kyosai Insurance', address: '7-8-9 Otemachi, Tokyo', representative: 'Jiro Hoken' }
    })
    t.equal(res.statusCode, 201)
    const body = res.json()
    t.match(body.id, /^[0-9a-f-]{36}$/)
    t.equal(res.headers.location, `/v1/recipients/${body.id}`)
    t.match(body, { category: 'insurer', name: 'Kyosai Insurance', address: '7-8-9 Otemachi, Tokyo', representative: 'Jiro Hoken', active: true })
    t.ok(!Number.isNaN(Date.parse(body.createdAt)), 'createdAt is a timestamp')

    const fetched = await test.request({ method: 'GET', url: res.headers.location! })
    t.equal(fetched.statusCode, 200)
    t.same(fetched.json(), body, 'GET at Location returns the same recipient')
  })

  t.test('list filters by category and by active', async (t) => {
    const test = await buildTestApp(t)
    const bank = await createRecipient(test, { category: 'financial_institution', name: 'Bank' })
    const insurer = await createRecipient(test, { category: 'insurer', name: 'Insurer' })
    const travel = await createRecipient(test, { category: 'travel_provider', name: 'Travel' })
    const deactivated = await test.request({ method: 'PATCH', url: `/v1/recipients/${travel.id}`, payload: { active: false } })
    t.equal(deactivated.statusCode, 200)

    const all = await test.request({ method: 'GET', url: '/v1/recipients' })
    t.equal(all.statusCode, 200)
    t.same(
      all
        .json()
        .recipients.map((r: { id: string }) => r.id)
        .sort(),
      [bank.id, insurer.id, travel.id].sort(),
      'every recipient without a filter'
    )

    const insurers = await test.request({ method: 'GET', url: '/v1/recipients?category=insurer' })
    t.equal(insurers.statusCode, 200)
    t.same(
      insurers.json().recipients.map((r: { id: string }) => r.id),
      [insurer.id],
      'category filter'
    )

    const active = await test.request({ method: 'GET', url: '/v1/recipients?active=true' })
    t.equal(active.statusCode, 200)
    t.same(
      active
        .json()
        .recipients.map((r: { id: string }) => r.id)
        .sort(),
      [bank.id, insurer.id].sort(),
      'active=true'
    )

    const inactive = await test.request({ method: 'GET', url: '/v1/recipients?active=false' })
    t.equal(inactive.statusCode, 200)
    t.same(
      inactive.json().recipients.map((r: { id: string }) => r.id),
      [travel.id],
      'active=false'
    )

    const both = await test.request({ method: 'GET', url: '/v1/recipients?category=travel_provider&active=true' })
    t.equal(both.statusCode, 200)
    t.same(both.json().recipients, [], 'filters combine')

    const badCategory = await test.request({ method: 'GET', url: '/v1/recipients?category=bank' })
    assertProblem(t, badCategory, 400)
  })

  t.test('get one, 404 for an unknown id', async (t) => {
    const test = await buildTestApp(t)
    const recipient = await createRecipient(test, { name: 'Suruga Credit', category: 'credit_company' })
    const res = await test.request({ method: 'GET', url: `/v1/recipients/${recipient.id}` })
    t.equal(res.statusCode, 200)
    t.match(res.json(), { id: recipient.id, name: 'Suruga Credit', category: 'credit_company', active: true })

    const missing = await test.request({ method: 'GET', url: `/v1/recipients/${UNKNOWN_ID}` })
    assertProblem(t, missing, 404)

    const patchMissing = await test.request({ method: 'PATCH', url: `/v1/recipients/${UNKNOWN_ID}`, payload: { active: false } })
    assertProblem(t, patchMissing, 404)
  })

  t.test('PATCH { active: false } deactivates, and a third_party check for it is denied recipient_inactive', async (t) => {
    const test = await buildTestApp(t)
    const recipient = await createRecipient(test)
    const consent = await test.request({
      method: 'POST',
      url: '/v1/members/M-000123/consents',
      payload: consentBody({ evidenceRef: 'form-1' })
    })
    t.equal(consent.statusCode, 201)
    const check = billing('M-000123', recipient.id)
    const before = await test.request({ method: 'POST', url: '/v1/checks', payload: check })
    t.equal(before.statusCode, 200)
    t.equal(before.json().decision, 'allow', 'allowed while the recipient is active')

    const res = await test.request({ method: 'PATCH', url: `/v1/recipients/${recipient.id}`, payload: { active: false } })
    t.equal(res.statusCode, 200)
    t.match(res.json(), { id: recipient.id, active: false, name: recipient.name })
    const fetched = await test.request({ method: 'GET', url: `/v1/recipients/${recipient.id}` })
    t.equal(fetched.json().active, false, 'the deactivation is stored')

    const after = await test.request({ method: 'POST', url: '/v1/checks', payload: check })
    assertDenied(t, after, ['recipient_inactive'], 'II')
  })

  t.test('PATCH changes a field; PATCH {} is a 400', async (t) => {
    const test = await buildTestApp(t)
    const recipient = await createRecipient(test)
    const renamed = await test.request({ method: 'PATCH', url: `/v1/recipients/${recipient.id}`, payload: { name: 'Renamed Bank' } })
    t.equal(renamed.statusCode, 200)
    t.match(renamed.json(), { name: 'Renamed Bank', active: true })

    const empty = await test.request({ method: 'PATCH', url: `/v1/recipients/${recipient.id}`, payload: {} })
    assertProblem(t, empty, 400)
    const unchanged = await test.request({ method: 'GET', url: `/v1/recipients/${recipient.id}` })
    t.match(unchanged.json(), { name: 'Renamed Bank', active: true }, 'nothing changed')

    const unknownField = await test.request({ method: 'PATCH', url: `/v1/recipients/${recipient.id}`, payload: { category: 'insurer' } })
    assertProblem(t, unknownField, 400)
  })
})

t.test('contractors', async (t) => {
  t.test('create, list, and get with contracts and inspections', async (t) => {
    const test = await buildTestApp(t)
    const res = await test.request({ method: 'POST', url: '/v1/contractors', payload: { name: 'Delivery Co.', address: '4-5-6 Suruga' } })
    t.equal(res.statusCode, 201)
    const contractor = res.json()
    t.match(contractor, { name: 'Delivery Co.', address: '4-5-6 Suruga' })
    t.match(contractor.id, /^[0-9a-f-]{36}$/)
    t.equal(res.headers.location, `/v1/contractors/${contractor.id}`)
    const other = await createContractor(test, 'Print Co.')

    const list = await test.request({ method: 'GET', url: '/v1/contractors' })
    t.equal(list.statusCode, 200)
    t.same(
      list
        .json()
        .contractors.map((c: { id: string }) => c.id)
        .sort(),
      [contractor.id, other.id].sort()
    )

    const empty = await test.request({ method: 'GET', url: `/v1/contractors/${contractor.id}` })
    t.equal(empty.statusCode, 200)
    t.match(empty.json(), { id: contractor.id, name: 'Delivery Co.', contracts: [], inspections: [] })

    const contract = await addContract(test, contractor.id)
    const older = await addInspection(test, contractor.id, { inspectedAt: daysFrom(-100), result: 'failed', notes: 'labels missing' })
    const newer = await addInspection(test, contractor.id, { inspectedAt: daysFrom(-5) })

    const detail = await test.request({ method: 'GET', url: `/v1/contractors/${contractor.id}` })
    t.equal(detail.statusCode, 200)
    const body = detail.json()
    t.equal(body.contracts.length, 1)
    t.match(body.contracts[0], {
      id: contract.id,
      contractorId: contractor.id,
      reference: 'C-2024-001',
      purposes: ['delivery'],
      dataItems: ['name', 'address', 'phone']
    })
    t.same(
      body.inspections.map((i: { id: string }) => i.id),
      [newer.id, older.id],
      'inspections newest first'
    )
    t.match(body.inspections[1], { result: 'failed', notes: 'labels missing', inspector: 'Hanako Kansa' })
    t.equal(body.inspections[0].notes, null)

    const otherDetail = await test.request({ method: 'GET', url: `/v1/contractors/${other.id}` })
    t.match(otherDetail.json(), { contracts: [], inspections: [] }, 'records stay with their contractor')

    const missing = await test.request({ method: 'GET', url: `/v1/contractors/${UNKNOWN_ID}` })
    assertProblem(t, missing, 404)
  })

  t.test('contracts: 201, reversed validity 400, unknown contractor 404', async (t) => {
    const test = await buildTestApp(t)
    const contractor = await createContractor(test)
    const res = await test.request({ method: 'POST', url: `/v1/contractors/${contractor.id}/contracts`, payload: contractBody() })
    t.equal(res.statusCode, 201)
    t.match(res.json(), { contractorId: contractor.id, reference: 'C-2024-001', purposes: ['delivery'] })
    t.match(res.json().id, /^[0-9a-f-]{36}$/)

    const reversed = await test.request({
      method: 'POST',
      url: `/v1/contractors/${contractor.id}/contracts`,
      payload: contractBody({ validFrom: daysFrom(10), validUntil: daysFrom(5), signedAt: daysFrom(-1) })
    })
    assertProblem(t, reversed, 400)

    const unknown = await test.request({ method: 'POST', url: `/v1/contractors/${UNKNOWN_ID}/contracts`, payload: contractBody() })
    assertProblem(t, unknown, 404)

    const detail = await test.request({ method: 'GET', url: `/v1/contractors/${contractor.id}` })
    t.equal(detail.json().contracts.length, 1, 'only the valid contract was stored')
  })

  t.test('inspections: 201, future date 400, unknown result 400', async (t) => {
    const test = await buildTestApp(t)
    const contractor = await createContractor(test)
    const res = await test.request({ method: 'POST', url: `/v1/contractors/${contractor.id}/inspections`, payload: inspectionBody({ notes: 'fine' }) })
    t.equal(res.statusCode, 201)
    t.match(res.json(), { contractorId: contractor.id, result: 'passed', inspector: 'Hanako Kansa', notes: 'fine' })

    const future = await test.request({
      method: 'POST',
      url: `/v1/contractors/${contractor.id}/inspections`,
      payload: inspectionBody({ inspectedAt: daysFrom(2) })
    })
    assertProblem(t, future, 400)

    const badResult = await test.request({
      method: 'POST',
      url: `/v1/contractors/${contractor.id}/inspections`,
      payload: inspectionBody({ result: 'ok' })
    })
    const problem = assertProblem(t, badResult, 400)
    t.ok(Array.isArray(problem.errors) && problem.errors.some((e: { path: string }) => e.path.includes('result')), 'names result')

    const unknown = await test.request({ method: 'POST', url: `/v1/contractors/${UNKNOWN_ID}/inspections`, payload: inspectionBody() })
    assertProblem(t, unknown, 404)

    const detail = await test.request({ method: 'GET', url: `/v1/contractors/${contractor.id}` })
    t.equal(detail.json().inspections.length, 1, 'only the valid inspection was stored')
  })
})

t.test('entrustment end to end over HTTP', async (t) => {
  t.test('contract in force and a current passed inspection: allow', async (t) => {
    const test = await buildTestApp(t)
    const contractor = await createContractor(test)
    const contract = await addContract(test, contractor.id)
    await addInspection(test, contractor.id, { inspectedAt: daysFrom(-30) })

    const res = await test.request({ method: 'POST', url: '/v1/checks', payload: entrustmentCheck(contractor.id) })
    t.equal(res.statusCode, 200)
    const body = res.json()
    t.equal(body.decision, 'allow')
    t.same(codes(body), ['contract_in_force', 'inspection_current'])
    t.equal(body.contractId, contract.id)
    t.ok(
      body.obligations.some((o: { code: string }) => o.code === 'reinspect_by'),
      'reinspect_by obligation'
    )
    t.notOk('entry' in body, 'a check carries no ledger entry')

    const ledger = await test.request({ method: 'GET', url: '/v1/ledger' })
    t.same(ledger.json().entries, [], 'a check writes nothing')
  })

  t.test('latest inspection failed: deny inspection_failed', async (t) => {
    const test = await buildTestApp(t)
    const contractor = await createContractor(test)
    await addContract(test, contractor.id)
    await addInspection(test, contractor.id, { inspectedAt: daysFrom(-60), result: 'passed' })
    await addInspection(test, contractor.id, { inspectedAt: daysFrom(-3), result: 'failed' })

    const res = await test.request({ method: 'POST', url: '/v1/checks', payload: entrustmentCheck(contractor.id) })
    assertDenied(t, res, ['inspection_failed'], '2(4)')
  })

  t.test('latest inspection 400 days old: deny inspection_overdue', async (t) => {
    const test = await buildTestApp(t)
    const contractor = await createContractor(test)
    await addContract(test, contractor.id)
    await addInspection(test, contractor.id, { inspectedAt: daysFrom(-400), result: 'passed' })

    const res = await test.request({ method: 'POST', url: '/v1/checks', payload: entrustmentCheck(contractor.id) })
    assertDenied(t, res, ['inspection_overdue'], '2(4)')
  })

  t.test('contract does not cover the items: deny contract_items_not_covered', async (t) => {
    const test = await buildTestApp(t)
    const contractor = await createContractor(test)
    await addContract(test, contractor.id)
    await addInspection(test, contractor.id)

    const res = await test.request({
      method: 'POST',
      url: '/v1/checks',
      payload: entrustmentCheck(contractor.id, { dataItems: ['name', 'address', 'phone', 'bank_account'] })
    })
    assertDenied(t, res, ['contract_items_not_covered'], '2(4)')
  })
})

t.test('a calling system looks its recipients up by code or name, and sees active ones only', async (t) => {
  const test = await buildTestApp(t)
  const bank = await createRecipient(test, { name: '自然派信用金庫', code: '1234' })
  const other = await createRecipient(test, { name: 'Shizenha Shinkin Osaka', code: '5678' })
  await createRecipient(test, { name: 'Closed Bank', code: '9999' })
  const closed = (await test.request({ method: 'GET', url: '/v1/recipients?code=9999' })).json().recipients[0]
  t.equal((await test.request({ method: 'PATCH', url: `/v1/recipients/${closed.id}`, payload: { active: false } })).statusCode, 200)
  const billingSystem = await createClient(test, { name: 'billing', role: 'system', channels: ['third_party'], purposes: ['billing'] })
  const asSystem = (query: string) => test.request({ method: 'GET', url: `/v1/recipients${query}`, token: billingSystem.token })

  const byCode = await asSystem('?code=1234')
  t.equal(byCode.statusCode, 200, 'a system client may read recipients')
  t.same(
    byCode.json().recipients.map((r: { id: string; code: string }) => [r.id, r.code]),
    [[bank.id, '1234']],
    'by its code (金融機関コード)'
  )
  t.same(
    (await asSystem('?name=shinkin')).json().recipients.map((r: { id: string }) => r.id),
    [other.id],
    'by part of its name, in any letter case'
  )
  t.same((await asSystem('?name=%25')).json().recipients, [], 'a % in the name is a character, not a wildcard')
  t.same((await asSystem('?code=9999')).json().recipients, [], 'a deactivated recipient is not shown to a system client')
  t.same((await asSystem('?active=false')).json().recipients, [], 'not even when it asks for deactivated ones')
  t.equal((await test.request({ method: 'GET', url: '/v1/recipients?active=false' })).json().recipients.length, 1, 'an admin still sees it')
  t.equal((await asSystem('?code=12%2034')).statusCode, 400, 'a code is letters, digits, - and _')
})
