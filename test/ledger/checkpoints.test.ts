import { createPublicKey, generateKeyPairSync, randomBytes, verify as verifySignature } from 'node:crypto'
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { sql } from 'kysely'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { createLogger } from '../../src/logger.js'
import { checkpointText, keyIdOf, openCheckpoint, openNote, parseCheckpointText, parseNote, signNote } from '../../src/ledger/checkpoints.js'
import { CheckpointKeyError, EMBEDDED_KEY_FILE, loadSigner, parsePrivateKey } from '../../src/ledger/checkpoints-key.js'
import { chainOf } from '../../src/ledger/hashing.js'
import { assertProblem, countEntries } from '../fixtures.js'
import { ADMIN_TOKEN, createClient, openTestDatabase } from '../helper.js'
import { ORIGIN, appWithKey, record, rewriteChain, takeCheckpoint, verify } from './verify-support.js'

const HEADS_SQL = sql<{ chain: number; seq: number | string; hash: string }>`SELECT chain, seq, hash FROM ledger_heads ORDER BY chain`
const silentLog = { info: () => {}, warn: () => {} }

t.test('a checkpoint is the 16 heads in a C2SP signed note, checkable with any Ed25519 library', async (t) => {
  const test = await appWithKey(t)
  await record(test, 20)
  const checkpoint = await takeCheckpoint(test)

  const heads = (await HEADS_SQL.execute(test.database.db)).rows.map((h) => ({ chain: h.chain, seq: Number(h.seq), hash: h.hash }))
  t.same(
    checkpoint.chains,
    heads.map((h) => ({ chain: h.chain, seq: h.seq, headHash: h.hash })),
    'the chains are the heads'
  )
  t.equal(checkpoint.treeSize, await countEntries(test), 'treeSize is the number of entries')
  t.equal(checkpoint.origin, ORIGIN)
  t.match(checkpoint.policyVersion, /\S/)

  // The note, line by line (README "Checkpoints").
  const note = checkpoint.note as string
  const [text, signatureLine] = note.split('\n\n')
  const lines = text!.split('\n')
  t.equal(lines[0], ORIGIN, 'line 1: the origin')
  t.equal(lines[1], String(checkpoint.treeSize), 'line 2: the tree size')
  t.equal(lines[3], `time ${checkpoint.time}`, 'line 4: the time')
  t.equal(lines[4], `policy ${checkpoint.policyVersion}`, 'line 5: the policy version')
  t.same(
    lines.slice(5),
    heads.map((h) => `chain ${h.chain} ${h.seq} ${h.hash}`),
    'then one line per chain'
  )
  t.match(signatureLine, /^\u2014 shizenha\.example\/test-ledger [A-Za-z0-9+/]+=*\n$/, 'an em dash, the key name and the signature')

  // Checked with node:crypto alone, from the PEM the list publishes.
  const list = (await test.request({ method: 'GET', url: '/v1/ledger/checkpoints' })).json()
  t.equal(list.key.algorithm, 'Ed25519')
  t.equal(list.key.name, ORIGIN)
  const raw = Buffer.from(signatureLine!.trim().split(' ').at(-1)!, 'base64')
  t.equal(raw.subarray(0, 4).toString('hex'), list.key.keyId, 'the signature starts with the key ID')
  t.equal(keyIdOf(ORIGIN, Buffer.from(list.key.publicKey, 'base64')), list.key.keyId, 'key ID = SHA-256(name, 0x0A, 0x01, key)[:4]')
  t.ok(
    verifySignature(null, Buffer.from(`${text}\n`, 'utf8'), createPublicKey(list.key.publicKeyPem), raw.subarray(4)),
    'the Ed25519 signature covers the text and its final newline'
  )
  t.match(list.key.verifierKey, new RegExp(`^${ORIGIN.replace(/[./]/g, '\\$&')}\\+${list.key.keyId}\\+`), "Go's note verifier key format")
  t.equal(list.checkpoints[0].id, checkpoint.id, 'the list shows it, newest first')
  t.same(list.checkpoints[0].signatures, [{ name: ORIGIN, keyId: list.key.keyId, signature: signatureLine!.trim().split(' ').at(-1) }])
  t.same(parseCheckpointText(openNote(note, { name: ORIGIN, publicKey: Buffer.from(list.key.publicKey, 'base64') })).heads, heads)

  const latest = await test.request({ method: 'GET', url: '/v1/ledger/checkpoints/latest' })
  t.equal(latest.json().id, checkpoint.id, 'latest')
  const asNote = await test.request({ method: 'GET', url: '/v1/ledger/checkpoints/latest?format=note' })
  t.match(asNote.headers['content-type'], /^text\/plain/)
  t.equal(asNote.body, note, '?format=note is the note itself, to keep as a file')
})

t.test('checkpoints: listing pages, roles, and 404 before the first', async (t) => {
  const test = await appWithKey(t)
  const none = await test.request({ method: 'GET', url: '/v1/ledger/checkpoints/latest' })
  assertProblem(t, none, 404)
  t.same((await test.request({ method: 'GET', url: '/v1/ledger/checkpoints' })).json().checkpoints, [])

  const ops = await createClient(test, { name: 'ops', role: 'ops' })
  const system = await createClient(test, { name: 'sys', role: 'system' })
  await record(test, 3)
  const first = await takeCheckpoint(test, ops.token)
  t.pass('ops may take a checkpoint')
  t.equal((await test.request({ method: 'POST', url: '/v1/ledger/checkpoints', token: system.token })).statusCode, 403, 'a system client may not')
  t.equal((await test.request({ method: 'GET', url: '/v1/ledger/checkpoints', token: system.token })).statusCode, 403)
  await record(test, 2)
  const second = await takeCheckpoint(test)
  const third = await takeCheckpoint(test)
  t.equal(third.treeSize, second.treeSize, 'a checkpoint on demand is taken even when nothing changed')
  t.ok(second.treeSize > first.treeSize)

  const seen: number[] = []
  let cursor: string | null = null
  do {
    const res = await test.request({ method: 'GET', url: `/v1/ledger/checkpoints?limit=2${cursor ? `&cursor=${cursor}` : ''}` })
    t.equal(res.statusCode, 200)
    seen.push(...res.json().checkpoints.map((c: { id: number }) => c.id))
    cursor = res.json().nextCursor
  } while (cursor)
  t.same(seen, [third.id, second.id, first.id], 'every checkpoint once, newest first')
  const bad = await test.request({ method: 'GET', url: '/v1/ledger/checkpoints?cursor=bm9wZQ' })
  t.equal(bad.statusCode, 400, 'a cursor the service did not issue')
})

t.test('checkpoints and verifications are append-only', async (t) => {
  const test = await appWithKey(t)
  await record(test, 2)
  const checkpoint = await takeCheckpoint(test)
  t.equal((await verify(test)).ok, true)
  const db = test.database.db
  for (const statement of [
    sql`UPDATE ledger_checkpoints SET tree_size = 0`,
    sql`DELETE FROM ledger_checkpoints WHERE id = ${checkpoint.id}`,
    sql`TRUNCATE ledger_checkpoints CASCADE`,
    sql`UPDATE ledger_checkpoint_verifications SET full_walk = NOT full_walk`,
    sql`DELETE FROM ledger_checkpoint_verifications`,
    sql`TRUNCATE ledger_checkpoint_verifications`
  ]) {
    const error = await statement.execute(db).then(
      () => null,
      (err: { message?: string }) => err
    )
    t.match(error?.message ?? '', /append-only/, `refused: ${statement.compile(db).sql}`)
  }
})

t.test('the periodic checkpoint: every N entries or T seconds', async (t) => {
  t.test('due by entries and by time, on a clock of the test', async (t) => {
    let now = new Date('2026-12-01T00:00:00Z')
    const test = await appWithKey(t, { now: () => now, config: { checkpointEveryEntries: 5, checkpointIntervalSeconds: 600 } })
    const due = () => test.app.checkpoints.takeIfDue()
    t.equal(await due(), null, 'an empty ledger: nothing to sign')
    await record(test, 4)
    t.equal(await due(), null, '4 entries, 0 s: not due')
    await record(test, 1)
    const byCount = await due()
    t.equal(byCount?.treeSize, 5, '5 entries: due')
    t.equal(await due(), null, 'nothing new since: not due')
    await record(test, 1)
    now = new Date(now.getTime() + 599_000)
    t.equal(await due(), null, '1 entry after 599 s: not due')
    now = new Date(now.getTime() + 1_000)
    t.equal((await due())?.treeSize, 6, '1 entry after 600 s: due')
    now = new Date(now.getTime() + 3_600_000)
    t.equal(await due(), null, 'an hour later with nothing new: not due')
  })

  t.test('the timer takes them by itself', async (t) => {
    const test = await appWithKey(t, { config: { checkpointIntervalSeconds: 1 } })
    await record(test, 2)
    let latest: Record<string, any> | undefined
    for (let waited = 0; waited < 10_000 && latest?.treeSize !== 2; waited += 250) {
      await sleep(250)
      const res = await test.request({ method: 'GET', url: '/v1/ledger/checkpoints/latest' })
      if (res.statusCode === 200) latest = res.json()
    }
    t.equal(latest?.treeSize, 2, 'a checkpoint of the two entries appeared within seconds')
  })
})

t.test('a rewrite of history with recomputed hashes passes the chains but not the checkpoints', async (t) => {
  t.test('without a checkpoint the rewrite goes unseen (why checkpoints exist)', async (t) => {
    const test = await appWithKey(t)
    await record(test, 30)
    const chain = chainOf('M-CP-0')
    await rewriteChain(test, chain, 2)
    t.equal((await verify(test, true)).ok, true, 'every hash and link recomputes')
  })

  t.test('with checkpoints, verify names the checkpoint the rewrite breaks', async (t) => {
    const test = await appWithKey(t)
    await record(test, 30)
    const chain = chainOf('M-CP-0')
    const first = await takeCheckpoint(test)
    t.equal((await verify(test)).ok, true, 'verified up to the first checkpoint')
    await record(test, 14)
    const second = await takeCheckpoint(test)
    t.equal((await verify(test)).from?.id, first.id, 'the next verify starts at the first checkpoint')
    await record(test, 7)
    const before = (await verify(test)).from
    t.equal(before?.id, second.id, 'and then at the second')

    const seqAtFirst = first.chains[chain].seq as number
    t.ok(seqAtFirst >= 3, `chain ${chain} has ${seqAtFirst} entries at the first checkpoint`)
    await rewriteChain(test, chain, 2)

    const routine = await verify(test)
    t.equal(routine.ok, false, 'the routine verify fails')
    t.equal(routine.mode, 'incremental')
    t.equal(routine.firstFailure.chain, chain, 'in the rewritten chain')
    t.equal(routine.firstFailure.checkpoint?.id, second.id, 'naming the checkpoint it starts from, whose head is gone')
    t.match(routine.firstFailure.problem, /rewritten/)

    const full = await verify(test, true)
    t.equal(full.ok, false, 'the full verify fails')
    t.equal(full.mode, 'full')
    t.equal(full.firstFailure.chain, chain)
    t.equal(full.firstFailure.seq, seqAtFirst, "at the first checkpoint's head of that chain")
    t.equal(full.firstFailure.checkpoint?.id, first.id, 'naming the first checkpoint the rewrite breaks')
    const entryThere = (await sql<{ id: string }>`SELECT id FROM ledger_entries WHERE chain = ${chain} AND seq = ${seqAtFirst}`.execute(test.database.db))
      .rows[0]
    t.equal(full.firstFailure.entryId, entryThere?.id, 'and the entry now there')
    t.ok(
      full.chains.filter((c: { ok: boolean }) => !c.ok).every((c: { chain: number }) => c.chain === chain),
      'the other chains verify'
    )

    const refused = await test.request({ method: 'POST', url: '/v1/ledger/checkpoints' })
    const problem = assertProblem(t, refused, 409, 'a checkpoint of the rewritten ledger')
    t.equal(problem.code, 'ledger_rewritten')
    t.match(problem.detail, new RegExp(`checkpoint ${second.id}`))
    // A newer checkpoint row written behind the service's back does not make it sign the rewrite.
    await sql`INSERT INTO ledger_checkpoints (origin, key_id, public_key, tree_size, signed_at, note)
      VALUES (${ORIGIN}, ${second.keyId}, ${second.publicKey}, 0, now(), ${'forged\n'})`.execute(test.database.db)
    t.equal((await test.request({ method: 'POST', url: '/v1/ledger/checkpoints' })).statusCode, 409, 'a forged newer row changes nothing')
    const exported = (await test.request({ method: 'GET', url: '/v1/ledger/export' })).body.trim().split('\n')
    const trailer = JSON.parse(exported.at(-1)!).trailer
    t.equal(trailer.note, null, 'the export of the rewritten ledger carries no signed trailer')
    t.match(trailer.problem, /no longer extends/)
  })
})

t.test('verify starts from the latest verified checkpoint; full=true walks everything', async (t) => {
  const test = await appWithKey(t)
  await record(test, 25)
  const empty = await verify(test)
  t.equal(empty.mode, 'full', 'before any checkpoint: from seq 1')
  t.equal(empty.from, null)
  t.equal(empty.entriesChecked, 25)

  const checkpoint = await takeCheckpoint(test)
  const first = await verify(test)
  t.equal(first.mode, 'full', 'no checkpoint verified yet: from seq 1')
  t.equal(first.entriesChecked, 25)
  t.equal(first.checkpointsChecked, 1)

  await record(test, 11)
  const routine = await verify(test)
  t.equal(routine.ok, true)
  t.equal(routine.mode, 'incremental')
  t.same(routine.from, { id: checkpoint.id, time: checkpoint.time, treeSize: 25 }, 'from the verified checkpoint')
  t.equal(routine.entriesChecked, 11, 'only the entries since')
  t.equal(
    routine.chains.reduce((n: number, c: { length: number }) => n + c.length, 0),
    36,
    'chain lengths still count every entry'
  )

  const full = await verify(test, true)
  t.equal(full.ok, true)
  t.equal(full.mode, 'full')
  t.equal(full.entriesChecked, 36)

  // A verification row written behind the service's back (no valid signature) is not believed.
  await record(test, 4)
  const later = await takeCheckpoint(test)
  await sql`INSERT INTO ledger_checkpoint_verifications (checkpoint_id, verified_at, full_walk, entries_checked, key_id, signature)
    VALUES (${later.id}, now(), true, 0, ${later.keyId}, ${randomBytes(64).toString('base64')})`.execute(test.database.db)
  const afterForgery = await verify(test)
  t.equal(afterForgery.from?.id, checkpoint.id, 'a forged verification record is ignored')
  t.equal(afterForgery.entriesChecked, 15, 'the entries since the genuinely verified checkpoint')
  t.equal((await verify(test)).from?.id, later.id, 'that run recorded the newer checkpoint, where the next one starts')
})

t.test('verify: one run at a time per process; concurrent callers share it', async (t) => {
  const test = await appWithKey(t)
  await record(test, 40)
  const service = test.app.checkpoints
  const runs = service.verifyRuns
  const [a, b, c] = await Promise.all([service.verify(false), service.verify(false), service.verify(false)])
  t.equal(service.verifyRuns - runs, 1, 'three callers, one run')
  t.equal(a, b, 'the same report')
  t.equal(b, c)
  t.equal((await verify(test)).ok, true, 'and over HTTP')

  const before = service.verifyRuns
  const [incremental, full, full2, another] = await Promise.all([service.verify(false), service.verify(true), service.verify(true), service.verify(false)])
  t.equal(service.verifyRuns - before, 2, 'a full request waits for the incremental run, then one full run serves every full caller')
  t.equal(another, incremental, 'a caller arriving during the incremental run shares it')
  t.equal(full, full2)
  t.equal(full.mode, 'full')
})

t.test('the signing key', async (t) => {
  t.test('embedded: generated once under DATA_DIR with mode 0600, then reused', async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'checkpoint-key-'))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    const first = await loadSigner({ name: ORIGIN, generateIn: dir }, silentLog)
    const file = path.join(dir, EMBEDDED_KEY_FILE)
    t.equal(statSync(file).mode & 0o777, 0o600, 'owner-only')
    const second = await loadSigner({ name: ORIGIN, generateIn: dir }, silentLog)
    t.equal(second?.keyId, first?.keyId, 'the same key after a restart')
    const racing = mkdtempSync(path.join(tmpdir(), 'checkpoint-key-'))
    t.teardown(() => rmSync(racing, { recursive: true, force: true }))
    const both = await Promise.all([loadSigner({ name: ORIGIN, generateIn: racing }, silentLog), loadSigner({ name: ORIGIN, generateIn: racing }, silentLog)])
    t.equal(both[0]?.keyId, both[1]?.keyId, 'two starts racing end up with one key')
  })

  t.test('a configured key: PKCS#8 PEM or base64 seed, in the environment or a file', async (t) => {
    const { privateKey } = generateKeyPairSync('ed25519')
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()
    const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(-32).toString('base64')
    const fromPem = await loadSigner({ name: ORIGIN, signingKey: pem }, silentLog)
    const fromSeed = await loadSigner({ name: ORIGIN, signingKey: seed }, silentLog)
    t.equal(fromSeed?.keyId, fromPem?.keyId, 'the seed and the PEM are the same key')
    t.equal(await loadSigner({ name: ORIGIN }, silentLog), null, 'none configured and nowhere to keep one: none')
    t.throws(() => parsePrivateKey('not a key', 'CHECKPOINT_SIGNING_KEY'), CheckpointKeyError)
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()
    t.throws(() => parsePrivateKey(rsa, 'CHECKPOINT_SIGNING_KEY'), /not Ed25519/)
    await t.rejects(loadSigner({ name: ORIGIN, signingKeyFile: '/nonexistent/key.pem' }, silentLog), CheckpointKeyError)
    const notADirectory = path.join(mkdtempSync(path.join(tmpdir(), 'checkpoint-key-')), 'a-file')
    t.teardown(() => rmSync(path.dirname(notADirectory), { recursive: true, force: true }))
    writeFileSync(notADirectory, '')
    await t.rejects(
      loadSigner({ name: ORIGIN, generateIn: notADirectory }, silentLog),
      /make DATA_DIR writable/,
      'a DATA_DIR where no key can be made stops the start'
    )
    t.equal(await loadSigner({ name: ORIGIN, generateIn: '/nonexistent', createKey: false }, silentLog), null, 'the CLI on PostgreSQL makes none')
  })

  t.test('a bad key stops the start, without printing the key', async (t) => {
    const { database } = await openTestDatabase(t)
    t.teardown(() => database.close())
    const config = loadConfig({}, { bootstrapAdminToken: ADMIN_TOKEN, logLevel: 'silent', checkpointSigningKey: 'c2VjcmV0LW5vdC1hLWtleQ==' })
    const error = await buildApp({ config, database, logger: createLogger(config, { write: () => {} }) }).then(
      (app) => app.close().then(() => null),
      (err: Error) => err
    )
    t.type(error, CheckpointKeyError)
    t.notMatch(error?.message ?? '', /c2VjcmV0/, 'the message does not quote the key')
  })
  // PostgreSQL without a configured key: test/ledger/default-key.test.ts.
})

t.test('the note format refuses what it must', async (t) => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  const raw = Buffer.from(String(publicKey.export({ format: 'jwk' }).x), 'base64url')
  const heads = Array.from({ length: 16 }, (_, chain) => ({ chain, seq: chain, hash: chain.toString(16).repeat(64) }))
  const body = { origin: ORIGIN, treeSize: heads.reduce((n, h) => n + h.seq, 0), time: '2026-12-01T00:00:00.000Z', policyVersion: 'v1', heads }
  const note = signNote(checkpointText(body), ORIGIN, privateKey, raw)
  t.same(openCheckpoint(note, { name: ORIGIN, publicKey: raw }), body, 'round trip')
  t.equal(parseNote(note).signatures.length, 1)
  const other = generateKeyPairSync('ed25519')
  const otherRaw = Buffer.from(String(other.publicKey.export({ format: 'jwk' }).x), 'base64url')
  t.throws(() => openCheckpoint(note, { name: ORIGIN, publicKey: otherRaw }), /no signature of key/, 'another key (same name)')
  t.throws(() => openCheckpoint(note.replace('chain 3 3', 'chain 3 4'), { name: ORIGIN, publicKey: raw }), /does not verify/, 'an altered body')
  const cosigned = `${note}${signNote(checkpointText(body), 'witness.example', other.privateKey, otherRaw).split('\n\n')[1]}`
  t.same(openCheckpoint(cosigned, { name: ORIGIN, publicKey: raw }), body, 'signatures of other keys are ignored (a witness cosignature)')
  t.throws(() => parseCheckpointText(checkpointText(body).replace(/^(.*\n)(\d+)/, '$1999')), /sum of the chain seqs/)
})
