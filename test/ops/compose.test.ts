import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { promisify } from 'node:util'
import t from 'tap'
import { jointUse } from '../fixtures.js'
import { PgCluster, postgresBinDir } from '../support/pg-cluster.js'
import { startServer } from '../support/server-process.js'

/**
 * docker-compose.yml cannot be run on this project's machines (no Docker engine), so its parts
 * are run here the way the containers would run them: the PostgreSQL image's init script makes
 * the runtime role, then the service starts with the owner's URL for the migrations and the
 * runtime role's for everything else, exactly as the compose file sets them.
 */

const ADMIN = 'compose-admin-token-0123456789abcdef'
const INIT_SCRIPT = 'ops/postgres/10-runtime-role.sh'

t.test(
  'the compose setup: the init script makes the runtime role, the service migrates as the owner and runs as that role',
  { skip: postgresBinDir() ? false : 'no PostgreSQL server binaries' },
  async (t) => {
    const compose = await readFile('docker-compose.yml', 'utf8')
    t.match(compose, `./${INIT_SCRIPT}:/docker-entrypoint-initdb.d/`, 'compose mounts the init script')
    t.match(compose, /DATABASE_MIGRATION_URL: postgres:\/\/shizenha:/, 'the service migrates as the owner (POSTGRES_USER)')
    t.match(compose, /DATABASE_URL: postgres:\/\/shizenha_app:/, 'and runs as the role the script makes')

    const cluster = await PgCluster.create(t)
    await cluster.start()
    await cluster.sql('CREATE DATABASE shizenha')
    // As the image runs it: psql on the local server, with the compose file's environment. A
    // password with a quote shows the script quotes it.
    const password = "it's-a-runtime-secret"
    await promisify(execFile)('sh', [INIT_SCRIPT], {
      env: {
        ...process.env,
        POSTGRES_USER: 'postgres',
        POSTGRES_DB: 'shizenha',
        RUNTIME_DB_PASSWORD: password,
        PGHOST: '127.0.0.1',
        PGPORT: String(cluster.port)
      }
    })
    const roles = await cluster.sql<{ rolname: string; rolcanlogin: boolean; rolsuper: boolean }>(
      "SELECT rolname, rolcanlogin, rolsuper FROM pg_roles WHERE rolname = 'shizenha_app'"
    )
    t.same(roles, [{ rolname: 'shizenha_app', rolcanlogin: true, rolsuper: false }], 'the runtime role exists, may log in, and is no superuser')

    const ownerUrl = cluster.url('shizenha')
    const runtimeUrl = ownerUrl.replace('postgres@', `shizenha_app:${encodeURIComponent(password)}@`)
    const server = await startServer(t, { DATABASE_MIGRATION_URL: ownerUrl, DATABASE_URL: runtimeUrl, BOOTSTRAP_ADMIN_TOKEN: ADMIN })
    t.equal((await fetch(`${server.url}/readyz`)).status, 200, 'the service is ready')
    const transfer = await fetch(`${server.url}/v1/transfers`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify(jointUse('M-compose'))
    })
    t.equal(transfer.status, 201, 'and records a transfer as the runtime role')
    const owners = await cluster.sql<{ tableowner: string }>("SELECT DISTINCT tableowner FROM pg_tables WHERE tablename LIKE 'ledger_%'", 'shizenha')
    t.same(owners, [{ tableowner: 'postgres' }], 'the ledger belongs to the owner, not to the role the service runs as')
  }
)
