import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyBaseLogger } from 'fastify'
import { sql } from 'kysely'
import pino from 'pino'
import t from 'tap'
import { insertClient } from '../../src/clients/repository.js'
import { IdempotencyConflictError, NotFoundError } from '../../src/errors.js'
import type { DecisionRequest } from '../../src/policy/engine.js'
import type { ActContext } from '../../src/recording/acts.js'
import {
  claimId,
  claimIdempotencyKeys,
  purgeIdempotencyKeys,
  releaseIdempotencyKeys,
  requestHash,
  storeIdempotentResponses
} from '../../src/recording/idempotency.js'
import { DecisionService } from '../../src/recording/service.js'
import { until } from '../helper.js'
import { forEachBackend } from './backends.js'

/**
 * Idempotency keys on every backend: a key is claimed once, its response stored in the claiming
 * transaction and given back to a repeat (another request under it is told apart by its hash),
 * a key claimed for a refused request is released, and a claim another transaction holds is
 * waited for. Then the same through the decision service, where the rules are applied.
 */

const SILENT = pino({ level: 'silent' }) as unknown as FastifyBaseLogger
const NOW = new Date('2026-12-01T00:00:00.000Z')
const hours = (n: number) => new Date(NOW.getTime() + n * 3_600_000)

forEachBackend(t, async (t, backend) => {
  const database = await backend.open(t)
  const db = database.db
  const rows = () => db.selectFrom('idempotency_keys').select(['client_id', 'key', 'request_hash', 'status_code']).orderBy('client_id').orderBy('key').execute()

  t.test('claim, store, replay, another request, release, purge', async (t) => {
    const a1 = { clientId: 'client-a', key: 'key-1', hash: requestHash({ n: 1 }) }
    const a2 = { clientId: 'client-a', key: 'key-2', hash: requestHash({ n: 2 }) }
    const b1 = { clientId: 'client-b', key: 'key-1', hash: requestHash({ n: 3 }) }
    const fresh = await database.transaction((tx) => claimIdempotencyKeys(tx, [a2, b1, a1], NOW))
    t.equal(fresh.size, 0, 'keys never used are claimed, none comes back')
    t.same(
      await rows(),
      [
        { client_id: 'client-a', key: 'key-1', request_hash: a1.hash, status_code: 0 },
        { client_id: 'client-a', key: 'key-2', request_hash: a2.hash, status_code: 0 },
        { client_id: 'client-b', key: 'key-1', request_hash: b1.hash, status_code: 0 }
      ],
      "each claim is a row of its client's, one client's key never meeting another's"
    )

    const body = {
      decision: 'allow',
      reasons: [{ code: 'consent_on_record', message: '同意あり「共同購入」' }],
      entry: { seq: 9007199254740991, hash: 'ab' },
      none: null
    }
    await storeIdempotentResponses(db, [
      { ...a1, response: { statusCode: 201, body } },
      { ...a2, response: { statusCode: 403, body: { decision: 'deny' } } }
    ])

    const other = { ...a2, hash: requestHash({ n: 'other' }) }
    const a3 = { clientId: 'client-a', key: 'key-3', hash: requestHash({ n: 4 }) }
    const used = await database.transaction((tx) => claimIdempotencyKeys(tx, [a1, other, a3], hours(1)))
    t.same([...used.keys()].sort(), [claimId('client-a', 'key-1'), claimId('client-a', 'key-2')], 'the used keys come back, the new one is claimed')
    t.same(used.get(claimId('client-a', 'key-1')), { hash: a1.hash, statusCode: 201, body }, 'a repeat gets the stored response, as it was stored')
    t.same(used.get(claimId('client-a', 'key-2')), { hash: a2.hash, statusCode: 403, body: { decision: 'deny' } }, 'with the hash of the request it answered')
    t.not(used.get(claimId('client-a', 'key-2'))?.hash, other.hash, 'so another request under the key is told apart')

    await releaseIdempotencyKeys(db, [a2, a3])
    t.same(
      (await rows()).map((r) => `${r.client_id}/${r.key}`),
      ['client-a/key-1', 'client-b/key-1'],
      'released keys are gone'
    )
    const again = await database.transaction((tx) => claimIdempotencyKeys(tx, [other], hours(1)))
    t.equal(again.size, 0, 'and a released key can be claimed afresh, for another request')

    t.equal(await purgeIdempotencyKeys(db, hours(24), 24), 0, 'nothing is older than the retention yet')
    t.equal(await purgeIdempotencyKeys(db, hours(24.5), 24), 2, 'the keys claimed at NOW are purged, and counted, past 24 hours')
    t.same(
      (await rows()).map((r) => `${r.client_id}/${r.key}`),
      ['client-a/key-2'],
      'the key claimed an hour later is kept'
    )
  })

  for (const ending of ['commits', 'rolls back'] as const) {
    t.test(`a claim another transaction holds is waited for; that one ${ending}`, async (t) => {
      const claim = { clientId: 'client-w', key: `wait-${ending}`, hash: requestHash({ ending }) }
      let claimed!: () => void
      const claimTaken = new Promise<void>((resolve) => (claimed = resolve))
      let release!: () => void
      const released = new Promise<void>((resolve) => (release = resolve))
      const first = database
        .transaction(async (tx) => {
          const earlier = await claimIdempotencyKeys(tx, [claim], NOW)
          claimed()
          await released
          await storeIdempotentResponses(tx, [{ ...claim, response: { statusCode: 201, body: { first: true } } }])
          if (ending === 'rolls back') throw new Error('the first request failed after claiming')
          return earlier
        })
        .then(
          (earlier) => ({ earlier }),
          (err: unknown) => ({ err })
        )
      await claimTaken
      let secondDone = false
      const second = database
        .transaction((tx) => claimIdempotencyKeys(tx, [claim], NOW))
        .finally(() => {
          secondDone = true
        })
      if (database.capabilities.overlappingCommits) {
        // Seen from a third connection: the second claim waits for the first's row.
        const waiting = await until(async () => {
          const { rows } = await sql<{ n: number }>`
            SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`.execute(db)
          return rows[0]!.n > 0
        }, 5000)
        t.not(waiting, null, 'the second claim waits on a lock of the first')
      } else {
        // One connection: the second transaction cannot even begin while the first holds it.
        await sleep(100)
      }
      t.notOk(secondDone, 'the second claim has no answer while the first is open')
      release()
      const outcome = await first
      const seen = await second
      if (ending === 'commits') {
        t.same(outcome, { earlier: new Map() }, 'the first claim was fresh')
        t.same(
          seen.get(claimId(claim.clientId, claim.key)),
          { hash: claim.hash, statusCode: 201, body: { first: true } },
          "the second gets the first's response"
        )
      } else {
        t.match(outcome, { err: { message: 'the first request failed after claiming' } })
        t.equal(seen.size, 0, 'the first claim was rolled back: the second claims the key itself')
        const row = await db.selectFrom('idempotency_keys').select('status_code').where('key', '=', claim.key).executeTakeFirst()
        t.equal(row?.status_code, 0, 'as a claim with no response yet')
      }
    })
  }

  t.test('through the decision service: a repeat replays, another request conflicts, a refused act gives its key back', async (t) => {
    const client = await insertClient(db, {
      id: 'client-service',
      name: 'システム',
      role: 'admin',
      channels: null,
      purposes: null,
      rateLimit: null,
      tokenHash: 'not-a-real-token-hash',
      now: NOW
    })
    const ctx: ActContext = { client, language: 'ja', log: SILENT }
    const service = new DecisionService(database, () => new Date(), SILENT, {
      maxGroupEntries: 100,
      maxQueuedEntries: 1000,
      overlapCommits: database.capabilities.overlappingCommits
    })
    const member = 'M-idem-1'
    const request = (purpose: string) =>
      ({
        channel: 'joint_use',
        memberId: member,
        purpose,
        serviceCategory: 'joint_purchasing',
        dataItems: ['name', 'address'],
        jointUser: 'JCCU'
      }) as DecisionRequest
    const entries = async () =>
      (
        await db
          .selectFrom('ledger_entries')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('member_id', '=', member)
          .executeTakeFirstOrThrow()
      ).n

    const first = await service.transfer(ctx, request('ordering'), 'key-transfer')
    t.match(first, { replayed: false, statusCode: 201, body: { decision: 'allow' } }, 'the first transfer is decided and recorded')
    const repeat = await service.transfer(ctx, request('ordering'), 'key-transfer')
    t.equal(repeat.replayed, true, 'the repeat is a replay')
    t.same(repeat.body, JSON.parse(JSON.stringify(first.body)), 'of the very answer, the entry included')
    t.equal(repeat.statusCode, 201)
    t.equal(await entries(), 1, 'recorded once')

    const conflict = await service.transfer(ctx, request('delivery'), 'key-transfer').then(
      () => undefined,
      (err: unknown) => err
    )
    t.ok(conflict instanceof IdempotencyConflictError, 'another request under the key is refused as idempotency_key_reused')
    t.equal(await entries(), 1, 'and records nothing')

    const refused = await service.withdrawConsent(ctx, member, '00000000-0000-4000-8000-000000000000', {}, 'key-refused').then(
      () => undefined,
      (err: unknown) => err
    )
    t.ok(refused instanceof NotFoundError, 'withdrawing an unknown consent is refused')
    t.notOk(await db.selectFrom('idempotency_keys').select('key').where('key', '=', 'key-refused').executeTakeFirst(), 'and its key is given back')
    const retried = await service.transfer(ctx, request('delivery'), 'key-refused')
    t.match(retried, { replayed: false, statusCode: 201 }, 'so the key serves a corrected request')
    const stored = await db.selectFrom('idempotency_keys').select(['status_code', 'response']).where('key', '=', 'key-refused').executeTakeFirstOrThrow()
    t.same(stored, { status_code: 201, response: JSON.parse(JSON.stringify(retried.body)) }, 'whose answer is what the key keeps')
  })
})
