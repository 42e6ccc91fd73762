/**
 * Every legal person of the notice (issue 22), end to end over HTTP with real rows: the registry
 * of member co-ops, clients that belong to one, decisions, ledger entries, consents and provision
 * records that carry their provider, joint use among the federation, the co-ops and JCCU, and the
 * Art. 28 rule for contractors and recipients abroad. One app for the file: every subtest uses
 * member ids and co-ops of its own.
 */
import { parse } from 'csv-parse/sync'
import t from 'tap'
import {
  addContract,
  addInspection,
  assertProblem,
  billing,
  codes,
  consentBody,
  countEntries,
  createRecipient,
  grantConsent,
  isProblem,
  jointUse,
  memberEntries,
  UNKNOWN_ID
} from '../fixtures.js'
import { buildTestApp, createClient, daysFrom } from '../helper.js'

const test = await buildTestApp(t)

const FEDERATION_ID = 'shizenha'
const JCCU_ID = 'JCCU'

interface Entity {
  id: string
  kind: string
  name: { ja: string; en: string }
  address: string | null
  representative: string | null
  corporateNumber: string | null
  active: boolean
  missing: string[]
}

/** Registers a member co-op as the bootstrap admin; throws unless 201. */
async function registerCoop(name: { ja: string; en: string }, details: Record<string, unknown> = {}): Promise<Entity> {
  const res = await test.request({ method: 'POST', url: '/v1/entities', payload: { kind: 'member_coop', name, ...details } })
  if (res.statusCode !== 201) throw new Error(`co-op registration failed: ${res.statusCode} ${res.body}`)
  return res.json<Entity>()
}

/** A client that belongs to `entityId`; throws unless 201. */
async function clientOf(entityId: string, role: 'admin' | 'ops' | 'system'): Promise<{ id: string; token: string; entityId: string }> {
  const res = await test.request({ method: 'POST', url: '/v1/clients', payload: { name: `${role} of ${entityId}`, role, entityId } })
  if (res.statusCode !== 201) throw new Error(`client registration failed: ${res.statusCode} ${res.body}`)
  return res.json()
}

async function ledgerEntry(id: string): Promise<Record<string, any>> {
  const res = await test.request({ method: 'GET', url: `/v1/ledger/${id}` })
  if (res.statusCode !== 200) throw new Error(`ledger entry ${id}: ${res.statusCode} ${res.body}`)
  return res.json()
}

function post(url: string, payload: Record<string, unknown>, token?: string, headers: Record<string, string> = {}) {
  return test.request({ method: 'POST', url, payload, headers, ...(token === undefined ? {} : { token }) })
}

async function provisionRecords(memberId: string, query = '', token?: string): Promise<Record<string, any>[]> {
  const res = await test.request({ method: 'GET', url: `/v1/members/${memberId}/provision-records${query}`, ...(token === undefined ? {} : { token }) })
  if (res.statusCode !== 200) throw new Error(`provision records: ${res.statusCode} ${res.body}`)
  return res.json().records
}

async function createContractorIn(country: string, name: string): Promise<{ id: string; country: string }> {
  const res = await post('/v1/contractors', { name, address: `${name}, somewhere in ${country}`, country })
  if (res.statusCode !== 201) throw new Error(`contractor registration failed: ${res.statusCode} ${res.body}`)
  return res.json()
}

function entrustment(memberId: string, contractorId: string, dataItems: string[]) {
  return { channel: 'entrustment', memberId, purpose: 'delivery', serviceCategory: 'joint_purchasing', dataItems, contractorId }
}

t.test('member co-ops are registered, listed beside the federation and JCCU, and deactivated', async (t) => {
  const hyogo = await registerCoop(
    { ja: '生活協同組合コープ自然派兵庫', en: 'Co-op Shizenha Hyogo' },
    { address: '兵庫県神戸市中央区1-1-1', representative: '兵庫 太郎' }
  )
  t.match(hyogo.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'a UUID id')
  t.match(hyogo, { kind: 'member_coop', active: true, address: '兵庫県神戸市中央区1-1-1', representative: '兵庫 太郎', corporateNumber: null })
  t.same(hyogo.missing, ['corporateNumber'], 'what the registration does not state is listed, not made up')
  const bare = await registerCoop({ ja: '生活協同組合コープ自然派京都', en: 'Co-op Shizenha Kyoto' })
  t.same(bare.missing, ['address', 'representative', 'corporateNumber'], 'a co-op registered by name only misses all three')

  const list = await test.request({ method: 'GET', url: '/v1/entities' })
  t.equal(list.statusCode, 200)
  const entities = list.json().entities as Entity[]
  const byId = new Map(entities.map((e) => [e.id, e]))
  t.match(byId.get(FEDERATION_ID), { kind: 'federation', source: 'policy', active: true }, 'the federation, from the policy')
  t.match(byId.get(JCCU_ID), { kind: 'jccu', source: 'policy', active: true }, 'JCCU, from the policy')
  t.match(byId.get(hyogo.id), { kind: 'member_coop', source: 'registry', name: hyogo.name, missing: ['corporateNumber'] }, 'the co-op, with missing')
  t.same(byId.get(bare.id)?.missing, ['address', 'representative', 'corporateNumber'])
  t.same(
    entities.slice(0, 2).map((e) => e.id),
    [FEDERATION_ID, JCCU_ID],
    'the named persons come first'
  )

  const system = await createClient(test, { role: 'system' })
  const asSystem = await test.request({ method: 'GET', url: '/v1/entities', token: system.token })
  t.equal(asSystem.statusCode, 200, 'a system client reads the list')
  t.ok(
    (asSystem.json().entities as Entity[]).some((e) => e.id === hyogo.id),
    'and sees the co-op'
  )
  const systemPost = await test.request({
    method: 'POST',
    url: '/v1/entities',
    token: system.token,
    payload: { kind: 'member_coop', name: { ja: '不正', en: 'Nope' } }
  })
  assertProblem(t, systemPost, 403, 'a system client registering')
  const ops = await createClient(test, { role: 'ops' })
  assertProblem(
    t,
    await test.request({ method: 'PATCH', url: `/v1/entities/${hyogo.id}`, token: ops.token, payload: { active: false } }),
    403,
    'ops deactivating'
  )

  const deactivated = await test.request({ method: 'PATCH', url: `/v1/entities/${bare.id}`, payload: { active: false } })
  t.equal(deactivated.statusCode, 200)
  t.match(deactivated.json(), { id: bare.id, active: false })
  const one = await test.request({ method: 'GET', url: `/v1/entities/${bare.id}` })
  t.equal(one.json().active, false, 'the deactivation is stored')
  const active = (await test.request({ method: 'GET', url: '/v1/entities?active=true' })).json().entities as Entity[]
  t.notOk(
    active.some((e) => e.id === bare.id),
    'active=true leaves it out'
  )
  t.ok(
    active.some((e) => e.id === hyogo.id),
    'and keeps the active co-op'
  )

  for (const id of [FEDERATION_ID, JCCU_ID]) {
    const named = await test.request({ method: 'PATCH', url: `/v1/entities/${id}`, payload: { active: false } })
    const problem = assertProblem(t, named, 409, `PATCH ${id}`)
    t.equal(problem.code, 'entity_named_by_policy', `PATCH ${id}: entity_named_by_policy`)
    t.equal((await test.request({ method: 'GET', url: `/v1/entities/${id}` })).json().active, true, `${id} stays active`)
  }
  assertProblem(t, await test.request({ method: 'PATCH', url: `/v1/entities/${UNKNOWN_ID}`, payload: { active: false } }), 404, 'an unknown id')
})

t.test('joint use among the federation, the member co-ops and JCCU, each end on record', async (t) => {
  const a = await registerCoop({ ja: '生活協同組合コープ自然派大阪', en: 'Co-op Shizenha Osaka' })
  const b = await registerCoop({ ja: '生活協同組合コープ自然派奈良', en: 'Co-op Shizenha Nara' })
  const gone = await registerCoop({ ja: '生活協同組合コープ自然派旧', en: 'Co-op Shizenha Former' })
  t.equal((await test.request({ method: 'PATCH', url: `/v1/entities/${gone.id}`, payload: { active: false } })).statusCode, 200)
  const systemA = await clientOf(a.id, 'system')
  t.equal(systemA.entityId, a.id, 'the client belongs to co-op A')

  // A to the federation.
  const toFederation = await post('/v1/transfers', { ...jointUse('M-lp-joint-1'), jointUser: FEDERATION_ID }, systemA.token)
  t.equal(toFederation.statusCode, 201, 'A to the federation is allowed and recorded')
  const body = toFederation.json()
  t.equal(body.decision, 'allow')
  t.same(codes(body), ['joint_use_announced'])
  t.equal(body.providerId, a.id, 'A provides')
  const jointWarnings = (body.warnings as { code: string; clause: string; article?: string; message: string }[]).filter((w) => w.code.startsWith('joint_use_'))
  t.ok(jointWarnings.length > 0, 'the allow carries the notice’s joint-use gaps')
  for (const w of jointWarnings) {
    t.equal(w.clause, '2(2)', `${w.code}: clause 2(2)`)
    t.type(w.article, 'string', `${w.code}: an article`)
    t.type(w.message, 'string', `${w.code}: a message`)
  }
  const entry = await ledgerEntry(body.entry.id)
  t.equal(entry.providerId, a.id, 'the entry’s providerId is A')
  t.match(entry.provider, { id: a.id, kind: 'member_coop', name: a.name }, 'the entry names A as provider')
  t.match(entry.jointUserEntity, { id: FEDERATION_ID, kind: 'federation' }, 'and the federation as the other end')
  t.equal(entry.decision, 'allow')

  // The federation (the bootstrap admin's) to A.
  const fromFederation = await post('/v1/transfers', { ...jointUse('M-lp-joint-2'), jointUser: a.id })
  t.equal(fromFederation.statusCode, 201, 'the federation to A is allowed')
  t.equal(fromFederation.json().providerId, FEDERATION_ID)
  const fromEntry = await ledgerEntry(fromFederation.json().entry.id)
  t.match(fromEntry, { providerId: FEDERATION_ID, provider: { id: FEDERATION_ID, kind: 'federation' }, jointUserEntity: { id: a.id, kind: 'member_coop' } })

  // A to B, with B's id in upper case (ids are handled in lower case).
  const toB = await post('/v1/transfers', { ...jointUse('M-lp-joint-3'), jointUser: b.id.toUpperCase() }, systemA.token)
  t.equal(toB.statusCode, 201, 'A to B is allowed')
  t.equal(toB.json().providerId, a.id)
  t.match(await ledgerEntry(toB.json().entry.id), {
    providerId: a.id,
    provider: { id: a.id },
    jointUserEntity: { id: b.id, kind: 'member_coop', name: b.name }
  })

  // A to JCCU, as before.
  const toJccu = await post('/v1/transfers', jointUse('M-lp-joint-4'), systemA.token)
  t.equal(toJccu.statusCode, 201, 'A to JCCU is allowed')
  t.match(await ledgerEntry(toJccu.json().entry.id), { jointUserEntity: { id: JCCU_ID, kind: 'jccu' } })

  // A deactivated co-op, and an id that names nobody.
  const toGone = await post('/v1/transfers', { ...jointUse('M-lp-joint-5'), jointUser: gone.id }, systemA.token, { 'accept-language': 'ja' })
  t.equal(toGone.statusCode, 403, 'joint use with a deactivated co-op is denied')
  t.notOk(isProblem(toGone), 'a recorded deny, not a problem')
  const denied = toGone.json()
  t.equal(denied.decision, 'deny')
  t.same(codes(denied), ['joint_user_unknown'], 'by the joint-user rule alone')
  t.same(denied.warnings, [{ code: 'member_unseen', clause: '2(6)', message: denied.warnings[0]?.message }], 'a deny carries no joint-use gap')
  const message = denied.reasons[0].message as string
  t.match(message, /[\u3040-\u30ff\u3400-\u9fff]/, 'the message is Japanese')
  t.match(message, /会員生協/, 'it names the member co-ops as joint users')
  t.notMatch(message, /日本生活協同組合連合会のみ/, 'it no longer says JCCU is the only joint user')
  t.notMatch(message, /JCCU only/)
  t.match(await ledgerEntry(denied.entry.id), { decision: 'deny', providerId: a.id, reasons: [{ code: 'joint_user_unknown' }] }, 'the deny is on record')

  const toNobody = await post('/v1/checks', { ...jointUse('M-lp-joint-5'), jointUser: UNKNOWN_ID }, systemA.token)
  t.equal(toNobody.statusCode, 200)
  t.same(codes(toNobody.json()), ['joint_user_unknown'], 'an unknown id is no joint user')
})

t.test('a client acts for its own provider only; an admin may name another', async (t) => {
  const a = await registerCoop({ ja: '生活協同組合コープ自然派滋賀', en: 'Co-op Shizenha Shiga' })
  const b = await registerCoop({ ja: '生活協同組合コープ自然派和歌山', en: 'Co-op Shizenha Wakayama' })
  const systemA = await clientOf(a.id, 'system')
  const member = 'M-lp-scope-1'

  const before = await countEntries(test, member)
  const attempt = await post('/v1/transfers', { ...jointUse(member), providerId: b.id }, systemA.token)
  const problem = assertProblem(t, attempt, 403, 'A naming B')
  t.equal(problem.code, 'client_scope')
  t.type(problem.entry?.id, 'string', 'the problem names the recorded attempt')
  t.equal(await countEntries(test, member), before + 1, 'the attempt is one ledger row')
  const rows = (await memberEntries(test, member)).filter((e) => e.kind === 'decision')
  t.equal(rows.length, 1)
  t.match(rows[0], {
    id: problem.entry.id,
    decision: 'deny',
    reasons: [{ code: 'client_scope' }],
    providerId: a.id,
    clientId: systemA.id,
    requestedProviderId: b.id
  })
  t.same(
    rows[0]!.reasons.map((r: { code: string }) => r.code),
    ['client_scope'],
    'client_scope alone'
  )

  // Naming its own provider is no attempt on another's.
  const own = await post('/v1/checks', { ...jointUse(member), providerId: a.id }, systemA.token)
  t.equal(own.statusCode, 200)
  t.equal(own.json().decision, 'allow', 'its own id is fine')

  const asAdmin = await post('/v1/transfers', { ...jointUse(member), providerId: b.id })
  t.equal(asAdmin.statusCode, 201, 'an admin acts for B')
  t.equal(asAdmin.json().providerId, b.id)
  t.match(await ledgerEntry(asAdmin.json().entry.id), { decision: 'allow', providerId: b.id, provider: { id: b.id, kind: 'member_coop' } }, 'recorded as B')

  const unknownProvider = await post('/v1/checks', { ...jointUse(member), providerId: UNKNOWN_ID })
  t.equal(unknownProvider.statusCode, 200)
  t.same(codes(unknownProvider.json()), ['provider_unknown'], 'an admin naming nobody is denied provider_unknown')
})

t.test('third party by a member co-op: its consent, its details, its provision records', async (t) => {
  const address = '大阪府大阪市北区2-2-2'
  const a = await registerCoop({ ja: '生活協同組合コープ自然派北摂', en: 'Co-op Shizenha Hokusetsu' }, { address, representative: '北摂 花子' })
  const opsA = await clientOf(a.id, 'ops')
  const systemA = await clientOf(a.id, 'system')
  const bank = await createRecipient(test, { name: '北摂信用金庫' })
  const member = 'M-lp-third-1'

  const consent = await post(`/v1/members/${member}/consents`, consentBody({ recipientId: bank.id, evidenceRef: 'hokusetsu-1' }), opsA.token)
  t.equal(consent.statusCode, 201, 'A’s ops records the consent')
  t.equal(consent.json().providerId, a.id, 'given to A')
  const federationConsent = await grantConsent(test, member, { recipientId: bank.id, evidenceRef: 'federation-1' })
  t.ok(federationConsent.id, 'the member consented to the federation too')

  const transfer = await post('/v1/transfers', billing(member, bank.id), systemA.token)
  t.equal(transfer.statusCode, 201, 'A’s billing is allowed')
  const decision = transfer.json()
  t.same(codes(decision), ['consent_on_record'])
  t.equal(decision.providerId, a.id)
  t.equal(decision.consentId, consent.json().id, 'on A’s consent, not the federation’s')
  t.same(decision.providerDetails.name, a.name, 'the recipient is told A’s name')
  t.equal(decision.providerDetails.address?.ja, address, 'and A’s registered address')
  t.equal(decision.providerDetails.representative?.ja, '北摂 花子')
  t.match(await ledgerEntry(decision.entry.id), { providerId: a.id, provider: { id: a.id }, consentId: consent.json().id })

  const federationTransfer = await post('/v1/transfers', billing(member, bank.id))
  t.equal(federationTransfer.statusCode, 201, 'the federation’s billing is allowed on its own consent')
  t.equal(federationTransfer.json().consentId, federationConsent.id)
  t.not(federationTransfer.json().providerDetails.name.ja, a.name.ja, 'the federation’s details are its own')

  const aEntry = decision.entry.id as string
  const fEntry = federationTransfer.json().entry.id as string
  const ids = (records: Record<string, any>[]) => records.map((r) => r.entryId as string).sort()

  const readByA = await provisionRecords(member, '', opsA.token)
  t.same(ids(readByA), [aEntry], 'A’s client reads only A’s record')
  t.match(readByA[0], { provider: { id: a.id, name: a.name }, recipient: { id: bank.id } })
  t.same(ids(await provisionRecords(member)), [fEntry], 'the federation admin by default: its own, none of A’s')
  t.same(ids(await provisionRecords(member, `?providerId=${a.id}`)), [aEntry], 'providerId=A: A’s')
  t.same(ids(await provisionRecords(member, '?providerId=all')), [aEntry, fEntry].sort(), 'providerId=all: both')

  const csv = await test.request({ method: 'GET', url: `/v1/members/${member}/provision-records?format=csv`, token: opsA.token })
  t.equal(csv.statusCode, 200)
  t.match(csv.headers['content-type'], /^text\/csv/)
  const rows = parse<Record<string, string>>(csv.body.replace(/^\uFEFF/, ''), { columns: true })
  t.equal(rows.length, 1, 'one CSV row for A')
  t.equal(rows[0]?.['提供者 (provider)'], a.name.ja, 'the provider column is A’s name')
  t.equal(rows[0]?.['提供者ID (provider id)'], a.id)
  t.ok(csv.body.includes(a.name.ja), 'the CSV contains A’s name')

  // A consent given to the federation does not permit A's provision.
  const other = 'M-lp-third-2'
  await grantConsent(test, other, { recipientId: bank.id, evidenceRef: 'federation-only' })
  const notA = await post('/v1/transfers', billing(other, bank.id), systemA.token)
  t.equal(notA.statusCode, 403, 'A has no consent of this member')
  t.same(codes(notA.json()), ['consent_missing'], 'consent_missing alone')
  t.equal(notA.json().providerId, a.id)
  t.same(await provisionRecords(other, '?providerId=all'), [], 'nothing provided')

  // Only an admin records a consent for another provider.
  const forOther = await post(`/v1/members/${other}/consents`, consentBody({ providerId: FEDERATION_ID }), opsA.token)
  assertProblem(t, forOther, 403, 'A’s ops recording for the federation')
})

t.test('Art. 28: contractors and recipients abroad', async (t) => {
  t.test('a contractor in PH needs a rule 17(2) consent; with it the entrustment is a provision record', async (t) => {
    const member = 'M-lp-abroad-1'
    const items = ['name', 'phone', 'health_care']
    const contractor = await createContractorIn('PH', 'Manila Delivery Services Inc.')
    t.equal(contractor.country, 'PH')
    await addContract(test, contractor.id, { purposes: ['delivery'], dataItems: items })
    await addInspection(test, contractor.id)

    const denied = await post('/v1/transfers', entrustment(member, contractor.id, items))
    t.equal(denied.statusCode, 403, 'denied without consent or measures')
    t.same(codes(denied.json()), ['contractor_abroad'], 'by the Art. 28 rule alone: the contract and inspection hold')
    t.match(denied.json().reasons[0], { clause: '2(3)', law: /Art\. 28/ }, 'on the entrustment clause, under Art. 28')
    t.match(await ledgerEntry(denied.json().entry.id), { decision: 'deny', reasons: [{ code: 'contractor_abroad' }], contractorId: contractor.id })

    const consent = await post(`/v1/members/${member}/consents`, {
      contractorId: contractor.id,
      foreignRecipient: { country: 'PH', system: 'The Data Privacy Act of 2012 (RA 10173)', measures: 'Contract clauses, access control, annual audit' },
      obtainedAt: daysFrom(-1),
      method: 'paper',
      evidenceRef: 'abroad-ph-1'
    })
    t.equal(consent.statusCode, 201, 'the consent with the foreign-recipient information is recorded')
    t.match(consent.json(), { contractorId: contractor.id, foreignRecipient: { country: 'PH' }, providerId: FEDERATION_ID })

    const allowed = await post('/v1/transfers', entrustment(member, contractor.id, items))
    t.equal(allowed.statusCode, 201, 'the same entrustment is allowed')
    const body = allowed.json()
    t.ok(codes(body).includes('abroad_consent_on_record'), 'on the abroad consent')
    t.equal(body.consentId, consent.json().id)
    t.ok(
      body.obligations.some((o: { code: string }) => o.code === 'keep_provision_record'),
      'with a provision record to keep'
    )

    const entry = await ledgerEntry(body.entry.id)
    t.match(entry, { decision: 'allow', consentId: consent.json().id, contractor: { id: contractor.id } }, 'the allow is on record with its contractor')
    t.equal(entry.contractor?.country, 'PH', 'the entry keeps the contractor’s country, which its provision record shows')

    const records = await provisionRecords(member)
    const record = records.find((r) => r.entryId === body.entry.id)
    t.ok(record, 'the entrustment is among the member’s provision records')
    t.equal(record?.channel, 'entrustment')
    t.equal(record?.contractor?.id, contractor.id)
    t.equal(record?.contractor?.country, 'PH', 'with the contractor’s country')
    t.equal(records.length, 1, 'the denied one is not')

    const mismatch = await post(`/v1/members/${member}/consents`, {
      contractorId: contractor.id,
      foreignRecipient: { country: 'VN', system: 'x', measures: 'y' },
      obtainedAt: daysFrom(-1),
      method: 'paper',
      evidenceRef: 'abroad-ph-2'
    })
    t.equal(assertProblem(t, mismatch, 400, 'information for another country').code, 'foreign_recipient_required')
  })

  t.test('a contractor in DE is as one in Japan', async (t) => {
    const member = 'M-lp-abroad-2'
    const contractor = await createContractorIn('DE', 'Berlin Logistik GmbH')
    await addContract(test, contractor.id)
    await addInspection(test, contractor.id)
    const res = await post('/v1/transfers', entrustment(member, contractor.id, ['name', 'address', 'phone']))
    t.equal(res.statusCode, 201, 'allowed')
    const body = res.json()
    t.same(codes(body), ['contract_in_force', 'inspection_current'], 'on the contract and inspection, no Art. 28 reason')
    t.notOk(
      body.obligations.some((o: { code: string }) => o.code === 'keep_provision_record'),
      'no provision record'
    )
    t.same(await provisionRecords(member), [], 'nothing in the provision records')
  })

  t.test('a recipient in DE is as one in Japan; one in the US needs a ground', async (t) => {
    const member = 'M-lp-abroad-3'
    const de = await createRecipient(test, { name: 'Frankfurter Bank AG', country: 'DE' })
    await grantConsent(test, member, { recipientId: de.id, evidenceRef: 'de-1' })
    const toDe = await post('/v1/transfers', billing(member, de.id))
    t.equal(toDe.statusCode, 201, 'billing through a bank in DE is allowed')
    t.same(codes(toDe.json()), ['consent_on_record'], 'no recipient_abroad, no abroad ground needed')

    const us = await createRecipient(test, { name: 'First Bank of Ohio', country: 'US' })
    await grantConsent(test, member, { recipientId: us.id, evidenceRef: 'us-1' })
    const toUs = await post('/v1/transfers', billing(member, us.id))
    t.equal(toUs.statusCode, 403, 'denied')
    t.same(codes(toUs.json()), ['recipient_abroad'], 'by the Art. 28 rule alone: the consent to the provision is on record')
    t.match(await ledgerEntry(toUs.json().entry.id), { decision: 'deny', recipientId: us.id, reasons: [{ code: 'recipient_abroad' }] })
  })
})

t.test('member_unseen warns of a member id with nothing on record, until something is', async (t) => {
  const member = 'M-lp-unseen-1'
  const first = await post('/v1/checks', jointUse(member))
  t.equal(first.statusCode, 200)
  t.equal(first.json().decision, 'allow')
  const warning = (first.json().warnings as { code: string; clause: string; message: string }[]).find((w) => w.code === 'member_unseen')
  t.match(warning, { code: 'member_unseen', clause: '2(6)' }, 'warned')
  t.match(warning?.message, /member/i)
  t.equal(await countEntries(test, member), 0, 'a check writes nothing')
  const again = await post('/v1/checks', jointUse(member), undefined, { 'accept-language': 'ja' })
  const ja = (again.json().warnings as { code: string; message: string }[]).find((w) => w.code === 'member_unseen')
  t.match(ja?.message, /組合員番号/, 'still warned, in Japanese')

  await grantConsent(test, member, { evidenceRef: 'unseen-1' })
  const after = await post('/v1/checks', jointUse(member))
  t.equal(after.statusCode, 200)
  t.notOk(
    (after.json().warnings as { code: string }[]).some((w) => w.code === 'member_unseen'),
    'no member_unseen once a consent is on record'
  )
  t.ok(
    (after.json().warnings as { code: string }[]).some((w) => w.code.startsWith('joint_use_')),
    'the joint-use gaps still show'
  )
})

t.test('a client belongs to the federation or an active member co-op', async (t) => {
  const coop = await registerCoop({ ja: '生活協同組合コープ自然派三重', en: 'Co-op Shizenha Mie' })
  const gone = await registerCoop({ ja: '生活協同組合コープ自然派解散', en: 'Co-op Shizenha Dissolved' })
  t.equal((await test.request({ method: 'PATCH', url: `/v1/entities/${gone.id}`, payload: { active: false } })).statusCode, 200)

  for (const [label, entityId] of [
    ['JCCU', JCCU_ID],
    ['an unknown id', UNKNOWN_ID],
    ['a word', 'no-such-entity'],
    ['a deactivated co-op', gone.id]
  ] as const) {
    const res = await test.request({ method: 'POST', url: '/v1/clients', payload: { name: `client of ${label}`, role: 'system', entityId } })
    const problem = assertProblem(t, res, 400, label)
    t.equal(problem.code, 'validation_failed', `${label}: validation_failed`)
    t.same(
      problem.errors?.map((e: { path: string }) => e.path),
      ['body/entityId'],
      `${label}: on entityId`
    )
  }

  const ofCoop = await clientOf(coop.id.toUpperCase(), 'system')
  t.equal(ofCoop.entityId, coop.id, 'a co-op’s id, in any letter case, stored in lower case')
  const ofFederation = await createClient(test, { name: 'federation system', role: 'system' })
  const list = await test.request({ method: 'GET', url: '/v1/clients' })
  t.equal(list.statusCode, 200)
  const clients = new Map((list.json().clients as { id: string; entityId: string }[]).map((c) => [c.id, c]))
  t.equal(clients.get(ofCoop.id)?.entityId, coop.id, 'GET /v1/clients shows the co-op')
  t.equal(clients.get(ofFederation.id)?.entityId, FEDERATION_ID, 'a client that names none belongs to the federation')
  t.notOk(
    [...clients.values()].some((c) => c.entityId === gone.id || c.entityId === JCCU_ID),
    'no refused client was stored'
  )
})
