import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyBaseLogger } from 'fastify'
import pino from 'pino'
import t from 'tap'
import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import { listClients } from '../../src/clients/repository.js'
import type { ActContext } from '../../src/recording/acts.js'
import { LedgerUnavailableError, ValueOutOfRangeError, type DomainError } from '../../src/errors.js'
import type { Database, Tx } from '../../src/db/database.js'
import { GroupCommitter, LedgerBusyError } from '../../src/ledger/group-commit.js'
import { chainOf } from '../../src/ledger/hashing.js'
import { LedgerWriter } from '../../src/ledger/writer.js'
import type { DecisionRequest } from '../../src/policy/engine.js'
import { billing, consentBody, countEntries, createRecipient, grantConsent, jointUse, type Tap } from '../fixtures.js'
import { DATABASE_URL, buildTestApp, openTestDatabase, until, type TestApp } from '../helper.js'

// A decision must be timed after the member's chain is locked: a withdrawal committed while the
// decision waited for the lock then always lies before the decision's time, never after it.
t.test('the time a recorded act uses is read only once the chain lock is held', async (t) => {
  const { database } = await openTestDatabase(t)
  t.teardown(() => database.close())
  await database.migrateToLatestOrThrow()
  const log = pino({ level: 'silent' }) as unknown as FastifyBaseLogger

  let release!: () => void
  const held = new Promise<void>((resolve) => (release = resolve))
  let locked!: () => void
  const lockTaken = new Promise<void>((resolve) => (locked = resolve))
  const holder = database.transaction(async (tx) => {
    await LedgerWriter.lock(tx, ['M-CLOCK'])
    locked()
    await held
  })
  await lockTaken

  let clockReadAt: number | undefined
  const committer = new GroupCommitter<string, Date>(
    database,
    () => {
      clockReadAt = Date.now()
      return new Date(clockReadAt)
    },
    log,
    async (_tx, _ledger, now, jobs) => jobs.map(() => ({ ok: true as const, value: now })),
    { maxGroupEntries: 10, maxQueuedEntries: 10 }
  )
  const waiting = committer.submit('act', ['M-CLOCK'], 1)

  await sleep(300)
  t.equal(clockReadAt, undefined, 'no time is read while another writer holds the chain')
  const releasedAt = Date.now()
  release()
  await holder
  const now = await waiting
  t.ok(clockReadAt !== undefined && clockReadAt >= releasedAt, 'the time is read after the lock was released')
  t.equal(now.getTime(), clockReadAt, 'the work gets that time')
})

/**
 * Group commit, driven through the app's decision service so that the acts queue in a known
 * order: a transaction holding every chain head keeps the committer waiting while they queue.
 */
async function holdingAllChains(test: TestApp): Promise<{ release: () => Promise<void> }> {
  let release!: () => void
  const held = new Promise<void>((resolve) => (release = resolve))
  let locked!: () => void
  const lockTaken = new Promise<void>((resolve) => (locked = resolve))
  const holder = test.database.transaction(async (tx) => {
    await sql`SELECT chain FROM ledger_heads ORDER BY chain FOR UPDATE`.execute(tx)
    locked()
    await held
  })
  await lockTaken
  return {
    release: async () => {
      release()
      await holder
    }
  }
}

async function context(test: TestApp): Promise<ActContext> {
  const client = (await listClients(test.database.db)).find((c) => c.role === 'admin')!
  return { client, language: 'en', log: pino({ level: 'silent' }) as unknown as FastifyBaseLogger }
}

/** Settles every promise and says how each ended; a promise settles once, so each caller is answered once. */
function settle<T>(promises: Promise<T>[]): Promise<PromiseSettledResult<T>[]> {
  return Promise.all(
    promises.map((p) =>
      p.then(
        (value) => ({ status: 'fulfilled' as const, value }),
        (reason: unknown) => ({ status: 'rejected' as const, reason })
      )
    )
  )
}

t.test('acts of one member in one group are decided in arrival order, each seeing those before it', async (t) => {
  const test = await buildTestApp(t)
  const ctx = await context(test)
  const member = 'M-group-order'
  const bank = (await createRecipient(test)).id
  const consent = await grantConsent(test, member)
  const lock = await holdingAllChains(test)

  const service = test.app.decisions
  const queued = [
    service.transfer(ctx, billing(member, bank) as DecisionRequest),
    service.transfer(ctx, billing(member, bank) as DecisionRequest),
    service.withdrawConsent(ctx, member, consent.id, { reason: 'member asked' }),
    service.transfer(ctx, billing(member, bank) as DecisionRequest),
    service.suspendProvision(ctx, member, { reason: 'member asked', requestedAt: new Date().toISOString() }),
    service.transfer(ctx, billing(member, bank) as DecisionRequest)
  ] as Promise<{ entry?: { seq: number }; body?: { decision: string; reasons: { code: string }[]; entry: { seq: number } } }>[]
  t.ok(service.queueDepth >= 5, 'the acts are queued behind the lock')
  await lock.release()
  const results = await settle(queued)
  t.ok(
    results.every((r) => r.status === 'fulfilled'),
    'every act is answered, none fails'
  )
  const values = results.map((r) => (r.status === 'fulfilled' ? r.value : undefined))
  const seqs = values.map((v) => v?.body?.entry.seq ?? v?.entry?.seq)
  t.same(
    seqs,
    [...seqs].sort((a, b) => a! - b!),
    'ledger order is arrival order'
  )
  t.equal(new Set(seqs).size, seqs.length, 'each act has its own entry')
  t.equal(values[0]!.body!.decision, 'allow')
  t.equal(values[1]!.body!.decision, 'allow')
  t.equal(values[3]!.body!.decision, 'deny', 'a withdrawal queued before a transfer denies it')
  t.same(
    values[3]!.body!.reasons.map((r) => r.code),
    ['consent_withdrawn']
  )
  t.same(values[5]!.body!.reasons.map((r) => r.code).sort(), ['consent_withdrawn', 'provision_suspended'], 'and a suspension queued before it as well')

  const verify = (await test.request({ method: 'GET', url: '/v1/ledger/verify' })).json()
  t.equal(verify.ok, true, 'the chains verify')
})

t.test('one act refused on its own leaves its group to commit', async (t) => {
  const test = await buildTestApp(t)
  const ctx = await context(test)
  const before = await countEntries(test)
  // On PGlite the holder has the only connection: nothing may query until it is released.
  const lock = await holdingAllChains(test)
  const service = test.app.decisions
  const queued = settle<unknown>([
    service.transfer(ctx, jointUse('M-g1') as DecisionRequest),
    service.withdrawConsent(ctx, 'M-g2', randomUUID(), {}),
    service.transfer(ctx, jointUse('M-g3') as DecisionRequest)
  ])
  await lock.release()
  const [first, refused, third] = await queued
  t.equal(first!.status, 'fulfilled')
  t.equal(third!.status, 'fulfilled')
  t.equal(refused!.status, 'rejected')
  t.equal(refused?.status === 'rejected' && (refused.reason as DomainError).status, 404, 'the unknown consent is a 404 of its own')
  t.equal(await countEntries(test), before + 2, 'the other two are recorded')
})

t.test('a group whose commit fails answers 503 to every caller in it and leaves nothing', async (t) => {
  const test = await buildTestApp(t)
  const ctx = await context(test)
  const bank = (await createRecipient(test)).id
  await grantConsent(test, 'M-g-fail')
  const db = test.database.db
  await sql`CREATE FUNCTION test_fail_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused at commit'; END $$`.execute(db)
  await sql`CREATE CONSTRAINT TRIGGER test_fail_commit AFTER INSERT ON ledger_entries DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_fail_commit()`.execute(
    db
  )
  const before = await countEntries(test)
  const consentsBefore = (await test.request({ method: 'GET', url: '/v1/members/M-g-fail/consents' })).json().consents.length

  const lock = await holdingAllChains(test)
  const service = test.app.decisions
  const queued = settle<unknown>([
    service.transfer(ctx, billing('M-g-fail', bank) as DecisionRequest),
    service.grantConsent(ctx, 'M-g-fail', consentBody({ recipientCategory: 'insurer' }) as never),
    service.batch(ctx, [jointUse('M-g-a'), jointUse('M-g-b')] as DecisionRequest[]),
    service.transfer(ctx, jointUse('M-g-c') as DecisionRequest, 'key-g-1')
  ])
  await lock.release()
  const results = await queued
  t.same(
    results.map((r) => (r.status === 'rejected' ? (r.reason as DomainError).code : 'answered')),
    ['ledger_unavailable', 'ledger_unavailable', 'ledger_unavailable', 'ledger_unavailable'],
    'every caller gets ledger_unavailable (503)'
  )
  t.equal(await countEntries(test), before, 'no entry was stored')
  const consentsAfter = (await test.request({ method: 'GET', url: '/v1/members/M-g-fail/consents' })).json().consents.length
  t.equal(consentsAfter, consentsBefore, 'no consent was stored')
  await sql`DROP TRIGGER test_fail_commit ON ledger_entries`.execute(db)
  const retried = await service.transfer(ctx, jointUse('M-g-c') as DecisionRequest, 'key-g-1')
  t.equal(retried.replayed, false, 'the idempotency key of the failed group was not burnt')
})

t.test('a full queue answers 503 at once and loses nothing it accepted', async (t) => {
  const { database } = await openTestDatabase(t)
  t.teardown(() => database.close())
  await database.migrateToLatestOrThrow()
  const log = pino({ level: 'silent' }) as unknown as FastifyBaseLogger
  const committer = new GroupCommitter<number, number>(
    database,
    () => new Date(),
    log,
    async (_tx, ledger, now, jobs) =>
      jobs.map((job) => {
        ledger.append({ kind: 'decision', memberId: `M-bp-${job}`, clientId: 'test', providerId: 'shizenha', body: { job } }, now)
        return { ok: true as const, value: job }
      }),
    { maxGroupEntries: 4, maxQueuedEntries: 10 }
  )
  let release!: () => void
  const held = new Promise<void>((resolve) => (release = resolve))
  let locked!: () => void
  const lockTaken = new Promise<void>((resolve) => (locked = resolve))
  const holder = database.transaction(async (tx) => {
    await sql`SELECT chain FROM ledger_heads ORDER BY chain FOR UPDATE`.execute(tx)
    locked()
    await held
  })
  await lockTaken
  const submitted = Array.from({ length: 20 }, (_, i) => committer.submit(i, [`M-bp-${i}`], 1))
  const results = settle(submitted)
  release()
  await holder
  const settled = await results
  const accepted = settled.filter((r) => r.status === 'fulfilled')
  const refused = settled.filter((r) => r.status === 'rejected')
  t.ok(refused.length > 0, 'some are refused')
  t.ok(
    refused.every((r) => r.status === 'rejected' && r.reason instanceof LedgerBusyError && r.reason.status === 503),
    'with 503 ledger_busy'
  )
  t.equal(accepted.length + refused.length, 20, 'every caller is answered')
  const { rows } = await sql<{ n: string | number }>`SELECT count(*) AS n FROM ledger_entries`.execute(database.db)
  t.equal(Number(rows[0]!.n), accepted.length, 'every accepted act is stored, nothing else')
  t.equal(committer.depth, 0, 'the queue is empty afterwards')
})

t.test('what a failed group tells its callers', async (t) => {
  const { database } = await openTestDatabase(t)
  t.teardown(() => database.close())
  await database.migrateToLatestOrThrow()
  const log = pino({ level: 'silent' }) as unknown as FastifyBaseLogger

  /** Appends one entry per job; a job named `fault` makes the whole group fail as `fault` says. */
  function committer(fault: (tx: Tx) => Promise<unknown>) {
    return new GroupCommitter<string, string>(
      database,
      () => new Date(),
      log,
      async (tx, ledger, now, jobs) => {
        for (const job of jobs) {
          if (job === 'fault') await fault(tx)
          ledger.append({ kind: 'decision', memberId: `M-${job}`, clientId: 'test', providerId: 'shizenha', body: { job } }, now)
        }
        return jobs.map((job) => ({ ok: true as const, value: job }))
      },
      { maxGroupEntries: 10, maxQueuedEntries: 100 }
    )
  }
  const count = async () => Number((await sql<{ n: string }>`SELECT count(*) AS n FROM ledger_entries`.execute(database.db)).rows[0]!.n)

  const refused = committer((tx) => sql`SELECT 1 / 0`.execute(tx))
  const before = await count()
  // The first job starts a group alone; the other two queue and form the next group together.
  const [first, fault, neighbour] = await settle([
    refused.submit('first', ['M-first'], 1),
    refused.submit('fault', ['M-fault'], 1),
    refused.submit('neighbour', ['M-neighbour'], 1)
  ])
  t.equal(first!.status, 'fulfilled')
  t.ok(fault?.status === 'rejected' && fault.reason instanceof ValueOutOfRangeError, 'a value the database refuses (class 22) is a 400, not a 503')
  t.equal(neighbour!.status, 'fulfilled', 'and its neighbour in the group is recorded on its own')
  t.equal(await count(), before + 2)

  const buggy = committer(async () => {
    throw new TypeError('a bug of ours')
  })
  const [bug] = await settle([buggy.submit('fault', ['M-fault'], 1)])
  t.ok(bug?.status === 'rejected' && bug.reason instanceof TypeError, 'a programming error stays what it is (a 500), not ledger_unavailable')

  const gone = committer(async () => {
    throw Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' })
  })
  const [down] = await settle([gone.submit('fault', ['M-fault'], 1)])
  t.ok(down?.status === 'rejected' && down.reason instanceof LedgerUnavailableError, 'an unreachable database is ledger_unavailable (503)')
  t.equal(await count(), before + 2, 'nothing of the failed groups is stored')
})

// A large group on PostgreSQL holds its connection with a COPY while it decides; a handler that
// fails then must not leave the ROLLBACK waiting behind that COPY (it would wait for the query
// deadline, the connection would be closed, and the caller would hear of an outage, not the bug).
t.test('a group that fails while its entries are being sent leaves nothing and tells its callers why', async (t) => {
  const { database } = await openTestDatabase(t)
  t.teardown(() => database.close())
  await database.migrateToLatestOrThrow()
  const log = pino({ level: 'silent' }) as unknown as FastifyBaseLogger
  const LARGE = 150
  const committer = new GroupCommitter<{ member: string; fail: boolean }, string>(
    database,
    () => new Date(),
    log,
    async (_tx, ledger, now, jobs) => {
      await ledger.startSending()
      for (const job of jobs) {
        for (let i = 0; i < LARGE; i++) ledger.append({ kind: 'decision', memberId: job.member, clientId: 'test', providerId: 'shizenha', body: { i } }, now)
        if (job.fail) throw new TypeError('a bug of ours, after the entries went out')
      }
      await ledger.flush()
      return jobs.map((job) => ({ ok: true as const, value: job.member }))
    },
    { maxGroupEntries: LARGE, maxQueuedEntries: 10 * LARGE }
  )
  const members = (member: string) => Array.from({ length: LARGE }, () => member)
  const count = async () => Number((await sql<{ n: string }>`SELECT count(*) AS n FROM ledger_entries`.execute(database.db)).rows[0]!.n)

  const [failed] = await settle([committer.submit({ member: 'M-stream-fail', fail: true }, members('M-stream-fail'), LARGE)])
  t.ok(failed?.status === 'rejected' && failed.reason instanceof TypeError, 'the caller hears of the bug itself (a 500), not of a timed-out database')
  t.equal(await count(), 0, 'none of its entries is stored')
  const heads = await sql<{ n: string }>`SELECT count(*) AS n FROM ledger_heads WHERE seq > 0`.execute(database.db)
  t.equal(Number(heads.rows[0]!.n), 0, 'no head moved')

  const ok = await committer.submit({ member: 'M-stream-ok', fail: false }, members('M-stream-ok'), LARGE)
  t.equal(ok, 'M-stream-ok', 'the next group is recorded')
  t.equal(await count(), LARGE, 'with all its entries')
})

/** A committer that appends one entry per job, the job's number in its body, and answers with it. */
function numberedCommitter(database: Database, options: { overlapCommits: boolean; maxGroupEntries?: number }) {
  const log = pino({ level: 'silent' }) as unknown as FastifyBaseLogger
  return new GroupCommitter<{ member: string; n: number }, number>(
    database,
    () => new Date(),
    log,
    async (_tx, ledger, now, jobs) =>
      jobs.map((job) => {
        ledger.append({ kind: 'decision', memberId: job.member, clientId: 'test', providerId: 'shizenha', body: { n: job.n } }, now)
        return { ok: true as const, value: job.n }
      }),
    { maxGroupEntries: options.maxGroupEntries ?? 8, maxQueuedEntries: 10_000, overlapCommits: options.overlapCommits }
  )
}

/**
 * A migrated database where the COMMIT of a transaction that wrote entry number `n` (the body of
 * numberedCommitter's entries) sleeps `seconds[n]` seconds: a deferred trigger sleeps in it.
 */
async function databaseWithSlowCommits(t: Tap, seconds: Record<number, number>): Promise<Database> {
  const { database } = await openTestDatabase(t)
  t.teardown(() => database.close())
  await database.migrateToLatestOrThrow()
  const cases = Object.entries(seconds)
    .map(([n, s]) => `WHEN ${Number(n)} THEN ${Number(s)}`)
    .join(' ')
  await sql
    .raw(
      `CREATE FUNCTION test_slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN PERFORM pg_sleep(CASE (NEW.content->>'n')::int ${cases} ELSE 0 END); RETURN NULL; END $$`
    )
    .execute(database.db)
  await sql`CREATE CONSTRAINT TRIGGER test_slow_commit AFTER INSERT ON ledger_entries DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_slow_commit()`.execute(
    database.db
  )
  return database
}

// With overlapping commits a group begins while the one before it commits. Each member's entries
// must still follow the order in which the acts were queued, across every group boundary.
t.test('overlapping groups keep each member’s acts in the order they were queued', async (t) => {
  const { database } = await openTestDatabase(t)
  t.teardown(() => database.close())
  await database.migrateToLatestOrThrow()
  const committer = numberedCommitter(database, { overlapCommits: true })
  const members = ['M-order-a', 'M-order-b', 'M-order-c']
  const answers: Promise<number>[] = []
  for (let n = 0; n < 300; n += 1) {
    answers.push(committer.submit({ member: members[n % 3]!, n }, [members[n % 3]!], 1))
    // Let groups form and commit while more are queued, so that many group boundaries fall in between.
    if (n % 7 === 0) await sleep(1)
  }
  const values = await Promise.all(answers)
  t.same(
    values,
    Array.from({ length: 300 }, (_, n) => n),
    'every caller gets its own answer'
  )
  for (const member of members) {
    const { rows } = await sql<{ n: number }>`SELECT (content->>'n')::int AS n FROM ledger_entries WHERE member_id = ${member} ORDER BY seq`.execute(
      database.db
    )
    const queued = Array.from({ length: 300 }, (_, n) => n).filter((n) => members[n % 3] === member)
    t.same(
      rows.map((r) => r.n),
      queued,
      `${member}: one entry per act, in the order queued`
    )
  }
  const { rows: groups } = await sql<{ chain: number; seq: string; prev_hash: string; hash: string }>`
    SELECT chain, seq, prev_hash, hash FROM ledger_entries ORDER BY chain, seq`.execute(database.db)
  const broken = groups.filter((row, i) => i > 0 && groups[i - 1]!.chain === row.chain && groups[i - 1]!.hash !== row.prev_hash)
  t.same(broken, [], 'every chain links entry to entry')
  await committer.drained()
  t.equal(committer.depth, 0, 'nothing is left queued')
})

// The overlap itself, seen from the database: while the first group's COMMIT is held up (a
// deferred trigger sleeps in it), the next group has begun and waits for the chain's head.
t.test(
  'the next group begins while the one before commits, and waits for its heads',
  { skip: DATABASE_URL ? false : 'needs PostgreSQL: the embedded database runs one transaction at a time' },
  async (t) => {
    const database = await databaseWithSlowCommits(t, { 0: 3 })
    const db = database.db
    const committer = numberedCommitter(database, { overlapCommits: true, maxGroupEntries: 1 })
    const first = committer.submit({ member: 'M-overlap', n: 0 }, ['M-overlap'], 1)
    const second = committer.submit({ member: 'M-overlap', n: 1 }, ['M-overlap'], 1)
    // While the first sleeps in its COMMIT, another backend of this database waits on a lock.
    const waiting = await until(async () => {
      const { rows } = await sql<{ n: string }>`
      SELECT count(*) AS n FROM pg_stat_activity
      WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE '%ledger_heads%'`.execute(db)
      return Number(rows[0]!.n) > 0
    }, 2500)
    t.ok(waiting !== null, 'the second group waits for the heads while the first commits')
    t.same(await Promise.all([first, second]), [0, 1], 'both are answered')
    const { rows } = await sql<{ n: number }>`SELECT (content->>'n')::int AS n FROM ledger_entries WHERE member_id = 'M-overlap' ORDER BY seq`.execute(db)
    t.same(
      rows.map((r) => r.n),
      [0, 1],
      'in the order queued'
    )
  }
)

// A group that fails before its entries are written is retried one act at a time; no later group
// may begin before those retries, or a later act of the same member would overtake them.
t.test('acts retried after a refused group are not overtaken by later groups', async (t) => {
  const { database } = await openTestDatabase(t)
  t.teardown(() => database.close())
  await database.migrateToLatestOrThrow()
  const log = pino({ level: 'silent' }) as unknown as FastifyBaseLogger
  const committer = new GroupCommitter<{ n: number; refuse?: boolean }, number>(
    database,
    () => new Date(),
    log,
    async (tx, ledger, now, jobs) => {
      for (const job of jobs) if (job.refuse === true) await sql`SELECT 1 / 0`.execute(tx)
      return jobs.map((job) => {
        ledger.append({ kind: 'decision', memberId: 'M-retry', clientId: 'test', providerId: 'shizenha', body: { n: job.n } }, now)
        return { ok: true as const, value: job.n }
      })
    },
    { maxGroupEntries: 3, maxQueuedEntries: 100, overlapCommits: true }
  )
  const answers = settle(Array.from({ length: 9 }, (_, n) => committer.submit(n === 4 ? { n, refuse: true } : { n }, ['M-retry'], 1)))
  const settled = await answers
  t.same(
    settled.map((r) => r.status),
    ['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled'],
    'only the refused act fails'
  )
  const { rows } = await sql<{ n: number }>`SELECT (content->>'n')::int AS n FROM ledger_entries WHERE member_id = 'M-retry' ORDER BY seq`.execute(database.db)
  t.same(
    rows.map((r) => r.n),
    [0, 1, 2, 3, 5, 6, 7, 8],
    'the retried acts keep their place before the later groups'
  )
})

// Two groups open at once, both past their writes: an act queued then can only start when one of
// them ends. It must, even when the later group ends first (members on different chains).
t.test(
  'an act queued while two groups commit starts when either of them ends',
  { skip: DATABASE_URL ? false : 'needs PostgreSQL: the embedded database runs one transaction at a time' },
  async (t) => {
    // Numbers 0 and 1 sleep in their COMMIT, 0 the longer: the second group ends first.
    const database = await databaseWithSlowCommits(t, { 0: 1.5, 1: 0.5 })
    const [a, b] = membersOnTwoChains()
    const committer = numberedCommitter(database, { overlapCommits: true, maxGroupEntries: 1 })
    const first = committer.submit({ member: a, n: 0 }, [a], 1)
    const second = committer.submit({ member: b, n: 1 }, [b], 1)
    await sleep(250)
    const third = committer.submit({ member: b, n: 2 }, [b], 1)
    const settledFirst = await Promise.race([first.then(() => 'the first group'), third.then(() => 'the act queued last')])
    t.equal(settledFirst, 'the act queued last', 'it started when the second group ended, not only once the first did')
    const answered = await Promise.race([Promise.all([first, second, third]), sleep(10_000).then(() => 'still waiting')])
    t.same(answered, [0, 1, 2], 'all three are answered')
  }
)

/** Two members whose entries go to different chains. */
function membersOnTwoChains(): [string, string] {
  const a = 'M-chain-a'
  for (let i = 0; ; i += 1) if (chainOf(`M-chain-b${i}`) !== chainOf(a)) return [a, `M-chain-b${i}`]
}

// A graceful close waits for the committer to be idle: it must be told so once every act queued
// before it asked has been answered, however many groups that takes.
t.test('drained resolves once every queued act is answered', async (t) => {
  const { database } = await openTestDatabase(t)
  t.teardown(() => database.close())
  await database.migrateToLatestOrThrow()
  for (const overlapCommits of [false, true]) {
    const committer = numberedCommitter(database, { overlapCommits, maxGroupEntries: 1 })
    const member = `M-drain-${overlapCommits}`
    const answers = [0, 1, 2, 3].map((n) => committer.submit({ member, n }, [member], 1))
    const answered: number[] = []
    for (const answer of answers) void answer.then((n) => answered.push(n))
    const outcome = await Promise.race([committer.drained().then(() => 'drained'), sleep(10_000).then(() => 'never drained')])
    t.equal(outcome, 'drained', `drained resolves (overlapCommits: ${overlapCommits})`)
    await Promise.resolve()
    t.same(answered, [0, 1, 2, 3], 'after every act was answered')
    t.equal(committer.depth, 0, 'with nothing left queued')
  }
})
