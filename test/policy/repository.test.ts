/**
 * Recording the published versions at start-up, on a database of the test's own (PGlite unless
 * DATABASE_URL is set): each version once, with its document hash, and an edit of a published
 * version stops the start instead of being recorded over.
 */
import t from 'tap'
import { deepFreeze } from '../../src/policy/document.js'
import { noticeV1 } from '../../src/policy/notice-v1.js'
import { POLICY_VERSIONS } from '../../src/policy/registry.js'
import { documentHash, PolicyTamperedError, recordPolicyVersions } from '../../src/policy/repository.js'
import { openTestDatabase } from '../helper.js'

t.test('each published version is recorded once, and an edited one is refused', async (t) => {
  const { database } = await openTestDatabase(t, 1)
  t.teardown(() => database.close())
  const db = database.db
  const stored = () => db.selectFrom('policy_versions').select(['version', 'document_hash', 'recorded_at']).orderBy('version').execute()
  // The migrations record nothing themselves: start from an empty table whatever they do.
  await db.deleteFrom('policy_versions').execute()

  const first = new Date('2026-12-07T00:00:00Z')
  await recordPolicyVersions(db, POLICY_VERSIONS, first)
  const rows = await stored()
  t.strictSame(
    rows.map((r) => [r.version, r.document_hash]),
    POLICY_VERSIONS.map((v) => [v.version, documentHash(v)]).sort(([a], [b]) => (a! < b! ? -1 : 1)),
    'every version, with its document hash'
  )

  await recordPolicyVersions(db, POLICY_VERSIONS, new Date('2027-01-01T00:00:00Z'))
  t.strictSame(await stored(), rows, 'recording again changes nothing: not even the time it was recorded')
  t.ok(
    rows.every((r) => new Date(r.recorded_at).getTime() === first.getTime()),
    'recorded at the time given'
  )

  const edited = deepFreeze({ ...noticeV1, provisionRecordRetention: 'P1Y' })
  const error = await recordPolicyVersions(db, [edited], new Date('2027-01-01T00:00:00Z')).then(
    () => undefined,
    (err: unknown) => err
  )
  t.type(error, PolicyTamperedError, 'an edit of a published version is refused')
  t.equal((error as Error).name, 'PolicyTamperedError')
  t.match((error as Error).message, `policy version ${noticeV1.version} differs from the one already published`, 'naming the version')
  t.strictSame(await stored(), rows, 'and is not recorded')
})
