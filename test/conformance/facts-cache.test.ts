import type { FastifyBaseLogger } from 'fastify'
import pino from 'pino'
import t from 'tap'
import { insertContract, insertContractor, insertInspection, updateContractor } from '../../src/contractors/repository.js'
import { ChangeFeed, type ChangeListener } from '../../src/db/change-feed.js'
import { FACTS_CHANNEL, factKey } from '../../src/db/facts-channel.js'
import { insertMemberCoop, setEntityActive } from '../../src/entities/repository.js'
import { listConsents, newConsent, newSuspension, saveConsents, saveSuspensions } from '../../src/members/repository.js'
import { insertRecipient, updateRecipient } from '../../src/recipients/repository.js'
import { FactsCache, type FactsSource } from '../../src/recording/facts-cache.js'
import { World, type FactsNeeded } from '../../src/recording/facts.js'
import { SeenMembers } from '../../src/recording/seen-members.js'
import { addContract, addInspection, billing, createContractor, createRecipient, grantConsent } from '../fixtures.js'
import { buildTestApp, daysFrom, until, type TestApp } from '../helper.js'
import { forEachBackend, type Tap } from './backends.js'
import { untilHeard } from './feed.js'

/**
 * The checks' facts cache on every backend: facts read once are answered from memory, and a
 * change to a recipient, a contractor, an entity or a member, made through a repository (and
 * announced by the database's trigger) or through a route (announced at once in the process),
 * makes the next read see the new facts.
 */

const SILENT = pino({ level: 'silent' }) as unknown as FastifyBaseLogger
const NOW = new Date()

/** Every payload the feed delivers, to know when a change's notification is in. */
class Heard implements ChangeListener {
  readonly payloads: string[] = []
  changed(payload: string): void {
    this.payloads.push(payload)
  }
  reset(): void {
    // The cache resets itself; this one only counts payloads.
  }
  count(payload: string): number {
    return this.payloads.filter((p) => p === payload).length
  }
}

forEachBackend(t, async (t, backend) => {
  const database = await backend.open(t)
  const db = database.db

  t.test('a change made through a repository reaches the cache by its notification', async (t) => {
    const feed = await ChangeFeed.open(database.capabilities.notifications, SILENT)
    t.teardown(() => feed.close())
    // Subscribed before the cache, so a payload it has heard has reached the cache too.
    const heard = new Heard()
    feed.subscribe(FACTS_CHANNEL, heard)
    const cache = new FactsCache(feed)
    t.not(await until(async () => feed.live, 5000), null, 'the feed is live')
    await untilHeard(database, () => heard.payloads)
    const seen = new SeenMembers()

    const member = 'M-cache-conf-1'
    const recipient = await insertRecipient(db, { category: 'financial_institution', name: 'Bank', address: 'a', representative: 'r' }, NOW)
    const bystander = await insertRecipient(db, { category: 'insurer', name: 'Not in the cache', address: 'a', representative: 'r' }, NOW)
    const contractor = await insertContractor(db, { name: 'Delivery', address: 'b' }, NOW)
    await insertContract(
      db,
      contractor.id,
      { reference: 'C-1', signedAt: daysFrom(-31), validFrom: daysFrom(-30), validUntil: daysFrom(300), purposes: ['delivery'], dataItems: ['name'] },
      NOW
    )
    await insertInspection(db, contractor.id, { inspectedAt: daysFrom(-10), result: 'passed', inspector: 'i' }, NOW)
    const coop = await insertMemberCoop(db, { name: { ja: '会員生協', en: 'Member Co-op' } }, NOW)
    const consent = newConsent(
      member,
      'shizenha',
      { recipientCategory: 'financial_institution', obtainedAt: daysFrom(-1), method: 'paper', evidenceRef: 'e' },
      'v1',
      NOW
    )
    await saveConsents(db, [consent], [])
    const setup = [
      factKey.recipient(recipient.id),
      factKey.recipient(bystander.id),
      factKey.contractor(contractor.id),
      factKey.entity(coop.id),
      factKey.member(member)
    ]
    t.not(await until(async () => setup.every((p) => heard.count(p) > 0), 2000), null, 'the notifications of the setup are in')

    const needed: FactsNeeded = {
      entityIds: new Set([coop.id]),
      recipientIds: new Set([recipient.id]),
      contractorIds: new Set([contractor.id]),
      memberIds: new Set([member]),
      backdatedWithdrawals: []
    }
    /** A check's read: from memory when the cache has it all, else from the database, kept. */
    const read = async (): Promise<{ source: FactsSource | 'hit'; world: World }> => {
      const cached = cache.lookup(needed)
      if (cached !== undefined) return { source: 'hit', world: cached }
      const startedAt = cache.begin()
      const world = await World.load(db, needed, false, seen)
      return { source: cache.remember(needed, world, startedAt), world }
    }
    t.equal((await read()).source, 'miss', 'the first read goes to the database')
    const cached = await read()
    t.equal(cached.source, 'hit', 'the next is answered from memory')
    t.match(cached.world.recipient(recipient.id), { active: true })

    /**
     * Makes `change`, waits for the database's notification `payload`, then: the cache no longer
     * answers, the next read sees `after`, and the one after it is from memory again.
     */
    const changeAndSee = async (t: Tap, what: string, payload: string, change: () => Promise<unknown>, after: (world: World) => boolean) => {
      t.notOk(after((await read()).world), `${what}: not so before the change`)
      const before = heard.count(payload)
      await change()
      t.not(
        await until(async () => heard.count(payload) > before, 2000),
        null,
        `${what}: the database announced it (${payload.slice(0, payload.indexOf(':'))})`
      )
      t.equal(cache.lookup(needed), undefined, `${what}: the cache dropped what it held`)
      const next = await read()
      t.same({ source: next.source, seen: after(next.world) }, { source: 'miss', seen: true }, `${what}: the next read sees it`)
      const again = await read()
      t.same({ source: again.source, seen: after(again.world) }, { source: 'hit', seen: true }, `${what}: and it is what the cache keeps`)
    }

    await changeAndSee(
      t,
      'a recipient deactivated',
      factKey.recipient(recipient.id),
      () => updateRecipient(db, recipient.id, { active: false }, NOW),
      (w) => w.recipient(recipient.id)?.active === false
    )
    await changeAndSee(
      t,
      'a contractor moved abroad',
      factKey.contractor(contractor.id),
      () => updateContractor(db, contractor.id, { country: 'US' }),
      (w) => w.contractor(contractor.id)?.country === 'US'
    )
    await changeAndSee(
      t,
      "a contractor's failed inspection",
      factKey.contractor(contractor.id),
      () => insertInspection(db, contractor.id, { inspectedAt: daysFrom(-1), result: 'failed', inspector: 'i' }, NOW),
      (w) => w.contractor(contractor.id)?.latestInspection?.result === 'failed'
    )
    await changeAndSee(
      t,
      'a member co-op deactivated',
      factKey.entity(coop.id),
      () => setEntityActive(db, coop.id, false, NOW),
      (w) => w.entity(coop.id)?.active === false
    )
    await changeAndSee(
      t,
      "a member's consent withdrawn",
      factKey.member(member),
      async () => {
        const [stored] = await listConsents(db, member)
        await saveConsents(db, [], [{ ...stored!, withdrawnAt: NOW.toISOString(), withdrawalReason: 'asked' }])
      },
      (w) => w.member(member).consents[0]?.withdrawnAt === NOW.toISOString()
    )
    await changeAndSee(
      t,
      "a member's suspension",
      factKey.member(member),
      () => saveSuspensions(db, [newSuspension(member, 'shizenha', { reason: 'asked', requestedAt: daysFrom(-1) }, NOW)], []),
      (w) => w.member(member).suspensions.length === 1
    )

    const before = heard.count(factKey.recipient(bystander.id))
    await updateRecipient(db, bystander.id, { name: 'Renamed' }, NOW)
    t.not(
      await until(async () => heard.count(factKey.recipient(bystander.id)) > before, 2000),
      null,
      'a change to a recipient the cache does not hold is announced'
    )
    t.equal((await read()).source, 'hit', 'and leaves what the cache holds alone')
  })

  t.test('a change made through a route is seen by the very next check', async (t) => {
    const test = await buildTestApp(t, { database })
    const member = 'M-cache-conf-2'
    const recipient = await createRecipient(test)
    const bank = await createRecipient(test, { name: 'Second Bank' })
    const consent = await grantConsent(test, member)
    const contractor = await createContractor(test)
    await addContract(test, contractor.id)
    await addInspection(test, contractor.id)
    const coop = (await test.request({ method: 'POST', url: '/v1/entities', payload: { kind: 'member_coop', name: { ja: '会員生協', en: 'Co-op' } } })).json<{
      id: string
    }>()
    const delivery = {
      channel: 'entrustment',
      memberId: member,
      purpose: 'delivery',
      serviceCategory: 'joint_purchasing',
      dataItems: ['name', 'address'],
      contractorId: contractor.id
    }
    const jointUse = {
      channel: 'joint_use',
      memberId: member,
      purpose: 'ordering',
      serviceCategory: 'joint_purchasing',
      dataItems: ['name', 'address'],
      jointUser: coop.id
    }

    const cases: { what: string; check: Record<string, unknown>; change: () => Promise<number>; reason: string }[] = [
      {
        what: 'a recipient deactivated',
        check: billing(member, recipient.id),
        change: async () => (await test.request({ method: 'PATCH', url: `/v1/recipients/${recipient.id}`, payload: { active: false } })).statusCode,
        reason: 'recipient_inactive'
      },
      {
        what: 'a contractor moved abroad',
        check: delivery,
        change: async () => (await test.request({ method: 'PATCH', url: `/v1/contractors/${contractor.id}`, payload: { country: 'US' } })).statusCode,
        reason: 'contractor_abroad'
      },
      {
        what: 'a member co-op deactivated',
        check: jointUse,
        change: async () => (await test.request({ method: 'PATCH', url: `/v1/entities/${coop.id}`, payload: { active: false } })).statusCode,
        reason: 'joint_user_unknown'
      },
      {
        what: "a member's consent withdrawn",
        check: billing(member, bank.id),
        change: async () => (await test.request({ method: 'POST', url: `/v1/members/${member}/consents/${consent.id}/withdraw`, payload: {} })).statusCode,
        reason: 'consent_withdrawn'
      }
    ]
    for (const { what, check: request, change, reason } of cases) {
      t.equal(await fromMemory(t, test, request), 'allow', `${what}: allowed, answered from memory`)
      t.ok([200, 201].includes(await change()), `${what}: the route made the change`)
      const next = await check(test, request)
      t.equal(next.decision, 'deny', `${what}: the very next check denies`)
      t.ok(next.codes.includes(reason), `${what}: for that reason (${next.codes.join(', ')})`)
    }
  })
})

async function check(test: TestApp, request: Record<string, unknown>): Promise<{ decision: string; codes: string[]; source: string | undefined }> {
  const counts = async () => {
    const metric = await test.app.metrics.registry.getSingleMetric('shizenha_check_facts_total')?.get()
    return new Map((metric?.values ?? []).map((v) => [String(v.labels.source), v.value]))
  }
  const before = await counts()
  const res = await test.request({ method: 'POST', url: '/v1/checks', payload: request })
  if (res.statusCode !== 200) throw new Error(`check answered ${res.statusCode}: ${res.body}`)
  const after = await counts()
  const body = res.json<{ decision: string; reasons: { code: string }[] }>()
  const source = [...after.keys()].find((s) => after.get(s) !== before.get(s))
  return { decision: body.decision, codes: body.reasons.map((r) => r.code), source }
}

/** Checks until one is answered from memory (on PostgreSQL the setup's own notifications come back a moment later), then its decision. */
async function fromMemory(t: Tap, test: TestApp, request: Record<string, unknown>): Promise<string | undefined> {
  let decision: string | undefined
  const hit = await until(async () => {
    const answer = await check(test, request)
    decision = answer.decision
    return answer.source === 'hit'
  }, 2000)
  if (hit === null) t.fail('no check was answered from memory within two seconds')
  return decision
}
