import t from 'tap'
import { SeenMembers } from '../../src/recording/seen-members.js'
import { jointUse } from '../fixtures.js'
import { buildTestApp, NEEDS_POSTGRES_FOR_TWO_PROCESSES, twoAppsOnOneDatabase, type TestApp } from '../helper.js'

const warningsOf = async (test: TestApp, url: string, memberId: string) =>
  ((await test.request({ method: 'POST', url, payload: jointUse(memberId) })).json<{ warnings: { code: string }[] }>().warnings ?? []).map((w) => w.code)

t.test('the set of seen members is bounded and forgets the oldest first', async (t) => {
  const seen = new SeenMembers(2)
  seen.add('a')
  seen.add('b')
  t.same(seen.unknown(['a', 'b', 'c']), ['c'])
  seen.add('c')
  t.same(seen.unknown(['a', 'b', 'c']), ['a'], 'a forgotten member is probed again, never taken as unseen without asking')
})

t.test('a member warns member_unseen until its first entry, and a check or a later transfer no longer does', async (t) => {
  const test = await buildTestApp(t)
  t.ok((await warningsOf(test, '/v1/checks', 'M-seen-1')).includes('member_unseen'), 'a check: never seen')
  t.ok((await warningsOf(test, '/v1/transfers', 'M-seen-1')).includes('member_unseen'), 'the first transfer: never seen before it')
  t.notOk((await warningsOf(test, '/v1/transfers', 'M-seen-1')).includes('member_unseen'), 'the second: its first entry is on record')
  t.notOk((await warningsOf(test, '/v1/checks', 'M-seen-1')).includes('member_unseen'), 'a check after it: seen')
})

t.test('another process, which never saw the member, asks the ledger', { skip: NEEDS_POSTGRES_FOR_TWO_PROCESSES }, async (t) => {
  const [a, b] = await twoAppsOnOneDatabase(t)
  t.ok((await warningsOf(a, '/v1/transfers', 'M-seen-2')).includes('member_unseen'))
  t.notOk((await warningsOf(b, '/v1/transfers', 'M-seen-2')).includes('member_unseen'), 'the entry made by the other process is found')
})
