import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, verify, type KeyObject } from 'node:crypto'
import { chmod, link, mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { keyIdOf, publicKeyObject, signNote, verifierKeyOf } from './checkpoints.js'

/**
 * The service's checkpoint signing key. Where it comes from, first match wins:
 *  1. CHECKPOINT_SIGNING_KEY: a PKCS#8 PEM Ed25519 private key, or its 32-byte seed in base64;
 *  2. CHECKPOINT_SIGNING_KEY_FILE: a file holding either of those;
 *  3. `<DATA_DIR>/checkpoint-signing-key.pem`, generated with mode 0600 and kept, on every
 *     database: without a key nothing is signed, and an owner's rewrite of the ledger with the
 *     hashes recomputed would go unseen. On PostgreSQL, where replicas each have a DATA_DIR of
 *     their own, the first checkpoint records which key signs (see CheckpointService.start):
 *     a replica that made another key refuses to sign rather than sign with a second key.
 */
export class CheckpointKeyError extends Error {
  override readonly name = 'CheckpointKeyError'
}

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')
export const EMBEDDED_KEY_FILE = 'checkpoint-signing-key.pem'

export class CheckpointSigner {
  readonly publicKey: Buffer
  readonly keyId: string

  constructor(
    /** The key name in signature lines; also the checkpoints' origin line. */
    readonly name: string,
    private readonly privateKey: KeyObject,
    /** Where the key came from, for the log (never the key). */
    readonly source: string,
    /** Named by CHECKPOINT_SIGNING_KEY(_FILE), an operator's choice; false for the key kept in DATA_DIR. */
    readonly configured = true
  ) {
    const jwk = createPublicKey(privateKey).export({ format: 'jwk' })
    this.publicKey = Buffer.from(String(jwk.x), 'base64url')
    this.keyId = keyIdOf(name, this.publicKey)
  }

  /** name+keyid+base64(0x01||key): the verifier key string of Go's note package. */
  get verifierKey(): string {
    return verifierKeyOf({ name: this.name, publicKey: this.publicKey })
  }

  get publicKeyPem(): string {
    return publicKeyObject(this.publicKey).export({ format: 'pem', type: 'spki' }).toString()
  }

  signNote(text: string): string {
    return signNote(text, this.name, this.privateKey, this.publicKey)
  }

  /** A bare signature, base64, for records that are not notes (verifications). */
  sign(message: string): string {
    return sign(null, Buffer.from(message, 'utf8'), this.privateKey).toString('base64')
  }

  verify(message: string, signature: string): boolean {
    const raw = Buffer.from(signature, 'base64')
    return raw.length === 64 && verify(null, Buffer.from(message, 'utf8'), publicKeyObject(this.publicKey), raw)
  }
}

/** @throws CheckpointKeyError naming `what` (never the key) when `text` is no Ed25519 private key. */
export function parsePrivateKey(text: string, what: string): KeyObject {
  const trimmed = text.trim()
  let key: KeyObject
  try {
    if (trimmed.startsWith('-----BEGIN')) {
      key = createPrivateKey({ key: trimmed, format: 'pem' })
    } else {
      const seed = Buffer.from(trimmed, 'base64')
      if (seed.length !== 32 || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)) throw new Error('not a seed')
      key = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' })
    }
  } catch {
    throw new CheckpointKeyError(`${what} is not an Ed25519 private key (PKCS#8 PEM, or a 32-byte seed in base64)`)
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new CheckpointKeyError(`${what} is a ${key.asymmetricKeyType ?? 'unknown'} key, not Ed25519`)
  return key
}

export interface KeySettings {
  readonly name: string
  readonly signingKey?: string | undefined
  readonly signingKeyFile?: string | undefined
  /** Where the service keeps the key it generates when none is configured (DATA_DIR). */
  readonly generateIn?: string | undefined
  /** Whether a key missing from `generateIn` is made (default), or there is then none (the CLI on PostgreSQL). */
  readonly createKey?: boolean | undefined
}

export interface KeyLog {
  info(obj: object, msg: string): void
  warn(obj: object, msg: string): void
}

async function readKeyFile(file: string, log: KeyLog): Promise<KeyObject> {
  const mode = (await stat(file)).mode
  if ((mode & 0o077) !== 0)
    log.warn({ file, mode: (mode & 0o777).toString(8) }, 'the checkpoint signing key file can be read by others than its owner; chmod 600 it')
  return parsePrivateKey(await readFile(file, 'utf8'), `the key in ${file}`)
}

/**
 * Creates the key file with mode 0600 unless it exists. The key is written to a file of its own
 * and then linked into place, so that two starts racing never read a half-written key: one link
 * wins, and both read the winner's.
 */
async function generateKeyFile(file: string, log: KeyLog): Promise<void> {
  try {
    await writeKeyFile(file, log)
  } catch (err) {
    throw new CheckpointKeyError(
      `cannot create the checkpoint signing key ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'}): make DATA_DIR writable, or set CHECKPOINT_SIGNING_KEY_FILE`
    )
  }
}

async function writeKeyFile(file: string, log: KeyLog): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true })
  const { privateKey } = generateKeyPairSync('ed25519')
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()
  const partial = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`
  await writeFile(partial, pem, { mode: 0o600, flag: 'wx' })
  try {
    await chmod(partial, 0o600) // the umask cannot widen it, but make the mode explicit
    await link(partial, file)
    log.warn({ file }, 'generated a checkpoint signing key; back it up with DATA_DIR and give its public key to the parties that keep checkpoints')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
  } finally {
    await unlink(partial).catch(() => {})
  }
}

/**
 * The signing key the settings name, or null when there is none (no `generateIn`, or its key
 * file missing while `createKey` is false). Generates the key file when it does not exist yet.
 * @throws CheckpointKeyError when a configured key or key file cannot be read or is no Ed25519
 * key, or the key file cannot be created.
 */
export async function loadSigner(settings: KeySettings, log: KeyLog): Promise<CheckpointSigner | null> {
  if (settings.signingKey !== undefined) {
    return new CheckpointSigner(settings.name, parsePrivateKey(settings.signingKey, 'CHECKPOINT_SIGNING_KEY'), 'CHECKPOINT_SIGNING_KEY')
  }
  if (settings.signingKeyFile !== undefined) {
    try {
      return new CheckpointSigner(settings.name, await readKeyFile(settings.signingKeyFile, log), settings.signingKeyFile)
    } catch (err) {
      if (err instanceof CheckpointKeyError) throw err
      throw new CheckpointKeyError(`CHECKPOINT_SIGNING_KEY_FILE cannot be read: ${(err as NodeJS.ErrnoException).code ?? 'error'}`)
    }
  }
  if (settings.generateIn === undefined) return null
  const file = path.join(settings.generateIn, EMBEDDED_KEY_FILE)
  try {
    await stat(file)
  } catch {
    if (settings.createKey === false) return null
    await generateKeyFile(file, log)
  }
  return new CheckpointSigner(settings.name, await readKeyFile(file, log), file, false)
}
