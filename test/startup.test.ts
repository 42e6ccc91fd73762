import { spawn } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { hashToken } from '../src/clients/tokens.js'
import { policyInForce } from '../src/policy/registry.js'
import { ensureBuilt, startBuiltServer } from './support/built-server.js'
import { PgCluster, postgresBinDir } from './support/pg-cluster.js'
import { freePort, runServerToExit, startServer, stopServer, type ServerProcess } from './support/server-process.js'

const ADMIN = 'startup-admin-token-0123456789'

t.test('a fresh checkout with no DATABASE_URL starts on the embedded database, answers /readyz, and keeps its data', async (t) => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'shizenha-start-'))
  const servers: ServerProcess[] = []
  // Stop every server before its files go, or a server could hang on a vanished data directory.
  t.teardown(async () => {
    await Promise.all(servers.map((server) => stopServer(server)))
    await rm(dataDir, { recursive: true, force: true })
  })

  const first = await startServer(undefined, { DATA_DIR: dataDir, BOOTSTRAP_ADMIN_TOKEN: ADMIN })
  servers.push(first)
  const ready = await fetch(`${first.url}/readyz`)
  t.equal(ready.status, 200)
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.match(first.output(), `API reference ${first.url}/docs`, 'start-up says where the API reference is')
  t.match(first.output(), `embedded PostgreSQL (PGlite) in ${path.resolve(dataDir)}`, 'and where the data is, as an absolute path')
  t.ok(first.output().includes(`policy in force ${policyInForce(new Date()).version}`), 'and the policy in force')
  t.notMatch(first.output(), /no admin client exists/, 'no warning: the bootstrap admin exists')
  const root = await fetch(`${first.url}/`, { redirect: 'manual' })
  t.equal(root.headers.get('location'), '/docs', 'GET / points to /docs')
  t.same(await ready.json(), { status: 'ready', database: 'pglite' })
  const created = await fetch(`${first.url}/v1/recipients`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ category: 'insurer', name: 'こくみん共済', address: '東京都', representative: '代表者' })
  })
  t.equal(created.status, 201)
  const { id } = (await created.json()) as { id: string }

  const rival = await startServer(undefined, { DATA_DIR: dataDir, BOOTSTRAP_ADMIN_TOKEN: ADMIN }).then(
    () => t.fail('a second process must not open the same embedded database'),
    (err: Error) => err.message
  )
  t.match(rival, /exited with 1/)
  t.match(rival, /in use by process/)

  t.equal(await stopServer(first), 0, 'SIGTERM closes gracefully')

  const second = await startServer(undefined, { DATA_DIR: dataDir })
  servers.push(second)
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.notMatch(second.output(), /no admin client exists/, 'the admin on record is enough without the token set')
  const again = await fetch(`${second.url}/v1/recipients/${id}`, { headers: { authorization: `Bearer ${ADMIN}` } })
  t.equal(again.status, 200, 'the recipient survived the restart')
  t.equal(((await again.json()) as { name: string }).name, 'こくみん共済')
})

/** The token line the first start prints on stderr. */
const FIRST_TOKEN = /^ {4}TOKEN=(shz_[A-Za-z0-9_-]{43})$/m
/** The summary's last log line: once it is out, the admin on record has been decided. */
const SUMMARY_DONE = /"msg":"database: /

/** Whether any file under `dir` holds `text`, as the database stores it. */
async function anyFileHolds(dir: string, text: string): Promise<boolean> {
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && (await readFile(path.join(entry.parentPath, entry.name))).includes(text)) return true
  }
  return false
}

async function clientsWith(url: string, token: string): Promise<{ status: number; clients: { id: string; role: string }[] }> {
  const res = await fetch(`${url}/v1/clients`, { headers: { authorization: `Bearer ${token}` } })
  return { status: res.status, clients: res.ok ? ((await res.json()) as { clients: { id: string; role: string }[] }).clients : [] }
}

t.test('the first start on the embedded database, without BOOTSTRAP_ADMIN_TOKEN: an admin token printed once on stderr, only its hash kept', async (t) => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'shizenha-first-start-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))

  const first = await startBuiltServer(t, { DATA_DIR: dataDir })
  const token = (await first.waitFor('stderr', FIRST_TOKEN))[1]!
  const answer = await clientsWith(first.url, token)
  t.equal(answer.status, 200, 'the first /v1 call, with the printed token, succeeds')
  t.same(
    answer.clients.map((c) => [c.id, c.role]),
    [['first-admin', 'admin']],
    'the one client is that admin'
  )
  t.equal(await first.stop(), 0, 'it closes gracefully')
  t.notMatch(first.stdout(), token, 'the token is not in the log stream (stdout)')
  t.notMatch(first.stdout(), /no admin client exists/, 'and no warning of a 401 to come')
  t.ok(await anyFileHolds(dataDir, hashToken(token)), 'its hash is in the data directory')
  t.notOk(await anyFileHolds(dataDir, token), 'the token itself is not')

  const second = await startBuiltServer(t, { DATA_DIR: dataDir })
  await second.waitFor('stdout', SUMMARY_DONE)
  const again = await clientsWith(second.url, token)
  t.equal(again.status, 200, 'after a restart the printed token still works')
  t.equal(again.clients.length, 1, 'and no other client was made')
  t.equal(await second.stop(), 0)
  t.notMatch(second.stderr(), /TOKEN=/, 'a restart prints no token')
  t.notMatch(second.stdout(), /no admin client exists/)
})

t.test(
  'on PostgreSQL a start without BOOTSTRAP_ADMIN_TOKEN makes no admin: it warns, with a command that works there',
  { skip: postgresBinDir() === undefined ? 'no PostgreSQL server binaries (apt-get install postgresql-15)' : false },
  async (t) => {
    const cluster = await PgCluster.create(t)
    await cluster.start()
    const server = await startBuiltServer(t, { DATABASE_URL: cluster.url('postgres') })
    const warning = (await server.waitFor('stdout', /"msg":"(no admin client exists[^"]*)"/))[1]!
    t.match(warning, /BOOTSTRAP_ADMIN_TOKEN/)
    t.match(warning, /or run `npx shizenha clients create --name admin --role admin`/, 'the CLI may open PostgreSQL beside the service')
    t.equal(await server.stop(), 0)
    t.notMatch(server.stderr(), /TOKEN=/, 'no token printed')
    t.same(await cluster.sql('SELECT count(*)::int AS n FROM clients'), [{ n: 0 }], 'and no client made')
  }
)

t.test('a bad setting stops start-up with a message naming it and not its value', async (t) => {
  const exit = await runServerToExit({ PORT: 'eighty', BOOTSTRAP_ADMIN_TOKEN: 'short' }, { inheritDatabaseUrl: true })
  t.equal(exit.code, 78)
  t.match(exit.stderr, /PORT/)
  t.notMatch(exit.stderr, /eighty/)
})

t.test('`npm start`: a SIGTERM to the PID a person has (npm’s) closes the service gracefully and frees the data directory', async (t) => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'shizenha-npm-start-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))
  // With dist/ current, `npm start` starts it without compiling anything.
  await ensureBuilt()
  const port = await freePort()
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, PORT: String(port), BOOTSTRAP_ADMIN_TOKEN: ADMIN, LOG_LEVEL: 'info' }
  delete env.DATABASE_URL
  // npm runs the start script through a shell; `exec` makes node take the shell's place, so the
  // signal npm passes on reaches the service itself.
  const npm = spawn('npm', ['start'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  npm.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')))
  npm.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')))
  const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)))
  t.teardown(() => {
    if (npm.exitCode === null) npm.kill('SIGKILL')
  })
  const deadline = Date.now() + 180_000
  while (
    !(await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.ok,
      () => false
    ))
  ) {
    if (Date.now() > deadline || npm.exitCode !== null) throw new Error(`npm start did not come up:\n${output}`)
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  const servicePid = Number(/"pid":(\d+)/.exec(output)?.[1])
  t.not(servicePid, npm.pid, 'the service logs its own PID, not npm’s')
  t.notMatch(output, /> tsc |compiling into dist/, 'a current build is not compiled again')

  npm.kill('SIGTERM')
  await exited
  t.match(output, /"msg":"closed"/, 'the service closed gracefully')
  t.throws(() => process.kill(servicePid, 0), { code: 'ESRCH' }, 'no service process is left behind')
  const next = await startServer(t, { DATA_DIR: dataDir, BOOTSTRAP_ADMIN_TOKEN: ADMIN })
  t.equal((await fetch(`${next.url}/readyz`)).status, 200, 'the data directory is free for the next start')
  await stopServer(next)
})
