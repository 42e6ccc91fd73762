import { execFile } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { startBuiltServer } from '../support/built-server.js'

/**
 * The walk-through of each README, run as a newcomer runs it: `npm start` on a fresh data
 * directory (no BOOTSTRAP_ADMIN_TOKEN), the TOKEN=… line it prints pasted into another shell, then
 * the README's block as it stands. Every call must answer what the README says, and the members'
 * CSV must land outside the checkout, readable by its owner only.
 */

/** The fenced sh block that defines `call`: the walk-through's commands. */
async function walkThrough(readme: string): Promise<string> {
  const text = await readFile(new URL(`../../${readme}`, import.meta.url), 'utf8')
  const block = [...text.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]!).find((code) => code.includes('call() {'))
  if (block === undefined) throw new Error(`${readme}: no sh block defines call()`)
  return block
}

function bash(script: string, cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('bash', ['-e', '-c', script], { cwd, env, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr })
    })
  })
}

t.test('the README walk-through, with the token the first start printed, in English and in Japanese', async (t) => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'shizenha-walk-data-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))
  const server = await startBuiltServer(t, { DATA_DIR: dataDir })
  const token = (await server.waitFor('stderr', /^ {4}TOKEN=(shz_[A-Za-z0-9_-]+)$/m))[1]!

  for (const readme of ['README.md', 'README.ja.md']) {
    t.test(readme, async (t) => {
      const checkout = await mkdtemp(path.join(tmpdir(), 'shizenha-walk-checkout-'))
      const temp = await mkdtemp(path.join(tmpdir(), 'shizenha-walk-tmp-'))
      t.teardown(() => Promise.all([rm(checkout, { recursive: true, force: true }), rm(temp, { recursive: true, force: true })]))
      const run = await bash(await walkThrough(readme), checkout, { ...process.env, TOKEN: token, API: server.url, TMPDIR: temp })
      t.equal(run.code, 0, `every call answered as expected:\n${run.stderr}`)
      t.notMatch(run.stderr, /expected \d+, got/)
      t.match(run.stdout, /"decision": "allow"/)
      t.match(run.stdout, /"code": "sensitive_item"/)

      t.same(await readdir(checkout), [], 'nothing is written into the checkout (the working directory)')
      const written = /^written: (.+) \(mode 0600\)$/m.exec(run.stdout)?.[1]
      t.ok(written?.startsWith(`${temp}/`), `the CSV is under TMPDIR: ${written}`)
      const file = await stat(written!)
      t.equal(file.mode & 0o777, 0o600, 'the members’ CSV is mode 0600, as the CLI writes it')
      t.equal((await stat(path.dirname(written!))).mode & 0o777, 0o700, 'in a directory only its owner can open')
      t.match(await readFile(written!, 'utf8'), /M-000123/, 'and it is the member’s provision record')
    })
  }
})
