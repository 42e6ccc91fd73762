import type { Config } from '../config.js'
import { createHash } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import type { Database, Queryable } from '../db/database.js'
import { DomainError } from '../errors.js'
import { policyInForce } from '../policy/registry.js'
import { checkpointText, openCheckpoint, parseCheckpointText, parseNote, type ChainHead, type CheckpointBody, type NoteSignature } from './checkpoints.js'
import { loadSigner, type CheckpointSigner, type KeySettings } from './checkpoints-key.js'
import {
  checkpointsAfter,
  checkpointsByKey,
  hashesAt,
  insertCheckpoint,
  insertVerification,
  latestCheckpoint,
  latestCheckpointOf,
  listCheckpoints,
  lockCheckpointing,
  readHeads,
  recentVerifications,
  type CheckpointRow
} from './checkpoints-repository.js'
import type { StorageCapabilities } from '../db/capabilities.js'
import type { Paging } from './paging.js'
import { exportLines } from './repository.js'
import { rewritten, verifyLedger, type CheckpointHeads, type VerifyReport } from './verify-walk.js'
import type { CheckpointRef, VerifyFailure } from './verify-schemas.js'

/**
 * Nothing is signed: no key (the CLI on PostgreSQL without CHECKPOINT_SIGNING_KEY or _FILE), or
 * this replica's own key is not the one this database's checkpoints are signed with (`why`).
 */
export class CheckpointsUnavailableError extends DomainError {
  constructor(why = 'no checkpoint signing key is configured (CHECKPOINT_SIGNING_KEY or CHECKPOINT_SIGNING_KEY_FILE)') {
    super('checkpoints_unavailable', 503, 'Service Unavailable', `${why}; nothing was signed`)
  }
}

/** The ledger no longer holds a head an earlier checkpoint signed: the service signs nothing that contradicts it. */
export class LedgerRewrittenError extends DomainError {
  constructor(checkpoint: CheckpointRef, chains: readonly number[]) {
    super(
      'ledger_rewritten',
      409,
      'Conflict',
      `the ledger no longer extends checkpoint ${checkpoint.id} (chain ${chains.join(', ')}); nothing was signed; run GET /v1/ledger/verify?full=true`,
      { checkpoint }
    )
  }
}

/** A checkpoint as the API shows it. */
export interface CheckpointView {
  readonly id: number
  readonly origin: string
  readonly time: string
  readonly treeSize: number
  readonly policyVersion: string
  readonly chains: { chain: number; seq: number; headHash: string }[]
  readonly keyId: string
  /** base64 of the 32-byte Ed25519 public key. */
  readonly publicKey: string
  /** The checkpoint exactly as signed: keep this text. */
  readonly note: string
  readonly signatures: NoteSignature[]
}

/** The last line of an export: the heads it ends at, signed like a checkpoint. */
export interface ExportTrailer {
  readonly trailer: {
    readonly entries: number
    readonly time: string
    readonly chains: { chain: number; length: number; headHash: string }[]
    /** A signed note in the checkpoint format; null without a key, or when the ledger contradicts a checkpoint. */
    readonly note: string | null
    readonly keyId: string | null
    readonly publicKey: string | null
    readonly problem?: string
  }
}

export interface CheckpointSettings extends KeySettings {
  readonly everyEntries: number
  readonly intervalSeconds: number
  /**
   * Replicas share this database, each with a DATA_DIR of its own (PostgreSQL): the key kept in
   * DATA_DIR is loaded at start, and signs only while the newest checkpoint of the origin is its
   * own (the first start signs one, which records the key). A configured key is the operator's
   * choice, and signs whatever signed before (a rotation).
   */
  readonly pinKey?: boolean | undefined
}

/** The service's checkpoint settings from its configuration; without a configured key, a key generated and kept in DATA_DIR signs. */
export function checkpointSettingsOf(
  config: Pick<
    Config,
    'checkpointOrigin' | 'checkpointSigningKey' | 'checkpointSigningKeyFile' | 'dataDir' | 'checkpointEveryEntries' | 'checkpointIntervalSeconds'
  >,
  storage: Pick<StorageCapabilities, 'embedded'>
): CheckpointSettings {
  return {
    name: config.checkpointOrigin,
    signingKey: config.checkpointSigningKey,
    signingKeyFile: config.checkpointSigningKeyFile,
    generateIn: config.dataDir,
    pinKey: !storage.embedded,
    everyEntries: config.checkpointEveryEntries,
    intervalSeconds: config.checkpointIntervalSeconds
  }
}

/** What a verification record attests, signed so that a row written behind the service's back is not believed. */
function verificationMessage(
  origin: string,
  row: { checkpoint_id: number; verified_at: Date; full_walk: boolean; entries_checked: number },
  note: string
): string {
  const noteHash = createHash('sha256').update(note, 'utf8').digest('hex')
  return `${origin} verified\ncheckpoint ${row.checkpoint_id} ${noteHash}\nat ${row.verified_at.toISOString()}\nfull ${row.full_walk}\nentries ${row.entries_checked}\n`
}

function refOf(row: CheckpointRow): CheckpointRef {
  return { id: Number(row.id), time: new Date(row.signed_at).toISOString(), treeSize: Number(row.tree_size) }
}

/** Opens a stored checkpoint with the key stored beside it, and checks the columns against the note. */
function openRow(row: CheckpointRow): CheckpointBody {
  const body = openCheckpoint(row.note, { name: row.origin, publicKey: Buffer.from(row.public_key, 'base64') })
  const keyIds = parseNote(row.note).signatures.map((s) => s.keyId)
  if (body.treeSize !== Number(row.tree_size) || body.time !== new Date(row.signed_at).toISOString() || !keyIds.includes(row.key_id)) {
    throw new Error('its columns differ from its signed note')
  }
  return body
}

const sum = (heads: readonly ChainHead[]) => heads.reduce((n, h) => n + h.seq, 0)

/**
 * Takes, lists and checks signed checkpoints, and runs verify: at most one at a time in this
 * process, concurrent callers sharing its result.
 */
export class CheckpointService {
  private signerLoad: Promise<CheckpointSigner | null> | undefined
  private running: { readonly full: boolean; readonly report: Promise<VerifyReport> } | undefined
  private queuedFull: Promise<VerifyReport> | undefined
  private readonly startedAt: Date
  /** Why this process signs nothing (another replica's key signs this database's checkpoints), as last found. */
  private refusal: string | undefined
  /** Verify runs started by this process, for tests and metrics. */
  verifyRuns = 0

  constructor(
    private readonly database: Database,
    private readonly settings: CheckpointSettings,
    private readonly log: FastifyBaseLogger,
    private readonly now: () => Date
  ) {
    this.startedAt = now()
  }

  /**
   * Loads a configured key now, so that a bad one stops the start; the embedded database's own
   * key is loaded (or generated) on first use.
   * @throws CheckpointKeyError
   */
  async start(): Promise<void> {
    const configured = this.settings.signingKey !== undefined || this.settings.signingKeyFile !== undefined
    if (configured) {
      const signer = await this.signer()
      this.log.info({ keyId: signer?.keyId, origin: this.settings.name }, 'checkpoints are signed with the configured key')
    } else if (this.settings.pinKey) {
      const signer = await this.signer()
      if (signer) await this.pin(signer)
    } else if (this.settings.generateIn === undefined) {
      this.log.warn(
        'no checkpoint signing key (CHECKPOINT_SIGNING_KEY or CHECKPOINT_SIGNING_KEY_FILE): checkpoints are refused with 503 and exports end with an unsigned trailer'
      )
    }
  }

  /**
   * Records the DATA_DIR key as this database's signing key by signing a first checkpoint, unless
   * one exists; when the newest is another key's, this replica refuses to sign and says why.
   */
  private async pin(signer: CheckpointSigner): Promise<void> {
    const { row, signed } = await this.database.transaction(async (tx) => {
      await lockCheckpointing(tx)
      const newest = await latestCheckpointOf(tx, signer.name)
      if (newest) return { row: newest, signed: false }
      return { row: await this.insertSigned(tx, signer, (await readHeads(tx)).heads), signed: true }
    })
    this.refusal = this.refusalOf(signer, row)
    const where = { keyId: signer.keyId, file: signer.source, checkpointId: Number(row.id) }
    if (this.refusal !== undefined) this.log.error({ ...where, signedBy: row.key_id }, `checkpoints are not signed by this replica: ${this.refusal}`)
    else if (signed)
      this.log.warn(
        where,
        'checkpoints are signed with the key generated in DATA_DIR; its first checkpoint records it: give its public key to the parties that keep checkpoints, and the key file to every replica'
      )
    else this.log.info(where, 'checkpoints are signed with the key in DATA_DIR')
  }

  /** Why `signer` (a DATA_DIR key on a shared database) must not sign while `newest` is the newest checkpoint; undefined when it may. */
  private refusalOf(signer: CheckpointSigner, newest: CheckpointRow | undefined): string | undefined {
    if (signer.configured || !this.settings.pinKey || newest === undefined || newest.key_id === signer.keyId) return undefined
    return (
      `this database's checkpoints are signed by key ${newest.key_id} (checkpoint ${Number(newest.id)}), not by this replica's key ${signer.keyId} ` +
      `in ${signer.source}: give every replica the one key (CHECKPOINT_SIGNING_KEY_FILE), or configure this one to sign from now on`
    )
  }

  /** Looks again (under the checkpoint lock, or before a trailer) whether another replica's key signs; remembers it for the metrics. */
  private async refuseOtherKey(db: Queryable, signer: CheckpointSigner): Promise<string | undefined> {
    if (signer.configured || !this.settings.pinKey) return undefined
    this.refusal = this.refusalOf(signer, await latestCheckpointOf(db, signer.name))
    return this.refusal
  }

  /** The key to show the parties that keep checkpoints: this process's, or none while it refuses to sign. */
  async publishedSigner(): Promise<CheckpointSigner | null> {
    const signer = await this.signer()
    return signer && (await this.refuseOtherKey(this.database.db, signer)) === undefined ? signer : null
  }

  /** Whether this process signs checkpoints: false while another replica's key signs this database's (see start). */
  get signing(): boolean {
    return this.canSign && this.refusal === undefined
  }

  /** The signing key, or null when none is configured; loaded once. */
  signer(): Promise<CheckpointSigner | null> {
    this.signerLoad ??= loadSigner(this.settings, this.log)
    return this.signerLoad
  }

  /** Whether periodic checkpoints can be taken at all. */
  get canSign(): boolean {
    return this.settings.signingKey !== undefined || this.settings.signingKeyFile !== undefined || this.settings.generateIn !== undefined
  }

  /**
   * Signs the heads of every chain now and stores the checkpoint.
   * @throws CheckpointsUnavailableError without a key; LedgerRewrittenError when the ledger no
   * longer extends the latest checkpoint.
   */
  async take(): Promise<CheckpointView> {
    return (await this.takeWhen(() => true))!
  }

  /** Takes a checkpoint when one is due (CHECKPOINT_EVERY_ENTRIES, CHECKPOINT_INTERVAL_SECONDS); else null. */
  takeIfDue(): Promise<CheckpointView | null> {
    return this.takeWhen((heads, previous) => this.isDue(heads, previous))
  }

  private isDue(heads: readonly ChainHead[], previous: CheckpointBody | undefined): boolean {
    const covered = previous?.treeSize ?? 0
    const uncovered = sum(heads) - covered
    if (uncovered <= 0) return false
    const { everyEntries, intervalSeconds } = this.settings
    if (everyEntries > 0 && uncovered >= everyEntries) return true
    const since = previous ? new Date(previous.time) : this.startedAt
    return intervalSeconds > 0 && this.now().getTime() - since.getTime() >= intervalSeconds * 1000
  }

  private async takeWhen(due: (heads: readonly ChainHead[], previous: CheckpointBody | undefined) => boolean): Promise<CheckpointView | null> {
    // Whether one is due is looked at first, outside any transaction: the periodic look is cheap,
    // and the embedded database's key is not generated before a checkpoint is actually due.
    const signerLoaded = this.signerLoad !== undefined
    const generated = this.settings.signingKey === undefined && this.settings.signingKeyFile === undefined
    const early = signerLoaded || !generated ? await this.signer() : null
    const { heads: now } = await readHeads(this.database.db)
    if (!due(now, early ? (await this.latestOwn(this.database.db, early))?.body : undefined)) return null
    const signer = early ?? (await this.signer())
    if (!signer) throw new CheckpointsUnavailableError()
    const row = await this.database.transaction(async (tx) => {
      await lockCheckpointing(tx)
      const refusal = await this.refuseOtherKey(tx, signer)
      if (refusal !== undefined) throw new CheckpointsUnavailableError(refusal)
      const { heads } = await readHeads(tx)
      const latest = await this.latestOwn(tx, signer)
      const previous = latest?.body
      if (!due(heads, previous)) return null
      if (latest) await this.refuseContradiction(tx, latest.row, latest.body, heads)
      return this.insertSigned(tx, signer, heads)
    })
    if (row) this.log.info({ checkpointId: Number(row.id), treeSize: Number(row.tree_size) }, 'checkpoint signed')
    return row && this.view(row)
  }

  /** Signs `heads` now and stores the checkpoint, in the caller's transaction (which holds the checkpoint lock). */
  private async insertSigned(tx: Queryable, signer: CheckpointSigner, heads: readonly ChainHead[]): Promise<CheckpointRow> {
    const now = this.now()
    const body: CheckpointBody = { origin: signer.name, treeSize: sum(heads), time: now.toISOString(), policyVersion: policyInForce(now).version, heads }
    return insertCheckpoint(tx, {
      origin: signer.name,
      key_id: signer.keyId,
      public_key: signer.publicKey.toString('base64'),
      tree_size: body.treeSize,
      signed_at: body.time,
      note: signer.signNote(checkpointText(body))
    })
  }

  /**
   * The newest checkpoint this key signed whose signature verifies: what the service must never
   * contradict. Rows that do not open (written behind the service's back) are passed over.
   */
  private async latestOwn(db: Queryable, signer: CheckpointSigner): Promise<{ row: CheckpointRow; body: CheckpointBody } | undefined> {
    const key = { name: signer.name, publicKey: signer.publicKey }
    let before: number | undefined
    for (;;) {
      const rows = await checkpointsByKey(db, signer.keyId, 50, before)
      for (const row of rows) {
        try {
          return { row, body: openCheckpoint(row.note, key) }
        } catch {
          // not a checkpoint of this key after all
        }
      }
      if (rows.length < 50) return undefined
      before = Number(rows.at(-1)!.id)
    }
  }

  /** A stored checkpoint's body, read from its note; undefined when the note does not parse. */
  private bodyOf(row: CheckpointRow): CheckpointBody | undefined {
    try {
      return parseCheckpointText(parseNote(row.note).text)
    } catch {
      return undefined
    }
  }

  /** The chains where the ledger no longer holds `previous`'s head (gone back, or another hash at its seq). */
  private async contradicted(db: Queryable, previous: CheckpointBody, heads: readonly ChainHead[]): Promise<number[]> {
    const found = await hashesAt(db, previous.heads)
    return previous.heads
      .filter((h) => h.seq > 0 && ((heads.find((c) => c.chain === h.chain)?.seq ?? 0) < h.seq || found.get(`${h.chain}:${h.seq}`)?.hash !== h.hash))
      .map((h) => h.chain)
  }

  private async refuseContradiction(db: Queryable, latest: CheckpointRow, previous: CheckpointBody, heads: readonly ChainHead[]): Promise<void> {
    const chains = await this.contradicted(db, previous, heads)
    if (chains.length > 0) throw new LedgerRewrittenError(refOf(latest), chains)
  }

  view(row: CheckpointRow): CheckpointView {
    const body = this.bodyOf(row)
    let signatures: NoteSignature[] = []
    try {
      signatures = [...parseNote(row.note).signatures]
    } catch {
      // A note that does not parse is shown as stored; verify reports it.
    }
    return {
      id: Number(row.id),
      origin: row.origin,
      time: new Date(row.signed_at).toISOString(),
      treeSize: Number(row.tree_size),
      policyVersion: body?.policyVersion ?? '',
      chains: (body?.heads ?? []).map((h) => ({ chain: h.chain, seq: h.seq, headHash: h.hash })),
      keyId: row.key_id,
      publicKey: row.public_key,
      note: row.note,
      signatures
    }
  }

  async list(page: { limit: number; before?: number | undefined }): Promise<{ checkpoints: CheckpointView[]; more: boolean }> {
    const { rows, more } = await listCheckpoints(this.database.db, page)
    return { checkpoints: rows.map((r) => this.view(r)), more }
  }

  async latest(): Promise<CheckpointView | undefined> {
    const row = await latestCheckpoint(this.database.db)
    return row && this.view(row)
  }

  // -------------------------------------------------------------------------------------------
  // Verify

  /**
   * Verifies the ledger: from the latest checkpoint a verify has already walked to (only the
   * entries since), or every entry when `full`. One run at a time: a caller arriving while a run
   * is going shares it (a full run serves everybody; a full request waits for an incremental
   * run to end and then starts one, which later full callers share).
   */
  verify(full: boolean): Promise<VerifyReport> {
    const running = this.running
    if (running && (running.full || !full)) return running.report
    if (running) {
      this.queuedFull ??= running.report.then(
        () => this.startQueuedFull(),
        () => this.startQueuedFull()
      )
      return this.queuedFull
    }
    const report = this.run(full)
    const entry = { full, report }
    this.running = entry
    const clear = () => {
      if (this.running === entry) this.running = undefined
    }
    report.then(clear, clear)
    return report
  }

  private startQueuedFull(): Promise<VerifyReport> {
    this.queuedFull = undefined
    return this.verify(true)
  }

  /** Resolves once no verify is running, for a graceful close. */
  async idle(): Promise<void> {
    while (this.running || this.queuedFull) await Promise.allSettled([this.running?.report, this.queuedFull])
  }

  private async run(full: boolean): Promise<VerifyReport> {
    this.verifyRuns += 1
    // A verify uses the key that is already there; it never generates one.
    const signer = this.signerLoad ? await this.signerLoad.catch(() => null) : null
    // Reads from the standby when there is one, once it has proved to be the primary's (anything
    // else answering there would be verified, and its checkpoints believed); the verification
    // record goes to the primary.
    const standby = this.database.readsFromStandby
    if (standby) await this.database.proveReader()
    const { plan, report: walked } = await verifyLedger(this.database.reader, this.database.capabilities, (snapshot) =>
      this.plan(snapshot, full, signer, standby)
    )
    const { from, newest } = plan
    // A standby's chains must end on the primary's entries (the hash chains make the rest the primary's too).
    const failures = standby
      ? [...plan.failures, ...(await this.offPrimary(walked.chains.map((c) => ({ chain: c.chain, seq: c.length, hash: c.headHash }))))]
      : plan.failures
    const report = failures.length === 0 ? walked : withFailures(walked, failures)
    if (report.ok && signer && newest?.key_id === signer.keyId && Number(newest.id) !== from?.ref.id) {
      await this.record(signer, newest, full, report.entriesChecked)
    }
    return report
  }

  /**
   * The checkpoints a run checks, each opened with the key stored beside it (one whose signature
   * does not verify is a failure of the run), and where the walk starts: the newest checkpoint
   * with a verification this service signed, unless `full`. Read in the walk's snapshot, or, when
   * the walk reads a standby, from the primary: a copy could hold checkpoints of its own. Then the
   * heads the standby has not replayed yet are looked up on the primary (a standby that lags is no
   * rewrite; a primary that lost them is), and `newest` is the newest the standby holds entirely.
   */
  private async plan(
    snapshot: Queryable,
    full: boolean,
    signer: CheckpointSigner | null,
    standby: boolean
  ): Promise<{ from?: CheckpointHeads; checkpoints: CheckpointHeads[]; failures: VerifyFailure[]; newest?: CheckpointRow }> {
    const source = standby ? this.database.db : snapshot
    const upTo = standby ? new Map((await readHeads(snapshot)).heads.map((h) => [h.chain, h.seq])) : undefined
    const reached = (h: ChainHead) => upTo === undefined || h.seq <= (upTo.get(h.chain) ?? 0)
    const from = full || !signer ? undefined : await this.verifiedBase(source, signer, reached)
    const failures: VerifyFailure[] = []
    const checkpoints: CheckpointHeads[] = []
    let newest: CheckpointRow | undefined
    for (const row of await checkpointsAfter(source, from?.ref.id)) {
      let heads: readonly ChainHead[]
      try {
        heads = openRow(row).heads
      } catch (err) {
        const reason = err instanceof Error ? err.message : 'it does not open'
        failures.push({ entryId: null, chain: -1, seq: 0, problem: `checkpoint ${Number(row.id)}: ${reason}`, checkpoint: refOf(row) })
        continue
      }
      const ahead = heads.filter((h) => !reached(h))
      failures.push(...(await this.missingOnPrimary(ahead, refOf(row))))
      checkpoints.push({ ref: refOf(row), heads: ahead.length === 0 ? heads : heads.filter(reached) })
      if (ahead.length === 0) newest = row
    }
    return { ...(from ? { from } : {}), checkpoints, failures, ...(newest ? { newest } : {}) }
  }

  /** Checkpoint heads beyond what the standby has replayed, looked up on the primary: each one it does not hold is a rewrite. */
  private async missingOnPrimary(heads: readonly ChainHead[], ref: CheckpointRef): Promise<VerifyFailure[]> {
    if (heads.length === 0) return []
    const found = await hashesAt(this.database.db, heads)
    return heads
      .filter((h) => found.get(`${h.chain}:${h.seq}`)?.hash !== h.hash)
      .map((h) => rewritten({ seq: h.seq, hash: h.hash, ref }, h.chain, found.get(`${h.chain}:${h.seq}`)))
  }

  /**
   * The chains where the standby's head is not the primary's entry at that seq: the standby does
   * not hold the primary's ledger (a fork, or no copy of it at all). One hash per chain settles it:
   * each entry's hash covers the one before.
   */
  private async offPrimary(heads: readonly ChainHead[]): Promise<VerifyFailure[]> {
    const found = await hashesAt(this.database.db, heads)
    return heads
      .filter((h) => h.seq > 0 && found.get(`${h.chain}:${h.seq}`)?.hash !== h.hash)
      .map((h) => {
        const there = found.get(`${h.chain}:${h.seq}`)
        return {
          entryId: null,
          chain: h.chain,
          seq: h.seq,
          problem:
            `the standby's entry at seq ${h.seq} of chain ${h.chain} has hash ${h.hash}, the primary's ${there ? `has ${there.hash}` : 'does not exist'}: ` +
            "DATABASE_READ_URL does not hold the primary's ledger"
        }
      })
  }

  private async verifiedBase(db: Queryable, signer: CheckpointSigner, reached: (head: ChainHead) => boolean): Promise<CheckpointHeads | undefined> {
    for (const v of await recentVerifications(db, 20)) {
      const { checkpoint } = v
      if (v.key_id !== signer.keyId || checkpoint.key_id !== signer.keyId || checkpoint.origin !== signer.name) continue
      if (!signer.verify(verificationMessage(signer.name, { ...v, verified_at: new Date(v.verified_at) }, checkpoint.note), v.signature)) {
        this.log.warn({ verificationId: Number(v.id) }, 'a verification record does not carry a valid signature of this service; ignored')
        continue
      }
      try {
        const heads = openCheckpoint(checkpoint.note, { name: signer.name, publicKey: signer.publicKey }).heads
        // A standby that has not replayed all of it cannot start there.
        if (heads.every(reached)) return { ref: refOf(checkpoint), heads }
      } catch {
        continue
      }
    }
    return undefined
  }

  /** Records, signed, that the ledger verified up to `checkpoint`, where the next incremental verify starts. */
  private async record(signer: CheckpointSigner, checkpoint: CheckpointRow, full: boolean, entriesChecked: number): Promise<void> {
    const record = { checkpoint_id: Number(checkpoint.id), verified_at: this.now(), full_walk: full, entries_checked: entriesChecked }
    await insertVerification(this.database.db, {
      ...record,
      key_id: signer.keyId,
      signature: signer.sign(verificationMessage(signer.name, record, checkpoint.note))
    })
  }

  // -------------------------------------------------------------------------------------------
  // Export

  /**
   * An export of the ledger as `db` holds it (the primary, or a standby that may lag it): every
   * entry up to the heads read now, then the trailer. The latest checkpoint is the primary's, read
   * before the heads, so on the primary the heads are at or past it even when a checkpoint is
   * taken meanwhile. A standby must first prove to be the primary's, and its heads must be the
   * primary's entries: then the export is the primary's history up to them, which the trailer
   * signs unless the primary contradicts its latest checkpoint.
   * @throws ReaderRefusedError when `db` is a standby that is not the primary's.
   */
  async exportLedger(db: Queryable, paging: Paging): Promise<{ entries: number; lines: AsyncGenerator<string> }> {
    const standby = db !== this.database.db
    if (standby) await this.database.proveReader()
    const signer = await this.signer()
    const latest = signer ? await this.latestOwn(this.database.db, signer) : undefined
    const { heads } = await readHeads(db)
    const trailer = () => this.trailer(db, heads, signer, latest, standby)
    async function* lines(): AsyncGenerator<string> {
      yield* exportLines(db, paging, heads)
      yield `${JSON.stringify(await trailer())}\n`
    }
    return { entries: sum(heads), lines: lines() }
  }

  /** The trailer of an export that ends at `heads`: signed like a checkpoint, unless there is no key or the ledger contradicts `latest`. */
  private async trailer(
    db: Queryable,
    heads: readonly ChainHead[],
    signer: CheckpointSigner | null,
    latest: { row: CheckpointRow; body: CheckpointBody } | undefined,
    standby: boolean
  ): Promise<ExportTrailer> {
    const now = this.now()
    const chains = heads.map((h) => ({ chain: h.chain, length: h.seq, headHash: h.hash }))
    const unsigned = (problem?: string): ExportTrailer => ({
      trailer: { entries: sum(heads), time: now.toISOString(), chains, note: null, keyId: null, publicKey: null, ...(problem ? { problem } : {}) }
    })
    if (!signer) return unsigned('no checkpoint signing key is configured: this trailer is not signed')
    const refusal = await this.refuseOtherKey(this.database.db, signer)
    if (refusal !== undefined) return unsigned(`${refusal}: not signed`)
    if (standby) {
      const off = await this.offPrimary(heads)
      if (off.length > 0) return unsigned(`${off[0]!.problem} (chain ${off.map((f) => f.chain).join(', ')}): not signed`)
    }
    if (latest) {
      const primary = standby ? this.database.db : db
      const chainsContradicted = await this.contradicted(primary, latest.body, standby ? (await readHeads(primary)).heads : heads)
      if (chainsContradicted.length > 0)
        return unsigned(`the ledger no longer extends checkpoint ${Number(latest.row.id)} (chain ${chainsContradicted.join(', ')}): not signed`)
    }
    const body: CheckpointBody = { origin: signer.name, treeSize: sum(heads), time: now.toISOString(), policyVersion: policyInForce(now).version, heads }
    return {
      trailer: {
        entries: body.treeSize,
        time: body.time,
        chains,
        note: signer.signNote(checkpointText(body)),
        keyId: signer.keyId,
        publicKey: signer.publicKey.toString('base64')
      }
    }
  }
}

/** A report with failures found before the walk (checkpoints that do not open) put first. */
function withFailures(report: VerifyReport, failures: VerifyFailure[]): VerifyReport {
  return { ...report, ok: false, firstFailure: failures[0]! }
}
