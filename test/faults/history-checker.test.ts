import { createHash } from 'node:crypto'
import t from 'tap'
import { History, checkChains, checkHistory, type Attempt, type LedgerEntry, type Op } from '../support/history.js'

/**
 * The fault tests are only as good as their checker: here it is shown histories and ledgers with
 * each kind of loss or invention the fault tests look for, and must name every one.
 */

const GENESIS = '0'.repeat(64)
const hashOf = (text: string) => createHash('sha256').update(text).digest('hex')

/** A ledger of well-linked chains, one entry per member, in the order given. */
function ledger(members: readonly string[], chains = 2): LedgerEntry[] {
  const heads = new Map<number, { seq: number; hash: string }>()
  return members.map((memberId, i) => {
    const chain = i % chains
    const head = heads.get(chain) ?? { seq: 0, hash: GENESIS }
    const entry: LedgerEntry = {
      id: `id-${memberId}`,
      chain,
      seq: head.seq + 1,
      prevHash: head.hash,
      hash: hashOf(`${memberId}:${head.hash}`),
      kind: 'decision',
      memberId
    }
    heads.set(chain, { seq: entry.seq, hash: entry.hash })
    return entry
  })
}

function op(
  history: History,
  f: string,
  members: string[],
  type: Op['type'],
  first: Attempt,
  retries: Attempt[] = [],
  idempotencyKey = f === 'transfer' ? `k-${members[0]}` : undefined
): Op {
  const made: Op = {
    index: history.ops.length,
    process: 'p',
    f,
    members,
    idempotencyKey,
    request: { method: 'POST', path: '/', body: {} },
    invokedAt: 0,
    type,
    first,
    retries
  }
  history.ops.push(made)
  return made
}

const answer = (entries: LedgerEntry[], replayed = false): Attempt => ({
  status: 201,
  entries: entries.map(({ id, chain, seq, hash }) => ({ id, chain, seq, hash })),
  replayed
})
const scope = (member: string) => member.startsWith('m')

t.test('a clean history: an acknowledged transfer, a 503 committed and replayed, a 503 recorded by its retry, a whole batch', async (t) => {
  const entries = ledger(['m1', 'm2', 'm3', 'mb1', 'mb2'])
  const [e1, e2, e3] = entries as [LedgerEntry, LedgerEntry, LedgerEntry]
  const history = new History()
  op(history, 'transfer', ['m1'], 'ok', answer([e1]))
  op(history, 'transfer', ['m2'], 'info', { status: 503 }, [answer([e2], true)])
  op(history, 'transfer', ['m3'], 'info', { status: 'network' }, [{ status: 503 }, answer([e3])])
  op(history, 'batch', ['mb1', 'mb2'], 'info', { status: 'network' })
  const before = entries.filter((e) => e.memberId !== 'm3')
  const report = checkHistory(history, before, entries, scope)
  t.same(report.problems, [])
  t.match(report, { acknowledged: 1, indeterminate: 3, committedUnanswered: 1, recordedByRetry: 1, batchesAll: 1, batchesNone: 0 })
  t.same(checkChains(entries).problems, [])
})

t.test('every kind of loss and invention is named', async (t) => {
  const entries = ledger(['m1', 'm2', 'm3', 'm4', 'mb1', 'mb2', 'x-foreign', 'm6'])
  const byMember = new Map(entries.map((e) => [e.memberId, e]))
  const get = (m: string) => byMember.get(m)!
  const history = new History()
  // Acknowledged, then gone.
  op(history, 'transfer', ['m0'], 'ok', answer([{ ...get('m1'), id: 'id-m0', memberId: 'm0' }]))
  // Acknowledged with another hash than the ledger holds.
  op(history, 'transfer', ['m1'], 'ok', answer([{ ...get('m1'), hash: GENESIS }]))
  // A 503 whose entry was there, but whose retry recorded a fresh answer.
  op(history, 'transfer', ['m2'], 'info', { status: 503 }, [answer([{ ...get('m2'), id: 'other' }])])
  // A 503 whose retry was never answered.
  op(history, 'transfer', ['m3'], 'info', { status: 503 }, [{ status: 503 }])
  // A 400 that left an entry.
  op(history, 'transfer', ['m4'], 'fail', { status: 400 })
  // Half a batch.
  op(history, 'batch', ['mb1', 'mb2', 'mb3'], 'info', { status: 'network' })
  // An acknowledged consent on a shared member, outside the scope: its entry must be there all the same.
  op(history, 'consent_granted', ['x-shared'], 'ok', answer([{ ...get('m1'), id: 'consent-entry', memberId: 'x-shared' }]))
  // m6 belongs to nobody (x-foreign is out of scope and ignored).
  const report = checkHistory(history, entries, entries, scope)
  const expected = [
    /op 0 .*id-m0 .* is missing/,
    /op 1 .*not the ledger's only entry/,
    /op 2 .*was recorded, but the retry answered other/,
    /op 3 .*never answered/,
    /op 4 .*refused, yet the ledger holds id-m4/,
    /op 5 .*half-written batch: 2 of 3/,
    /entries id-m6 of m6 belong to no operation/,
    /op 6 \(consent_granted.*consent-entry .* is missing/
  ]
  for (const pattern of expected)
    t.ok(
      report.problems.some((p) => pattern.test(p)),
      `names ${pattern}`
    )
  t.notOk(
    report.problems.some((p) => p.includes('x-foreign')),
    'members outside the scope are not its business'
  )
})

t.test('batches with an Idempotency-Key: a committed one replayed and a lost one recorded by its retry are clean; a second copy is named', async (t) => {
  const entries = ledger(['mb1', 'mb2', 'mc1', 'mc2'])
  const [b1, b2, c1, c2] = entries as [LedgerEntry, LedgerEntry, LedgerEntry, LedgerEntry]
  const clean = new History()
  op(clean, 'batch', ['mb1', 'mb2'], 'info', { status: 503 }, [answer([b1, b2], true)], 'kb')
  op(clean, 'batch', ['mc1', 'mc2'], 'info', { status: 'network' }, [answer([c1, c2])], 'kc')
  const report = checkHistory(clean, [b1, b2], entries, scope)
  t.same(report.problems, [])
  t.match(report, { indeterminate: 2, committedUnanswered: 1, recordedByRetry: 1 })

  // The first attempt was recorded, yet the retry recorded the batch again instead of replaying it.
  const copies = ledger(['mb1', 'mb2', 'mb1', 'mb2']).map((e, i) => ({ ...e, id: `${e.id}-${i}` }))
  const twice = new History()
  op(twice, 'batch', ['mb1', 'mb2'], 'info', { status: 503 }, [answer(copies.slice(2))], 'kb')
  const named = checkHistory(twice, copies.slice(0, 2), copies, scope).problems
  for (const pattern of [/was recorded, but the retry answered other entries/, /was not a replay/, /after the retry mb1 has .*not just the answered/]) {
    t.ok(
      named.some((p) => pattern.test(p)),
      `names ${pattern}`
    )
  }
})

t.test('a fork, a gap, a broken link and a repeated id are named', async (t) => {
  const entries = ledger(['a', 'b', 'c', 'd', 'e', 'f'])
  const chain0 = entries.filter((e) => e.chain === 0)
  const fork = { ...chain0[1]!, id: 'fork' }
  const gap = entries.filter((e) => !(e.chain === 1 && e.seq === 2))
  const broken = entries.map((e) => (e.chain === 0 && e.seq === 3 ? { ...e, prevHash: GENESIS } : e))
  t.match(checkChains([...entries, fork]).problems, [/chain 0: position 3 holds seq 2 \(a fork\)/])
  t.match(checkChains(gap).problems.join('\n'), /chain 1: position 2 holds seq 3 \(a gap\)/)
  t.match(checkChains(broken).problems, [/chain 0 seq 3: prevHash does not name the entry before/])
  t.match(checkChains([...entries, entries[0]!]).problems.join('\n'), /entry id id-a appears twice/)
})
