#!/usr/bin/env node
// Re-verifies an export of the audit ledger (GET /v1/ledger/export, JSON Lines) with nothing
// but Node's standard library, so an auditor needs to trust only the published algorithm:
//
//   hash    = lowercase hex SHA-256 of the RFC 8785 (JCS) canonical JSON of the entry
//             without its "hash" member
//   chain   = entries with the same "chain", ordered by "seq" = 1, 2, 3, … without gaps
//   link    = each entry's "prevHash" is the previous entry's "hash"; 64 zeros for seq 1
//   trailer = the last line, {"trailer": {entries, time, chains: [{chain, length, headHash}],
//             note, …}}: the heads the export ends at. Every chain must end exactly there, so
//             an export cut short fails. "note" is the same heads signed by the service in the
//             checkpoint format (README, "Signed checkpoints"); with --key its signature is checked.
//
// Usage: node scripts/verify-ledger-export.mjs [--key KEY] ledger.jsonl   (or pipe it to stdin)
//   KEY: the service's public key as GET /v1/ledger/checkpoints gives it (verifierKey
//   "name+keyid+base64", a PEM file, or the 32-byte key in base64 with --name NAME).
// Exit 0 and "ok …" when everything verifies; 1 naming the first problem; 2 for bad usage.
//
// scripts/verify-checkpoint.mjs uses the functions exported here.
import { createHash, createPublicKey, verify } from 'node:crypto'
import { createReadStream, readFileSync, realpathSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

export const GENESIS = '0'.repeat(64)
export const CHAIN_COUNT = 16

/** A verification failure: the message says what and where. */
export class Failure extends Error {}

// RFC 8785: primitives as ECMAScript JSON.stringify writes them, object members sorted by
// their names' UTF-16 code units, no whitespace.
export function canonical(value) {
  if (value === null || typeof value !== 'object') return JSON.stringify(value)
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  const names = Object.keys(value).sort()
  return `{${names.map((name) => `${JSON.stringify(name)}:${canonical(value[name])}`).join(',')}}`
}

export function sha256(text) {
  return createHash('sha256').update(text, 'utf8').digest('hex')
}

// ----------------------------------------------------------------------------------------------
// Signed notes (c2sp.org/signed-note) and checkpoints (README, "Signed checkpoints")

/** A key given as "name+keyid+base64(0x01||key)", a PEM public key (text or file), or base64 of 32 bytes. */
export function parseKey(text, name) {
  let value = text.trim()
  if (!value.includes('+') && !value.startsWith('-----BEGIN')) {
    try {
      value = readFileSync(value, 'utf8').trim()
    } catch {
      // not a file: the key itself
    }
  }
  const verifier = /^([^\s+]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+={0,2})$/.exec(value)
  if (verifier) {
    const raw = Buffer.from(verifier[3], 'base64')
    if (raw.length !== 33 || raw[0] !== 0x01) throw new Failure('the verifier key is not an Ed25519 key')
    const key = { name: verifier[1], publicKey: raw.subarray(1) }
    if (keyIdOf(key.name, key.publicKey) !== verifier[2]) throw new Failure('the verifier key has the wrong key ID')
    return key
  }
  if (name === undefined) throw new Failure('a PEM or base64 key needs --name (the origin line of the checkpoints)')
  if (value.startsWith('-----BEGIN')) {
    const jwk = createPublicKey(value).export({ format: 'jwk' })
    if (jwk.crv !== 'Ed25519') throw new Failure('the PEM key is not Ed25519')
    return { name, publicKey: Buffer.from(jwk.x, 'base64url') }
  }
  const raw = Buffer.from(value, 'base64')
  if (raw.length !== 32) throw new Failure('the key is not 32 bytes of base64')
  return { name, publicKey: raw }
}

/** SHA-256(key name || 0x0A || 0x01 || public key)[:4], hex. */
export function keyIdOf(name, publicKey) {
  return createHash('sha256')
    .update(Buffer.concat([Buffer.from(name, 'utf8'), Buffer.from([0x0a, 0x01]), publicKey]))
    .digest()
    .subarray(0, 4)
    .toString('hex')
}

/**
 * Checks a signed note with `key` and returns its text. The text is everything up to the last
 * blank line; each signature line is "— name base64(keyid || Ed25519 signature of the text)".
 * Lines of other keys are ignored; there must be one of this key and it must verify.
 */
export function openNote(note, key) {
  if (typeof note !== 'string' || !note.endsWith('\n')) throw new Failure('the note does not end in a newline')
  const split = note.lastIndexOf('\n\n')
  if (split < 0) throw new Failure('the note has no blank line before its signatures')
  const text = note.slice(0, split + 1)
  const keyId = keyIdOf(key.name, key.publicKey)
  const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), key.publicKey])
  const publicKey = createPublicKey({ key: spki, format: 'der', type: 'spki' })
  let signed = false
  for (const line of note.slice(split + 2, -1).split('\n')) {
    const match = /^\u2014 (\S+) ([A-Za-z0-9+/]+={0,2})$/u.exec(line)
    if (!match) throw new Failure(`the note has a malformed signature line: ${line}`)
    const raw = Buffer.from(match[2], 'base64')
    if (match[1] !== key.name || raw.subarray(0, 4).toString('hex') !== keyId) continue
    if (raw.length !== 68 || !verify(null, Buffer.from(text, 'utf8'), publicKey, raw.subarray(4))) {
      throw new Failure(`the signature of ${key.name} (key ${keyId}) does not verify: the note was altered or forged`)
    }
    signed = true
  }
  if (!signed) throw new Failure(`the note carries no signature of ${key.name} (key ${keyId})`)
  return text
}

/** The body of a checkpoint: origin, tree size, base64 SHA-256 of the chain lines, time, policy, 16 chain lines. */
export function parseCheckpoint(text) {
  const lines = text.slice(0, -1).split('\n')
  if (lines.length !== 5 + CHAIN_COUNT) throw new Failure(`a checkpoint has ${5 + CHAIN_COUNT} lines, this one ${lines.length}`)
  const [origin, size, root, time, policy] = lines
  const chainLines = lines.slice(5)
  const heads = chainLines.map((line, chain) => {
    const match = /^chain (\d+) (0|[1-9]\d*) ([0-9a-f]{64})$/.exec(line)
    if (!match || Number(match[1]) !== chain) throw new Failure(`checkpoint line ${6 + chain} is not "chain ${chain} <seq> <hash>"`)
    return { chain, seq: Number(match[2]), hash: match[3] }
  })
  const digest = createHash('sha256')
    .update(chainLines.map((l) => `${l}\n`).join(''), 'utf8')
    .digest('base64')
  if (root !== digest) throw new Failure('checkpoint line 3 is not the SHA-256 of its chain lines')
  if (!/^(0|[1-9]\d*)$/.test(size) || Number(size) !== heads.reduce((n, h) => n + h.seq, 0))
    throw new Failure('checkpoint line 2 is not the sum of the chain seqs')
  if (!time.startsWith('time ') || !policy.startsWith('policy ')) throw new Failure('checkpoint lines 4 and 5 are not "time …" and "policy …"')
  return { origin, treeSize: Number(size), time: time.slice(5), policyVersion: policy.slice(7), heads }
}

/** Opens a signed checkpoint with `key` and parses it; its origin must be the key's name. */
export function openCheckpoint(note, key) {
  const body = parseCheckpoint(openNote(note, key))
  if (body.origin !== key.name) throw new Failure(`the checkpoint's origin ${body.origin} is not the key name ${key.name}`)
  return body
}

// ----------------------------------------------------------------------------------------------
// The export

/**
 * Reads an export line by line (entries of a chain must come in seq order; chains may
 * interleave) and checks every entry's hash and link. `watch` lists "chain:seq" positions whose
 * hash is wanted back (for checkpoints). Returns each chain's length and head, the trailer and
 * the watched hashes.
 * @throws Failure naming the first entry or line that does not verify
 */
export async function readExport(input, watch = new Set()) {
  const chains = new Map()
  const seen = new Map()
  let trailer
  let lineNumber = 0
  let checked = 0
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    lineNumber += 1
    if (line.trim() === '') continue
    if (trailer !== undefined) throw new Failure(`line ${lineNumber} follows the trailer`)
    let entry
    try {
      entry = JSON.parse(line)
    } catch {
      throw new Failure(`line ${lineNumber} is not JSON (an export cut short in the middle of a line?)`)
    }
    if (entry !== null && typeof entry === 'object' && 'trailer' in entry) {
      trailer = entry.trailer
      continue
    }
    const where = `entry ${entry.id} (chain ${entry.chain}, seq ${entry.seq})`
    if (!Number.isInteger(entry.chain) || entry.chain < 0 || entry.chain >= CHAIN_COUNT) throw new Failure(`${where}: not a chain of the ledger`)
    const chain = chains.get(entry.chain) ?? { length: 0, headHash: GENESIS }
    if (entry.seq !== chain.length + 1) throw new Failure(`${where}: expected seq ${chain.length + 1}`)
    if (entry.prevHash !== chain.headHash) throw new Failure(`${where}: prevHash does not match the previous entry`)
    const { hash, ...content } = entry
    if (sha256(canonical(content)) !== hash) throw new Failure(`${where}: content does not match its hash`)
    chains.set(entry.chain, { length: entry.seq, headHash: hash })
    const position = `${entry.chain}:${entry.seq}`
    if (watch.has(position)) seen.set(position, hash)
    checked += 1
  }
  return { chains, trailer, seen, checked }
}

/**
 * The export must end where its trailer says, chain by chain, and with a key the trailer's note
 * must carry the service's signature over exactly those heads.
 * @returns a warning to print, or undefined
 * @throws Failure
 */
export function checkTrailer(result, key) {
  const { trailer, chains, checked } = result
  if (trailer === undefined) throw new Failure('the export has no trailer line: it was cut short')
  if (!Array.isArray(trailer.chains) || trailer.chains.length !== CHAIN_COUNT) throw new Failure('the trailer does not list the 16 chains')
  for (const [chain, stated] of trailer.chains.entries()) {
    const read = chains.get(chain) ?? { length: 0, headHash: GENESIS }
    if (stated.chain !== chain || stated.length !== read.length || stated.headHash !== read.headHash) {
      throw new Failure(
        `chain ${chain}: the export ends at seq ${read.length} (${read.headHash}) but its trailer says seq ${stated.length} (${stated.headHash}): the export is cut short or altered`
      )
    }
  }
  if (trailer.entries !== checked) throw new Failure(`the trailer counts ${trailer.entries} entries, the export holds ${checked}`)
  if (typeof trailer.note !== 'string') {
    if (key) throw new Failure(`the trailer is not signed${trailer.problem ? `: ${trailer.problem}` : ''}`)
    return `the trailer is not signed${trailer.problem ? ` (${trailer.problem})` : ''}`
  }
  const body = key ? openCheckpoint(trailer.note, key) : parseCheckpoint(trailer.note.slice(0, trailer.note.lastIndexOf('\n\n') + 1))
  for (const head of body.heads) {
    const stated = trailer.chains[head.chain]
    if (head.seq !== stated.length || head.hash !== stated.headHash) throw new Failure(`chain ${head.chain}: the trailer's signed note and its chains differ`)
  }
  return key ? undefined : "the trailer's signature was not checked (pass --key)"
}

/** --name value flags and positional arguments. */
export function parseArgs(argv, repeatable = []) {
  const flags = {}
  const positional = []
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]
    if (arg.startsWith('--')) {
      const name = arg.slice(2)
      const value = argv[++i]
      if (value === undefined) throw new Failure(`${arg} needs a value`)
      if (repeatable.includes(name)) (flags[name] ??= []).push(value)
      else flags[name] = value
    } else positional.push(arg)
  }
  return { flags, positional }
}

function say(line) {
  process.stdout.write(`${line}\n`)
}

async function main() {
  const { flags, positional } = parseArgs(process.argv.slice(2))
  const key = flags.key === undefined ? undefined : parseKey(flags.key, flags.name)
  const input = positional[0] ? createReadStream(positional[0]) : process.stdin
  const result = await readExport(input)
  const warning = checkTrailer(result, key)
  for (const [chain, { length, headHash }] of [...result.chains].sort((a, b) => a[0] - b[0])) say(`chain ${chain}: ${length} entries, head ${headHash}`)
  if (warning) say(`note: ${warning}`)
  say(`ok: ${result.checked} entries in ${result.chains.size} chains verify, and the export ends where its trailer says`)
}

export function run(main) {
  main().catch((err) => {
    if (err instanceof Failure) {
      process.stdout.write(`FAILED: ${err.message}\n`)
      process.exitCode = 1
    } else {
      process.stderr.write(`error: ${err.message}\n`)
      process.exitCode = 2
    }
  })
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) run(main)
