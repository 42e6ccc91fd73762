#!/usr/bin/env node
// For a party outside the co-op (JCCU, an auditor, the regulator) that keeps the service's signed
// checkpoints: proves, with nothing but Node's standard library and the service's public key,
// that a fresh export of the ledger still contains the history those checkpoints signed.
//
//   node scripts/verify-checkpoint.mjs --key KEY --checkpoint saved.txt [--checkpoint more.txt …] ledger.jsonl
//
//   KEY          the service's public key, pinned when you first received it: the verifierKey
//                of GET /v1/ledger/checkpoints ("name+keyid+base64"), or a PEM / base64 key
//                with --name NAME (the checkpoints' origin line)
//   --checkpoint a checkpoint you kept: the signed note (GET /v1/ledger/checkpoints/latest?format=note),
//                or the JSON of that route; repeat for several
//   ledger.jsonl a fresh GET /v1/ledger/export (or --export FILE)
//
// It checks that
//   1. each checkpoint carries a valid Ed25519 signature of KEY (its text is then trusted);
//   2. every entry of the export hashes and links as README "The audit ledger" says;
//   3. the export ends exactly where its trailer says, and the trailer is signed by KEY
//      (an export cut short, or a tail cut off, fails here);
//   4. the export extends every checkpoint: in each of the 16 chains, the entry at the
//      checkpoint's seq has the checkpoint's head hash. A chain rewritten after the checkpoint
//      was signed fails here, even when every hash after the change was recomputed.
// Exit 0 and "ok …" when all hold; 1 naming the first that does not; 2 for bad usage or input.
import { createReadStream, readFileSync } from 'node:fs'
import { Failure, checkTrailer, openCheckpoint, parseArgs, parseKey, readExport, run } from './verify-ledger-export.mjs'

function readCheckpoint(file, key) {
  let text = readFileSync(file, 'utf8')
  if (text.trimStart().startsWith('{')) text = JSON.parse(text).note
  try {
    return openCheckpoint(text, key)
  } catch (err) {
    if (err instanceof Failure) throw new Failure(`checkpoint ${file}: ${err.message}`)
    throw err
  }
}

async function main() {
  const { flags, positional } = parseArgs(process.argv.slice(2), ['checkpoint'])
  const exportFile = flags.export ?? positional[0]
  if (flags.key === undefined || flags.checkpoint === undefined || exportFile === undefined) {
    throw new Error('usage: verify-checkpoint.mjs --key KEY --checkpoint FILE [--checkpoint FILE …] EXPORT.jsonl')
  }
  const key = parseKey(flags.key, flags.name)
  const checkpoints = flags.checkpoint.map((file) => ({ file, body: readCheckpoint(file, key) }))
  for (const { file, body } of checkpoints) process.stdout.write(`checkpoint ${file}: signed ${body.time}, ${body.treeSize} entries; signature ok\n`)

  const watch = new Set(checkpoints.flatMap(({ body }) => body.heads.filter((h) => h.seq > 0).map((h) => `${h.chain}:${h.seq}`)))
  const result = await readExport(createReadStream(exportFile), watch)
  checkTrailer(result, key)
  process.stdout.write(`export: ${result.checked} entries verify; it ends where its signed trailer says\n`)

  for (const { file, body } of checkpoints) {
    for (const head of body.heads) {
      if (head.seq === 0) continue
      const length = result.chains.get(head.chain)?.length ?? 0
      if (length < head.seq) {
        throw new Failure(
          `the export does not extend checkpoint ${file} (${body.time}): chain ${head.chain} ends at seq ${length}, the checkpoint signed seq ${head.seq}`
        )
      }
      const found = result.seen.get(`${head.chain}:${head.seq}`)
      if (found !== head.hash) {
        throw new Failure(
          `the export does not extend checkpoint ${file} (${body.time}): chain ${head.chain} has ${found} at seq ${head.seq}, the checkpoint signed ${head.hash}: history was rewritten`
        )
      }
    }
  }
  process.stdout.write(
    `ok: the export extends ${checkpoints.length} checkpoint${checkpoints.length === 1 ? '' : 's'}, and every entry and signature verifies\n`
  )
}

run(main)
