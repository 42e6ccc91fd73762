import pg from 'pg'
import t from 'tap'
import { preparedAs, prepareMarkedStatements } from '../../src/db/prepared-statements.js'
import { DATABASE_URL } from '../helper.js'

/** A marked statement is prepared once per connection under its name; others are sent as they are. */
t.test(
  'marked statements are prepared per connection',
  { skip: DATABASE_URL ? false : 'PostgreSQL only (PGlite has no prepared-statement cache to fill)' },
  async (t) => {
    const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 1 })
    prepareMarkedStatements(pool)
    t.teardown(() => pool.end())
    const client = await pool.connect()
    t.teardown(() => client.release())

    const marked = `${preparedAs('probe_statement')} SELECT $1::int + 1 AS n`
    t.same((await client.query(marked, [1])).rows, [{ n: 2 }])
    t.same((await client.query(marked, [41])).rows, [{ n: 42 }], 'the same name runs again with other values')
    await client.query('SELECT $1::int AS plain', [1])
    const prepared = await client.query<{ name: string; statement: string }>('SELECT name, statement FROM pg_prepared_statements ORDER BY name')
    t.same(
      prepared.rows.map((r) => r.name),
      ['probe_statement'],
      'the marked statement is prepared under its name, the plain one is not'
    )
    t.throws(() => preparedAs('Robert; DROP'), TypeError, 'a name is a plain identifier')
  }
)
