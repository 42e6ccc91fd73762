import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'

const ROOT = new URL('..', import.meta.url).pathname
const ADMIN = 'startup-admin-token-0123456789'

interface Started {
  readonly child: ChildProcess
  readonly url: string
  readonly exited: Promise<number | null>
}

/** Starts the real server process as `npm start` would, on a port the OS picks, with no DATABASE_URL. */
function startServer(env: Record<string, string>): Promise<Started> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, PORT: '0', LOG_LEVEL: 'info', ...env }
  delete childEnv.DATABASE_URL
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return new Promise((resolve, reject) => {
    let output = ''
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      const match = /"msg":"Server listening at (http:\/\/127\.0\.0\.1:\d+)"/.exec(output)
      if (match?.[1]) resolve({ child, url: match[1], exited })
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    exited.then((code) => reject(new Error(`server exited with ${code}: ${output}`)))
    // A server that never listens must fail the test, not hang the suite.
    setTimeout(() => child.kill('SIGKILL'), 120_000).unref()
  })
}

/** SIGTERM, then SIGKILL if the process has not gone within five seconds. */
async function stop(server: Started): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return
  server.child.kill('SIGTERM')
  const timer = setTimeout(() => server.child.kill('SIGKILL'), 5000)
  await server.exited
  clearTimeout(timer)
}

t.test('a fresh checkout with no DATABASE_URL starts on the embedded database, answers /readyz, and keeps its data', async (t) => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'shizenha-start-'))
  const servers: Started[] = []
  // Stop every server before its files go, or a server could hang on a vanished data directory.
  t.teardown(async () => {
    await Promise.all(servers.map(stop))
    await rm(dataDir, { recursive: true, force: true })
  })

  const first = await startServer({ DATA_DIR: dataDir, BOOTSTRAP_ADMIN_TOKEN: ADMIN })
  servers.push(first)
  const ready = await fetch(`${first.url}/readyz`)
  t.equal(ready.status, 200)
  t.same(await ready.json(), { status: 'ready', database: 'pglite' })
  const created = await fetch(`${first.url}/v1/recipients`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ category: 'insurer', name: 'こくみん共済', address: '東京都', representative: '代表者' })
  })
  t.equal(created.status, 201)
  const { id } = (await created.json()) as { id: string }

  const rival = await startServer({ DATA_DIR: dataDir, BOOTSTRAP_ADMIN_TOKEN: ADMIN }).then(
    () => t.fail('a second process must not open the same embedded database'),
    (err: Error) => err.message
  )
  t.match(rival, /exited with 1/)
  t.match(rival, /in use by process/)

  first.child.kill('SIGTERM')
  t.equal(await first.exited, 0, 'SIGTERM closes gracefully')

  const second = await startServer({ DATA_DIR: dataDir, BOOTSTRAP_ADMIN_TOKEN: ADMIN })
  servers.push(second)
  const again = await fetch(`${second.url}/v1/recipients/${id}`, { headers: { authorization: `Bearer ${ADMIN}` } })
  t.equal(again.status, 200, 'the recipient survived the restart')
  t.equal(((await again.json()) as { name: string }).name, 'こくみん共済')
})

t.test('a bad setting stops start-up with a message naming it and not its value', async (t) => {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, PORT: 'eighty', BOOTSTRAP_ADMIN_TOKEN: 'short' }
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
  t.equal(code, 78)
  t.match(stderr, /PORT/)
  t.notMatch(stderr, /eighty/)
})
