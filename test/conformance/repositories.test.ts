import t from 'tap'
import {
  findContractor,
  insertContract,
  insertContractor,
  insertInspection,
  listContractors,
  listContracts,
  listInspections,
  updateContractor
} from '../../src/contractors/repository.js'
import { classifyDatabaseError, sqlState } from '../../src/db/errors.js'
import { findEntity, findRegistered, insertMemberCoop, listEntities, setEntityActive } from '../../src/entities/repository.js'
import { LedgerWriter } from '../../src/ledger/writer.js'
import {
  findConsent,
  findConsentGrantEntry,
  listConsents,
  listSuspensions,
  newConsent,
  newSuspension,
  saveConsents,
  saveSuspensions
} from '../../src/members/repository.js'
import { NAMED_ENTITIES } from '../../src/policy/parties.js'
import { findRecipient, insertRecipient, listRecipients, updateRecipient } from '../../src/recipients/repository.js'
import { forEachBackend } from './backends.js'

/**
 * The registries and the members' consents and suspensions, through the repository functions
 * only: what is stored reads back exactly (text in any script, JSON members, instants given in
 * any offset), lists filter and order alike, updates change only what they name, and a value
 * the database refuses comes back with its SQLSTATE, classified the same way.
 */

const AT = (iso: string) => new Date(iso)
const NOW = AT('2026-12-01T00:00:00.000Z')
const LATER = AT('2026-12-02T03:04:05.678Z')

forEachBackend(t, async (t, backend) => {
  const database = await backend.open(t)
  const db = database.db

  t.test('recipients: insert, find, list with filters, update', async (t) => {
    const bank = await insertRecipient(
      db,
      {
        category: 'financial_institution',
        name: '静岡 100%_Bank\\本店',
        address: '静岡市葵区 1-2-3\ttab\nnewline',
        representative: '銀行 太郎',
        code: '0149'
      },
      NOW
    )
    const insurer = await insertRecipient(
      db,
      {
        category: 'insurer',
        name: 'Overseas Insurance',
        address: '1 Main St',
        representative: 'Jane Doe',
        country: 'US',
        equivalentMeasures: { basis: 'contract clauses', lastCheckedAt: '2026-11-01T09:00:00+09:00' }
      },
      LATER
    )
    t.match(bank.id, /^[0-9a-f-]{36}$/, 'an id is given')
    t.same(
      await findRecipient(db, bank.id),
      {
        id: bank.id,
        category: 'financial_institution',
        name: '静岡 100%_Bank\\本店',
        address: '静岡市葵区 1-2-3\ttab\nnewline',
        representative: '銀行 太郎',
        country: 'JP',
        active: true,
        equivalentMeasures: null,
        code: '0149',
        createdAt: NOW.toISOString(),
        updatedAt: NOW.toISOString()
      },
      'the stored recipient reads back exactly, Japan by default'
    )
    t.same(
      (await findRecipient(db, insurer.id))?.equivalentMeasures,
      { basis: 'contract clauses', lastCheckedAt: '2026-11-01T00:00:00.000Z' },
      'equivalent measures round-trip as JSON, their time in UTC'
    )
    t.equal(await findRecipient(db, '00000000-0000-4000-8000-000000000000'), undefined, 'an unknown id finds none')

    const ids = async (filter: Parameters<typeof listRecipients>[1]) => (await listRecipients(db, filter)).map((r) => r.id)
    t.same(await ids({}), [bank.id, insurer.id], 'all, in order of creation')
    t.same(await ids({ category: 'insurer' }), [insurer.id], 'by category')
    t.same(await ids({ code: '0149' }), [bank.id], 'by code')
    t.same(await ids({ name: '100%_bank\\' }), [bank.id], 'by part of the name in any case, with % _ and \\ taken literally')
    t.same(await ids({ name: '100%x' }), [], 'a wildcard is no wildcard')

    const changed = await updateRecipient(db, bank.id, { active: false, name: 'Renamed', equivalentMeasures: null }, LATER)
    t.match(changed, { id: bank.id, active: false, name: 'Renamed', code: '0149', createdAt: NOW.toISOString(), updatedAt: LATER.toISOString() })
    t.same(await ids({ active: true }), [insurer.id], 'a deactivated recipient is no longer listed as active')
    t.same(await ids({ active: false }), [bank.id])
    const cleared = await updateRecipient(db, insurer.id, { equivalentMeasures: null }, LATER)
    t.equal(cleared?.equivalentMeasures, null, 'measures can be cleared')
    t.equal((await findRecipient(db, insurer.id))?.name, 'Overseas Insurance', 'an update changes only what it names')
    t.equal(await updateRecipient(db, '00000000-0000-4000-8000-000000000000', { active: false }, LATER), undefined, 'updating an unknown id changes none')
  })

  t.test('contractors, their contracts and inspections', async (t) => {
    const first = await insertContractor(db, { name: '配送 株式会社', address: '4-5-6 Suruga' }, NOW)
    const second = await insertContractor(
      db,
      { name: 'Abroad Ltd', address: 'Seoul', country: 'KR', equivalentMeasures: { basis: 'APPI 28(1)', lastCheckedAt: '2026-10-01T00:00:00Z' } },
      LATER
    )
    t.same(await findContractor(db, first.id), {
      id: first.id,
      name: '配送 株式会社',
      address: '4-5-6 Suruga',
      country: 'JP',
      equivalentMeasures: null,
      createdAt: NOW.toISOString()
    })
    t.same(
      (await listContractors(db)).map((c) => c.id),
      [first.id, second.id],
      'listed in order of creation'
    )
    const moved = await updateContractor(db, first.id, { country: 'SG', equivalentMeasures: { basis: 'contract', lastCheckedAt: '2026-11-30T23:00:00-01:00' } })
    t.same(
      { country: moved?.country, measures: moved?.equivalentMeasures },
      { country: 'SG', measures: { basis: 'contract', lastCheckedAt: '2026-12-01T00:00:00.000Z' } },
      'country and measures are changed'
    )
    t.equal((await findContractor(db, first.id))?.name, '配送 株式会社', 'and nothing else')
    t.equal((await updateContractor(db, second.id, { equivalentMeasures: null }))?.equivalentMeasures, null, 'measures can be cleared')

    const later = await insertContract(
      db,
      first.id,
      {
        reference: 'C-2',
        signedAt: '2026-02-01T00:00:00+09:00',
        validFrom: '2026-03-01T00:00:00Z',
        validUntil: '2027-03-01T00:00:00Z',
        purposes: ['delivery'],
        dataItems: ['name', 'address']
      },
      NOW
    )
    const earlier = await insertContract(
      db,
      first.id,
      {
        reference: 'C-1',
        signedAt: '2025-01-01T00:00:00Z',
        validFrom: '2025-01-01T00:00:00Z',
        validUntil: '2026-01-01T00:00:00Z',
        purposes: ['delivery', 'ordering'],
        dataItems: ['name']
      },
      LATER
    )
    t.same(await listContracts(db, first.id), [earlier, later], 'contracts by validity, as they were stored')
    t.equal(later.signedAt, '2026-01-31T15:00:00.000Z', 'an instant given with an offset reads back in UTC')
    t.same(later.purposes, ['delivery'], 'JSON lists round-trip')
    t.same(await listContracts(db, second.id), [], "another contractor's contracts are not listed")

    const passed = await insertInspection(db, first.id, { inspectedAt: '2026-06-01T00:00:00Z', result: 'passed', inspector: '監査 花子' }, NOW)
    const failed = await insertInspection(db, first.id, { inspectedAt: '2026-09-01T00:00:00Z', result: 'failed', inspector: 'Auditor', notes: 'no lock' }, NOW)
    t.same(await listInspections(db, first.id), [failed, passed], 'inspections, latest first')
    t.equal(passed.notes, null, 'absent notes are null')

    const refused = await insertContract(
      db,
      first.id,
      {
        reference: 'C-bad',
        signedAt: '2026-01-01T00:00:00Z',
        validFrom: '2027-01-01T00:00:00Z',
        validUntil: '2026-01-01T00:00:00Z',
        purposes: [],
        dataItems: []
      },
      NOW
    ).then(
      () => undefined,
      (err: unknown) => err
    )
    t.equal(sqlState(refused), '23514', 'a contract ending before it begins is refused by the check constraint, with its SQLSTATE')
    const badTime = await insertInspection(db, first.id, { inspectedAt: 'not a time', result: 'passed', inspector: 'x' }, NOW).then(
      () => undefined,
      (err: unknown) => err
    )
    t.equal(sqlState(badTime), '22007', 'a malformed time is a data exception')
    t.equal(classifyDatabaseError(badTime), 'bad_input', 'classified as the value refused')
    t.equal((await listInspections(db, first.id)).length, 2, 'nothing refused was stored')
  })

  t.test('entities: member co-ops beside the named legal persons', async (t) => {
    const coop = await insertMemberCoop(
      db,
      { name: { ja: '生活協同組合 自然派', en: 'Shizenha Co-op' }, address: '大阪市', representative: '理事長', corporateNumber: '1234567890123' },
      NOW
    )
    const bare = await insertMemberCoop(db, { name: { ja: '二号', en: 'Second' } }, LATER)
    t.same(await findEntity(db, coop.id.toUpperCase()), coop, 'a member co-op is found by its id in any letter case, as it was stored')
    t.match(bare, { address: null, representative: null, corporateNumber: null, active: true, source: 'registry', kind: 'member_coop' })
    const named = NAMED_ENTITIES[0]!
    t.match(await findEntity(db, named.id), { id: named.id, source: 'policy', createdAt: null }, 'a named legal person is found without the registry')
    t.same(
      (await findRegistered(db, [coop.id, 'not-a-uuid', named.id])).map((e) => e.id),
      [coop.id],
      'only registered ids are looked up'
    )
    t.same(
      (await listEntities(db)).map((e) => e.id),
      [...NAMED_ENTITIES.map((e) => e.id), coop.id, bare.id],
      'the named ones first, then co-ops in order of registration'
    )
    const off = await setEntityActive(db, coop.id, false, LATER)
    t.match(off, { active: false, updatedAt: LATER.toISOString(), createdAt: NOW.toISOString() })
    t.same(
      (await listEntities(db, { active: false })).map((e) => e.id),
      [...NAMED_ENTITIES.filter((e) => !e.active).map((e) => e.id), coop.id],
      'the inactive ones'
    )
    const duplicate = await insertMemberCoop(db, { name: { ja: '三号', en: 'Third' }, corporateNumber: '1234567890123' }, NOW).then(
      () => undefined,
      (err: unknown) => err
    )
    t.equal(sqlState(duplicate), '23505', 'a corporate number registered twice is refused as a unique violation')
  })

  t.test("members' consents and suspensions", async (t) => {
    const member = 'M-repo-1'
    const bank = await insertRecipient(db, { category: 'financial_institution', name: 'Bank', address: 'a', representative: 'r' }, NOW)
    const contractor = await insertContractor(db, { name: 'Abroad', address: 'b', country: 'US' }, NOW)
    const byCategory = newConsent(
      member,
      'shizenha',
      {
        recipientCategory: 'financial_institution',
        dataItems: ['name', 'bank_account'],
        obtainedAt: '2026-11-30T09:00:00+09:00',
        method: 'paper',
        evidenceRef: '用紙-0001'
      },
      'v1',
      NOW
    )
    const byRecipient = newConsent(
      member,
      'shizenha',
      { recipientCategory: 'financial_institution', recipientId: bank.id, obtainedAt: '2026-11-30T00:00:00Z', method: 'web', evidenceRef: 'web-2' },
      'v2',
      NOW
    )
    const abroad = newConsent(
      member,
      'shizenha',
      {
        contractorId: contractor.id,
        foreignRecipient: { country: 'US', system: 'no APPI-equivalent law', measures: 'contract clauses' },
        obtainedAt: '2026-11-29T00:00:00Z',
        method: 'oral',
        evidenceRef: 'call-3'
      },
      'v2',
      LATER
    )
    await database.transaction((tx) => saveConsents(tx, [byCategory, byRecipient, abroad], []))
    t.same(
      await listConsents(db, member),
      [byCategory, byRecipient, abroad].sort((a, b) => (a.createdAt === b.createdAt ? (a.id < b.id ? -1 : 1) : a.createdAt < b.createdAt ? -1 : 1)),
      'every consent reads back as made, by creation then id'
    )
    t.same(await findConsent(db, member, abroad.id), abroad, 'foreign-recipient information and a contractor round-trip')
    t.equal(await findConsent(db, 'M-other', abroad.id), undefined, 'a consent is found only under its own member')
    t.same(await listConsents(db, 'M-other'), [], 'another member has none')

    const withdrawn = { ...byRecipient, withdrawnAt: LATER.toISOString(), withdrawalReason: '電話で撤回' }
    await saveConsents(db, [], [withdrawn])
    t.same(await findConsent(db, member, byRecipient.id), withdrawn, 'a withdrawal is stored')
    t.same(await findConsent(db, member, byCategory.id), byCategory, 'and touches no other consent')

    const unknownRecipient = newConsent(
      member,
      'shizenha',
      {
        recipientCategory: 'insurer',
        recipientId: '00000000-0000-4000-8000-000000000000',
        obtainedAt: '2026-11-30T00:00:00Z',
        method: 'web',
        evidenceRef: 'x'
      },
      'v2',
      NOW
    )
    const refused = await saveConsents(db, [unknownRecipient], []).then(
      () => undefined,
      (err: unknown) => err
    )
    t.equal(sqlState(refused), '23503', 'a consent to an unknown recipient is refused by the foreign key')
    t.equal((await listConsents(db, member)).length, 3, 'and not stored')

    const provision = newSuspension(member, 'shizenha', { reason: '本人から第三者提供停止の請求', requestedAt: '2026-11-30T12:00:00+09:00' }, NOW)
    const use = newSuspension(member, 'shizenha', { reason: 'stop of use', requestedAt: '2026-11-30T00:00:00Z', scope: 'use' }, LATER)
    await saveSuspensions(db, [provision, use], [])
    t.same(await listSuspensions(db, member), [provision, use], 'suspensions read back as made, by creation')
    t.equal(provision.scope, 'provision', 'a provision suspension by default')
    const lifted = { ...provision, liftedAt: LATER.toISOString() }
    await saveSuspensions(db, [], [lifted])
    t.same(await listSuspensions(db, member), [lifted, use], 'lifting changes that suspension only')

    // The entry that recorded a grant is found by the consent id inside its content.
    await database.transaction(async (tx) => {
      const ledger = await LedgerWriter.lock(tx, [member])
      ledger.append({ kind: 'consent_granted', memberId: member, clientId: 'c-1', providerId: 'shizenha', body: { consent: { id: byCategory.id } } }, NOW)
      ledger.append({ kind: 'consent_granted', memberId: member, clientId: 'c-1', providerId: 'shizenha', body: { consent: { id: abroad.id } } }, NOW)
      await ledger.flush()
    })
    const entry = await findConsentGrantEntry(db, member, abroad.id)
    t.match(
      entry,
      { content: { kind: 'consent_granted', memberId: member, consent: { id: abroad.id } }, hash: /^[0-9a-f]{64}$/ },
      "the grant's entry is found by the consent's id"
    )
    t.equal(entry?.content.seq, 2, 'the second entry of the chain')
    t.equal(await findConsentGrantEntry(db, member, withdrawn.id), undefined, 'a consent with no grant entry has none')
  })
})
