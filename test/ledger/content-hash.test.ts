import canonicalize from 'canonicalize'
import fc from 'fast-check'
import { sql } from 'kysely'
import t from 'tap'
import { entryHash } from '../../src/ledger/hashing.js'
import { canonicalJsonText, hashWithMembers, storedContentHash } from '../../src/ledger/content-hash.js'
import { appWithKey, fillLedger, record } from './verify-support.js'

/**
 * verify hashes an entry from the text PostgreSQL gives for its jsonb content with a faster
 * canonicalization than the `canonicalize` package; hashing.ts (canonicalize) stays the
 * reference. Equal on every text it takes, and it declines (so the reference decides) the rest.
 */

/** The reference: RFC 8785 text of JSON.parse(text), or undefined where the reference throws. */
function reference(text: string): string | undefined {
  try {
    return canonicalize(JSON.parse(text)) ?? undefined
  } catch {
    return undefined
  }
}

/** JSON text with PostgreSQL's jsonb spacing (", " and ": "), members in a given order. */
function jsonbStyle(value: unknown, reorder: (keys: string[]) => string[] = (keys) => keys): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value)
  if (Array.isArray(value)) return `[${value.map((v) => jsonbStyle(v, reorder)).join(', ')}]`
  const object = value as Record<string, unknown>
  return `{${reorder(Object.keys(object))
    .map((k) => `${JSON.stringify(k)}: ${jsonbStyle(object[k], reorder)}`)
    .join(', ')}}`
}

/** Strings that stress sorting and escaping: quotes, backslashes, controls, surrogates (paired and lone), U+2028, astral. */
const trickyUnit = fc.constantFrom(
  'a',
  'B',
  'z',
  '0',
  ' ',
  '"',
  '\\',
  '\n',
  '\u0001',
  '\u007f',
  '\u00e9',
  '\u2028',
  '\ud800',
  '\udfff',
  '\uffff',
  '\u{10000}',
  '\u{1f600}',
  '日',
  '_',
  '-',
  '+'
)
const tricky = fc.string({ unit: trickyUnit, maxLength: 6 })
const number = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: false }),
  fc.constantFrom(0, -0, 1e21, 1e-7, 123456789012345, 9007199254740992, 0.1, 5e-324, 1.7976931348623157e308)
)
const value = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: 'small' }, tie('leaf'), tie('array'), tie('object')),
  leaf: fc.oneof(tricky, number, fc.boolean(), fc.constant(null)),
  array: fc.array(tie('node'), { maxLength: 4 }),
  object: fc.dictionary(tricky, tie('node'), { maxKeys: 6 })
})).node

t.test('equal to the reference on every text it takes, and declines where the reference would throw', async (t) => {
  let taken = 0
  let total = 0
  fc.assert(
    fc.property(value, fc.boolean(), (v, reverse) => {
      const texts = [JSON.stringify(v), jsonbStyle(v), jsonbStyle(v, (keys) => (reverse ? [...keys].reverse() : keys)), JSON.stringify(v, null, 2)]
      for (const text of texts) {
        if (text === undefined) continue
        total += 1
        const fast = canonicalJsonText(text)
        if (fast === undefined) continue
        taken += 1
        if (fast !== reference(text)) throw new Error(`differs for ${JSON.stringify(text)}: ${fast} vs ${reference(text)}`)
      }
    }),
    { numRuns: 3000 }
  )
  t.ok(taken > total / 4, `the fast path took ${taken} of ${total} texts`)

  // Hand-picked edges.
  const cases = [
    '{"b": 1, "a": 2}',
    '{"a": {"d": [3, {"z": 1, "y": 2}], "c": 1.50}}',
    '[1e2, -0, 0.10, 1E-7, 123456789012345678]',
    '{"\uffff": 1, "\u{10000}": 2}',
    '{"é": 1, "z": 2}',
    '"x"',
    '{}',
    '[]',
    'true'
  ]
  for (const text of cases) t.equal(canonicalJsonText(text), reference(text), text)
  for (const text of [
    '{"a": 1, "a": 2}',
    '{"a": "\\u0041"}',
    '{"a": "\u0001"}',
    '[1e400]',
    '{"a": "\ud800"}',
    '{"a": 01}',
    '{"a": 1,}',
    '{"a" 1}',
    '[1 2]',
    'nul'
  ]) {
    t.equal(canonicalJsonText(text), undefined, `declined: ${JSON.stringify(text)}`)
  }
  t.throws(() => storedContentHash('[1e400]'), 'where the reference throws (not finite), so does the hash')
  t.throws(() => storedContentHash('{"a": "\ud800"}'), 'and for a lone surrogate')
})

t.test('equal to the reference on text PostgreSQL writes for jsonb values', async (t) => {
  const test = await appWithKey(t)
  // Values PostgreSQL can hold: no NUL, no lone surrogate, finite numbers.
  const storable = fc
    .sample(value, { numRuns: 4000, seed: 42 })
    .map((v) => JSON.stringify(v))
    .filter((text) => text !== undefined && !/\\u0000|\\ud[89a-f]/i.test(text) && !/\b(Infinity|NaN)\b/.test(text) && reference(text) !== undefined)
  const { rows } = await sql<{ text: string }>`SELECT value::text AS text FROM jsonb_array_elements(${`[${storable.join(',')}]`}::jsonb)`.execute(
    test.database.db
  )
  t.equal(rows.length, storable.length)
  let taken = 0
  for (const [index, { text }] of rows.entries()) {
    const fast = canonicalJsonText(text)
    if (fast !== undefined) taken += 1
    if ((fast ?? reference(text)) !== reference(storable[index]!)) t.fail(`differs for ${text}`)
  }
  t.ok(taken > rows.length / 2, `the fast path took ${taken} of ${rows.length}`)
})

t.test('every stored entry hashes alike either way, on the fast path, with its members read right', async (t) => {
  const test = await appWithKey(t)
  await record(test, 60, 11)
  await test.request({ method: 'POST', url: '/v1/members/M-CP-1/suspensions', payload: { reason: 'asked\\"quoted', requestedAt: new Date().toISOString() } })
  await fillLedger(test, 3000)
  const { rows } = await sql<{ content: string; hash: string; chain: number; seq: number; id: string }>`
    SELECT content::text AS content, hash, chain, seq, id FROM ledger_entries`.execute(test.database.db)
  let fast = 0
  let problems = 0
  for (const row of rows) {
    const parsed = JSON.parse(row.content) as Record<string, unknown>
    const { hash, members } = hashWithMembers(row.content)
    if (members) fast += 1
    if (hash !== row.hash || entryHash(parsed) !== row.hash) problems += 1
    if (members && (members.id !== `"${row.id}"` || members.chain !== String(row.chain) || members.seq !== String(row.seq))) problems += 1
  }
  t.equal(problems, 0, `${rows.length} entries: the hash of the fast path, the reference and the stored hash agree`)
  t.ok(fast >= rows.length - 1, `${fast} of ${rows.length} took the fast path (one holds a backslash)`)
})
