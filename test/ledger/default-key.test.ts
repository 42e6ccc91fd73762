import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { EMBEDDED_KEY_FILE } from '../../src/ledger/checkpoints-key.js'
import { chainOf } from '../../src/ledger/hashing.js'
import { assertProblem, type Tap } from '../fixtures.js'
import { ADMIN_TOKEN, DATABASE_KIND, buildTestApp, openTestDatabase, type TestApp } from '../helper.js'
import { parseExposition, valueOf } from '../ops/exposition.js'
import { startServer } from '../support/server-process.js'
import { ORIGIN, record, rewriteChain, takeCheckpoint, verify } from './verify-support.js'

/**
 * Issue 23, item 1: on PostgreSQL without CHECKPOINT_SIGNING_KEY(_FILE), as the README's set-up
 * starts the service, checkpoints used to be refused, and an owner's rewrite with recomputed
 * hashes verified. Now a key is made once in DATA_DIR and the first checkpoint records it; a
 * replica that made another key signs nothing and says why.
 */

const POSTGRES_ONLY = { skip: DATABASE_KIND === 'postgres' ? false : 'PostgreSQL: the embedded database has always made its own key' }

function tempDir(t: Tap): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'shizenha-key-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** The settings of the README's PostgreSQL set-up: no key configured, DATA_DIR where the service keeps its files. */
const noKey = (dataDir: string) => ({ checkpointSigningKey: undefined, checkpointSigningKeyFile: undefined, checkpointOrigin: ORIGIN, dataDir })

async function signing(test: TestApp): Promise<number | undefined> {
  return valueOf(parseExposition((await test.request({ method: 'GET', url: '/metrics', token: null })).body), 'shizenha_ledger_checkpoint_signing')
}

t.test("PostgreSQL without a key: checkpoints are signed, and an owner's rewrite with recomputed hashes is caught", POSTGRES_ONLY, async (t) => {
  const dataDir = tempDir(t)
  const test = await buildTestApp(t, { config: noKey(dataDir) })
  t.equal(statSync(path.join(dataDir, EMBEDDED_KEY_FILE)).mode & 0o777, 0o600, 'the key was made in DATA_DIR, owner-only')
  const listed = (await test.request({ method: 'GET', url: '/v1/ledger/checkpoints' })).json()
  t.type(listed.key?.verifierKey, 'string', 'the key is published for the parties that keep checkpoints')
  t.equal(listed.checkpoints.length, 1, 'the first start signed a checkpoint: it records which key signs this database')
  t.equal(listed.checkpoints[0].keyId, listed.key.keyId)
  t.equal(await signing(test), 1, '/metrics says checkpoints are signed')

  await record(test, 30)
  const checkpoint = await takeCheckpoint(test)
  t.equal(checkpoint.keyId, listed.key.keyId, 'POST /v1/ledger/checkpoints signs (it was 503)')
  t.equal((await verify(test, true)).ok, true)

  // The table owner rewrites a chain through SQL, triggers off, every later hash recomputed.
  const chain = chainOf('M-CP-0')
  await rewriteChain(test, chain, 2)
  const full = await verify(test, true)
  t.equal(full.ok, false, 'verify catches the rewrite (it answered ok:true, checkpointsChecked:0)')
  t.equal(full.firstFailure.chain, chain)
  t.equal(full.firstFailure.checkpoint?.id, checkpoint.id, 'naming the checkpoint it contradicts')
  t.equal(assertProblem(t, await test.request({ method: 'POST', url: '/v1/ledger/checkpoints' }), 409).code, 'ledger_rewritten', 'and signs nothing over it')
})

t.test('a replica that made another key signs nothing and says why; the same DATA_DIR signs again after a restart', POSTGRES_ONLY, async (t) => {
  const { database, reopen } = await openTestDatabase(t)
  const first = await buildTestApp(t, { database, config: noKey(tempDir(t)) })
  await record(first, 3)
  const pinned = await takeCheckpoint(first)

  const lines: string[] = []
  const otherHandle = await reopen()
  t.teardown(() => otherHandle.close())
  const other = await buildTestApp(t, { database: otherHandle, config: noKey(tempDir(t)), logStream: { write: (line: string) => lines.push(line) } })
  const said = lines.map((l) => JSON.parse(l) as { level: number; msg: string }).find((l) => l.msg.includes('checkpoints are not signed by this replica'))
  t.equal(said?.level, 50, 'the start logs an error')
  t.match(said?.msg, new RegExp(`signed by key ${pinned.keyId}`), 'naming the key that signs this database')
  t.match(said?.msg, /CHECKPOINT_SIGNING_KEY_FILE/, 'and what to do')
  const refused = assertProblem(t, await other.request({ method: 'POST', url: '/v1/ledger/checkpoints' }), 503)
  t.equal(refused.code, 'checkpoints_unavailable')
  t.match(refused.detail, new RegExp(pinned.keyId))
  t.equal((await other.request({ method: 'GET', url: '/v1/ledger/checkpoints' })).json().key, null, 'it publishes no key of its own')
  const trailer = JSON.parse((await other.request({ method: 'GET', url: '/v1/ledger/export' })).body.trim().split('\n').at(-1)!).trailer
  t.equal(trailer.note, null, 'its exports are not signed')
  t.match(trailer.problem, /not by this replica's key/)
  t.equal(await signing(other), 0, '/metrics says this replica signs nothing')
  t.equal(await signing(first), 1, 'while the first one does')

  await first.app.close()
  const again = await buildTestApp(t, { database, config: noKey(first.config.dataDir) })
  t.equal((await takeCheckpoint(again)).keyId, pinned.keyId, 'restarted on its DATA_DIR, the first replica signs with its key')
})

t.test('the server process, started with DATABASE_URL and no key, signs checkpoints', POSTGRES_ONLY, async (t) => {
  const { database } = await openTestDatabase(t)
  const url = database.url!
  await database.close()
  const server = await startServer(t, { DATABASE_URL: url, DATA_DIR: tempDir(t), BOOTSTRAP_ADMIN_TOKEN: ADMIN_TOKEN })
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}` }
  const listed = (await (await fetch(`${server.url}/v1/ledger/checkpoints`, { headers: auth })).json()) as { key: unknown; checkpoints: unknown[] }
  t.not(listed.key, null, 'a signing key (it was null)')
  t.equal(listed.checkpoints.length, 1, 'and the checkpoint that records it')
  t.equal((await fetch(`${server.url}/v1/ledger/checkpoints`, { method: 'POST', headers: auth })).status, 201, 'POST signs (it was 503)')
  const metrics = parseExposition(await (await fetch(`${server.url}/metrics`)).text())
  t.equal(valueOf(metrics, 'shizenha_ledger_checkpoint_signing'), 1)
})
