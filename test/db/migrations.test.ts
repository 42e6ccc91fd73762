import { promises as fs } from 'node:fs'
import { sql, type Kysely } from 'kysely'
import t from 'tap'
import { noticeV1 } from '../../src/policy/notice-v1.js'
import { PolicyTamperedError, recordPolicyVersions } from '../../src/policy/repository.js'
import { Database } from '../../src/db/database.js'
import { DATABASE_URL, emptyTestDatabaseUrl, openTestDatabase } from '../helper.js'

async function tables(db: Kysely<any>): Promise<string[]> {
  const result = await sql<{ table_name: string }>`
    SELECT table_name FROM information_schema.tables
    WHERE table_schema = current_schema() AND table_name NOT LIKE 'kysely_%' ORDER BY table_name`.execute(db)
  return result.rows.map((r) => r.table_name)
}

t.test('migrations go up, all the way down, and up again', async (t) => {
  const { database } = await openTestDatabase(t)
  t.teardown(() => database.close())
  await database.migrateToLatestOrThrow()
  t.ok(await database.isMigrated())
  const upTables = await tables(database.db)
  t.ok(upTables.includes('ledger_entries') && upTables.includes('consents'), 'the tables exist')

  // Every migration down, one at a time, as many as there are.
  const applied = (await fs.readdir(new URL('../../migrations/', import.meta.url))).filter((f) => f.endsWith('.ts')).length
  for (let i = 0; i < applied; i += 1) await database.migrateDownOrThrow()
  t.notOk(await database.isMigrated())
  t.same(await tables(database.db), [], 'down removes every table it created')

  await database.migrateToLatestOrThrow()
  t.same(await tables(database.db), upTables, 'up again restores the same tables')
  const heads = await database.db
    .selectFrom('ledger_heads')
    .select(({ fn }) => fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow()
  t.equal(Number(heads.n), 16, 'every chain has its head again')
})

t.test('migrating twice is a no-op', async (t) => {
  const { database } = await openTestDatabase(t)
  t.teardown(() => database.close())
  await database.migrateToLatestOrThrow()
  await database.migrateToLatestOrThrow()
  t.ok(await database.isMigrated())
})

t.test('two processes starting at once migrate once (advisory lock)', { skip: !DATABASE_URL && 'needs PostgreSQL: PGlite has one connection' }, async (t) => {
  // An empty database: the test databases are copies of a migrated template.
  const url = await emptyTestDatabaseUrl(t)
  const open = () => Database.open({ url, dataDir: 'memory://', schema: 'public', poolSize: 2 })
  const [first, second, third] = await Promise.all([open(), open(), open()])
  t.notOk(await first.isMigrated(), 'nothing is migrated yet')
  t.teardown(async () => {
    await first.close()
    await second.close()
    await third.close()
  })
  await Promise.all([first.migrateToLatestOrThrow(), second.migrateToLatestOrThrow(), third.migrateToLatestOrThrow()])
  t.ok(await first.isMigrated())
  const heads = await first.db
    .selectFrom('ledger_heads')
    .select(({ fn }) => fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow()
  t.equal(Number(heads.n), 16, 'the seed rows were inserted exactly once')
})

t.test('a published policy version can never be edited', async (t) => {
  const { database } = await openTestDatabase(t)
  t.teardown(() => database.close())
  await database.migrateToLatestOrThrow()
  const now = new Date()
  await recordPolicyVersions(database.db, [noticeV1], now)
  await recordPolicyVersions(database.db, [noticeV1], now)
  const edited = { ...noticeV1, contractorInspectionIntervalDays: 730 }
  await t.rejects(recordPolicyVersions(database.db, [edited], now), PolicyTamperedError)
  const stored = await database.db.selectFrom('policy_versions').select(['version', 'document']).execute()
  t.equal(stored.length, 1)
  t.equal((stored[0]!.document as { contractorInspectionIntervalDays: number }).contractorInspectionIntervalDays, 365)
})

t.test('what was recorded before legal persons were told apart is the federation’s', async (t) => {
  const { database } = await openTestDatabase(t)
  t.teardown(() => database.close())
  await database.migrateToLatestOrThrow()
  // Back to the schema before the legal persons (2026-12-07T01) and the migrations after it.
  const names = (await fs.readdir(new URL('../../migrations/', import.meta.url))).filter((f) => f.endsWith('.ts')).sort()
  const since = names.indexOf('2026-12-07T01_legal_persons.ts')
  t.ok(since > 0, 'the legal-persons migration exists')
  for (let i = since; i < names.length; i += 1) await database.migrateDownOrThrow()
  const db = database.db as unknown as Kysely<any>
  const now = new Date()
  await db.insertInto('clients').values({ id: 'old-billing', name: 'old billing', role: 'system', token_hash: 'h-old', created_at: now }).execute()
  await db.insertInto('contractors').values({ id: '11111111-1111-4111-8111-111111111111', name: 'Old Logistics', address: 'Osaka', created_at: now }).execute()
  await db
    .insertInto('consents')
    .values({
      id: '22222222-2222-4222-8222-222222222222',
      member_id: 'M-old',
      recipient_category: 'financial_institution',
      obtained_at: now,
      method: 'paper',
      evidence_ref: 'form-old',
      created_at: now,
      policy_version: noticeV1.version
    })
    .execute()
  await db
    .insertInto('suspensions')
    .values({ id: '33333333-3333-4333-8333-333333333333', member_id: 'M-old', reason: 'asked', requested_at: now, created_at: now, scope: 'provision' })
    .execute()

  await database.migrateToLatestOrThrow()
  t.same(
    await db.selectFrom('clients').select('entity_id').where('id', '=', 'old-billing').execute(),
    [{ entity_id: 'shizenha' }],
    'the client belongs to the federation'
  )
  t.same(await db.selectFrom('consents').select(['provider_id', 'contractor_id', 'foreign_recipient']).execute(), [
    { provider_id: 'shizenha', contractor_id: null, foreign_recipient: null }
  ])
  t.same(await db.selectFrom('suspensions').select('provider_id').execute(), [{ provider_id: 'shizenha' }])
  t.same(
    await db.selectFrom('contractors').select(['country', 'equivalent_measures']).execute(),
    [{ country: 'JP', equivalent_measures: null }],
    'a contractor is in Japan'
  )
})
