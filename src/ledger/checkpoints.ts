import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto'
import { CHAIN_COUNT } from './hashing.js'

/**
 * Checkpoints: the heads of all 16 chains at one moment, signed with the service's Ed25519 key
 * as a C2SP signed note (c2sp.org/signed-note) whose text follows c2sp.org/tlog-checkpoint:
 *
 *   <origin>                              the log's name, also the key name
 *   <tree size>                           the number of entries: the sum of the 16 heads' seqs
 *   <base64 SHA-256 of the chain lines>   "root hash": binds the 16 chain lines below
 *   time <RFC 3339 UTC>                   extension lines, in this order
 *   policy <version in force>
 *   chain 0 <seq> <head hash, 64 hex>     one per chain, 0 to 15
 *   …
 *   chain 15 <seq> <head hash>
 *
 *   — <origin> base64(key ID || Ed25519 signature of the text above, final newline included)
 *
 * The ledger is 16 hash chains, not one Merkle tree, so the third line is not an RFC 6962 root
 * and no consistency proofs exist: a later checkpoint is consistent with an earlier one when
 * each chain's entry at the earlier seq still has the earlier head hash.
 */

export interface ChainHead {
  readonly chain: number
  readonly seq: number
  readonly hash: string
}

export interface CheckpointBody {
  readonly origin: string
  /** Entries in the ledger: the sum of the heads' seqs. */
  readonly treeSize: number
  /** RFC 3339, UTC, milliseconds. */
  readonly time: string
  readonly policyVersion: string
  /** Every chain in chain order. */
  readonly heads: readonly ChainHead[]
}

/** A note or checkpoint that does not parse or whose signature does not verify. */
export class CheckpointFormatError extends Error {
  override readonly name = 'CheckpointFormatError'
}

const EM_DASH = '\u2014'
const ED25519 = 0x01
const HASH = /^[0-9a-f]{64}$/
const DECIMAL = /^(0|[1-9][0-9]*)$/
/** Key names: non-empty, no Unicode space, no plus (signed-note). */
const KEY_NAME = /^[^\s+]+$/u
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/

export function isKeyName(name: string): boolean {
  // eslint-disable-next-line no-control-regex -- the format forbids control characters: this finds them
  return KEY_NAME.test(name) && !/[\u0000-\u001f]/.test(name)
}

function chainLines(heads: readonly ChainHead[]): string {
  return heads.map((h) => `chain ${h.chain} ${h.seq} ${h.hash}\n`).join('')
}

/** The third line: base64 SHA-256 of the chain lines, each with its newline. */
export function headsDigest(heads: readonly ChainHead[]): string {
  return createHash('sha256').update(chainLines(heads), 'utf8').digest('base64')
}

/** The note text of a checkpoint, ending in a newline. */
export function checkpointText(body: CheckpointBody): string {
  if (!isKeyName(body.origin)) throw new CheckpointFormatError('the origin must be a key name: no spaces, no plus')
  // eslint-disable-next-line no-control-regex -- the format forbids control characters: this finds them
  if (/[\u0000-\u001f]/.test(body.policyVersion) || body.policyVersion === '') throw new CheckpointFormatError('the policy version must be one printable line')
  checkHeads(body.heads)
  return `${body.origin}\n${body.treeSize}\n${headsDigest(body.heads)}\ntime ${body.time}\npolicy ${body.policyVersion}\n${chainLines(body.heads)}`
}

function checkHeads(heads: readonly ChainHead[]): void {
  if (heads.length !== CHAIN_COUNT) throw new CheckpointFormatError(`a checkpoint names all ${CHAIN_COUNT} chains`)
  heads.forEach((h, index) => {
    if (h.chain !== index || !Number.isSafeInteger(h.seq) || h.seq < 0 || !HASH.test(h.hash)) {
      throw new CheckpointFormatError(`chain line ${index} is malformed`)
    }
  })
}

/**
 * Parses a checkpoint's note text (the part before the blank line).
 * @throws CheckpointFormatError when a line is missing, out of order or malformed, or the tree
 * size or root hash does not match the chain lines.
 */
export function parseCheckpointText(text: string): CheckpointBody {
  if (!text.endsWith('\n')) throw new CheckpointFormatError('the checkpoint text must end in a newline')
  const lines = text.slice(0, -1).split('\n')
  if (lines.length !== 5 + CHAIN_COUNT) throw new CheckpointFormatError(`a checkpoint has ${5 + CHAIN_COUNT} lines, this one ${lines.length}`)
  const [origin, size, root, timeLine, policyLine] = lines as [string, string, string, string, string]
  if (!isKeyName(origin)) throw new CheckpointFormatError('line 1 is not an origin')
  if (!DECIMAL.test(size)) throw new CheckpointFormatError('line 2 is not a tree size')
  if (!timeLine.startsWith('time ') || !TIME.test(timeLine.slice(5))) throw new CheckpointFormatError('line 4 is not "time <RFC 3339 UTC>"')
  if (!policyLine.startsWith('policy ') || policyLine.length === 7) throw new CheckpointFormatError('line 5 is not "policy <version>"')
  const heads = lines.slice(5).map((line, index) => {
    const match = /^chain (\d+) (0|[1-9][0-9]*) ([0-9a-f]{64})$/.exec(line)
    if (!match || Number(match[1]) !== index) throw new CheckpointFormatError(`line ${6 + index} is not "chain ${index} <seq> <hash>"`)
    return { chain: index, seq: Number(match[2]), hash: match[3]! }
  })
  checkHeads(heads)
  if (headsDigest(heads) !== root) throw new CheckpointFormatError('line 3 is not the SHA-256 of the chain lines')
  const treeSize = heads.reduce((sum, h) => sum + h.seq, 0)
  if (Number(size) !== treeSize) throw new CheckpointFormatError('line 2 is not the sum of the chain seqs')
  return { origin, treeSize, time: timeLine.slice(5), policyVersion: policyLine.slice(7), heads }
}

// ---------------------------------------------------------------------------------------------
// Signed notes

export interface NoteSignature {
  readonly name: string
  /** The key ID, 8 lowercase hex digits. */
  readonly keyId: string
  /** base64(key ID || signature), exactly as on the signature line. */
  readonly signature: string
}

export interface Note {
  readonly text: string
  readonly signatures: readonly NoteSignature[]
}

/** A public key as the note verifier needs it. */
export interface NoteKey {
  readonly name: string
  /** 32 bytes (RFC 8032). */
  readonly publicKey: Buffer
}

/** SHA-256(key name || 0x0A || 0x01 || public key)[:4], as hex: the recommended key ID. */
export function keyIdOf(name: string, publicKey: Buffer): string {
  return createHash('sha256')
    .update(Buffer.concat([Buffer.from(name, 'utf8'), Buffer.from([0x0a, ED25519]), publicKey]))
    .digest()
    .subarray(0, 4)
    .toString('hex')
}

/** The verifier key in the form Go's golang.org/x/mod/sumdb/note reads: name+keyid+base64(0x01||key). */
export function verifierKeyOf(key: NoteKey): string {
  return `${key.name}+${keyIdOf(key.name, key.publicKey)}+${Buffer.concat([Buffer.from([ED25519]), key.publicKey]).toString('base64')}`
}

const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')

export function publicKeyObject(publicKey: Buffer): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, publicKey]), format: 'der', type: 'spki' })
}

/** Signs `text` (ending in a newline) and returns the whole signed note. */
export function signNote(text: string, name: string, privateKey: KeyObject, publicKey: Buffer): string {
  if (!text.endsWith('\n')) throw new CheckpointFormatError('a note text ends in a newline')
  const signature = sign(null, Buffer.from(text, 'utf8'), privateKey)
  const keyId = Buffer.from(keyIdOf(name, publicKey), 'hex')
  return `${text}\n${EM_DASH} ${name} ${Buffer.concat([keyId, signature]).toString('base64')}\n`
}

/**
 * Splits a signed note at its last blank line into the text and its signature lines.
 * @throws CheckpointFormatError when there is no blank line or a signature line is malformed.
 */
export function parseNote(note: string): Note {
  // eslint-disable-next-line no-control-regex -- the format forbids control characters: this finds them
  if (/[\u0000-\u0009\u000b-\u001f]/.test(note)) throw new CheckpointFormatError('a note holds no control characters but newlines')
  const split = note.lastIndexOf('\n\n')
  if (split < 0 || !note.endsWith('\n')) throw new CheckpointFormatError('a note is its text, a blank line, then signature lines')
  const text = note.slice(0, split + 1)
  const lines = note.slice(split + 2, -1).split('\n')
  if (lines.length > 100) throw new CheckpointFormatError('too many signatures')
  const signatures = lines.map((line) => {
    const match = /^\u2014 (\S+) ([A-Za-z0-9+/]+={0,2})$/u.exec(line)
    const raw = match ? Buffer.from(match[2]!, 'base64') : undefined
    if (!match || !isKeyName(match[1]!) || raw === undefined || raw.length < 5 || raw.toString('base64') !== match[2]) {
      throw new CheckpointFormatError('a signature line is "— <key name> <base64(key ID || signature)>"')
    }
    return { name: match[1]!, keyId: raw.subarray(0, 4).toString('hex'), signature: match[2] }
  })
  return { text, signatures }
}

/**
 * Checks a signed note against one trusted key, as the signed-note spec says: signatures of
 * other keys are ignored; the one of this key (name and key ID) must verify.
 * @returns the note text
 * @throws CheckpointFormatError when the note is malformed, has no signature of this key, or
 * its signature does not verify.
 */
export function openNote(note: string, key: NoteKey): string {
  const parsed = parseNote(note)
  const keyId = keyIdOf(key.name, key.publicKey)
  const mine = parsed.signatures.filter((s) => s.name === key.name && s.keyId === keyId)
  if (mine.length === 0) throw new CheckpointFormatError(`the note has no signature of key ${key.name} ${keyId}`)
  const publicKey = publicKeyObject(key.publicKey)
  for (const s of mine) {
    const signature = Buffer.from(s.signature, 'base64').subarray(4)
    if (signature.length !== 64 || !verify(null, Buffer.from(parsed.text, 'utf8'), publicKey, signature)) {
      throw new CheckpointFormatError(`the signature of key ${key.name} ${keyId} does not verify`)
    }
  }
  return parsed.text
}

/** Opens a signed checkpoint with `key` and parses its text. @throws CheckpointFormatError */
export function openCheckpoint(note: string, key: NoteKey): CheckpointBody {
  const body = parseCheckpointText(openNote(note, key))
  if (body.origin !== key.name) throw new CheckpointFormatError('the origin line is not the key name')
  return body
}
