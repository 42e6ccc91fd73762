import { randomBytes } from 'node:crypto'
import t from 'tap'
import { adminQuery as admin, DATABASE_URL } from '../helper.js'
import { shizenha } from './run-cli.js'

t.test(
  'migrate with two roles: the owner migrates, the runtime role of DATABASE_URL gets its privileges',
  { skip: DATABASE_URL ? false : 'PostgreSQL only' },
  async (t) => {
    const suffix = randomBytes(5).toString('hex')
    const name = `t_cli_${suffix}`
    const role = `t_cli_app_${suffix}`
    await admin(`CREATE DATABASE "${name}"`)
    await admin(`CREATE ROLE "${role}" LOGIN`)
    t.teardown(async () => {
      await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
      await admin(`DROP ROLE IF EXISTS "${role}"`)
    })
    const at = (user: string) => {
      const url = new URL(DATABASE_URL!)
      url.username = user
      url.pathname = `/${name}`
      return url.toString()
    }
    const env = { DATABASE_MIGRATION_URL: at(new URL(DATABASE_URL!).username || 'postgres'), DATABASE_URL: at(role) }
    const migrated = await shizenha(['migrate'], env)
    t.equal(migrated.code, 0, migrated.stderr)
    t.match(migrated.stdout, new RegExp(`${role} has the runtime privileges`))
    const created = await shizenha(['clients', 'create', '--name', 'first admin', '--role', 'admin'], { DATABASE_URL: env.DATABASE_URL })
    t.equal(created.code, 0, `the runtime role may register clients: ${created.stderr}`)
    const verify = await shizenha(['verify'], { DATABASE_URL: env.DATABASE_URL })
    t.equal(verify.code, 0, verify.stderr)
  }
)
