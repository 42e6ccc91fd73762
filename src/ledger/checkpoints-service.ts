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
  listCheckpoints,
  lockCheckpointing,
  readHeads,
  recentVerifications,
  type CheckpointRow
} from './checkpoints-repository.js'
import { exportLines, verifyLedger, type CheckpointHeads, type Paging, type VerifyReport } from './repository.js'
import type { CheckpointRef, VerifyFailure } from './verify.js'

/** No signing key: nothing is signed (PostgreSQL without CHECKPOINT_SIGNING_KEY or _FILE). */
export class CheckpointsUnavailableError extends DomainError {
  constructor() {
    super(
      'checkpoints_unavailable',
      503,
      'Service Unavailable',
      'no checkpoint signing key is configured (CHECKPOINT_SIGNING_KEY or CHECKPOINT_SIGNING_KEY_FILE); nothing was signed'
    )
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
}

/** The service's checkpoint settings from its configuration; the embedded database keeps a generated key in DATA_DIR. */
export function checkpointSettingsOf(
  config: Pick<
    Config,
    'checkpointOrigin' | 'checkpointSigningKey' | 'checkpointSigningKeyFile' | 'dataDir' | 'checkpointEveryEntries' | 'checkpointIntervalSeconds'
  >,
  kind: Database['kind']
): CheckpointSettings {
  return {
    name: config.checkpointOrigin,
    signingKey: config.checkpointSigningKey,
    signingKeyFile: config.checkpointSigningKeyFile,
    generateIn: kind === 'pglite' ? config.dataDir : undefined,
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
    } else if (this.settings.generateIn === undefined) {
      this.log.warn(
        'no checkpoint signing key (CHECKPOINT_SIGNING_KEY or CHECKPOINT_SIGNING_KEY_FILE): checkpoints are refused with 503 and exports end with an unsigned trailer'
      )
    }
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
      const { heads } = await readHeads(tx)
      const latest = await this.latestOwn(tx, signer)
      const previous = latest?.body
      if (!due(heads, previous)) return null
      if (latest) await this.refuseContradiction(tx, latest.row, latest.body, heads)
      const now = this.now()
      const body: CheckpointBody = { origin: signer.name, treeSize: sum(heads), time: now.toISOString(), policyVersion: policyInForce(now).version, heads }
      const note = signer.signNote(checkpointText(body))
      return insertCheckpoint(tx, {
        origin: signer.name,
        key_id: signer.keyId,
        public_key: signer.publicKey.toString('base64'),
        tree_size: body.treeSize,
        signed_at: body.time,
        note
      })
    })
    if (row) this.log.info({ checkpointId: Number(row.id), treeSize: Number(row.tree_size) }, 'checkpoint signed')
    return row && this.view(row)
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
    // Reads from the standby when there is one; the verification record goes to the primary.
    const { plan, report: walked } = await verifyLedger(this.database.reader, this.database.kind, (snapshot) => this.plan(snapshot, full, signer))
    const { from, failures, newest } = plan
    const report = failures.length === 0 ? walked : withFailures(walked, failures)
    if (report.ok && signer && newest?.key_id === signer.keyId && Number(newest.id) !== from?.ref.id) {
      await this.record(signer, newest, full, report.entriesChecked)
    }
    return report
  }

  /**
   * The checkpoints a run checks, each opened with the key stored beside it (one whose signature
   * does not verify is a failure of the run), and where the walk starts: the newest checkpoint
   * with a verification this service signed, unless `full`.
   */
  private async plan(
    db: Queryable,
    full: boolean,
    signer: CheckpointSigner | null
  ): Promise<{ from?: CheckpointHeads; checkpoints: CheckpointHeads[]; failures: VerifyFailure[]; newest?: CheckpointRow }> {
    const from = full || !signer ? undefined : await this.verifiedBase(db, signer)
    const failures: VerifyFailure[] = []
    const checkpoints: CheckpointHeads[] = []
    const rows = await checkpointsAfter(db, from?.ref.id)
    for (const row of rows) {
      try {
        checkpoints.push({ ref: refOf(row), heads: openRow(row).heads })
      } catch (err) {
        const reason = err instanceof Error ? err.message : 'it does not open'
        failures.push({ entryId: null, chain: -1, seq: 0, problem: `checkpoint ${Number(row.id)}: ${reason}`, checkpoint: refOf(row) })
      }
    }
    const newest = rows.at(-1)
    return { ...(from ? { from } : {}), checkpoints, failures, ...(newest ? { newest } : {}) }
  }

  private async verifiedBase(db: Queryable, signer: CheckpointSigner): Promise<CheckpointHeads | undefined> {
    for (const v of await recentVerifications(db, 20)) {
      const { checkpoint } = v
      if (v.key_id !== signer.keyId || checkpoint.key_id !== signer.keyId || checkpoint.origin !== signer.name) continue
      if (!signer.verify(verificationMessage(signer.name, { ...v, verified_at: new Date(v.verified_at) }, checkpoint.note), v.signature)) {
        this.log.warn({ verificationId: Number(v.id) }, 'a verification record does not carry a valid signature of this service; ignored')
        continue
      }
      try {
        return { ref: refOf(checkpoint), heads: openCheckpoint(checkpoint.note, { name: signer.name, publicKey: signer.publicKey }).heads }
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
   * entry up to the heads read now, then the trailer. The latest checkpoint is read before the
   * heads, so the heads are at or past it, even when a checkpoint is taken meanwhile or the
   * standby is still catching up; the trailer is signed unless the ledger contradicts it.
   */
  async exportLedger(db: Queryable, paging: Paging): Promise<{ entries: number; lines: AsyncGenerator<string> }> {
    const signer = await this.signer()
    const latest = signer ? await this.latestOwn(db, signer) : undefined
    const { heads } = await readHeads(db)
    const trailer = () => this.trailer(db, heads, signer, latest)
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
    latest: { row: CheckpointRow; body: CheckpointBody } | undefined
  ): Promise<ExportTrailer> {
    const now = this.now()
    const chains = heads.map((h) => ({ chain: h.chain, length: h.seq, headHash: h.hash }))
    const unsigned = (problem?: string): ExportTrailer => ({
      trailer: { entries: sum(heads), time: now.toISOString(), chains, note: null, keyId: null, publicKey: null, ...(problem ? { problem } : {}) }
    })
    if (!signer) return unsigned('no checkpoint signing key is configured: this trailer is not signed')
    if (latest) {
      const chainsContradicted = await this.contradicted(db, latest.body, heads)
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
