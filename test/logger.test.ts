import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { ensureBuilt } from './support/built-server.js'
import { freePort } from './support/server-process.js'

/**
 * The log is JSON lines for collectors, and readable text for a person at a terminal, also in a
 * production install (pino-pretty is a runtime dependency). `script` gives the service a terminal.
 */

const SCRIPT = '/usr/bin/script'

async function firstLines(dataDir: string, port: number, onTerminal: boolean): Promise<string> {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'info' }
  delete env.DATABASE_URL
  await ensureBuilt()
  const command = `${JSON.stringify(process.execPath)} dist/src/server.js`
  const child = onTerminal ? spawn(SCRIPT, ['-qfec', command, '/dev/null'], { env }) : spawn(process.execPath, ['dist/src/server.js'], { env })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')))
  const exited = new Promise((resolve) => child.once('exit', resolve))
  try {
    const deadline = Date.now() + 120_000
    while (!output.includes(`http://127.0.0.1:${port}/docs`)) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the service did not start:\n${output}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    return output
  } finally {
    child.kill('SIGTERM')
    await exited
  }
}

t.test('JSON lines without a terminal, readable text on one', { skip: process.platform === 'linux' ? false : 'script(1) of util-linux' }, async (t) => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'shizenha-logger-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))

  const piped = await firstLines(dataDir, await freePort(), false)
  const lines = piped.split('\n').filter((line) => line.includes('listening on'))
  t.equal(lines.length, 1)
  t.match(JSON.parse(lines[0]!), { level: 30, msg: /^listening on http/ }, 'a JSON line')

  const port = await freePort()
  const terminal = await firstLines(dataDir, port, true)
  const line = terminal.split(/\r?\n/).find((l) => l.includes('listening on'))
  t.ok(line, 'the start-up summary is there')
  t.notMatch(line!, /^\s*\{/, 'not JSON')
  t.match(line!, /INFO.*listening on http:\/\/127\.0\.0\.1:\d+/, 'a readable line with its level')
})
