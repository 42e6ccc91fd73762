import type { LightMyRequestResponse } from 'fastify'
import { sql } from 'kysely'
import t from 'tap'
import { billing, codes, consentBody, countEntries, createRecipient, grantConsent, jointUse, memberEntries, type Reason, type Tap } from '../fixtures.js'
import { buildTestApp, createClient, daysFrom, type TestApp } from '../helper.js'

/**
 * Every act that writes the ledger fails closed when the failure comes only at COMMIT, after
 * every statement of the act succeeded: a deferred constraint trigger on ledger_entries raises
 * when the transaction commits. Whatever the write path looks like (one transaction per act, or
 * a group commit that queues acts and commits them together), an act whose entry did not become
 * durable must answer 503, allow nothing, leak nothing, and leave no trace: no ledger row, no
 * head moved, and no domain row changed (a consent not created or not withdrawn, a suspension
 * not created or not lifted). A write path that answers before its commit, or that commits the
 * domain change apart from the entry, fails here.
 */

const SECRET = 'COMMIT-SECRET-5e71c0'
const PROBLEM_JSON = /^application\/problem\+json/

async function installCommitTrigger(test: TestApp): Promise<void> {
  const db = test.database.db
  await sql
    .raw(`CREATE FUNCTION test_refuse_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '${SECRET}: refused at commit'; END $$`)
    .execute(db)
  await sql`CREATE CONSTRAINT TRIGGER test_refuse_commit AFTER INSERT ON ledger_entries DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_refuse_commit()`.execute(
    db
  )
}

async function dropCommitTrigger(test: TestApp): Promise<void> {
  await sql`DROP TRIGGER test_refuse_commit ON ledger_entries`.execute(test.database.db)
  await sql`DROP FUNCTION test_refuse_commit()`.execute(test.database.db)
}

/** The ledger as an outsider sees it: every chain's length and head hash, and that it verifies. */
async function ledgerHeads(test: TestApp): Promise<{ ok: boolean; entriesChecked: number; chains: { chain: number; length: number; headHash: string }[] }> {
  const res = await test.request({ method: 'GET', url: '/v1/ledger/verify' })
  if (res.statusCode !== 200) throw new Error(`verify answered ${res.statusCode} ${res.body}`)
  const { ok, entriesChecked, chains } = res.json()
  return { ok, entriesChecked, chains }
}

async function consentsOf(test: TestApp, memberId: string): Promise<{ id: string; recipientCategory: string; status: string; withdrawnAt: string | null }[]> {
  const res = await test.request({ method: 'GET', url: `/v1/members/${memberId}/consents` })
  if (res.statusCode !== 200) throw new Error(`consent listing failed: ${res.statusCode} ${res.body}`)
  return res.json().consents
}

async function suspensionsOf(test: TestApp, memberId: string): Promise<{ id: string; liftedAt: string | null }[]> {
  const res = await test.request({ method: 'GET', url: `/v1/members/${memberId}/suspensions` })
  if (res.statusCode !== 200) throw new Error(`suspension listing failed: ${res.statusCode} ${res.body}`)
  return res.json().suspensions
}

/** Evaluates without recording (admin: never outside scope, so nothing is written). */
async function check(test: TestApp, payload: object): Promise<{ decision: string; reasons: Reason[] }> {
  const res = await test.request({ method: 'POST', url: '/v1/checks', payload })
  if (res.statusCode !== 200) throw new Error(`check answered ${res.statusCode} ${res.body}`)
  return res.json()
}

/** 503 problem+json, nothing allowed, nothing internal in the body. */
function assertRefusedBody(t: Tap, res: LightMyRequestResponse): void {
  t.equal(res.statusCode, 503, 'the answer is 503')
  t.match(String(res.headers['content-type']), PROBLEM_JSON, 'as problem+json')
  const body = res.json()
  t.equal(body.status, 503, 'problem status 503')
  t.type(body.title, 'string', 'problem title')
  t.type(body.detail, 'string', 'problem detail')
  t.notMatch(res.body, /"decision"\s*:\s*"allow"/, 'no decision: allow anywhere in the body')
  t.notMatch(res.body, new RegExp(SECRET), 'the database error does not leak')
  t.notMatch(res.body, /ledger_entries|ledger_heads|idempotency_keys|INSERT|UPDATE|COMMIT|SELECT|plpgsql|constraint|trigger|P0001/i, 'no SQL in the body')
  t.notMatch(res.body, /stack|\bat .*\.(ts|js)\b|node_modules/i, 'no stack in the body')
  t.notOk(body.entry, 'no entry')
  t.notOk(body.results, 'no results')
}

interface World {
  readonly test: TestApp
  readonly bank: string
  readonly system: { id: string; token: string }
  /** Has an active financial_institution consent: billing to the bank is allowed. */
  readonly consenting: string
  /** Has no consent: billing to the bank is denied. */
  readonly unconsenting: string
  /** Its consent is the one a withdrawal tries to withdraw. */
  readonly withdrawing: { member: string; consentId: string }
  /** Its active suspension is the one a lift tries to lift. */
  readonly lifting: { member: string; suspensionId: string }
}

interface Act {
  readonly name: string
  /** The members whose chains the act would append to. */
  readonly members: readonly string[]
  readonly send: (w: World) => Promise<LightMyRequestResponse>
  /** The act's own "nothing changed", asserted while the trigger is still in place. */
  readonly unchanged: (t: Tap, w: World) => Promise<void>
  /** After the trigger is gone: the same act succeeds, so no half-done change is in its way. */
  readonly retry: (t: Tap, w: World) => Promise<void>
}

const post = (w: World, url: string, payload: object, headers: Record<string, string> = {}, token?: string) =>
  w.test.request({ method: 'POST', url, payload, headers, ...(token === undefined ? {} : { token }) })

const IDEMPOTENCY_KEY = 'commit-failure-key-1'

const LARGE_BATCH_MEMBERS = Array.from({ length: 15 }, (_, i) => `M-cf-large-${i}`)
const largeBatch = () => Array.from({ length: 150 }, (_, i) => jointUse(LARGE_BATCH_MEMBERS[i % LARGE_BATCH_MEMBERS.length]!))

const ACTS: readonly Act[] = [
  {
    name: 'an allowed transfer',
    members: ['M-cf-consenting'],
    send: (w) => post(w, '/v1/transfers', billing(w.consenting, w.bank)),
    unchanged: async (t, w) => {
      t.equal((await check(w.test, billing(w.consenting, w.bank))).decision, 'allow', 'the candidate is still an allow (checked, not recorded)')
      t.notOk(
        (await memberEntries(w.test, w.consenting)).some((e) => e.kind === 'decision'),
        'no decision is listed under the member'
      )
    },
    retry: async (t, w) => {
      const res = await post(w, '/v1/transfers', billing(w.consenting, w.bank))
      t.equal(res.statusCode, 201, 'allowed and recorded once the ledger commits')
    }
  },
  {
    name: 'a denied transfer',
    members: ['M-cf-unconsenting'],
    send: (w) => post(w, '/v1/transfers', billing(w.unconsenting, w.bank)),
    unchanged: async (t, w) => {
      t.same(await memberEntries(w.test, w.unconsenting), [], 'the member has no entry at all')
    },
    retry: async (t, w) => {
      const res = await post(w, '/v1/transfers', billing(w.unconsenting, w.bank))
      t.equal(res.statusCode, 403, 'denied and recorded once the ledger commits')
      t.ok(res.json().entry?.id, 'with its entry')
    }
  },
  {
    name: 'a transfer with an Idempotency-Key',
    members: ['M-cf-consenting'],
    send: (w) => post(w, '/v1/transfers', billing(w.consenting, w.bank), { 'idempotency-key': IDEMPOTENCY_KEY }),
    unchanged: async (t, w) => {
      // The failed attempt did not burn the key: a repeat is tried again (and fails again), it is
      // not answered from a stored response.
      const again = await post(w, '/v1/transfers', billing(w.consenting, w.bank), { 'idempotency-key': IDEMPOTENCY_KEY })
      t.equal(again.statusCode, 503, 'the same key while the ledger still fails: 503 again')
      t.notOk(again.headers['idempotent-replayed'], 'not a replay')
      t.notOk(
        (await memberEntries(w.test, w.consenting)).some((e) => e.idempotencyKey === IDEMPOTENCY_KEY),
        'no entry carries the key'
      )
    },
    retry: async (t, w) => {
      const res = await post(w, '/v1/transfers', billing(w.consenting, w.bank), { 'idempotency-key': IDEMPOTENCY_KEY })
      t.equal(res.statusCode, 201, 'the same key retried is a fresh 201')
      t.notOk(res.headers['idempotent-replayed'], 'not a replay of the failure')
      t.match(res.json(), { decision: 'allow', entry: { id: String } }, 'an allow with its own entry')
      const keyed = (await memberEntries(w.test, w.consenting)).filter((e) => e.idempotencyKey === IDEMPOTENCY_KEY)
      t.equal(keyed.length, 1, 'exactly one entry carries the key')
      t.equal(keyed[0]?.id, res.json().entry?.id, 'and it is the one answered')
      const replay = await post(w, '/v1/transfers', billing(w.consenting, w.bank), { 'idempotency-key': IDEMPOTENCY_KEY })
      t.equal(replay.headers['idempotent-replayed'], 'true', 'from now on the key replays the success')
      t.equal(replay.body, res.body, 'byte for byte')
    }
  },
  {
    name: 'a batch',
    members: ['M-cf-consenting', 'M-cf-unconsenting', 'M-cf-joint'],
    send: (w) => post(w, '/v1/transfers/batch', { items: [billing(w.consenting, w.bank), billing(w.unconsenting, w.bank), jointUse('M-cf-joint')] }),
    unchanged: async (t, w) => {
      t.same(await memberEntries(w.test, 'M-cf-joint'), [], 'no entry for the joint-use item')
      t.same(await memberEntries(w.test, w.unconsenting), [], 'no entry for the denied item')
    },
    retry: async (t, w) => {
      const res = await post(w, '/v1/transfers/batch', { items: [billing(w.consenting, w.bank), billing(w.unconsenting, w.bank), jointUse('M-cf-joint')] })
      t.equal(res.statusCode, 200)
      t.same(
        res.json().results.map((r: { decision: string }) => r.decision),
        ['allow', 'deny', 'allow'],
        'each item decided once the ledger commits'
      )
    }
  },
  {
    // 150 items: on PostgreSQL the entries go out by COPY while the batch is still being decided.
    name: 'a large batch',
    members: LARGE_BATCH_MEMBERS,
    send: (w) => post(w, '/v1/transfers/batch', { items: largeBatch() }),
    unchanged: async (t, w) => {
      const listed = await Promise.all(LARGE_BATCH_MEMBERS.map((m) => memberEntries(w.test, m)))
      t.same(listed.flat(), [], 'no entry for any of its members')
    },
    retry: async (t, w) => {
      const res = await post(w, '/v1/transfers/batch', { items: largeBatch() })
      t.equal(res.statusCode, 200)
      t.equal(res.json().results.filter((r: { decision: string }) => r.decision === 'allow').length, 150, 'every item allowed once the ledger commits')
      const listed = await Promise.all(LARGE_BATCH_MEMBERS.map((m) => memberEntries(w.test, m)))
      t.equal(listed.flat().length, 150, 'and recorded once')
    }
  },
  {
    name: 'a check outside a system client’s scope (recorded)',
    members: ['M-cf-scope-check'],
    send: (w) => post(w, '/v1/checks', billing('M-cf-scope-check', w.bank), {}, w.system.token),
    unchanged: async (t, w) => {
      t.same(await memberEntries(w.test, 'M-cf-scope-check'), [], 'the attempt is not half-recorded')
    },
    retry: async (t, w) => {
      const res = await post(w, '/v1/checks', billing('M-cf-scope-check', w.bank), {}, w.system.token)
      t.equal(res.statusCode, 403, 'refused and recorded once the ledger commits')
      t.equal(res.json().code, 'client_scope')
      t.equal((await memberEntries(w.test, 'M-cf-scope-check')).length, 1, 'one entry')
    }
  },
  {
    name: 'a transfer outside a system client’s scope (recorded)',
    members: ['M-cf-scope-transfer'],
    send: (w) => post(w, '/v1/transfers', billing('M-cf-scope-transfer', w.bank), {}, w.system.token),
    unchanged: async (t, w) => {
      t.same(await memberEntries(w.test, 'M-cf-scope-transfer'), [], 'the attempt is not half-recorded')
    },
    retry: async (t, w) => {
      const res = await post(w, '/v1/transfers', billing('M-cf-scope-transfer', w.bank), {}, w.system.token)
      t.equal(res.statusCode, 403, 'refused and recorded once the ledger commits')
      t.equal(res.json().code, 'client_scope')
      t.equal((await memberEntries(w.test, 'M-cf-scope-transfer')).length, 1, 'one entry')
    }
  },
  {
    name: 'a consent grant',
    members: ['M-cf-grant'],
    send: (w) => post(w, '/v1/members/M-cf-grant/consents', consentBody({ evidenceRef: 'cf-grant' })),
    unchanged: async (t, w) => {
      t.same(await consentsOf(w.test, 'M-cf-grant'), [], 'the consent was not created')
      const decided = await check(w.test, billing('M-cf-grant', w.bank))
      t.equal(decided.decision, 'deny', 'billing without it is still denied')
      t.ok(codes(decided).includes('consent_missing'), 'for a missing consent')
    },
    retry: async (t, w) => {
      const res = await post(w, '/v1/members/M-cf-grant/consents', consentBody({ evidenceRef: 'cf-grant' }))
      t.equal(res.statusCode, 201, 'granted once the ledger commits')
      t.equal((await consentsOf(w.test, 'M-cf-grant')).length, 1, 'exactly one consent')
    }
  },
  {
    name: 'a consent withdrawal',
    members: ['M-cf-withdrawing'],
    send: (w) => post(w, `/v1/members/${w.withdrawing.member}/consents/${w.withdrawing.consentId}/withdraw`, { reason: 'member asked' }),
    unchanged: async (t, w) => {
      const consent = (await consentsOf(w.test, w.withdrawing.member)).find((c) => c.id === w.withdrawing.consentId)
      t.match(consent, { status: 'active', withdrawnAt: null }, 'the consent is still not withdrawn')
      t.equal((await check(w.test, billing(w.withdrawing.member, w.bank))).decision, 'allow', 'and still allows billing')
      t.notOk(
        (await memberEntries(w.test, w.withdrawing.member)).some((e) => e.kind === 'consent_withdrawn'),
        'no withdrawal is listed'
      )
    },
    retry: async (t, w) => {
      const res = await post(w, `/v1/members/${w.withdrawing.member}/consents/${w.withdrawing.consentId}/withdraw`, { reason: 'member asked' })
      t.equal(res.statusCode, 200, 'withdrawn once the ledger commits (not 409: it was not half-withdrawn)')
      t.equal(res.json().status, 'withdrawn')
    }
  },
  {
    name: 'a suspension',
    members: ['M-cf-suspending'],
    send: (w) => post(w, '/v1/members/M-cf-suspending/suspensions', { reason: 'Art. 35 request', requestedAt: daysFrom(0) }),
    unchanged: async (t, w) => {
      t.same(await suspensionsOf(w.test, 'M-cf-suspending'), [], 'the suspension was not created')
      t.same(await memberEntries(w.test, 'M-cf-suspending'), [], 'no entry')
    },
    retry: async (t, w) => {
      const res = await post(w, '/v1/members/M-cf-suspending/suspensions', { reason: 'Art. 35 request', requestedAt: daysFrom(0) })
      t.equal(res.statusCode, 201, 'suspended once the ledger commits')
      t.equal((await suspensionsOf(w.test, 'M-cf-suspending')).length, 1, 'exactly one suspension')
    }
  },
  {
    name: 'a suspension lift',
    members: ['M-cf-lifting'],
    send: (w) => w.test.request({ method: 'DELETE', url: `/v1/members/${w.lifting.member}/suspensions/${w.lifting.suspensionId}` }),
    unchanged: async (t, w) => {
      const suspension = (await suspensionsOf(w.test, w.lifting.member)).find((s) => s.id === w.lifting.suspensionId)
      t.match(suspension, { liftedAt: null }, 'the suspension is still active')
      const decided = await check(w.test, billing(w.lifting.member, w.bank))
      t.equal(decided.decision, 'deny', 'and still stops provision')
      t.ok(codes(decided).includes('provision_suspended'), 'as provision_suspended')
      t.notOk(
        (await memberEntries(w.test, w.lifting.member)).some((e) => e.kind === 'suspension_lifted'),
        'no lift is listed'
      )
    },
    retry: async (t, w) => {
      const res = await w.test.request({ method: 'DELETE', url: `/v1/members/${w.lifting.member}/suspensions/${w.lifting.suspensionId}` })
      t.equal(res.statusCode, 200, 'lifted once the ledger commits (not 409: it was not half-lifted)')
      t.type(res.json().liftedAt, 'string')
    }
  }
]

t.test('a failure at COMMIT: every act that writes the ledger fails closed and changes nothing', async (t) => {
  const test = await buildTestApp(t)
  const bank = (await createRecipient(test)).id
  const system = await createClient(test, { name: 'joint use only', role: 'system', channels: ['joint_use'] })
  await grantConsent(test, 'M-cf-consenting')
  const withdrawable = await grantConsent(test, 'M-cf-withdrawing')
  await grantConsent(test, 'M-cf-lifting')
  const suspended = await test.request({ method: 'POST', url: '/v1/members/M-cf-lifting/suspensions', payload: { reason: 'asked', requestedAt: daysFrom(0) } })
  t.equal(suspended.statusCode, 201, 'setup: a suspension to lift')
  const world: World = {
    test,
    bank,
    system,
    consenting: 'M-cf-consenting',
    unconsenting: 'M-cf-unconsenting',
    withdrawing: { member: 'M-cf-withdrawing', consentId: withdrawable.id },
    lifting: { member: 'M-cf-lifting', suspensionId: suspended.json().id }
  }

  await installCommitTrigger(test)
  const trigger = await sql<{ deferrable: boolean; deferred: boolean }>`
    SELECT tgdeferrable AS deferrable, tginitdeferred AS deferred FROM pg_trigger WHERE tgname = 'test_refuse_commit'`.execute(test.database.db)
  t.same(trigger.rows, [{ deferrable: true, deferred: true }], 'setup: the trigger runs at COMMIT, after every statement succeeded')

  const initial = await ledgerHeads(test)
  t.equal(initial.ok, true, 'the ledger verifies before the failures')
  const rowsBefore = await countEntries(test)

  for (const act of ACTS) {
    t.test(act.name, async (t) => {
      const before = await ledgerHeads(test)
      const listedBefore = await Promise.all(act.members.map((m) => memberEntries(test, m)))
      const res = await act.send(world)
      assertRefusedBody(t, res)
      t.equal(await countEntries(test), rowsBefore, 'no new ledger row')
      const after = await ledgerHeads(test)
      t.equal(after.ok, true, 'the ledger still verifies')
      t.same(after.chains, before.chains, 'no chain head moved')
      t.equal(after.entriesChecked, before.entriesChecked, 'no entry appeared')
      const listedAfter = await Promise.all(act.members.map((m) => memberEntries(test, m)))
      t.same(listedAfter, listedBefore, `the ledger of ${act.members.join(', ')} is unchanged`)
      await act.unchanged(t, world)
    })
  }

  t.test('once the ledger commits again', async (t) => {
    await dropCommitTrigger(test)
    const heads = await ledgerHeads(test)
    t.same(heads.chains, initial.chains, 'after every failure, the heads are where they were')
    for (const act of ACTS) await t.test(act.name, (t) => act.retry(t, world))
    const verify = (await test.request({ method: 'GET', url: '/v1/ledger/verify' })).json()
    t.equal(verify.ok, true, 'GET /v1/ledger/verify is ok')
    t.notOk(verify.firstFailure, 'no failure')
    t.equal(verify.entriesChecked, await countEntries(test), 'every entry checked')
  })
})
