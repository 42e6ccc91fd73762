import { sql } from 'kysely'
import t from 'tap'
import { CopyFeed, copyIn, copyTextLine } from '../../src/db/copy-in.js'
import { classifyDatabaseError } from '../../src/db/errors.js'
import { DATABASE_URL, openTestDatabase } from '../helper.js'

const POSTGRES_ONLY = DATABASE_URL ? false : 'PostgreSQL only: the embedded database is written with INSERT'

t.test('a field is written in COPY text format', async (t) => {
  const cases: [string, (string | number | null)[], string][] = [
    ['plain text and numbers', ['a', 1, 2.5], 'a\t1\t2.5\n'],
    ['null is \\N, an empty string stays empty', [null, ''], '\\N\t\n'],
    ['a backslash is doubled', ['{"note":"C:\\\\temp"}'], '{"note":"C:\\\\\\\\temp"}\n'],
    ['tab, newline and carriage return are escaped', ['a\tb\nc\rd'], 'a\\tb\\nc\\rd\n'],
    ['Japanese and quotes pass as they are', ['自然派 "生協"'], '自然派 "生協"\n'],
    ['the text "\\N" is not mistaken for null', ['\\N'], '\\\\N\n']
  ]
  for (const [name, fields, line] of cases) t.equal(copyTextLine(fields), line, name)
})

t.test('COPY inside a transaction stores every value as it was given', { skip: POSTGRES_ONLY }, async (t) => {
  const { database } = await openTestDatabase(t)
  t.teardown(() => database.close())
  await sql`CREATE TABLE copy_probe (id integer PRIMARY KEY, note text, doc jsonb)`.execute(database.db)
  const rows: [number, string | null, string][] = [
    [1, 'tab\there, newline\nhere, cr\rhere', JSON.stringify({ path: 'C:\\temp\\new', line: 'a\nb', ja: '自然派' })],
    [2, null, JSON.stringify({ text: '\\N', quote: '"' })],
    [3, '', '[]']
  ]
  const lines = rows.map((row) => copyTextLine(row)).join('')

  await database.transaction(async (tx) => {
    await copyIn('copy_probe', ['id', 'note', 'doc'], lines).execute(tx)
    const inside = await sql<{ n: string }>`SELECT count(*) AS n FROM copy_probe`.execute(tx)
    t.equal(Number(inside.rows[0]!.n), 3, 'the rows are visible in the transaction that copied them')
  })

  const stored = await sql<{ id: number; note: string | null; doc: unknown }>`SELECT id, note, doc FROM copy_probe ORDER BY id`.execute(database.db)
  t.same(
    stored.rows,
    rows.map(([id, note, doc]) => ({ id, note, doc: JSON.parse(doc) })),
    'each value is stored exactly'
  )
})

t.test('a refused COPY fails as a database error and leaves nothing', { skip: POSTGRES_ONLY }, async (t) => {
  const { database } = await openTestDatabase(t)
  t.teardown(() => database.close())
  await sql`CREATE TABLE copy_probe (id integer PRIMARY KEY, doc jsonb)`.execute(database.db)
  const oneBad = copyTextLine([1, '{"fine":true}']) + copyTextLine([2, '{"cut off":'])

  const failure = await database
    .transaction(async (tx) => {
      await copyIn('copy_probe', ['id', 'doc'], oneBad).execute(tx)
    })
    .then(
      () => undefined,
      (err: unknown) => err
    )
  t.match(failure, { code: '22P02' }, 'the malformed JSON comes back as PostgreSQL reported it')
  t.equal(classifyDatabaseError(failure), 'bad_input', 'and is classified as the value refused, not as an outage')
  const left = await sql<{ n: string }>`SELECT count(*) AS n FROM copy_probe`.execute(database.db)
  t.equal(Number(left.rows[0]!.n), 0, 'nothing of the failed COPY is stored')

  // The connection that failed went back to the pool and works.
  for (let i = 0; i < 12; i++) await sql`SELECT 1`.execute(database.db)
  await database.transaction((tx) => copyIn('copy_probe', ['id', 'doc'], copyTextLine([3, '{}'])).execute(tx))
  const after = await sql<{ n: string }>`SELECT count(*) AS n FROM copy_probe`.execute(database.db)
  t.equal(Number(after.rows[0]!.n), 1, 'a later COPY on the same pool succeeds')
})

// The server fails the COPY while rows are still being pushed and its socket is full (it sleeps
// on the first row, then raises): the statement must fail with the server's error, nothing may
// be stored, the process must not die of a write on the failed connection, and the pool goes on.
t.test('a COPY the server fails while rows are still being sent fails its statement, and only that', { skip: POSTGRES_ONLY }, async (t) => {
  const { database } = await openTestDatabase(t)
  t.teardown(() => database.close())
  await sql`CREATE TABLE copy_probe (id integer PRIMARY KEY, doc text)`.execute(database.db)
  await sql`CREATE FUNCTION copy_probe_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN IF NEW.id = 1 THEN PERFORM pg_sleep(0.5); RAISE EXCEPTION 'refused in the middle of a COPY'; END IF; RETURN NEW; END $$`.execute(database.db)
  await sql`CREATE TRIGGER copy_probe_refuse BEFORE INSERT ON copy_probe FOR EACH ROW EXECUTE FUNCTION copy_probe_refuse()`.execute(database.db)
  // Enough to fill the socket's buffers on both sides while the server sleeps: 16 MB.
  const doc = 'x'.repeat(4000)
  const failure = await database
    .transaction(async (tx) => {
      const feed = new CopyFeed()
      const done = copyIn('copy_probe', ['id', 'doc'], feed).execute(tx)
      done.catch(() => {})
      await feed.ready()
      for (let id = 1; id <= 4000; id++) feed.push(copyTextLine([id, doc]))
      feed.end()
      await done
    })
    .then(
      () => undefined,
      (err: unknown) => err
    )
  t.match(failure, { code: 'P0001', message: /refused in the middle of a COPY/ }, "the statement fails with the server's error")
  const left = await sql<{ n: string }>`SELECT count(*) AS n FROM copy_probe`.execute(database.db)
  t.equal(Number(left.rows[0]!.n), 0, 'nothing is stored')
  await sql`DROP TRIGGER copy_probe_refuse ON copy_probe`.execute(database.db)
  await database.transaction((tx) => copyIn('copy_probe', ['id', 'doc'], copyTextLine([1, 'fine'])).execute(tx))
  const after = await sql<{ n: string }>`SELECT count(*) AS n FROM copy_probe`.execute(database.db)
  t.equal(Number(after.rows[0]!.n), 1, 'the pool goes on copying')
})
