import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
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
  t.match(first.output(), /policy in force 2026-11-01\.1/, 'and the policy in force')
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

t.test('a bad setting stops start-up with a message naming it and not its value', async (t) => {
  const exit = await runServerToExit({ PORT: 'eighty', BOOTSTRAP_ADMIN_TOKEN: 'short' }, { inheritDatabaseUrl: true })
  t.equal(exit.code, 78)
  t.match(exit.stderr, /PORT/)
  t.notMatch(exit.stderr, /eighty/)
})

t.test('`npm start`: a SIGTERM to the PID a person has (npm’s) closes the service gracefully and frees the data directory', async (t) => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'shizenha-npm-start-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))
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

  npm.kill('SIGTERM')
  await exited
  t.match(output, /"msg":"closed"/, 'the service closed gracefully')
  t.throws(() => process.kill(servicePid, 0), { code: 'ESRCH' }, 'no service process is left behind')
  const next = await startServer(t, { DATA_DIR: dataDir, BOOTSTRAP_ADMIN_TOKEN: ADMIN })
  t.equal((await fetch(`${next.url}/readyz`)).status, 200, 'the data directory is free for the next start')
  await stopServer(next)
})
