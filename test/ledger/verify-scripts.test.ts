import { spawnSync } from 'node:child_process'
import { createPublicKey, generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { checkpointText, parseCheckpointText, parseNote, signNote } from '../../src/ledger/checkpoints.js'
import { parsePrivateKey } from '../../src/ledger/checkpoints-key.js'
import { chainOf } from '../../src/ledger/hashing.js'
import type { Tap } from '../fixtures.js'
import type { TestApp } from '../helper.js'
import { ORIGIN, appWithKey, record, rewriteChain, takeCheckpoint } from './verify-support.js'

/**
 * The outside party's tools, run as they would run them (a child process, Node's standard
 * library only) against a real export and a checkpoint kept from earlier.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const CHECKPOINT_SCRIPT = path.join(ROOT, 'scripts', 'verify-checkpoint.mjs')
const EXPORT_SCRIPT = path.join(ROOT, 'scripts', 'verify-ledger-export.mjs')

function run(script: string, args: string[]): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, [script, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 })
  return { status: result.status, output: `${result.stdout}${result.stderr}` }
}

function tempDir(t: Tap): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'verify-scripts-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

async function exportLines(test: TestApp): Promise<string[]> {
  const res = await test.request({ method: 'GET', url: '/v1/ledger/export' })
  if (res.statusCode !== 200) throw new Error(`export answered ${res.statusCode}`)
  return res.body.split('\n').filter((l) => l !== '')
}

t.test('scripts/verify-checkpoint.mjs: a kept checkpoint, the public key and a fresh export', async (t) => {
  const dir = tempDir(t)
  const file = (name: string, text: string) => {
    const full = path.join(dir, name)
    writeFileSync(full, text)
    return full
  }
  const test = await appWithKey(t)
  await record(test, 40, 9)
  await takeCheckpoint(test)
  const kept = file('checkpoint.txt', (await test.request({ method: 'GET', url: '/v1/ledger/checkpoints/latest?format=note' })).body)
  const key = (await test.request({ method: 'GET', url: '/v1/ledger/checkpoints' })).json().key.verifierKey as string
  await record(test, 20, 9)
  const lines = await exportLines(test)
  const intact = file('intact.jsonl', `${lines.join('\n')}\n`)
  const checkWith = (exportFile: string, checkpoint = kept, publicKey = key) =>
    run(CHECKPOINT_SCRIPT, ['--key', publicKey, '--checkpoint', checkpoint, exportFile])

  t.test('an intact export extends the checkpoint', async (t) => {
    const ok = checkWith(intact)
    t.equal(ok.status, 0, ok.output)
    t.match(ok.output, /^ok: the export extends 1 checkpoint/m)
    t.notMatch(ok.output, /FAILED/)
    const json = file('checkpoint.json', JSON.stringify((await test.request({ method: 'GET', url: '/v1/ledger/checkpoints/latest' })).json()))
    t.equal(checkWith(intact, json).status, 0, 'the JSON of the latest route works as the kept checkpoint too')
    const pem = file('key.pem', (await test.request({ method: 'GET', url: '/v1/ledger/checkpoints' })).json().key.publicKeyPem)
    const byPem = run(CHECKPOINT_SCRIPT, ['--key', pem, '--name', ORIGIN, '--checkpoint', kept, intact])
    t.equal(byPem.status, 0, `a PEM key file with --name: ${byPem.output}`)

    const exportOnly = run(EXPORT_SCRIPT, ['--key', key, intact])
    t.equal(exportOnly.status, 0, exportOnly.output)
    const unkeyed = run(EXPORT_SCRIPT, [intact])
    t.equal(unkeyed.status, 0)
    t.match(unkeyed.output, /signature was not checked/, 'without --key it says the trailer signature went unchecked')
  })

  t.test('a tampered export is rejected, naming the entry', async (t) => {
    const index = Math.floor(lines.length / 2)
    const entry = JSON.parse(lines[index]!)
    const changed = [...lines]
    changed[index] = JSON.stringify({ ...entry, decision: entry.decision === 'allow' ? 'deny' : 'allow' })
    const result = checkWith(file('tampered.jsonl', `${changed.join('\n')}\n`))
    t.equal(result.status, 1, result.output)
    t.match(result.output, entry.id)
    t.match(result.output, /content does not match its hash/)
  })

  t.test('a truncated export is rejected', async (t) => {
    const cut = checkWith(file('cut.jsonl', `${lines.slice(0, lines.length - 6).join('\n')}\n`))
    t.equal(cut.status, 1, cut.output)
    t.match(cut.output, /no trailer line: it was cut short/, 'cut off with its trailer')

    const midLine = checkWith(file('mid-line.jsonl', `${lines.join('\n').slice(0, -40)}`))
    t.equal(midLine.status, 1, 'cut in the middle of the trailer line')

    // The last entry of one chain removed, the trailer kept: the chain no longer ends where it says.
    const trailer = JSON.parse(lines.at(-1)!).trailer
    const chain = trailer.chains.find((c: { length: number }) => c.length >= 2).chain as number
    const lastOfChain = lines.findLastIndex((l) => JSON.parse(l).chain === chain)
    const shortened = lines.filter((_, i) => i !== lastOfChain)
    const tail = checkWith(file('tail.jsonl', `${shortened.join('\n')}\n`))
    t.equal(tail.status, 1, tail.output)
    t.match(tail.output, new RegExp(`chain ${chain}: the export ends at seq \\d+ .* but its trailer says`))

    // … and its trailer edited to match: the signed note in it still says otherwise.
    const edited = {
      ...trailer,
      entries: trailer.entries - 1,
      chains: trailer.chains.map((c: { chain: number; length: number }) =>
        c.chain === chain ? { ...c, length: c.length - 1, headHash: JSON.parse(shortened.findLast((l) => JSON.parse(l).chain === chain)!).hash } : c
      )
    }
    const forgedTrailer = checkWith(file('forged-trailer.jsonl', `${[...shortened.slice(0, -1), JSON.stringify({ trailer: edited })].join('\n')}\n`))
    t.equal(forgedTrailer.status, 1, forgedTrailer.output)
    t.match(forgedTrailer.output, /signed note and its chains differ/)
    const unsigned = checkWith(
      file('unsigned-trailer.jsonl', `${[...shortened.slice(0, -1), JSON.stringify({ trailer: { ...edited, note: null } })].join('\n')}\n`)
    )
    t.equal(unsigned.status, 1, unsigned.output)
    t.match(unsigned.output, /trailer is not signed/)
  })

  t.test('a forged signature is rejected', async (t) => {
    const note = (await test.request({ method: 'GET', url: '/v1/ledger/checkpoints/latest?format=note' })).body
    const { text, signatures } = parseNote(note)
    const body = parseCheckpointText(text)
    const target = body.heads.find((h) => h.seq > 0)!
    // A body changed under the service's signature.
    const altered = note.replace(`chain ${target.chain} ${target.seq} ${target.hash}`, `chain ${target.chain} ${target.seq} ${'f'.repeat(64)}`)
    const byAlteredBody = checkWith(intact, file('altered.txt', altered))
    t.equal(byAlteredBody.status, 1, byAlteredBody.output)
    t.match(byAlteredBody.output, /does not verify|SHA-256 of its chain lines/)

    // A checkpoint signed by another key under the service's name: not the pinned key.
    const impostor = generateKeyPairSync('ed25519')
    const impostorKey = Buffer.from(String(impostor.publicKey.export({ format: 'jwk' }).x), 'base64url')
    const forged = signNote(
      checkpointText({ ...body, heads: body.heads.map((h) => (h.chain === target.chain ? { ...h, hash: 'e'.repeat(64) } : h)) }),
      ORIGIN,
      impostor.privateKey,
      impostorKey
    )
    const byImpostor = checkWith(intact, file('impostor.txt', forged))
    t.equal(byImpostor.status, 1, byImpostor.output)
    t.match(byImpostor.output, /carries no signature of shizenha\.example\/test-ledger/)

    // The right key ID with a signature that is not the key's.
    const bogus = Buffer.concat([Buffer.from(signatures[0]!.signature, 'base64').subarray(0, 4), Buffer.alloc(64, 7)]).toString('base64')
    const swapped = checkWith(intact, file('bogus.txt', `${text}\n\u2014 ${ORIGIN} ${bogus}\n`))
    t.equal(swapped.status, 1, swapped.output)
    t.match(swapped.output, /does not verify/)
  })

  t.test('an export that does not extend the checkpoint is rejected', async (t) => {
    // Another ledger signed with the same key (the service's signatures are all valid): its
    // export does not contain the history the kept checkpoint signed.
    const other = await appWithKey(t, { seed: test.seed })
    await record(other, 60, 9, 'M-OTHER')
    const foreign = file('foreign.jsonl', `${(await exportLines(other)).join('\n')}\n`)
    const result = checkWith(foreign)
    t.equal(result.status, 1, result.output)
    t.match(result.output, /does not extend checkpoint/)
  })

  t.test('history rewritten with recomputed hashes is rejected', async (t) => {
    const target = await appWithKey(t)
    await record(target, 30, 5)
    await takeCheckpoint(target)
    const keptHere = file('kept-here.txt', (await target.request({ method: 'GET', url: '/v1/ledger/checkpoints/latest?format=note' })).body)
    const keyHere = (await target.request({ method: 'GET', url: '/v1/ledger/checkpoints' })).json().key.verifierKey as string
    await rewriteChain(target, chainOf('M-CP-0'), 2)
    const rewritten = file('rewritten.jsonl', `${(await exportLines(target)).join('\n')}\n`)
    const exportAlone = run(EXPORT_SCRIPT, [rewritten])
    t.equal(exportAlone.status, 0, 'every hash and link of the rewritten export recomputes')
    const result = checkWith(rewritten, keptHere, keyHere)
    t.equal(result.status, 1, result.output)
    t.match(result.output, /trailer is not signed: the ledger no longer extends checkpoint/, 'the service refuses to sign its trailer')
    // Even had the service signed the rewritten heads (it refuses to), the kept checkpoint catches it.
    const lines = await exportLines(target)
    const trailer = JSON.parse(lines.at(-1)!).trailer
    const heads = trailer.chains.map((c: { chain: number; length: number; headHash: string }) => ({ chain: c.chain, seq: c.length, hash: c.headHash }))
    const signer = parsePrivateKey(target.seed, 'seed')
    const publicKey = Buffer.from(String(createPublicKey(signer).export({ format: 'jwk' }).x), 'base64url')
    const note = signNote(
      checkpointText({ origin: ORIGIN, treeSize: trailer.entries, time: trailer.time, policyVersion: 'v', heads }),
      ORIGIN,
      signer,
      publicKey
    )
    const signedRewrite = file('signed-rewrite.jsonl', `${[...lines.slice(0, -1), JSON.stringify({ trailer: { ...trailer, note } })].join('\n')}\n`)
    const extension = checkWith(signedRewrite, keptHere, keyHere)
    t.equal(extension.status, 1, extension.output)
    t.match(extension.output, new RegExp(`chain ${chainOf('M-CP-0')} has [0-9a-f]{64} at seq \\d+, the checkpoint signed [0-9a-f]{64}: history was rewritten`))
  })

  t.test('usage errors exit 2', async (t) => {
    t.equal(run(CHECKPOINT_SCRIPT, []).status, 2)
  })
})
